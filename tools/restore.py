"""Restoring one image file end to end: read, pick weights, tile, run the network, measure, write."""

from __future__ import annotations

import copy
import functools
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from tools.errors import RestorationError
from tools.files import lands_on
from tools.images import LoadedImage, encode_image, read_image, write_output
from tools.metrics import psnr, sharpness, ssim
from tools.outcome import OUTCOMES, restoration_outcome  # noqa: F401 (OUTCOMES: the outcomes, named here too)

if TYPE_CHECKING:
    from tools.inference import TilePlan


@dataclass
class RestorationMeasures:
    """What one restoration measured: preset, wall time, and quality numbers (PSNR/SSIM need a reference).

    ``applied`` says whether the output file holds the network's result; when the input did not look blurred
    (``verdict`` "not_blurred") or the result was not clearly better ("not_improved"), the output file is a
    byte-for-byte copy of the input unless the caller asked to keep the network's output. ``sharpness_after``
    and ``blur_after`` describe the network's output whenever it ran; PSNR and SSIM describe the file handed
    back.
    """

    preset: str
    seconds: float
    sharpness_before: float
    sharpness_after: float
    psnr: float | None = None
    ssim: float | None = None
    notes: list[str] = field(default_factory=list)
    applied: bool = True
    verdict: str = "improved"
    verdict_reason: str = ""
    blur_before: float | None = None
    blur_after: float | None = None

    @property
    def outcome(self) -> str:
        """restored, unchanged or kept (``restoration_outcome``)."""
        return restoration_outcome(self.applied, self.verdict)

    @property
    def sharpness_handed_back(self) -> float:
        """The sharpness of the file handed back: the network's output when applied, else the input's."""
        return self.sharpness_after if self.applied else self.sharpness_before

    def measures(self) -> dict:
        """These fields alone (a copy), to build another kind of result from them."""
        return {item.name: copy.copy(getattr(self, item.name)) for item in fields(RestorationMeasures)}


@dataclass(kw_only=True)
class RestorationResult(RestorationMeasures):
    """What one restoration did: the files it wrote, and its measures."""

    input_path: Path
    output_path: Path
    compare_path: Path | None = None


#: The --device choices: auto is cuda when torch sees a GPU, else cpu.
DEVICES = ("auto", "cpu", "cuda")


@functools.lru_cache(maxsize=4)
def _cached_restorer(path: str, modified_ns: int, size: int, bf16: bool, device: str):
    from tools.checkpoints import load_network
    from tools.inference import Restorer, configure_threads

    configure_threads()
    return Restorer(load_network(Path(path)), device=device, bf16=bf16)


def resolve_device(device: str | None = None) -> str:
    """``cpu`` or ``cuda`` for a --device choice (None or ``auto``: cuda when available, else cpu)."""
    import torch

    choice = (device or "auto").strip().lower()
    if choice not in DEVICES:
        raise RestorationError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RestorationError("--device cuda: torch sees no CUDA GPU here; use --device cpu or --device auto")
    return choice


def get_restorer(preset: str | None = None, device: str | None = None, bf16: bool | None = None):
    """The ``Restorer`` for a preset name or weights path, loaded on first use and cached per process.

    Returns (name, restorer); a weights file replaced on disk is loaded afresh.

    Args:
        device: cpu, cuda or auto (None: auto).
        bf16: bfloat16 inference on CPUs with AVX512-BF16/AMX or on a GPU (faster, slightly less exact: see
            benchmarks/restore_speed.py); None reads ``CNAPS_BF16=1``.
    """
    from tools.presets import resolve_weights

    name, path = resolve_weights(preset)
    stat = path.stat()
    if bf16 is None:
        bf16 = os.environ.get("CNAPS_BF16", "") == "1"
    return name, _cached_restorer(str(path.resolve()), stat.st_mtime_ns, stat.st_size, bf16, resolve_device(device))


def restore_array(rgb: np.ndarray, preset: str | None = None, tile: int | None = None,
                  progress: Callable[[int, int], None] | None = None, device: str | None = None,
                  bf16: bool | None = None, plan: TilePlan | None = None) -> np.ndarray:
    """Restore float RGB (H, W, 3) in [0,1]; ``tile`` None picks tiling from memory, 0 disables it (within the
    operator's memory budget); ``plan``, when given, is used as it is instead."""
    import torch

    _, restorer = get_restorer(preset, device, bf16)
    plan = plan or restorer.plan(rgb.shape[0], rgb.shape[1], tile)
    image = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    return restorer.restore(image, plan, progress)[0].permute(1, 2, 0).numpy()


@dataclass(kw_only=True)
class EncodedRestoration(RestorationMeasures):
    """A restoration done in memory: the encoded output (and comparison), not yet written anywhere."""

    output: bytes
    compare: bytes | None = None


