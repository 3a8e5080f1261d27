"""Synthetic blur for training and benchmarking: camera shake, linear motion and defocus kernels,
applied in linear light, then sensor noise and JPEG compression.

Everything draws from one ``numpy.random.Generator`` so a fixed seed reproduces a data set exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """Undo the sRGB transfer curve (values in [0, 1])."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve (values in [0, 1])."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def _splat(points: np.ndarray, size: int) -> np.ndarray:
    """Rasterise sub-pixel trajectory points onto a size x size kernel with bilinear weights."""
    kernel = np.zeros((size, size), dtype=np.float64)
    points = points - points.mean(axis=0) + (size - 1) / 2.0
    for x, y in points:
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                               (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            xi, yi = x0 + dx, y0 + dy
            if 0 <= xi < size and 0 <= yi < size:
                kernel[yi, xi] += weight
    return kernel / kernel.sum()


def camera_shake_kernel(rng: np.random.Generator, extent: float, size: int) -> np.ndarray:
    """A random handheld-shake trajectory (inertial random walk with sudden jerks) as a kernel.

    Args:
        extent: roughly the longest displacement of the trajectory, in pixels.
    """
    steps = 200
    velocity = rng.normal(size=2)
    velocity /= np.linalg.norm(velocity) + 1e-8
    position = np.zeros(2)
    points = [position.copy()]
    anxiety = rng.uniform(0.0, 0.15)
    for _ in range(steps):
        jerk = rng.random() < anxiety * 0.1
        velocity = 0.9 * velocity + rng.normal(scale=0.6, size=2) * (3.0 if jerk else 1.0) - 0.05 * position / max(extent, 1)
        position = position + velocity
        points.append(position.copy())
    points = np.array(points)
    span = np.ptp(points, axis=0).max()
    points *= extent / max(span, 1e-6)
    return _splat(points, size)


def linear_motion_kernel(rng: np.random.Generator, length: float, size: int) -> np.ndarray:
    """A straight motion streak of ``length`` pixels at a random angle."""
    angle = rng.uniform(0, np.pi)
    t = np.linspace(-0.5, 0.5, max(int(length * 4), 2))
    points = np.stack([t * length * np.cos(angle), t * length * np.sin(angle)], axis=1)
    return _splat(points, size)


def defocus_kernel(radius: float, size: int) -> np.ndarray:
    """An anti-aliased disk of ``radius`` pixels (out-of-focus blur)."""
    supersample = 8
    coords = (np.arange(size * supersample) + 0.5) / supersample - size / 2.0
    xx, yy = np.meshgrid(coords, coords)
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    kernel = disk.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    return kernel / kernel.sum()


@dataclass(frozen=True)
class BlurRecipe:
    """Strength ranges of the synthetic degradation."""

    max_extent: float = 19.0
    min_extent: float = 3.0
    max_noise: float = 0.02
    jpeg_probability: float = 0.5
    jpeg_quality: tuple[int, int] = (60, 95)


def random_kernel(rng: np.random.Generator, recipe: BlurRecipe = BlurRecipe()) -> np.ndarray:
    """Draw one kernel: camera shake (60%), linear motion (25%) or defocus (15%), sometimes with slight defocus."""
    extent = rng.uniform(recipe.min_extent, recipe.max_extent)
    size = int(np.ceil(extent)) + 4
    size += 1 - size % 2
    kind = rng.random()
    if kind < 0.6:
        kernel = camera_shake_kernel(rng, extent, size)
    elif kind < 0.85:
        kernel = linear_motion_kernel(rng, extent, size)
    else:
        kernel = defocus_kernel(min(extent / 2.0, 4.5), size)
    if kind < 0.85 and rng.random() < 0.3:
        kernel = _convolve_same(kernel, defocus_kernel(rng.uniform(0.5, 1.5), 5))
    return (kernel / kernel.sum()).astype(np.float32)


def _convolve_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from scipy.signal import fftconvolve

    return np.clip(fftconvolve(image, kernel, mode="same"), 0, None)


def blur_valid(sharp_linear: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve an HxWx3 linear-light image with ``kernel``, 'valid' mode (output shrinks by k-1)."""
    from scipy.signal import fftconvolve

    return np.stack([fftconvolve(sharp_linear[..., c], kernel, mode="valid") for c in range(3)], axis=-1)


def add_noise_and_jpeg(blurry_srgb: np.ndarray, rng: np.random.Generator, recipe: BlurRecipe = BlurRecipe()) -> np.ndarray:
    """Sensor-like noise (signal-dependent plus read noise) and, at random, JPEG compression."""
    sigma = rng.uniform(0.0, recipe.max_noise)
    shot = np.sqrt(np.clip(blurry_srgb, 0, 1)) * sigma * rng.normal(size=blurry_srgb.shape)
    read = 0.3 * sigma * rng.normal(size=blurry_srgb.shape)
    noisy = np.clip(blurry_srgb + shot + read, 0.0, 1.0)
    if rng.random() < recipe.jpeg_probability:
        buffer = io.BytesIO()
        Image.fromarray(np.round(noisy * 255).astype(np.uint8)).save(
            buffer, format="JPEG", quality=int(rng.integers(*recipe.jpeg_quality, endpoint=True)))
        noisy = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0
    return noisy.astype(np.float32)


#: Largest kernel ``random_kernel`` can return with the default recipe; crops need this margin.
MAX_KERNEL_SIZE = 25


def degrade(sharp_with_margin: np.ndarray, crop: int, rng: np.random.Generator,
            recipe: BlurRecipe = BlurRecipe()) -> tuple[np.ndarray, np.ndarray]:
    """Blur a sharp sRGB crop that carries a margin; return (blurry, sharp), both ``crop`` square, float32.

    Blurring in 'valid' mode makes every blurry pixel a true blur of the scene around it (no border
    artefacts); the sharp target is the matching window of the input.
    """
    kernel = random_kernel(rng, recipe)
    half = kernel.shape[0] // 2
    blurry_linear = blur_valid(srgb_to_linear(sharp_with_margin), kernel)
    top = (blurry_linear.shape[0] - crop) // 2
    left = (blurry_linear.shape[1] - crop) // 2
    if top < 0 or left < 0:
        raise ValueError(f"crop of {sharp_with_margin.shape[:2]} is too small for {crop}px plus a {kernel.shape[0]}px kernel")
    blurry_linear = blurry_linear[top: top + crop, left: left + crop]
    blurry = add_noise_and_jpeg(linear_to_srgb(blurry_linear).astype(np.float32), rng, recipe)
    sharp = sharp_with_margin[half + top: half + top + crop, half + left: half + left + crop]
    return blurry, sharp.astype(np.float32)


def blur_whole_image(sharp_srgb: np.ndarray, rng: np.random.Generator, recipe: BlurRecipe = BlurRecipe()) -> np.ndarray:
    """Blur a whole HxWx3 sRGB float image (reflect padding at the borders), then add noise and JPEG."""
    kernel = random_kernel(rng, recipe)
    half = kernel.shape[0] // 2
    padded = np.pad(srgb_to_linear(sharp_srgb), ((half, half), (half, half), (0, 0)), mode="reflect")
    return add_noise_and_jpeg(linear_to_srgb(blur_valid(padded, kernel)).astype(np.float32), rng, recipe)
