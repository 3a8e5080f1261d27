"""The network reproduces the official MIMO-UNet / MIMO-UNet+ outputs, and official checkpoints load strictly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tools.checkpoints import load_network
from tools.mimo_unet import VARIANTS, build_network
from tools.weights_io import WeightsError

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST = json.loads((FIXTURES / "mimo_unet_state_dict.json").read_text())
GOLDEN = np.load(FIXTURES / "golden_64x96_seed1000.npz")
SEED = 1000


def golden_state_dict(variant: str) -> dict[str, torch.Tensor]:
    """Weights by the recipe of the golden vectors (shared/reference/golden/README.md)."""
    state = {}
    for index, (key, shape) in enumerate(MANIFEST[variant]["state_dict"]):
        generator = torch.Generator().manual_seed(SEED + index)
        tensor = torch.randn(shape, generator=generator, dtype=torch.float32)
        scale = 0.6 / math.sqrt(math.prod(shape[1:])) if key.endswith("weight") else 0.01
        state[key] = tensor * scale
    return state


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_key_layout_matches_official_manifest(variant):
    network = build_network(variant)
    ours = [(key, list(value.shape)) for key, value in network.state_dict().items()]
    assert ours == [(key, shape) for key, shape in MANIFEST[variant]["state_dict"]]
    assert sum(value.numel() for value in network.state_dict().values()) == MANIFEST[variant]["param_count"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_outputs_equal_official_golden_vectors(variant):
    network = build_network(variant)
    network.load_state_dict(golden_state_dict(variant), strict=True)
    with torch.inference_mode():
        outputs = network.eval()(torch.from_numpy(GOLDEN["input"]))
    for output, scale in zip(outputs, ("quarter", "half", "full")):
        expected = GOLDEN[f"{variant}/{scale}"]
        assert output.shape == expected.shape
        assert np.abs(output.numpy() - expected).max() < 1e-4, (variant, scale)


def test_any_size_is_padded_and_cropped_back():
    network = build_network("MIMO-UNet", num_res=1, width=8).eval()
    with torch.inference_mode():
        quarter, half, full = network(torch.rand(1, 3, 37, 50))
    assert full.shape[-2:] == (37, 50) and half.shape[-2:] == (19, 25) and quarter.shape[-2:] == (10, 13)


def _save_official(path: Path, state_dict: dict, prefix: str = "") -> Path:
    torch.save({"model": {prefix + key: value for key, value in state_dict.items()}}, path)
    return path


@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_checkpoint_loads_strictly_and_runs(tmp_path, prefix):
    state = golden_state_dict("MIMO-UNet")
    loaded = load_network(_save_official(tmp_path / "MIMO-UNet.pkl", state, prefix))
    assert (loaded.variant, loaded.num_res, loaded.width, loaded.source) == ("MIMO-UNet", 8, 32, "official")
    for key, value in loaded.network.state_dict().items():
        assert torch.equal(value, state[key])


def test_plus_checkpoint_is_recognised_as_plus(tmp_path):
    loaded = load_network(_save_official(tmp_path / "plus.pth", golden_state_dict("MIMO-UNetPlus")))
    assert (loaded.variant, loaded.num_res) == ("MIMO-UNetPlus", 20)


def test_missing_and_misshaped_keys_are_named(tmp_path):
    state = golden_state_dict("MIMO-UNetPlus")
    del state["SCM2.conv.main.0.bias"]
    state["FAM1.merge.main.0.weight"] = torch.zeros(3, 3, 3, 3)
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError) as caught:
        load_network(_save_official(tmp_path / "broken.pkl", state))
    message = str(caught.value)
    assert "MIMO-UNetPlus" in message
    assert "missing 1 (SCM2.conv.main.0.bias)" in message
    assert "unexpected 1 (extra.weight)" in message
    assert "FAM1.merge.main.0.weight (3, 3, 3, 3) != (128, 128, 3, 3)" in message


def test_pickled_code_is_never_executed(tmp_path):
    marker = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pkl"
    torch.save({"model": Exploit()}, path)
    with pytest.raises(WeightsError, match="never executed"):
        load_network(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_non_checkpoint_files_are_rejected(tmp_path, payload):
    path = tmp_path / "weights.pth"
    path.write_bytes(payload)
    with pytest.raises(WeightsError):
        load_network(path)


def test_checkpoint_without_state_dict_is_rejected(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": [1, 2, 3]}, path)
    with pytest.raises(WeightsError, match="not a MIMO-UNet checkpoint"):
        load_network(path)
