"""Training data: sharp photographs in memory, random crops and flips, synthetic blur on the fly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from tools.training.blur import MAX_KERNEL_SIZE, BlurRecipe, degrade
from tools.training.realistic import DYNAMIC_RECIPE, REALISTIC_MARGIN, degrade_realistic

#: The degradations the trainer can synthesise: one uniform kernel per crop (the first cnaps-lite
#: releases), or the realistic mix of tools.training.realistic (non-uniform shake, moving objects,
#: saturated highlights, sensor noise and JPEG, with the uniform kernels as one part), or "dynamic": the
#: realistic mix made the way video-based real-blur sets were made, with longer blur and grayscale scenes
#: (tools.training.realistic.DYNAMIC_RECIPE).
DEGRADATIONS = ("uniform", "realistic", "dynamic")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"}

#: File-name prefixes kept out of training: the validation set and the synthetic benchmark.
HELD_OUT_PREFIXES = ("bsds500-test_", "kodak24_")


def list_images(paths: list[Path]) -> list[Path]:
    """Image files in the given files and folders (recursively), sorted for reproducibility."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither a folder nor an image file")
    return sorted(set(found))


def split_held_out(images: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split into (training, held-out) by the held-out file-name prefixes."""
    held = [p for p in images if p.name.startswith(HELD_OUT_PREFIXES)]
    return [p for p in images if p not in set(held)], held


class TrainingDataError(ValueError):
    """A training photograph cannot be used (unreadable, or every photograph is smaller than a crop)."""


def load_rgb(path: Path, max_side: int | None = None) -> np.ndarray:
    """An image as HxWx3 uint8 sRGB, EXIF-oriented, optionally shrunk to ``max_side``."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            if max_side and max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise TrainingDataError(f"{path}: not a readable image ({error})") from error


@dataclass
class CropSampler:
    """Draws (blurry, sharp) training pairs from photographs held in memory as uint8."""

    photos: list[np.ndarray]
    crop: int
    recipe: BlurRecipe = BlurRecipe()
    degradation: str = "uniform"

    def __post_init__(self) -> None:
        if self.degradation not in DEGRADATIONS:
            raise TrainingDataError(f"degradation must be one of {', '.join(DEGRADATIONS)}, not {self.degradation!r}")
        # Photographs smaller than a crop plus its margin can never be sampled; keeping them made the
        # sampler draw forever when no photograph was large enough.
        usable = [photo for photo in self.photos if min(photo.shape[:2]) >= self.side]
        if not usable:
            raise TrainingDataError(f"no training photograph is at least {self.side} px on its shorter side "
                                    f"(crop {self.crop} plus the blur margin); use a smaller --crop or larger photos")
        self.skipped = len(self.photos) - len(usable)
        self.photos = usable

    @property
    def side(self) -> int:
        """Side of the sharp window a crop is cut from (the crop plus room for the blur to reach in)."""
        if self.degradation == "dynamic":
            return self.crop + 2 * DYNAMIC_RECIPE.margin
        margin = 2 * REALISTIC_MARGIN if self.degradation == "realistic" else MAX_KERNEL_SIZE + 1
        return self.crop + margin

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One pair of ``crop`` x ``crop`` x 3 float32 arrays."""
        side = self.side
        while True:
            photo = self.photos[int(rng.integers(len(self.photos)))]
            height, width = photo.shape[:2]
            # Random down-scaling of large photos widens the range of detail scales the network sees.
            scale = rng.uniform(max(side / min(height, width), 0.5), 1.0) if min(height, width) > 2 * side else 1.0
            window = int(np.ceil(side / scale))
            if height >= window and width >= window:
                break
        top = int(rng.integers(height - window + 1))
        left = int(rng.integers(width - window + 1))
        patch = photo[top: top + window, left: left + window]
        if window != side:
            patch = np.asarray(Image.fromarray(patch).resize((side, side), Image.Resampling.BICUBIC))
        patch = patch.astype(np.float32) / 255.0
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = np.ascontiguousarray(np.rot90(patch))
        if self.degradation == "realistic":
            return degrade_realistic(np.ascontiguousarray(patch), self.crop, rng)
        if self.degradation == "dynamic":
            return degrade_realistic(np.ascontiguousarray(patch), self.crop, rng, DYNAMIC_RECIPE)
        return degrade(np.ascontiguousarray(patch), self.crop, rng, self.recipe)

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch as two NCHW float32 arrays (blurry, sharp)."""
        pairs = [self.sample(rng) for _ in range(size)]
        blurry = np.stack([p[0] for p in pairs]).transpose(0, 3, 1, 2)
        sharp = np.stack([p[1] for p in pairs]).transpose(0, 3, 1, 2)
        return np.ascontiguousarray(blurry), np.ascontiguousarray(sharp)
