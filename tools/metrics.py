"""Image quality numbers: PSNR/SSIM against a reference (scikit-image) and a no-reference sharpness."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tools.errors import RestorationError


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the luma (0-255 scale) after a 1-pixel Gaussian: higher means more edges.

    The light pre-smoothing keeps pixel noise and JPEG artefacts, which a deblurring network also removes,
    from counting as detail; without it a denoised, sharper output could score lower than its noisy input.
    """
    from scipy.ndimage import gaussian_filter, laplace

    luma = (rgb[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) * 255.0
    return float(laplace(gaussian_filter(luma.astype(np.float32), 1.0, mode="reflect"), mode="reflect").var())


def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """PSNR in dB of ``image`` against ``reference``, both float in [0,1] (inf when identical)."""
    from skimage.metrics import peak_signal_noise_ratio

    _check_same_shape(reference, image)
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(reference, image, data_range=1.0))


def ssim(reference: np.ndarray, image: np.ndarray) -> float:
    """Mean SSIM of ``image`` against ``reference``, both (H, W, 3) float in [0,1]."""
    from skimage.metrics import structural_similarity

    _check_same_shape(reference, image)
    if min(reference.shape[:2]) < 7:
        raise RestorationError("SSIM needs images of at least 7x7 pixels")
    return float(structural_similarity(reference, image, data_range=1.0, channel_axis=2))


def _check_same_shape(reference: np.ndarray, image: np.ndarray) -> None:
    if reference.shape != image.shape:
        raise RestorationError(f"the reference is {reference.shape[1]}x{reference.shape[0]} but the image is "
                               f"{image.shape[1]}x{image.shape[0]}; a reference must be the same size")


def reference_pair_names(blur_dir: Path, sharp_dir: Path) -> list[tuple[Path, Path]]:
    """Pairs (blurry, sharp) of files with the same name in two folders, sorted; error when none match."""
    blur_dir, sharp_dir = Path(blur_dir), Path(sharp_dir)
    for folder in (blur_dir, sharp_dir):
        if not folder.is_dir():
            raise RestorationError(f"{folder} is not a folder")
    pairs = [(blurry, sharp_dir / blurry.name) for blurry in sorted(blur_dir.iterdir())
             if blurry.is_file() and (sharp_dir / blurry.name).is_file()]
    if not pairs:
        raise RestorationError(f"no file in {blur_dir} has a same-named partner in {sharp_dir}")
    return pairs
