"""Model names from bundles map to the right preset; missing official files fall back with a clear note."""

from __future__ import annotations

import pytest

from tools.presets import DEFAULT_PRESET, PRESETS, choose_preset, preset_for_model_name, resolve_weights
from tools.weights_io import WeightsError


@pytest.mark.parametrize("name, preset", [
    ("Deblur-MIMO-UNet-RealBlur", "official-plus-realblur"),
    ("MIMO-UNet+ (RealBlur-J)", "official-plus-realblur"),
    ("MIMO-UNet", "official-gopro"),
    ("mimo unet gopro", "official-gopro"),
    ("MIMO-UNet+", "official-plus-gopro"),
    ("MIMO-UNet++", "official-plus-gopro"),
    ("MIMOUNetPlus", "official-plus-gopro"),
    ("FeatSharp: Your Vision Model Features, Sharper", None),
    ("U-Net", None),
])
def test_model_names_map_to_presets(name, preset):
    assert preset_for_model_name(name) == preset


def test_missing_official_file_falls_back_to_default_with_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path))
    choice = choose_preset("Deblur-MIMO-UNet-RealBlur")
    assert choice.preset == DEFAULT_PRESET and choice.requested == "official-plus-realblur"
    assert str(tmp_path / "MIMO-UNetPlus-RealBlur.pkl") in choice.notes[0]
    assert "github.com/chosj95/MIMO-UNet" in choice.notes[0]


def test_installed_official_file_is_chosen(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / PRESETS["official-plus-realblur"].filename).write_bytes(b"placeholder only checked for existence")
    choice = choose_preset("Deblur-MIMO-UNet-RealBlur")
    assert (choice.preset, choice.notes) == ("official-plus-realblur", [])


def test_non_mimo_model_has_no_preset():
    assert choose_preset("PU-Ray: point cloud upsampling") is None


def test_resolve_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path))
    name, path = resolve_weights(None)
    assert name == DEFAULT_PRESET and path.name == "cnaps-lite.safetensors" and path.is_file()
    with pytest.raises(WeightsError, match="official-gopro.*download it from"):
        resolve_weights("official-gopro")
    with pytest.raises(WeightsError, match="neither a preset"):
        resolve_weights("no-such-preset")
    custom = tmp_path / "mine.safetensors"
    custom.write_bytes(b"x")
    assert resolve_weights(str(custom)) == ("mine.safetensors", custom)
