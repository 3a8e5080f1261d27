"""Realistic blur for training and validation: what real photographs suffer, not one kernel per image.

Real camera blur differs from a convolution with one kernel in four ways this module reproduces:

* **Camera shake is non-uniform.** A hand rotates the camera as well as moving it, so the blur changes
  across the frame. We average the sharp image warped along a random 6-DoF trajectory (homographies
  ``K (R + t n^T / d) K^-1`` of small rotations and translations), in linear light.
* **Objects move on their own.** A soft segment of the frame moves along its own path; frames are
  composited per instant, so occlusion edges blur as they do in a video-averaged frame.
* **Highlights saturate and streak.** Bright regions are extended above 1.0 in linear light, blurred,
  and only then clipped, so a lamp smears into a bright streak, as in a real long exposure.
* **The sensor adds noise and JPEG after the blur**: shot and read noise in linear light, the camera
  response (sRGB curve), then JPEG compression.

Defocus (a disc, optionally different on a foreground segment) and the uniform kernels of
:mod:`tools.training.blur` stay in the mix, and a small share of pairs is not blurred at all, so the
network also learns to leave a sharp photograph alone.

The sharp target is the scene at the middle of the exposure (as in video-based data sets such as
GoPro), clipped like the blurred frame. Everything draws from one ``numpy.random.Generator``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from tools.training.blur import BlurRecipe, defocus_kernel, degrade, linear_to_srgb, srgb_to_linear

#: Pixels of scene kept on each side of a training crop, so warped samples stay inside real content.
REALISTIC_MARGIN = 28

KINDS = ("uniform", "shake", "object", "defocus", "sharp")


@dataclass(frozen=True)
class RealisticRecipe:
    """Shares and strength ranges of the realistic degradation (shares are normalised)."""

    uniform_share: float = 0.30
    shake_share: float = 0.36
    object_share: float = 0.16
    defocus_share: float = 0.11
    sharp_share: float = 0.07
    #: longest displacement of any pixel during the exposure, pixels
    min_extent: float = 2.0
    max_extent: float = 22.0
    #: most instants sampled along a trajectory (fewer for short ones)
    poses: int = 28
    saturation_probability: float = 0.35
    noise_probability: float = 0.8
    jpeg_probability: float = 0.6
    jpeg_quality: tuple[int, int] = (50, 95)
    #: share of pairs whose frames are averaged in the camera's sRGB values instead of linear light (GoPro-style
    #: data sets averaged the camera's processed frames; real exposures integrate linear light)
    srgb_average_probability: float = 0.0
    #: share of pairs turned grayscale before the blur (scans, black-and-white photos, benchmark images)
    grayscale_probability: float = 0.0
    #: longest displacement of a uniform kernel (the uniform share), pixels
    uniform_max_extent: float = 19.0
    #: scene kept on each side of a training crop; at least the largest displacement from the middle instant
    margin: int = 28
    #: give each training target its input's mean per channel: exposures averaged in linear light, and noise clipped
    #: at black, make a blurred sRGB crop brighter than its sharp one (+0.02 on average), and a network trained on
    #: that learns to darken whatever it restores (v3 darkened a grayscale photo by 3.4 levels)
    keep_level: bool = False

    def shares(self) -> np.ndarray:
        shares = np.array([self.uniform_share, self.shake_share, self.object_share, self.defocus_share,
                           self.sharp_share], dtype=np.float64)
        return shares / shares.sum()


#: The "dynamic" degradation (stage 5): scenes made the way video-based real-blur sets were made and blur as long
#: as hand-held photos show. Camera and objects move along the exposure and the frames are averaged, half of the
#: time in the camera's sRGB values (as GoPro-style data sets did) and half in linear light (as an exposure does);
#: travel up to 40 px (recorded hand-shake kernels reach 20-30 px at 255 px, and a 720p video frame more); more
#: moving objects; some grayscale scenes; the uniform kernels reach 31 px.
DYNAMIC_RECIPE = RealisticRecipe(uniform_share=0.20, shake_share=0.38, object_share=0.25, defocus_share=0.10,
                                 sharp_share=0.07, max_extent=40.0, poses=40, srgb_average_probability=0.5,
                                 grayscale_probability=0.12, uniform_max_extent=31.0, margin=48, keep_level=True)


# --- camera trajectory ---------------------------------------------------------------------------------

def _random_walk(rng: np.random.Generator, steps: int, dims: int) -> np.ndarray:
    """A smooth inertial random walk (velocity with momentum and occasional jerks), ``steps x dims``."""
    velocity = rng.normal(size=dims)
    position = np.zeros(dims)
    out = np.empty((steps, dims))
    for index in range(steps):
        jerk = 3.0 if rng.random() < 0.05 else 1.0
        velocity = 0.85 * velocity + rng.normal(scale=0.5, size=dims) * jerk
        position = position + velocity
        out[index] = position
    return out


def _homography(angles: np.ndarray, translation: np.ndarray, focal: float, centre: np.ndarray,
                depth: float) -> np.ndarray:
    """``K (R + t n^T / d) K^-1`` for a fronto-parallel plane at ``depth`` (focal lengths as the unit)."""
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    k = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1.0]])
    plane = np.outer(np.array([translation[0], translation[1], translation[2]]), np.array([0, 0, 1.0])) / depth
    return k @ (rx @ ry @ rz + plane) @ np.linalg.inv(k)


def _apply(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ h.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def camera_trajectory(rng: np.random.Generator, height: int, width: int, extent: float,
                      poses: int) -> np.ndarray:
    """Homographies (``poses x 3 x 3``) of a hand-held exposure, relative to the middle instant.

    The frame is a window of a larger photograph: the principal point lies anywhere within about one
    focal length of it, so roll turns into blur that grows across the window. The whole path is scaled
    so that the pixel of the window that moves most moves ``extent`` pixels.
    """
    focal = rng.uniform(1.2, 3.0) * max(height, width)
    centre = np.array([width / 2, height / 2]) + rng.uniform(-0.6, 0.6, size=2) * focal
    walk = _random_walk(rng, poses, 6)
    # relative strengths of yaw/pitch, roll and translation differ from exposure to exposure
    weights = np.array([1.0, 1.0, rng.uniform(0.2, 2.5), *rng.uniform(0.0, 1.0, size=2), rng.uniform(0.0, 0.5)])
    walk = walk * weights
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1],
                        [width / 2, height / 2]], dtype=np.float64)
    depth = rng.uniform(2.0, 20.0)

    def build(scale: float) -> np.ndarray:
        raw = [_homography(step[:3] * scale, step[3:] * scale, focal, centre, depth) for step in walk]
        middle = np.linalg.inv(raw[poses // 2])
        return np.stack([h @ middle for h in raw])

    unit = build(1e-3)
    displacement = max(np.abs(_apply(h, corners) - corners).max() for h in unit)
    return build(1e-3 * extent / max(displacement, 1e-9))


# --- warping and compositing (torch for speed; bilinear, deterministic on CPU) ---------------------------

def _warp_stack(image: np.ndarray, homographies: np.ndarray, shifts: np.ndarray | None = None) -> np.ndarray:
    """``image`` (HxWxC float) sampled through each homography: ``poses x H x W x C``.

    ``shifts`` (``poses x 2``, pixels) moves the content further, for an independently moving object.
    """
    import torch
    import torch.nn.functional as F

    height, width = image.shape[:2]
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size, dtype=np.float32)], axis=1)
    # the output pixel p shows the scene point H^-1 p of the middle instant
    source = points @ np.linalg.inv(homographies).astype(np.float32).transpose(0, 2, 1)
    source = source[..., :2] / source[..., 2:3]
    if shifts is not None:
        source = source - shifts[:, None, :].astype(np.float32)
    scale = np.array([2.0 / (width - 1), 2.0 / (height - 1)], dtype=np.float32)
    grids = (source * scale - 1.0).reshape(len(homographies), height, width, 2)
    grid = torch.from_numpy(np.ascontiguousarray(grids))
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))
    tensor = tensor.unsqueeze(0).expand(len(homographies), -1, -1, -1)
    warped = F.grid_sample(tensor, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
    return warped.permute(0, 2, 3, 1).numpy()


def object_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A soft random segment (union of 1-3 ellipses, feathered edge), HxW in [0, 1]."""
    from scipy.ndimage import gaussian_filter

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    mask = np.zeros((height, width))
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
        ry, rx = rng.uniform(0.1, 0.35) * height, rng.uniform(0.1, 0.35) * width
        angle = rng.uniform(0, np.pi)
        dy, dx = ys - cy, xs - cx
        u = (dx * np.cos(angle) + dy * np.sin(angle)) / rx
        v = (-dx * np.sin(angle) + dy * np.cos(angle)) / ry
        mask = np.maximum(mask, (u**2 + v**2 <= 1).astype(np.float64))
    return np.clip(gaussian_filter(mask, rng.uniform(0.5, 2.0)), 0.0, 1.0)


