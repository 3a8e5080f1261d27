"""Our own safetensors weights build the network their metadata describes, or fail saying why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tools.checkpoints import load_network
from tools.mimo_unet import build_network
from tools.presets import resolve_weights
from tools.weights_io import WeightsError, save_safetensors

TINY = Path(__file__).parent / "fixtures" / "tiny_mimo_unet.safetensors"


def _metadata(**overrides) -> dict:
    return {"format": "cnaps-mimo-unet", "variant": "MIMO-UNet", "num_res": 2, "width": 8, **overrides}


def test_safetensors_metadata_decides_the_shape(tmp_path):
    network = build_network("MIMO-UNet", num_res=2, width=8)
    path = tmp_path / "w.safetensors"
    save_safetensors(network.state_dict(), path, _metadata(), half=False)
    loaded = load_network(path)
    assert (loaded.num_res, loaded.width, loaded.source) == (2, 8, "cnaps")
    for key, value in network.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value)


def test_shipped_default_loads():
    loaded = load_network(resolve_weights(None)[1])
    assert loaded.source == "cnaps" and loaded.width == int(loaded.metadata["width"])


def test_metadata_that_does_not_match_the_tensors_is_named(tmp_path):
    network = build_network("MIMO-UNet", num_res=2, width=8)
    path = tmp_path / "w.safetensors"
    save_safetensors(network.state_dict(), path, _metadata(num_res=3))
    with pytest.raises(WeightsError, match=r"does not fit MIMO-UNet \(num_res=3, width=8\).*missing 24"):
        load_network(path)


def test_foreign_safetensors_is_rejected(tmp_path):
    path = tmp_path / "other.safetensors"
    save_safetensors({"w": torch.zeros(2)}, path, {"format": "pt"})
    with pytest.raises(WeightsError, match="without cnaps-agent metadata"):
        load_network(path)


def test_the_tiny_fixture_is_a_valid_family_member():
    assert (load_network(TINY).num_res, load_network(TINY).width) == (1, 8)
