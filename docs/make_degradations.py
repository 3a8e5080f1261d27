"""Make docs/degradations.jpg: one photograph under each kind of training degradation.

Usage: python docs/make_degradations.py SHARP_IMAGE [OUT]
(the shipped figure: ../shared/datasets/sharp/kodak24_kodim23.png)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tools.training.data import load_rgb
from tools.training.realistic import RealisticRecipe, degrade_whole_image_realistic

#: (label, kind, recipe): saturation forced on for the highlight panel, off elsewhere so each panel shows one thing
PANELS = [
    ("sharp original", None, None),
    ("uniform kernel", "uniform", RealisticRecipe(saturation_probability=0.0)),
    ("non-uniform camera shake", "shake", RealisticRecipe(saturation_probability=0.0, noise_probability=0.0,
                                                          jpeg_probability=0.0)),
    ("moving object", "object", RealisticRecipe(saturation_probability=0.0, noise_probability=0.0,
                                                jpeg_probability=0.0)),
    ("depth-varying defocus", "defocus", RealisticRecipe(saturation_probability=0.0, noise_probability=0.0,
                                                         jpeg_probability=0.0)),
    ("shake + saturated highlights", "shake", RealisticRecipe(saturation_probability=1.0, noise_probability=0.0,
                                                              jpeg_probability=0.0)),
    ("shake + sensor noise + JPEG", "shake", RealisticRecipe(saturation_probability=0.0, noise_probability=1.0,
                                                             jpeg_probability=1.0, jpeg_quality=(50, 60))),
    ("not blurred (noise, JPEG)", "sharp", RealisticRecipe(saturation_probability=0.0, noise_probability=1.0,
                                                           jpeg_probability=1.0)),
]


def main(source: Path, out: Path) -> None:
    photo = load_rgb(source).astype(np.float32) / 255.0
    tiles = []
    for index, (label, kind, recipe) in enumerate(PANELS):
        if kind is None:
            image = photo
        else:
            image, _, _ = degrade_whole_image_realistic(photo, np.random.default_rng([2024, index]), recipe, kind)
        tile = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).resize(
            (photo.shape[1] // 2, photo.shape[0] // 2), Image.Resampling.LANCZOS)
        ImageDraw.Draw(tile).rectangle((0, 0, tile.width, 22), fill=(0, 0, 0))
        ImageDraw.Draw(tile).text((6, 5), label, fill=(255, 255, 255))
        tiles.append(tile)
    columns = 4
    width, height = tiles[0].size
    sheet = Image.new("RGB", (columns * width, (len(tiles) + columns - 1) // columns * height))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % columns) * width, (index // columns) * height))
    sheet.save(out, quality=85)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "degradations.jpg")