def saturate_highlights(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extend the brightest regions above 1.0 (a lamp, the sun on chrome), as the scene really was."""
    luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
    threshold = rng.uniform(0.55, 0.9)
    weight = np.clip((luminance - threshold) / (1.0 - threshold), 0.0, 1.0) ** 2
    return linear * (1.0 + rng.uniform(2.0, 12.0) * weight[..., None])


def sensor_noise(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian sensor noise in linear light: variance ``a * x + b``."""
    shot = 10 ** rng.uniform(-4.5, -2.8)
    read = 10 ** rng.uniform(-6.5, -4.5)
    sigma = np.sqrt(shot * np.clip(linear, 0.0, None) + read)
    return linear + sigma * rng.normal(size=linear.shape)


def jpeg(srgb: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at ``quality`` (values in [0, 1])."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(srgb, 0, 1) * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255.0


def _defocus(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A disc blur, and on a random segment (a nearer or farther object) a disc of another radius."""
    from scipy.signal import fftconvolve

    def disc(image: np.ndarray, radius: float) -> np.ndarray:
        size = int(np.ceil(2 * radius)) + 3
        size += 1 - size % 2
        kernel = defocus_kernel(radius, size)
        pad = size // 2
        padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        return np.stack([fftconvolve(padded[..., c], kernel, mode="valid") for c in range(image.shape[2])], axis=-1)

    blurred = disc(linear, rng.uniform(1.0, 6.0))
    if rng.random() < 0.5:
        mask = object_mask(rng, *linear.shape[:2])[..., None]
        blurred = blurred * (1 - mask) + disc(linear, rng.uniform(0.3, 3.0)) * mask
    return blurred


# --- the degradation -----------------------------------------------------------------------------------

def _blur_linear(linear: np.ndarray, kind: str, rng: np.random.Generator, recipe: RealisticRecipe) -> np.ndarray:
    height, width = linear.shape[:2]
    extent = float(np.exp(rng.uniform(np.log(recipe.min_extent), np.log(recipe.max_extent))))
    if kind == "defocus":
        return _defocus(linear, rng)
    # about one instant per pixel of travel: enough for bilinear samples to merge into a smooth streak
    poses = int(np.clip(round(extent * 1.2) + 4, 8, recipe.poses))
    if kind == "shake":
        return _warp_stack(linear, camera_trajectory(rng, height, width, extent, poses)).mean(axis=0)
    # object: the camera is steadier (often on a tripod or braced), the object moves in a line or curve
    length = rng.uniform(4.0, recipe.max_extent * 1.3)
    poses = int(np.clip(round(max(extent, length) * 1.2) + 4, 8, recipe.poses))
    camera = camera_trajectory(rng, height, width, extent * rng.uniform(0.0, 0.4), poses)
    mask = object_mask(rng, height, width)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.linspace(-0.5, 0.5, poses)
    bend = rng.uniform(-0.3, 0.3) * length
    shifts = np.stack([t * length * np.cos(angle) - bend * (t**2 - 1 / 12) * np.sin(angle),
                       t * length * np.sin(angle) + bend * (t**2 - 1 / 12) * np.cos(angle)], axis=1)
    shifts -= shifts[poses // 2]  # the sharp target is the middle instant, for the object too
    layers = np.concatenate([linear, mask[..., None]], axis=2)
    background = _warp_stack(linear, camera)
    foreground = _warp_stack(layers, camera, shifts)
    alpha = foreground[..., 3:4]
    return (foreground[..., :3] * alpha + background * (1 - alpha)).mean(axis=0)


def _grayscale(srgb: np.ndarray) -> np.ndarray:
    """The Rec. 601 luma of an HxWx3 image, repeated in three channels (a grayscale scene), in its own dtype."""
    weights = np.array([[0.299], [0.587], [0.114]], dtype=srgb.dtype)
    return np.repeat(srgb @ weights, 3, axis=2)


def degrade_realistic_window(sharp_srgb: np.ndarray, rng: np.random.Generator,
                             recipe: RealisticRecipe = RealisticRecipe(), kind: str | None = None
                             ) -> tuple[np.ndarray, np.ndarray, str]:
    """Degrade a whole HxWx3 sRGB float window; return (blurry, sharp target, kind), same size as the input.

    Borders within ``REALISTIC_MARGIN`` pixels may show reflected content; crop them for training.
    """
    kind = kind or str(rng.choice(KINDS, p=recipe.shares()))
    sharp_srgb = sharp_srgb.astype(np.float64)
    if recipe.grayscale_probability and rng.random() < recipe.grayscale_probability:
        sharp_srgb = _grayscale(sharp_srgb)
    linear = srgb_to_linear(sharp_srgb)
    if rng.random() < recipe.saturation_probability:
        linear = saturate_highlights(linear, rng)
    sharp_target = linear_to_srgb(np.clip(linear, 0.0, 1.0))
    if kind != "sharp" and recipe.srgb_average_probability and rng.random() < recipe.srgb_average_probability:
        # frames clipped and encoded by the camera, then averaged (video-based data sets): back to linear for noise
        blurred = srgb_to_linear(np.clip(_blur_linear(sharp_target, kind, rng, recipe), 0.0, 1.0))
    else:
        blurred = linear if kind == "sharp" else _blur_linear(linear, kind, rng, recipe)
    blurred = np.clip(blurred, 0.0, 1.0)  # the sensor clips after the light has been integrated
    # A "sharp" pair always carries noise or JPEG: a pair with nothing to fix would score infinite PSNR.
    noisy = rng.random() < recipe.noise_probability
    compressed = rng.random() < recipe.jpeg_probability or (kind == "sharp" and not noisy)
    if noisy:
        blurred = np.clip(sensor_noise(blurred, rng), 0.0, 1.0)
    blurry = linear_to_srgb(blurred)
    if compressed:
        blurry = jpeg(blurry, int(rng.integers(*recipe.jpeg_quality, endpoint=True)))
    return blurry.astype(np.float32), sharp_target.astype(np.float32), kind


def degrade_realistic(sharp_with_margin: np.ndarray, crop: int, rng: np.random.Generator,
                      recipe: RealisticRecipe = RealisticRecipe()) -> tuple[np.ndarray, np.ndarray]:
    """A training pair from a sharp sRGB window that carries a margin: (blurry, sharp), ``crop`` square.

    The uniform-kernel share uses :func:`tools.training.blur.degrade` unchanged.
    """
    kind = str(rng.choice(KINDS, p=recipe.shares()))
    if kind == "uniform":
        if recipe.grayscale_probability and rng.random() < recipe.grayscale_probability:
            sharp_with_margin = np.ascontiguousarray(_grayscale(sharp_with_margin), dtype=np.float32)
        blurry, sharp = degrade(sharp_with_margin, crop, rng, BlurRecipe(max_extent=recipe.uniform_max_extent))
    else:
        blurry, sharp, _ = degrade_realistic_window(sharp_with_margin, rng, recipe, kind)
        top = (sharp_with_margin.shape[0] - crop) // 2
        left = (sharp_with_margin.shape[1] - crop) // 2
        window = (slice(top, top + crop), slice(left, left + crop))
        blurry, sharp = np.ascontiguousarray(blurry[window]), np.ascontiguousarray(sharp[window])
    if recipe.keep_level:
        level = blurry.mean(axis=(0, 1), dtype=np.float64) - sharp.mean(axis=(0, 1), dtype=np.float64)
        sharp = np.clip(sharp + level.astype(np.float32), 0.0, 1.0)
    return blurry, sharp


def degrade_whole_image_realistic(sharp_srgb: np.ndarray, rng: np.random.Generator,
                                  recipe: RealisticRecipe = RealisticRecipe(), kind: str | None = None
                                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """Degrade a whole photograph (reflect-padded so its borders see scene-like content).

    Returns (blurry, sharp target, kind); the target differs from the input only where highlights were
    extended and clipped.
    """
    if kind == "uniform" or (kind is None and rng.random() < recipe.shares()[0]):
        from tools.training.blur import blur_whole_image

        return (blur_whole_image(sharp_srgb, rng, BlurRecipe(max_extent=recipe.uniform_max_extent)),
                sharp_srgb.astype(np.float32), "uniform")
    if kind is None:
        rest = recipe.shares()[1:]
        kind = str(rng.choice(KINDS[1:], p=rest / rest.sum()))
    pad = recipe.margin
    padded = np.pad(sharp_srgb, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    blurry, sharp, kind = degrade_realistic_window(padded, rng, recipe, kind)
    inner = (slice(pad, pad + sharp_srgb.shape[0]), slice(pad, pad + sharp_srgb.shape[1]))
    return blurry[inner], sharp[inner], kind