def restore_encoded(input_path: Path, preset: str | None = None, tile: int | None = None, compare: bool = False,
                    reference: Path | None = None, progress: Callable[[int, int], None] | None = None,
                    device: str | None = None, bf16: bool | None = None,
                    keep_output: bool = False) -> EncodedRestoration:
    """Restore ``input_path`` into encoded bytes in the input's format; see ``restore_file`` for the arguments.

    An output that the acceptance check (``tools.quality``) does not find clearly better is not handed back: the
    input's own bytes are, unless ``keep_output``.
    """
    from tools.quality import assess_restoration, estimate_blur

    started = time.perf_counter()
    input_path = Path(input_path)
    loaded = read_image(input_path)
    name, restorer = get_restorer(preset, device, bf16)
    plan = restorer.plan(loaded.rgb.shape[0], loaded.rgb.shape[1], tile)
    estimate = estimate_blur(loaded.rgb)
    # The network always runs and the acceptance check decides: a blur estimate alone cannot tell a mildly blurred
    # photo from a sharp one well enough to refuse it untried (it refused real video frames whose sharp originals
    # were 25 dB away). The estimate still names the verdict of an output that was not accepted.
    restored = restore_array(loaded.rgb, preset, tile, progress, device, bf16, plan=plan)
    acceptance = assess_restoration(loaded.rgb, restored, blur_before=estimate.score)
    verdict, reason = _verdict(estimate, acceptance)
    applied = verdict == "improved" or keep_output
    handed_back = restored if applied else loaded.rgb
    encoded = EncodedRestoration(
        output=encode_image(restored, loaded) if applied else input_path.read_bytes(),
        compare=_encode_comparison(loaded, handed_back) if compare else None, preset=name, seconds=0.0,
        sharpness_before=sharpness(loaded.rgb),
        sharpness_after=sharpness(restored),
        notes=list(loaded.notes) + ([plan.note] if plan.note else []), applied=applied, verdict=verdict, verdict_reason=reason,
        blur_before=estimate.score, blur_after=acceptance.blur_after)
    if reference is not None:
        sharp = read_image(Path(reference)).rgb
        encoded.psnr, encoded.ssim = psnr(sharp, handed_back), ssim(sharp, handed_back)
    encoded.seconds = time.perf_counter() - started
    return encoded


def _verdict(estimate, acceptance) -> tuple[str, str]:
    """(verdict, reason): improved (the output was accepted), else not_blurred when the photo does not look blurred,
    else not_improved, with the measurement behind it."""
    if acceptance.accepted:
        return "improved", acceptance.reason
    if not estimate.blurred:
        return "not_blurred", (f"the photo does not look blurred (blur effect {estimate.score:.3f}, {estimate.level}) "
                               f"and the network's output was not clearly better: {acceptance.reason}")
    return "not_improved", acceptance.reason


def comparison_path(destination: Path) -> Path:
    """Where the before | after comparison of a restored file goes: ``<its stem>.compare.png`` beside it."""
    destination = Path(destination)
    return destination.with_name(f"{destination.stem}.compare.png")


def write_restoration(encoded: EncodedRestoration, input_path: Path, out_dir: Path,
                      output_name: str | None = None) -> RestorationResult:
    """Write an encoded restoration as ``out_dir/<output_name or input name>`` (and its comparison), atomically."""
    input_path, out_dir = Path(input_path), Path(out_dir)
    destination = out_dir / (output_name or input_path.name)
    compare_destination = comparison_path(destination) if encoded.compare is not None else None
    if compare_destination is not None and lands_on(compare_destination, input_path):
        raise RestorationError(f"the comparison {compare_destination} would overwrite the input {input_path}; "
                               "choose another --out folder")
    output_path = write_output(encoded.output, destination, input_path)
    compare_path = (write_output(encoded.compare, compare_destination, input_path)
                    if compare_destination is not None else None)
    return RestorationResult(input_path=input_path, output_path=output_path, compare_path=compare_path,
                             **encoded.measures())


def restore_file(input_path: Path, out_dir: Path, preset: str | None = None, tile: int | None = None,
                 compare: bool = False, reference: Path | None = None,
                 progress: Callable[[int, int], None] | None = None, output_name: str | None = None,
                 device: str | None = None, bf16: bool | None = None, keep_output: bool = False) -> RestorationResult:
    """Restore ``input_path`` into ``out_dir/<output_name>`` (default: the input's own name) in the input's format.

    Args:
        preset: a preset name or weights file (None: the shipped default).
        tile: tile size in pixels (None: chosen from image and memory; 0: never tile).
        compare: also write ``<output stem>.compare.png``, before and after side by side.
        reference: a sharp image of the same scene; adds PSNR and SSIM of the result against it.
        progress: called with (tiles done, tiles total).
        device, bf16: as for ``get_restorer``.
        keep_output: hand back the network's output even when the checks find it not clearly better (or the
            input not blurred); the result's ``verdict`` still says what the checks found.
    """
    started = time.perf_counter()
    encoded = restore_encoded(input_path, preset, tile, compare, reference, progress, device, bf16, keep_output)
    result = write_restoration(encoded, input_path, out_dir, output_name)
    result.seconds = time.perf_counter() - started
    return result


def _encode_comparison(loaded: LoadedImage, restored: np.ndarray) -> bytes:
    """Before | after, side by side with a 4-pixel white gap, as an 8-bit PNG."""
    gap = np.ones((restored.shape[0], 4, 3), dtype=np.float32)
    side_by_side = np.concatenate([loaded.rgb, gap, restored], axis=1)
    like = LoadedImage(rgb=side_by_side, format="PNG", grayscale=loaded.grayscale, bits=8)
    return encode_image(side_by_side, like)
