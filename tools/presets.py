"""Named weights presets: our shipped default and the official MIMO-UNet checkpoints the user supplies.

The official weights have no licence that allows redistribution, so those presets point at a file the
user downloads themselves and puts in the weights folder (``CNAPS_WEIGHTS_DIR``, default
``~/.cache/cnaps-agent/weights``).  Model names from question bundles ("Deblur-MIMO-UNet-RealBlur")
map to presets by the variant and training set they name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel, Field

from tools.weights_io import WeightsError

DEFAULT_PRESET = "cnaps-lite"
OFFICIAL_DOWNLOAD = "https://github.com/chosj95/MIMO-UNet (README, 'Pretrained models' Google Drive links)"
_SHIPPED_DIR = Path(__file__).resolve().parent / "weights"


class Preset(BaseModel):
    """A named set of weights and where its file lives."""

    name: str
    description: str
    variant: str
    filename: str
    shipped: bool = Field(description="True when the file ships with cnaps-agent; False when the user supplies it")
    download: str = ""
    trained_on: str = Field(default="", description="what the weights are and were trained on, in words for users "
                                                    "(no model or paper names: answers quote it)")

    def path(self) -> Path:
        """Where this preset's file is (shipped) or is expected (user-supplied)."""
        return (_SHIPPED_DIR if self.shipped else weights_dir()) / self.filename

    def installed(self) -> bool:
        """Whether the file is present."""
        return self.path().is_file()

    def missing_message(self) -> str:
        """What to download and where to put it."""
        if self.shipped:
            return f"the shipped weights {self.path()} are missing; reinstall cnaps-agent"
        return (f"preset {self.name!r} needs the official {self.description} checkpoint, which cannot be shipped "
                f"(no redistribution licence): download it from {self.download} and save it as {self.path()}")


class PresetChoice(BaseModel):
    """The preset that will run for a model name, and why when it is not the one the name asked for."""

    preset: str
    requested: str
    notes: list[str] = Field(default_factory=list)


PRESETS: dict[str, Preset] = {preset.name: preset for preset in (
    Preset(name="cnaps-lite", variant="MIMO-UNet", filename="cnaps-lite.safetensors", shipped=True,
           description="cnaps-agent's own small MIMO-UNet (num_res=8, width=16) trained on synthetic blur",
           trained_on="small weights shipped with cnaps-agent, trained on CPUs on synthetic blur made from sharp "
                      "photographs"),
    Preset(name="official-gopro", variant="MIMO-UNet", filename="MIMO-UNet.pkl", shipped=False,
           download=OFFICIAL_DOWNLOAD, description="MIMO-UNet trained on GoPro",
           trained_on="the official checkpoint, trained on GoPro pairs of blurred and sharp video frames"),
    Preset(name="official-plus-gopro", variant="MIMO-UNetPlus", filename="MIMO-UNetPlus.pkl", shipped=False,
           download=OFFICIAL_DOWNLOAD, description="MIMO-UNet+ trained on GoPro",
           trained_on="the larger official checkpoint, trained on GoPro pairs of blurred and sharp video frames"),
    Preset(name="official-plus-realblur", variant="MIMO-UNetPlus", filename="MIMO-UNetPlus-RealBlur.pkl",
           shipped=False, download=OFFICIAL_DOWNLOAD, description="MIMO-UNet+ trained on RealBlur",
           trained_on="the larger official checkpoint, trained on RealBlur pairs of photographs with real camera "
                      "blur"),
)}

#: The preset a user is pointed to for full strength when the shipped weights hand a photo back unchanged: the
#: official MIMO-UNet trained on GoPro, which ``cnaps weights download`` fetches.
FULL_STRENGTH_PRESET = "official-gopro"


class FullStrength(BaseModel):
    """Stronger weights than those that ran: the preset to use, and whether its file is installed here."""

    preset: str
    installed: bool


def preset_named(name: str) -> Preset | None:
    """The preset of a preset name or of a weights file name (as a restoration records it), else None."""
    if name in PRESETS:
        return PRESETS[name]
    return next((preset for preset in PRESETS.values() if preset.filename == Path(name).name), None)


def full_strength(ran: str) -> FullStrength | None:
    """The stronger weights to point to after the weights named ``ran`` handed a photo back unchanged: the official
    GoPro preset when the shipped weights ran; None when official weights (or a weights file of the user's) ran."""
    preset = preset_named(ran)
    if preset is None or not preset.shipped:
        return None
    target = PRESETS[FULL_STRENGTH_PRESET]
    return FullStrength(preset=target.name, installed=target.installed())


def weights_dir() -> Path:
    """The folder user-supplied official checkpoints go in."""
    configured = os.environ.get("CNAPS_WEIGHTS_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "cnaps-agent" / "weights"


def preset_for_model_name(name: str) -> str | None:
    """The official preset a model name refers to, or None when it is not a MIMO-UNet.

    "MIMO-UNet" -> official-gopro; "MIMO-UNet+" / "MIMO-UNet++" / "MIMOUNetPlus" -> official-plus-gopro;
    any name mentioning RealBlur -> official-plus-realblur (the only RealBlur checkpoint is MIMO-UNet+).
    """
    normal = re.sub(r"[^a-z0-9+]", "", name.lower().replace("plus", "+"))
    if "mimounet" not in normal:
        return None
    if "realblur" in normal:
        return "official-plus-realblur"
    return "official-plus-gopro" if "mimounet+" in normal else "official-gopro"


def choose_preset(model_name: str) -> PresetChoice | None:
    """The preset to run for ``model_name``: its official preset when installed, else the shipped default."""
    requested = preset_for_model_name(model_name)
    if requested is None:
        return None
    preset = PRESETS[requested]
    if preset.installed():
        return PresetChoice(preset=requested, requested=requested)
    return PresetChoice(preset=DEFAULT_PRESET, requested=requested,
                        notes=[f"ran {DEFAULT_PRESET!r} instead of {requested!r}: {preset.missing_message()}"])


def resolve_weights(preset_or_path: str | None) -> tuple[str, Path]:
    """(preset name or file name, path) for a preset name, a weights file path, or None (the default)."""
    name = preset_or_path or DEFAULT_PRESET
    if name in PRESETS:
        preset = PRESETS[name]
        if not preset.installed():
            raise WeightsError(preset.missing_message())
        return name, preset.path()
    path = Path(name).expanduser()
    if path.is_file():
        return path.name, path
    raise WeightsError(f"{name!r} is neither a preset ({', '.join(PRESETS)}) nor an existing weights file")
