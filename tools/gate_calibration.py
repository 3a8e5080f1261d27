"""Pairs and candidates of known quality for calibrating and measuring the acceptance check.

Each pair is a sharp crop ``S`` and a degraded copy ``B`` (the input a user would give). For each pair we make
*candidates*: outputs of known quality that a restoration tool could hand back, scored against ``S`` by PSNR.

* ``sharp``: the sharp original itself (the perfect restoration; the check must accept it);
* ``blend``: ``B + a (S - B)`` for a random ``a``, a partial restoration whose PSNR gain is ``-20 log10(1 - a)``;
* ``network``: the output of a restoration network (the shipped default weights, when asked for);
* the known-worse kinds a restoration can go wrong in: ``unsharp`` (an unsharp mask strong enough to draw halos),
  ``ringing`` (Wiener deconvolution with a wrong kernel), ``noise`` (grain added), ``smooth`` (blurred further),
  ``brightness`` and ``colour`` (a level or colour-balance shift), and ``sharp_shifted`` (the sharp original with a
  brightness or colour shift: sharper, yet worse or better by PSNR depending on the shift).

What makes a candidate *better* or *worse* is only its measured PSNR change against the input; the kinds are how
the candidates are made, never what the check is told.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

#: Candidate kinds (see the module docstring).
CANDIDATES = ("sharp", "blend", "blend", "network", "unsharp", "ringing", "noise", "smooth", "brightness", "colour",
              "sharp_shifted")
#: Degradations of the input: the realistic mix and its "dynamic" variant (longer blur, sRGB-averaged frames,
#: grayscale scenes), from tools.training.realistic.
DEGRADATIONS = ("realistic", "dynamic")


@dataclass
class Candidate:
    """One candidate output for one pair: how it was made, its PSNR change and the check's measures."""

    pair: str
    kind: str
    input_psnr: float
    change: float  # PSNR of the candidate minus PSNR of the input, against the sharp original (dB)
    measures: dict = field(default_factory=dict)
    accepted: bool | None = None

    def as_row(self) -> dict:
        row = asdict(self)
        row.update(row.pop("measures"))
        return row


def _psnr(reference: np.ndarray, image: np.ndarray) -> float:
    mse = float(np.mean((np.clip(image, 0, 1) - reference) ** 2, dtype=np.float64))
    return 99.0 if mse <= 1e-12 else 10 * np.log10(1.0 / mse)


