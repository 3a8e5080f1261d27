"""The synthetic deblurring benchmark: held-out sharp photographs blurred with a fixed seed."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tools.training.blur import BlurRecipe, blur_whole_image
from tools.training.data import list_images, load_rgb
from tools.weights_io import atomic_write_bytes


def _png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_synthetic_benchmark(sharp: list[Path], out_dir: Path, seed: int = 7, max_side: int | None = None,
                             recipe: BlurRecipe = BlurRecipe()) -> list[str]:
    """Write ``out_dir/blurry/<stem>.png`` and ``out_dir/sharp/<stem>.png`` for every sharp image.

    Each image draws from its own generator seeded by (seed, index), so a subset reproduces exactly.
    Returns the written stems.
    """
    stems = []
    for index, path in enumerate(list_images(sharp)):
        rng = np.random.default_rng([seed, index])
        reference = load_rgb(path, max_side).astype(np.float32) / 255.0
        blurry = blur_whole_image(reference, rng, recipe)
        atomic_write_bytes(out_dir / "sharp" / f"{path.stem}.png", _png_bytes(reference))
        atomic_write_bytes(out_dir / "blurry" / f"{path.stem}.png", _png_bytes(blurry))
        stems.append(path.stem)
    return stems
