"""The synthetic deblurring benchmark: held-out sharp photographs blurred with a fixed seed."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tools.training.blur import BlurRecipe, blur_whole_image
from tools.training.data import DEGRADATIONS, list_images, load_rgb
from tools.training.realistic import DYNAMIC_RECIPE, degrade_whole_image_realistic
from tools.weights_io import atomic_write_bytes


def _png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_synthetic_benchmark(sharp: list[Path], out_dir: Path, seed: int = 7, max_side: int | None = None,
                             recipe: BlurRecipe = BlurRecipe(), degradation: str = "uniform") -> list[str]:
    """Write ``out_dir/blurry/<stem>.png`` and ``out_dir/sharp/<stem>.png`` for every sharp image.

    Each image draws from its own generator seeded by (seed, index), so a subset reproduces exactly.
    ``degradation`` "realistic" uses tools.training.realistic; its sharp target is the photograph with
    the same highlight clipping as the blurred frame. Returns the written stems.
    """
    if degradation not in DEGRADATIONS:
        raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, not {degradation!r}")
    stems = []
    for index, path in enumerate(list_images(sharp)):
        rng = np.random.default_rng([seed, index])
        reference = load_rgb(path, max_side).astype(np.float32) / 255.0
        if degradation == "realistic":
            blurry, reference, _ = degrade_whole_image_realistic(reference, rng)
        elif degradation == "dynamic":
            blurry, reference, _ = degrade_whole_image_realistic(reference, rng, DYNAMIC_RECIPE)
        else:
            blurry = blur_whole_image(reference, rng, recipe)
        atomic_write_bytes(out_dir / "sharp" / f"{path.stem}.png", _png_bytes(reference))
        atomic_write_bytes(out_dir / "blurry" / f"{path.stem}.png", _png_bytes(blurry))
        stems.append(path.stem)
    return stems
