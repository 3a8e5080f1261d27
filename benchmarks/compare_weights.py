"""Two weights files side by side on benchmark folders: mean PSNR of input, of each network's raw output,
and the share of images each made worse.

Usage:
    python benchmarks/compare_weights.py OLD.safetensors NEW.safetensors BENCH_DIR [BENCH_DIR ...]

Each BENCH_DIR holds ``blurry/`` and ``sharp/`` with the same file names, as written by
``cnaps synth-blur`` (``--degradation realistic`` for the realistic validation set). The raw network
output is scored, without the acceptance check, so the numbers compare the networks themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def score_folder(weights: list[str], folder: Path) -> dict[str, object]:
    from tools.images import read_image
    from tools.metrics import psnr
    from tools.restore import restore_array

    names = sorted(p.name for p in (folder / "blurry").iterdir())
    rows = []
    for name in names:
        blurry = read_image(folder / "blurry" / name).rgb
        sharp = read_image(folder / "sharp" / name).rgb
        outputs = [restore_array(blurry, preset=w, tile=0) for w in weights]
        rows.append([psnr(sharp, blurry)] + [psnr(sharp, np.clip(o, 0, 1)) for o in outputs])
    table = np.array(rows)
    return {"images": len(names), "mean": table.mean(axis=0),
            "worse": [(table[:, i + 1] < table[:, 0] - 0.05).mean() for i in range(len(weights))]}


def main(argv: list[str]) -> None:
    weights, folders = argv[:2], [Path(p) for p in argv[2:]]
    for folder in folders:
        result = score_folder(weights, folder)
        mean = result["mean"]
        print(f"{folder}: {result['images']} images; input {mean[0]:.2f} dB")
        for index, name in enumerate(weights):
            print(f"  {Path(name).name:40s} {mean[index + 1]:.2f} dB ({mean[index + 1] - mean[0]:+.2f}); "
                  f"worse than input by >0.05 dB on {result['worse'][index]:.0%}")
        print(f"  new - old: {mean[2] - mean[1]:+.2f} dB")


if __name__ == "__main__":
    main(sys.argv[1:])
