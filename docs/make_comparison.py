"""Make docs/before_after.jpg: crops of held-out photographs, blurred with the benchmark's fixed seed,
beside what the shipped default weights make of them and the sharp original.

    python docs/make_comparison.py SHARP_IMAGE... [--out docs/before_after.jpg]

The sharp photographs are research data that the repository does not carry; the figure only shows crops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from tools.metrics import psnr, sharpness  # noqa: E402
from tools.presets import DEFAULT_PRESET  # noqa: E402
from tools.restore import restore_array  # noqa: E402
from tools.training.blur import blur_whole_image  # noqa: E402
from tools.training.data import load_rgb  # noqa: E402

CROP = 256
LABEL_HEIGHT = 22


def _panel(rgb: np.ndarray, label: str) -> Image.Image:
    tile = Image.new("RGB", (CROP, CROP + LABEL_HEIGHT), "white")
    tile.paste(Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)), (0, LABEL_HEIGHT))
    ImageDraw.Draw(tile).text((6, 5), label, fill="black")
    return tile


def row(path: Path, seed: int) -> Image.Image:
    """Blurry | restored | sharp for the centre crop of one photograph."""
    sharp = load_rgb(path).astype(np.float32) / 255.0
    blurry = blur_whole_image(sharp, np.random.default_rng([7, seed]))
    restored = restore_array(blurry, preset=DEFAULT_PRESET, tile=0)
    top, left = (sharp.shape[0] - CROP) // 2, (sharp.shape[1] - CROP) // 2
    crops = [image[top:top + CROP, left:left + CROP] for image in (blurry, restored, sharp)]
    labels = [f"blurry  {psnr(sharp, blurry):.2f} dB  sharpness {sharpness(blurry):.0f}",
              f"{DEFAULT_PRESET}  {psnr(sharp, np.clip(restored, 0, 1)):.2f} dB  sharpness {sharpness(restored):.0f}",
              f"sharp original ({path.stem})"]
    line = Image.new("RGB", (3 * CROP + 8, CROP + LABEL_HEIGHT), "white")
    for index, (crop, label) in enumerate(zip(crops, labels)):
        line.paste(_panel(crop, label), (index * (CROP + 4), 0))
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("before_after.jpg"))
    args = parser.parse_args()
    rows = [row(path, index) for index, path in enumerate(args.images)]
    figure = Image.new("RGB", (rows[0].width, sum(r.height + 4 for r in rows)), "white")
    for index, line in enumerate(rows):
        figure.paste(line, (0, index * (line.height + 4)))
    figure.save(args.out, quality=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
