"""How often the blur estimate and acceptance check decide right, on synthetic pairs with known ground truth.

Each held-aside sharp photo gives one crop, degraded in turn by the realistic pipeline's camera shake,
object motion or defocus (``tools.training.realistic``, when present), by the uniform-kernel pipeline
(``tools.training.blur``), or not at all (a sharp photo restored as it is). The default weights restore every
crop; PSNR against the sharp crop says whether the output really is better, and the checks say whether it
would be kept. A *false accept* keeps
an output with a lower PSNR than its input; a *false reject* returns the input where the output had a higher
PSNR.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Degradations: the realistic pipeline's camera shake, object motion and defocus, the uniform kernels, none.
KINDS = ("shake", "object", "defocus", "uniform", "sharp")
_REALISTIC = ("shake", "object", "defocus")


@dataclass
class PairOutcome:
    """One pair: how it was degraded, PSNR of input and output against the truth, and what the checks decided."""

    name: str
    kind: str
    psnr_input: float
    psnr_output: float
    blur_input: float
    blur_output: float
    overshoot: float
    flat_noise: float
    blurred: bool
    accepted: bool

    @property
    def applied(self) -> bool:
        """Whether the default would hand back the output (the network always runs; the check decides)."""
        return self.accepted

    @property
    def change(self) -> float:
        """PSNR change of the output against the input, in dB."""
        return self.psnr_output - self.psnr_input

    def as_row(self) -> dict:
        """The outcome as a flat dict (for CSV or JSON)."""
        return {**asdict(self), "applied": self.applied, "change": round(self.change, 4)}


def degrade_crop(sharp: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(blurry, sharp truth) for ``kind``; the realistic pipeline's truth has its highlights clipped alike."""
    if kind == "sharp":
        return sharp.copy(), sharp
    if kind in _REALISTIC:
        from tools.training.realistic import degrade_whole_image_realistic

        blurry, truth, _ = degrade_whole_image_realistic(sharp, rng, kind=kind)
        return np.clip(blurry, 0, 1).astype(np.float32), truth.astype(np.float32)
    from tools.training.blur import blur_whole_image

    return np.clip(blur_whole_image(sharp, rng), 0, 1).astype(np.float32), sharp


def available_kinds() -> tuple[str, ...]:
    """The degradation kinds this checkout can make (the realistic ones need ``tools.training.realistic``)."""
    try:
        from tools.training.realistic import degrade_whole_image_realistic  # noqa: F401
    except ImportError:
        return tuple(kind for kind in KINDS if kind not in _REALISTIC)
    return KINDS


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``size`` square crop (or the whole image when smaller), a multiple of 4 on each side."""
    height, width = (min(size, side) // 4 * 4 for side in image.shape[:2])
    top = int(rng.integers(0, image.shape[0] - height + 1))
    left = int(rng.integers(0, image.shape[1] - width + 1))
    return np.ascontiguousarray(image[top:top + height, left:left + width, :3], dtype=np.float32)


def measure_pairs(photos: list[Path], seed: int = 0, crop: int = 256, preset: str | None = None,
                  kinds: tuple[str, ...] | None = None, progress=None) -> list[PairOutcome]:
    """Degrade, restore and judge one crop per photo, cycling through ``kinds``; every draw is seeded.

    Args:
        photos: sharp photographs (never used for training the weights under test).
        progress: called with (done, total) after each pair.
    """
    from tools.metrics import psnr
    from tools.quality import assess_restoration, estimate_blur
    from tools.restore import restore_array
    from tools.images import read_image

    kinds = kinds or available_kinds()
    outcomes = []
    for index, photo in enumerate(photos):
        rng = np.random.default_rng([seed, index])
        kind = kinds[index % len(kinds)]
        blurry, sharp = degrade_crop(random_crop(read_image(photo).rgb, crop, rng), kind, rng)
        restored = restore_array(blurry, preset, tile=0)
        estimate = estimate_blur(blurry)
        verdict = assess_restoration(blurry, restored, blur_before=estimate.score)
        outcomes.append(PairOutcome(name=photo.name, kind=kind, psnr_input=psnr(sharp, blurry),
                                    psnr_output=psnr(sharp, restored), blur_input=estimate.score,
                                    blur_output=verdict.blur_after, overshoot=verdict.overshoot,
                                    flat_noise=verdict.flat_noise, blurred=estimate.blurred,
                                    accepted=verdict.accepted))
        if progress:
            progress(index + 1, len(photos))
    return outcomes


@dataclass(frozen=True)
class Rates:
    """The acceptance rule's error rates over a set of pairs."""

    pairs: int
    lowered: int  # outputs with a lower PSNR than their input
    raised: int  # outputs with a higher PSNR
    false_accepts: int  # lowered, yet handed back
    false_rejects: int  # raised, yet the input handed back
    worst_kept: float  # the lowest PSNR change among outputs handed back (0.0 when none)
    mean_change_always: float  # mean PSNR change if every output were handed back (degraded inputs only)
    mean_change_checked: float  # the same with the checks (a rejected output changes nothing)

    @property
    def false_accept_rate(self) -> float:
        """Share of PSNR-lowering outputs that were handed back."""
        return self.false_accepts / self.lowered if self.lowered else 0.0

    @property
    def false_reject_rate(self) -> float:
        """Share of PSNR-raising outputs that were not handed back."""
        return self.false_rejects / self.raised if self.raised else 0.0


def rates(outcomes: list[PairOutcome], margin: float = 0.0) -> Rates:
    """Error rates; ``margin`` dB: a change within +-margin counts as neither lowered nor raised."""
    lowered = [o for o in outcomes if o.change < -margin]
    raised = [o for o in outcomes if o.change > margin]
    kept = [o.change for o in outcomes if o.applied]
    finite = [o for o in outcomes if np.isfinite(o.change)]  # a sharp input is its own truth: PSNR infinite
    count = max(len(finite), 1)
    return Rates(pairs=len(outcomes), lowered=len(lowered), raised=len(raised),
                 false_accepts=sum(o.applied for o in lowered), false_rejects=sum(not o.applied for o in raised),
                 worst_kept=min(kept, default=0.0),
                 mean_change_always=sum(o.change for o in finite) / count,
                 mean_change_checked=sum(o.change for o in finite if o.applied) / count)
