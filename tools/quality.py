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

**Acceptance check** (after restoring; ``assess_restoration``, used by every interface and by ``cnaps assess``).
The network always runs; the check decides whether its output is handed back. It measures the pair
(``restoration_measures``): the blur-effect gain; ``overshoot`` beyond the input's 13x13 local range at strong edges
(ringing, halos); ``flat_noise``, fine detail multiplied in the input's flattest fifth (grain); the change's
``whiteness`` (share at the finest scale: white grain) and ``structure`` (correlation with the input's own edges);
``level_shift`` and ``low_shift`` (brightness, colour balance, tone) and their share of the whole change; how much
fine detail the output adds or loses. No one of these separates real restorations from worse outputs (the sharp
original of a strong blur overshoots the blurred photo's range like a halo; recovered texture looks like grain), so
a small gradient-boosted model (``tools.gate_model``) combines them, each artefact measure constrained to count only
against acceptance. It was fitted on candidates of known quality (``tools.gate_calibration``: sharp originals,
partial restorations, the network's outputs, halos, ringing, grain, smoothing, level and colour shifts) made from
photos apart from those it is measured on; ``benchmarks/gate_rates.py`` prints its rates (MODEL_CARD.md,
"Acceptance check"). An output whose change is mostly a shift of level or colour is refused whatever the score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Blur effect at and above which a photo is *called* blurred in words. It no longer decides whether the network
#: runs: undegraded photographs score 0.21-0.39 (5-95 %), and so do many mildly blurred ones (a real GoPro frame
#: 25 dB from its sharp original scored 0.41).
BLURRED_FROM = 0.42
#: Under this blur effect the input looks sharp (half of undegraded photographs), and the acceptance check asks
#: ``SHARP_MARGIN`` more check score: that costs 1 % of the sharp originals accepted on the held-aside pairs and
#: refuses the network's touch-ups of sharp photographs (2 of 23 were accepted without it).
LOOKS_SHARP_BELOW = 0.30
SHARP_MARGIN = 1.0
#: Upper bounds of the levels "slightly blurred" and "blurred"; above the last is "strongly blurred".
LEVEL_BOUNDS = ((0.52, "slightly blurred"), (0.62, "blurred"))
#: An output whose RMS change is under this (a quarter of an 8-bit level) is the input as far as anyone can see.
MIN_CHANGE = 0.001
#: Measures past which a rejected output's reason names halos or grain (the decision itself is the model's).
HALO_FROM = 0.03
GRAIN_FROM = 1.4

#: Position of level_ratio (level shift over the whole change) among tools.gate_model.FEATURES.
FEATURE_LEVEL_RATIO = 11

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
    measures: dict = field(default_factory=dict)

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
    return blur_estimate(blur_effect(denoised_luma(rgb)))


def blur_estimate(score: float) -> BlurEstimate:
    """The estimate (level, blurred or not) for a blur effect already computed."""
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


def accept_measures(measures: dict[str, float]) -> tuple[bool, str]:
    """The acceptance rule on ``restoration_measures``: (accepted, the reason in words).

    Accepted when the output changed the photo visibly and is sharper or more detailed at all, the learned score
    (``tools.gate_model``) clears its calibrated threshold (by ``SHARP_MARGIN`` more when the input already looks
    sharp), and the change is not mostly a shift of level or colour balance. The reason names what the measures
    show most clearly.
    """
    from tools.gate_model import features, load_model, score

    model = load_model()
    m = measures
    before, after = m["blur_before"], m["blur_after"]
    if m["change"] < MIN_CHANGE:
        return False, f"no clear sharpness gain: the output is practically the input (blur effect {before:.3f} → {after:.3f})"
    if m["gain"] <= 0 and m["detail_gain"] <= 1.0:
        return False, f"no clear sharpness gain: blur effect {before:.3f} → {after:.3f}, no fine detail added"
    if m["gain"] < 0 and m["detail_loss"] > 0.5:
        return False, f"smoother, not sharper: blur effect {before:.3f} → {after:.3f}, fine detail lost"
    level_ratio = features(m)[FEATURE_LEVEL_RATIO]
    value = score(m, model)
    needed = model["threshold"] + (SHARP_MARGIN if before < LOOKS_SHARP_BELOW else 0.0)
    shifted = level_ratio > model["max_level_ratio"]
    if value >= needed and not shifted:
        return True, (f"sharper: blur effect {before:.3f} → {after:.3f}, without ringing, added noise or a tone "
                      f"shift (check score {value:+.2f}, accepted from {needed:+.2f})")
    if value >= needed:  # only the level veto refused it
        return False, (f"brightness or colour shifted: the mean moved by {m['level_shift']:.3f}, "
                       f"{level_ratio:.0%} of the change")
    if m["overshoot"] > HALO_FROM:
        return False, f"ringing or halos around edges: overshoot {m['overshoot']:.2f} of the local range"
    if m["flat_noise"] > GRAIN_FROM or m["whiteness"] > 0.5:
        return False, f"noise amplified in flat regions: {m['flat_noise']:.1f}x the input's fine detail"
    if shifted or m["level_shift"] > 0.02:
        return False, (f"brightness or colour shifted: the mean moved by {m['level_shift']:.3f}, "
                       f"{level_ratio:.0%} of the change")
    if m["gain"] <= 0 and m["detail_loss"] > 0.3:
        return False, f"smoother, not sharper: blur effect {before:.3f} → {after:.3f}, fine detail lost"
    looks = " (the photo already looks sharp, so more is asked)" if before < LOOKS_SHARP_BELOW else ""
    return False, (f"no clear sharpness gain: blur effect {before:.3f} → {after:.3f} (check score {value:+.2f}, "
                   f"accepted from {needed:+.2f}{looks})")


def assess_restoration(before_rgb: np.ndarray, after_rgb: np.ndarray,
                       blur_before: float | None = None) -> Acceptance:
    """Whether ``after_rgb`` is clearly better than ``before_rgb`` (same shape, float RGB in [0,1]).

    Every interface (``cnaps restore``, ``cnaps assess``, chat, API, reports) decides with this function.

    Args:
        blur_before: the input's blur effect when already computed (saves one pass).
    """
    measures = restoration_measures(before_rgb, after_rgb, blur_before)
    accepted, reason = accept_measures(measures)
    return Acceptance(accepted=accepted, blur_before=measures["blur_before"], blur_after=measures["blur_after"],
                      overshoot=measures["overshoot"], flat_noise=measures["flat_noise"], reason=reason,
                      measures=measures)

def _local_energy(gray: np.ndarray) -> np.ndarray:
    """Local mean (9x9) of the squared Laplacian: how much fine detail each neighbourhood holds."""
    from scipy.ndimage import laplace, uniform_filter

    return uniform_filter(np.square(laplace(gray)), 9)


def restoration_measures(before_rgb: np.ndarray, after_rgb: np.ndarray,
                         blur_before: float | None = None) -> dict[str, float]:
    """Every no-reference measure of an input/output pair that the acceptance check may use (float RGB [0,1]).

    * ``blur_before``, ``blur_after``, ``gain``: blur effect (median-filtered luma) and its drop;
    * ``overshoot``: excursion beyond the input's 13x13 local range at strong edges (ringing, halos);
    * ``flat_noise``: fine-detail amplification in the input's flattest fifth (grain);
    * ``level_shift``: largest per-channel change of the mean (brightness or colour balance);
    * ``low_shift``: RMS of the change after a Gaussian of sigma 8 px (a deblurring moves detail, not light);
    * ``detail_loss``: share of the input's detailed regions whose fine detail the output lowers by 30 % or more
      (smoothing, lost texture);
    * ``detail_gain``: fine-detail energy of the output over that of the input (median-filtered luma);
    * ``change``: RMS of the whole change.
    """
    from scipy.ndimage import gaussian_filter

    before_rgb = np.asarray(before_rgb, dtype=np.float32)[..., :3]
    after_rgb = np.asarray(after_rgb, dtype=np.float32)[..., :3]
    before, after = luma(before_rgb), luma(after_rgb)
    clean_before, clean_after = median3x3(before), median3x3(after)
    blur_before = blur_effect(clean_before) if blur_before is None else blur_before
    blur_after = blur_effect(clean_after)
    difference = after_rgb - before_rgb
    level = np.abs(difference.reshape(-1, 3).mean(axis=0, dtype=np.float64)).max()
    low = gaussian_filter(difference, (8, 8, 0), mode="reflect")
    energy_before, energy_after = _local_energy(clean_before), _local_energy(clean_after)
    detailed = energy_before > max(_quantile(energy_before, 0.5), 1e-6)
    loss = float((energy_after[detailed] < 0.7 * energy_before[detailed]).mean()) if detailed.any() else 0.0
    gain_detail = float(energy_after.mean(dtype=np.float64) / max(energy_before.mean(dtype=np.float64), 1e-9))
    # the change's fine structure against the input's own edges: a deblurring steepens what is there (positive),
    # grain is unrelated to it (near 0), smoothing undoes it (negative)
    change_fine = (after - before) - gaussian_filter(after - before, 2.0, mode="reflect")
    edges_fine = clean_before - gaussian_filter(clean_before, 2.0, mode="reflect")
    norm = float(np.sqrt(np.sum(np.square(change_fine), dtype=np.float64) * np.sum(np.square(edges_fine), dtype=np.float64)))
    structure = float(np.sum(change_fine * edges_fine, dtype=np.float64) / norm) if norm > 1e-12 else 0.0
    # white grain: the share of the change's fine energy at the finest scale (above a Gaussian of 0.7 px)
    finest = (after - before) - gaussian_filter(after - before, 0.7, mode="reflect")
    fine_energy = float(np.sum(np.square(change_fine), dtype=np.float64))
    whiteness = float(np.sum(np.square(finest), dtype=np.float64) / fine_energy) if fine_energy > 1e-12 else 0.0
    return {"blur_before": round(blur_before, 4), "blur_after": round(blur_after, 4),
            "gain": round(blur_before - blur_after, 4), "overshoot": round(overshoot(before, after), 4),
            "flat_noise": round(flat_noise(before, after), 4), "level_shift": round(float(level), 5),
            "low_shift": round(float(np.sqrt(np.mean(np.square(low), dtype=np.float64))), 5),
            "detail_loss": round(loss, 4), "detail_gain": round(gain_detail, 4), "structure": round(structure, 4),
            "whiteness": round(whiteness, 4),
            "change": round(float(np.sqrt(np.mean(np.square(difference), dtype=np.float64))), 5)}


def assessment_record(before_path, after_path) -> dict:
    """``cnaps assess``: read two image files and judge the second as a restoration of the first.

    Returns ``accepted``, ``reason``, ``before``/``after`` (path, blur estimate, level, size) and every measure.
    Raises ``tools.images.ImageReadError`` (a ``RestorationError``) for an unreadable file and
    ``RestorationError`` when the sizes differ.
    """
    from pathlib import Path

    from tools.errors import RestorationError
    from tools.images import read_image

    before, after = read_image(Path(before_path)), read_image(Path(after_path))
    if before.rgb.shape[:2] != after.rgb.shape[:2]:
        raise RestorationError(f"{after_path} is {after.rgb.shape[1]}x{after.rgb.shape[0]} but {before_path} is "
                               f"{before.rgb.shape[1]}x{before.rgb.shape[0]}: a restoration has its input's size")
    verdict = assess_restoration(before.rgb, after.rgb)
    estimates = blur_estimate(verdict.blur_before), blur_estimate(verdict.blur_after)
    sides = {}
    for key, path, loaded, estimate in (("before", before_path, before, estimates[0]),
                                         ("after", after_path, after, estimates[1])):
        sides[key] = {"path": str(path), "width": int(loaded.rgb.shape[1]), "height": int(loaded.rgb.shape[0]),
                      "blur": estimate.score, "level": estimate.level, "blurred": estimate.blurred}
    return {"accepted": verdict.accepted, "reason": verdict.reason, **sides, "measures": verdict.measures}
