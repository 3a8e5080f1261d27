"""Is a photo blurred, and did a restoration really improve it? No-reference checks before and after.

**Blur estimate** (before restoring): the *blur effect* of Crété-Roffet et al. ("The Blur Effect: Perception
and Estimation with a New No-Reference Perceptual Blur Metric", SPIE 2007), as scikit-image ships it in
``skimage.measure.blur_effect``: the image is blurred again with an 11-pixel box filter along each axis,
and the score is the share of the image's neighbour differences that the re-blur destroys, subtracted from
one. A sharp image loses much to the re-blur (score near 0.15-0.4); an already blurred one loses little
(score towards 1). The score is a ratio of sums of differences, so it does not depend on brightness or
contrast: a sharp photo that is dark or half in shadow scores like the same photo well lit. It is computed
on the luma after a 3x3 median filter, because pixel noise and JPEG speckle count as fine detail and make a
noisy blurred photo look sharp (and a network that removes the noise look as if it blurred); the worst axis
counts (motion blur along one direction is blur).

**Acceptance check** (after restoring), on the luma of input and output:

- ``gain``: blur effect of the input minus that of the output, both median-filtered (positive: sharper);
- ``overshoot``: around the input's strongest edges, how far the output leaves the range of values the
  input has in a 13x13 neighbourhood, relative to that range (ringing and halos);
- ``flat_noise``: in the input's flattest regions, the ratio of high-frequency amplitude (Laplacian) of the
  output to that of the input, both with a floor of faint noise (noise and JPEG blocks amplified into grain).

The output is accepted only when the gain is clear and neither penalty is large; the thresholds were
calibrated on synthetic pairs so that an accepted output almost never has a lower PSNR than its input
(``benchmarks/acceptance_rates.py`` measures the rates; MODEL_CARD.md, "Acceptance check").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Blur effect at and above which a photo counts as blurred (sharp photos score below it).
BLURRED_FROM = 0.42
#: Upper bounds of the levels "slightly blurred" and "blurred"; above the last is "strongly blurred".
LEVEL_BOUNDS = ((0.52, "slightly blurred"), (0.62, "blurred"))
#: The smallest blur-effect gain that counts as a clear improvement.
MIN_GAIN = 0.10
#: Largest accepted overshoot around edges (share of the local range); improved calibration outputs stay
#: under 0.047, an unsharp mask strong enough to draw halos reaches 0.1.
MAX_OVERSHOOT = 0.06
#: Largest accepted amplification of fine detail in flat regions; improved calibration outputs stay under 1.4
#: and true sharp photos against their (noisy) blurred versions under 1.85, while the sharp photo with noise of
#: sigma 0.04 added reaches 2.1-2.3.
MAX_FLAT_NOISE = 2.0

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_REBLUR = 11  # box size of the re-blur, as in Crété-Roffet's paper and scikit-image's default
_EDGE_SHARE = 0.05  # the strongest 5% of local ranges are "strong edges"
_EDGE_WINDOW = 13  # wider than most blur: a true edge's two plateaus both lie in the input's window
_FLAT_SHARE = 0.20  # the flattest 20% of the image is "flat"
#: Laplacian energy of faint noise (sigma 0.015, 20 sigma^2): grain below it is not counted as amplified, so a
#: noiseless blurred input (almost no fine detail in flat regions) does not make every real texture look like noise.
_GRAIN_FLOOR = 20 * 0.015**2


@dataclass(frozen=True)
class BlurEstimate:
    """How blurred a photo looks: the blur effect (0 sharp .. 1 flat), a level, and whether it is blurred."""

    score: float
    level: str
    blurred: bool


@dataclass(frozen=True)
class Acceptance:
    """The acceptance check's measures and verdict for one input/output pair."""

    accepted: bool
    blur_before: float
    blur_after: float
    overshoot: float
    flat_noise: float
    reason: str

    @property
    def gain(self) -> float:
        """Blur-effect gain (positive: the output is sharper)."""
        return self.blur_before - self.blur_after


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of float RGB (H, W, 3) in [0,1], as float32."""
    return np.ascontiguousarray(rgb[..., :3], dtype=np.float32) @ _LUMA


def blur_effect(gray: np.ndarray) -> float:
    """Crété-Roffet blur effect of a 2-D float image: 0 (sharp) .. 1 (no detail left); 1.0 when flat."""
    from scipy.ndimage import uniform_filter1d

    gray = np.asarray(gray, dtype=np.float32)
    scores = []
    for axis in (0, 1):
        if gray.shape[axis] < 2:
            continue
        reblurred = uniform_filter1d(gray, _REBLUR, axis=axis, mode="reflect")
        sharp_diff = np.abs(np.diff(gray, axis=axis))
        lost = np.maximum(0.0, sharp_diff - np.abs(np.diff(reblurred, axis=axis)))
        total = float(sharp_diff.sum(dtype=np.float64))
        scores.append(1.0 if total <= 1e-6 else 1.0 - float(lost.sum(dtype=np.float64)) / total)
    return max(scores) if scores else 1.0


#: Devillard's 19 compare-exchanges that leave the median of 9 values in position 4 (opt_med9).
_MEDIAN9 = ((1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3), (5, 8), (4, 7), (3, 6),
            (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2))


def median3x3(gray: np.ndarray) -> np.ndarray:
    """The 3x3 median of a 2-D image (edges mirrored, as scipy's ``mode="reflect"``), by a sorting network over
    the nine shifted copies: the same values as ``scipy.ndimage.median_filter`` at a few times its speed."""
    height, width = gray.shape
    padded = np.pad(gray, 1, mode="symmetric")
    values = [padded[row:row + height, column:column + width] for row in range(3) for column in range(3)]
    for low, high in _MEDIAN9:
        values[low], values[high] = np.minimum(values[low], values[high]), np.maximum(values[low], values[high])
    return values[4]


def denoised_luma(rgb: np.ndarray) -> np.ndarray:
    """The luma after a 3x3 median: pixel noise and JPEG speckle removed, edges kept where they are."""
    return median3x3(luma(rgb))


def _quantile(values: np.ndarray, share: float) -> float:
    """A quantile estimated on every 3rd row and column (9x fewer values: a threshold, not a statistic)."""
    return float(np.quantile(values[::3, ::3], share))


def estimate_blur(rgb: np.ndarray) -> BlurEstimate:
    """The blur estimate of float RGB (H, W, 3) in [0,1]; see the module docstring for the method."""
    score = blur_effect(denoised_luma(rgb))
    level = "sharp"
    if score >= BLURRED_FROM:
        level = next((name for bound, name in LEVEL_BOUNDS if score < bound), "strongly blurred")
    return BlurEstimate(score=round(score, 4), level=level, blurred=score >= BLURRED_FROM)


def local_extreme(gray: np.ndarray, size: int, extreme) -> np.ndarray:
    """The maximum (``np.maximum``) or minimum (``np.minimum``) over a ``size`` x ``size`` window, edges mirrored
    as scipy's ``mode="reflect"``: windows doubled along each axis (van Herk-style), a handful of array passes."""
    result = gray
    for axis in (0, 1):
        before = size // 2
        widths = [(0, 0), (0, 0)]
        widths[axis] = (before, size - 1 - before)
        result, span = np.pad(result, widths, mode="symmetric"), 1
        while span < size:
            step = min(span, size - span)  # windows of span grow to span + step
            length = result.shape[axis] - step
            head, tail = [slice(None), slice(None)], [slice(None), slice(None)]
            head[axis], tail[axis] = slice(0, length), slice(step, step + length)
            result = extreme(result[tuple(head)], result[tuple(tail)])
            span += step
    return result


def overshoot(before: np.ndarray, after: np.ndarray) -> float:
    """Mean excursion of ``after`` outside ``before``'s 13x13 local range, at strong edges, per unit of range.

    Deblurring steepens an edge between the two plateaus the blurred input already shows; a halo or ringing goes
    beyond them.
    """
    high, low = local_extreme(before, _EDGE_WINDOW, np.maximum), local_extreme(before, _EDGE_WINDOW, np.minimum)
    spread = high - low
    edges = spread >= max(_quantile(spread, 1.0 - _EDGE_SHARE), 0.02)
    if not edges.any():
        return 0.0
    excursion = np.maximum(after - high, 0.0) + np.maximum(low - after, 0.0)
    return float(excursion[edges].sum(dtype=np.float64) / spread[edges].sum(dtype=np.float64))


def flat_noise(before: np.ndarray, after: np.ndarray) -> float:
    """High-frequency (Laplacian) amplitude of ``after`` over that of ``before`` in ``before``'s flattest regions,
    each with the energy of faint noise added (so a change below visible grain stays near 1)."""
    from scipy.ndimage import laplace, uniform_filter

    detail = laplace(before)
    activity = uniform_filter(np.abs(detail), 9)
    flat = activity <= _quantile(activity, _FLAT_SHARE)
    energy_before = float(np.square(detail[flat]).mean(dtype=np.float64))
    energy_after = float(np.square(laplace(after)[flat]).mean(dtype=np.float64))
    return float(np.sqrt((energy_after + _GRAIN_FLOOR) / (energy_before + _GRAIN_FLOOR)))


def assess_restoration(before_rgb: np.ndarray, after_rgb: np.ndarray,
                       blur_before: float | None = None) -> Acceptance:
    """Whether ``after_rgb`` is clearly better than ``before_rgb`` (same shape, float RGB in [0,1]).

    Args:
        blur_before: the input's blur effect when already computed (saves one pass).
    """
    before, after = luma(before_rgb), luma(after_rgb)
    score_before = blur_effect(denoised_luma(before_rgb)) if blur_before is None else blur_before
    score_after = blur_effect(denoised_luma(after_rgb))
    ring, grain = overshoot(before, after), flat_noise(before, after)
    gain = score_before - score_after
    if gain < MIN_GAIN:
        reason = f"no clear sharpness gain: blur effect {score_before:.3f} → {score_after:.3f}"
    elif ring > MAX_OVERSHOOT:
        reason = f"ringing or halos around edges: overshoot {ring:.2f} of the local range"
    elif grain > MAX_FLAT_NOISE:
        reason = f"noise amplified in flat regions: {grain:.1f}x the input's fine detail"
    else:
        reason = f"sharper: blur effect {score_before:.3f} → {score_after:.3f}, without ringing or added noise"
    accepted = gain >= MIN_GAIN and ring <= MAX_OVERSHOOT and grain <= MAX_FLAT_NOISE
    return Acceptance(accepted=accepted, blur_before=round(score_before, 4), blur_after=round(score_after, 4),
                      overshoot=round(ring, 4), flat_noise=round(grain, 3), reason=reason)
