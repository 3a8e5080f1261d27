"""The quality numbers: the no-reference sharpness measure ranks real sharpness, not noise."""

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from tools.metrics import psnr, sharpness, ssim
from tools.training.data import load_rgb

SHARP = Path(__file__).parent / "fixtures" / "sharp" / "crop_kodim05.png"


def _blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([gaussian_filter(rgb[..., c], sigma) for c in range(3)], axis=-1)


def test_sharpness_falls_with_blur_and_noise_does_not_pass_for_detail():
    sharp = load_rgb(SHARP).astype(np.float32) / 255.0
    mild, strong = _blurred(sharp, 1.0), _blurred(sharp, 2.5)
    assert sharpness(sharp) > sharpness(mild) > sharpness(strong)
    noisy = np.clip(strong + np.random.default_rng(0).normal(0, 0.02, strong.shape), 0, 1).astype(np.float32)
    # Sensor-like noise on a blurred photo must not make it look sharper than a less blurred one.
    assert sharpness(noisy) < sharpness(mild)
    assert sharpness(noisy) < 1.5 * sharpness(strong)


def test_psnr_and_ssim_use_the_reference():
    sharp = load_rgb(SHARP).astype(np.float32) / 255.0
    blurred = _blurred(sharp, 1.5)
    assert psnr(sharp, sharp) == float("inf") and ssim(sharp, sharp) > 0.999
    assert 15 < psnr(sharp, blurred) < 40 and ssim(sharp, blurred) < 0.95