def _gauss(image: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(image, (sigma, sigma, 0), mode="reflect")


def _wiener_ringing(blurry: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wiener deconvolution with a disc of the wrong size and little regularisation: sharper, with ringing."""
    from tools.training.blur import defocus_kernel

    radius = rng.uniform(1.5, 5.0)
    size = int(np.ceil(2 * radius)) + 3
    size += 1 - size % 2
    kernel = defocus_kernel(radius, size)
    height, width = blurry.shape[:2]
    pad = np.zeros((height, width))
    pad[:size, :size] = kernel
    pad = np.roll(pad, (-(size // 2), -(size // 2)), axis=(0, 1))
    spectrum = np.fft.fft2(pad)
    regularise = 10 ** rng.uniform(-3, -1.5)
    gain = np.conj(spectrum) / (np.abs(spectrum) ** 2 + regularise)
    out = np.stack([np.real(np.fft.ifft2(np.fft.fft2(blurry[..., c]) * gain)) for c in range(3)], axis=-1)
    return np.clip(out, 0, 1)


def make_candidate(kind: str, sharp: np.ndarray, blurry: np.ndarray, rng: np.random.Generator,
                   network=None) -> np.ndarray:
    """A candidate output of ``kind`` for the pair (``network``: a callable restoring float RGB)."""
    if kind == "sharp":
        return sharp.copy()
    if kind == "blend":
        alpha = rng.uniform(0.02, 0.95)
        return blurry + alpha * (sharp - blurry)
    if kind == "network":
        return np.clip(network(blurry), 0, 1)
    if kind == "unsharp":
        radius, amount = rng.uniform(1.0, 4.0), rng.uniform(0.8, 4.0)
        return np.clip(blurry + amount * (blurry - _gauss(blurry, radius)), 0, 1)
    if kind == "ringing":
        return _wiener_ringing(blurry, rng)
    if kind == "noise":
        return np.clip(blurry + rng.normal(scale=rng.uniform(0.008, 0.05), size=blurry.shape), 0, 1)
    if kind == "smooth":
        return _gauss(blurry, rng.uniform(0.6, 3.0))
    if kind == "brightness":
        shift = rng.uniform(0.008, 0.06) * rng.choice([-1, 1])
        return np.clip(blurry + shift if rng.random() < 0.5 else blurry * (1 + 2 * shift), 0, 1)
    if kind == "colour":
        gains = 1 + rng.uniform(0.015, 0.08, size=3) * rng.choice([-1, 1], size=3)
        return np.clip(blurry * gains, 0, 1)
    if kind == "sharp_shifted":
        if rng.random() < 0.5:
            return np.clip(sharp + rng.uniform(0.01, 0.08) * rng.choice([-1, 1]), 0, 1)
        return np.clip(sharp * (1 + rng.uniform(0.02, 0.12, size=3) * rng.choice([-1, 1], size=3)), 0, 1)
    raise ValueError(f"unknown candidate kind {kind!r}")


def degrade_pair(sharp: np.ndarray, degradation: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(input, truth) for a sharp crop: the realistic or dynamic degradation, never an undegraded pair."""
    from tools.training.realistic import DYNAMIC_RECIPE, RealisticRecipe, degrade_whole_image_realistic

    recipe = DYNAMIC_RECIPE if degradation == "dynamic" else RealisticRecipe()
    kinds = ("uniform", "shake", "object", "defocus")
    shares = recipe.shares()[:4] / recipe.shares()[:4].sum()
    kind = str(rng.choice(kinds, p=shares))
    blurry, truth, _ = degrade_whole_image_realistic(sharp, rng, recipe, kind=kind)
    return np.clip(blurry, 0, 1).astype(np.float32), truth.astype(np.float32)


def measure_candidates(photos: list[Path], seed: int = 0, crop: int = 192, crops_per_photo: int = 2,
                       network=None, candidates: tuple[str, ...] = CANDIDATES, min_input_psnr: float = 21.0,
                       max_input_psnr: float = 36.0, progress=None) -> list[Candidate]:
    """Pairs from ``photos`` (``crops_per_photo`` seeded crops each, degradations alternating) and their candidates,
    each measured by ``tools.quality.restoration_measures``. Pairs whose input lies outside
    [``min_input_psnr``, ``max_input_psnr``] dB are redrawn (a user's blurred photo is seldom worse than 21 dB, and
    above 36 dB the blur is invisible)."""
    from tools.acceptance_rates import random_crop
    from tools.images import read_image
    from tools.quality import restoration_measures

    rows: list[Candidate] = []
    total = len(photos) * crops_per_photo
    for index, photo in enumerate(photos):
        image = read_image(photo).rgb
        for copy in range(crops_per_photo):
            rng = np.random.default_rng([seed, index, copy])
            degradation = DEGRADATIONS[(index + copy) % len(DEGRADATIONS)]
            for _ in range(8):
                sharp = random_crop(image, crop, rng)
                blurry, truth = degrade_pair(sharp, degradation, rng)
                input_psnr = _psnr(truth, blurry)
                if min_input_psnr <= input_psnr <= max_input_psnr:
                    break
            name = f"{photo.stem}#{copy}"
            for kind in candidates:
                if kind == "network" and network is None:
                    continue
                candidate = make_candidate(kind, truth, blurry, rng, network).astype(np.float32)
                change = _psnr(truth, candidate) - input_psnr
                rows.append(Candidate(pair=name, kind=kind, input_psnr=round(input_psnr, 3),
                                      change=round(change, 4), measures=restoration_measures(blurry, candidate)))
            if progress:
                progress(index * crops_per_photo + copy + 1, total)
    return rows


@dataclass(frozen=True)
class GateRates:
    """The issue's three rates over a set of candidates (counts and shares)."""

    sharp_accepted: int
    sharp_total: int
    worse_accepted: int
    worse_total: int
    gaining_accepted: int
    gaining_total: int

    @property
    def sharp_rate(self) -> float:
        return self.sharp_accepted / max(self.sharp_total, 1)

    @property
    def worse_rate(self) -> float:
        return self.worse_accepted / max(self.worse_total, 1)

    @property
    def gaining_rate(self) -> float:
        return self.gaining_accepted / max(self.gaining_total, 1)


def gate_rates(rows: list[Candidate], worse_below: float = -0.05, gaining_from: float = 0.25,
               blur_cost: float = 1.0) -> GateRates:
    """Sharp originals accepted (pairs whose degradation costs at least ``blur_cost`` dB against the sharp crop's
    own 36 dB ceiling, i.e. inputs at or under 35 dB), candidates worse than their input by more than
    ``-worse_below`` dB accepted, and candidates gaining at least ``gaining_from`` dB accepted."""
    sharp = [r for r in rows if r.kind == "sharp" and r.input_psnr <= 36.0 - blur_cost]
    worse = [r for r in rows if r.change < worse_below]
    gaining = [r for r in rows if r.change >= gaining_from]
    return GateRates(sum(bool(r.accepted) for r in sharp), len(sharp), sum(bool(r.accepted) for r in worse),
                     len(worse), sum(bool(r.accepted) for r in gaining), len(gaining))
