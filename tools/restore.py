"""Restoring one image file end to end: read, pick weights, tile, run the network, measure, write."""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tools.images import LoadedImage, encode_image, read_image, write_output
from tools.metrics import psnr, sharpness, ssim


@dataclass
class RestorationResult:
    """What one restoration did: files, preset, wall time, and quality numbers (PSNR/SSIM need a reference)."""

    input_path: Path
    output_path: Path
    preset: str
    seconds: float
    sharpness_before: float
    sharpness_after: float
    psnr: float | None = None
    ssim: float | None = None
    notes: list[str] = field(default_factory=list)
    compare_path: Path | None = None


@functools.lru_cache(maxsize=4)
def _cached_restorer(path: str, modified_ns: int, size: int, bf16: bool):
    from tools.checkpoints import load_network
    from tools.inference import Restorer, configure_threads

    configure_threads()
    return Restorer(load_network(Path(path)), bf16=bf16)


def get_restorer(preset: str | None = None):
    """The ``Restorer`` for a preset name or weights path, loaded on first use and cached per process.

    Returns (name, restorer); a weights file replaced on disk is loaded afresh.  ``CNAPS_BF16=1`` opts in
    to bfloat16 on CPUs with AVX512-BF16/AMX (faster, slightly less exact: see benchmarks/restore_speed.py).
    """
    from tools.presets import resolve_weights

    name, path = resolve_weights(preset)
    stat = path.stat()
    bf16 = os.environ.get("CNAPS_BF16", "") == "1"
    return name, _cached_restorer(str(path.resolve()), stat.st_mtime_ns, stat.st_size, bf16)


def restore_array(rgb: np.ndarray, preset: str | None = None, tile: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Restore float RGB (H, W, 3) in [0,1]; ``tile`` None picks tiling from memory, 0 disables it."""
    import torch

    from tools.inference import plan_tiles

    _, restorer = get_restorer(preset)
    plan = plan_tiles(rgb.shape[0], rgb.shape[1], restorer.width, tile)
    image = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    return restorer.restore(image, plan, progress)[0].permute(1, 2, 0).numpy()


def restore_file(input_path: Path, out_dir: Path, preset: str | None = None, tile: int | None = None,
                 compare: bool = False, reference: Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> RestorationResult:
    """Restore ``input_path`` into ``out_dir/<same name>`` in the input's format.

    Args:
        preset: a preset name or weights file (None: the shipped default).
        tile: tile size in pixels (None: chosen from image and memory; 0: never tile).
        compare: also write ``<stem>.compare.png``, before and after side by side.
        reference: a sharp image of the same scene; adds PSNR and SSIM of the result against it.
        progress: called with (tiles done, tiles total).
    """
    started = time.perf_counter()
    input_path, out_dir = Path(input_path), Path(out_dir)
    loaded = read_image(input_path)
    name, _ = get_restorer(preset)
    restored = restore_array(loaded.rgb, preset, tile, progress)
    output_path = write_output(encode_image(restored, loaded), out_dir / input_path.name, input_path)
    result = RestorationResult(input_path=input_path, output_path=output_path, preset=name, seconds=0.0,
                               sharpness_before=sharpness(loaded.rgb), sharpness_after=sharpness(restored),
                               notes=list(loaded.notes))
    if reference is not None:
        sharp = read_image(Path(reference)).rgb
        result.psnr, result.ssim = psnr(sharp, restored), ssim(sharp, restored)
    if compare:
        result.compare_path = _write_comparison(loaded, restored, out_dir / f"{input_path.stem}.compare.png",
                                                input_path)
    result.seconds = time.perf_counter() - started
    return result


def _write_comparison(loaded: LoadedImage, restored: np.ndarray, destination: Path, source: Path) -> Path:
    """Before | after, side by side with a 4-pixel white gap, as an 8-bit PNG."""
    gap = np.ones((restored.shape[0], 4, 3), dtype=np.float32)
    side_by_side = np.concatenate([loaded.rgb, gap, restored], axis=1)
    like = LoadedImage(rgb=side_by_side, format="PNG", grayscale=loaded.grayscale, bits=8)
    return write_output(encode_image(side_by_side, like), destination, source)
