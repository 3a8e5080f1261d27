"""The blur estimate and the acceptance check on real photo crops, blurred, darkened, sharpened and noised."""

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from tools.images import read_image
from tools.quality import BLURRED_FROM, assess_restoration, blur_effect, estimate_blur
from tools.training.blur import blur_valid, defocus_kernel, linear_to_srgb, srgb_to_linear

SHARP = sorted((Path(__file__).parent / "fixtures" / "sharp").glob("*.png"))


def _defocused(sharp: np.ndarray, radius: float = 3.0) -> np.ndarray:
    kernel = defocus_kernel(radius, 9)
    padded = np.pad(srgb_to_linear(sharp), ((4, 4), (4, 4), (0, 0)), mode="reflect")
    return linear_to_srgb(blur_valid(padded, kernel)).astype(np.float32)


def _in_the_dark(sharp: np.ndarray, gain: float, left_half_only: bool = False) -> np.ndarray:
    """The photo with less light (linear gain), quantised to 8 bits like a real dark JPEG."""
    linear = srgb_to_linear(sharp)
    if left_half_only:
        linear[:, : linear.shape[1] // 2] *= gain
    else:
        linear = linear * gain
    return (np.round(linear_to_srgb(linear) * 255) / 255).astype(np.float32)


@pytest.fixture(params=SHARP, ids=[path.stem for path in SHARP])
def sharp(request) -> np.ndarray:
    return read_image(request.param).rgb


def test_sharp_photos_are_not_blurred(sharp):
    estimate = estimate_blur(sharp)
    assert not estimate.blurred and estimate.level == "sharp" and estimate.score < BLURRED_FROM - 0.1


def test_dark_and_shadowed_sharp_photos_are_not_blurred(sharp):
    score = estimate_blur(sharp).score
    for darker in (_in_the_dark(sharp, 0.08), _in_the_dark(sharp, 0.05, left_half_only=True)):
        estimate = estimate_blur(darker)
        assert not estimate.blurred and abs(estimate.score - score) < 0.03


def test_defocused_photos_are_blurred_and_more_blur_scores_higher(sharp):
    mild, strong = estimate_blur(_defocused(sharp, 3.0)), estimate_blur(_defocused(sharp, 4.5))
    assert mild.blurred and strong.blurred and strong.score > mild.score
    assert mild.level != "sharp"


def test_a_flat_image_has_no_detail_left():
    assert blur_effect(np.full((32, 32), 0.4, dtype=np.float32)) == 1.0


def test_the_sharp_original_is_accepted_as_a_restoration_of_its_blurred_copy(sharp):
    verdict = assess_restoration(_defocused(sharp), sharp)
    assert verdict.accepted and verdict.gain > 0.2, verdict.reason


def test_an_unchanged_output_is_not_an_improvement(sharp):
    blurry = _defocused(sharp)
    verdict = assess_restoration(blurry, blurry.copy())
    assert not verdict.accepted and verdict.gain == 0 and "no clear sharpness gain" in verdict.reason


def test_halos_are_rejected_although_the_output_looks_sharper(sharp):
    blurry = _defocused(sharp)
    soft = np.stack([gaussian_filter(blurry[..., c], 2.0) for c in range(3)], axis=-1)
    haloed = np.clip(blurry + 5.0 * (blurry - soft), 0, 1)  # a strong unsharp mask: bright and dark rims
    verdict = assess_restoration(blurry, haloed)
    assert verdict.gain > 0.05 and not verdict.accepted and "ringing or halos" in verdict.reason


def test_added_noise_is_not_sharpness(sharp):
    blurry = _defocused(sharp)
    noisy = np.clip(blurry + np.random.default_rng(3).normal(0, 0.04, blurry.shape), 0, 1).astype(np.float32)
    assert not assess_restoration(blurry, noisy).accepted


def test_a_sharper_but_grainy_output_is_rejected(sharp):
    grainy = np.clip(sharp + np.random.default_rng(3).normal(0, 0.04, sharp.shape), 0, 1).astype(np.float32)
    verdict = assess_restoration(_defocused(sharp), grainy)
    assert verdict.gain > 0.1 and not verdict.accepted and "noise amplified" in verdict.reason


def test_removing_noise_while_sharpening_counts_as_a_gain(sharp):
    blurry = _defocused(sharp)
    noisy = np.clip(blurry + np.random.default_rng(5).normal(0, 0.01, blurry.shape), 0, 1).astype(np.float32)
    assert estimate_blur(noisy).blurred  # the noise does not make a blurred photo look sharp
    assert assess_restoration(noisy, sharp).accepted


@pytest.mark.parametrize("shape", [(37, 53), (5, 3), (1, 9)])
def test_fast_filters_equal_scipy(shape):
    from scipy.ndimage import maximum_filter, median_filter, minimum_filter

    from tools.quality import local_extreme, median3x3

    gray = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    assert np.array_equal(median3x3(gray), median_filter(gray, 3, mode="reflect"))
    assert np.array_equal(local_extreme(gray, 13, np.maximum), maximum_filter(gray, 13, mode="reflect"))
    assert np.array_equal(local_extreme(gray, 13, np.minimum), minimum_filter(gray, 13, mode="reflect"))
