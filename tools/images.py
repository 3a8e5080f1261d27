"""Reading and writing the user's images with Pillow, keeping what the network does not touch.

EXIF orientation is applied on reading; EXIF (orientation reset) and the ICC profile are written back;
alpha is passed through untouched; grayscale stays grayscale; 16-bit inputs are processed in float and
written as 16-bit.  Palette, CMYK and other colour modes are converted to RGB with a note.  Outputs are
written atomically in the input's format.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.errors import RestorationError
from tools.weights_io import atomic_write_bytes

#: Default decompression-bomb limit in pixels (override with ``CNAPS_MAX_PIXELS``).
DEFAULT_MAX_PIXELS = 64_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageReadError(RestorationError):
    """An input that is not a usable image (missing, empty, truncated, corrupt, too large)."""


@dataclass
class LoadedImage:
    """An image as float RGB in [0,1] plus everything needed to write the result back faithfully.

    Args:
        rgb: (H, W, 3) float32; a grayscale input is replicated into three channels.
        alpha: the untouched alpha band (a Pillow image) or None.
        bits: 8 or 16, the precision written back.
    """

    rgb: np.ndarray
    format: str
    grayscale: bool
    bits: int
    alpha: object | None = None
    exif: bytes | None = None
    icc_profile: bytes | None = None
    notes: list[str] = field(default_factory=list)


def max_pixels() -> int:
    """The decompression-bomb limit in pixels."""
    value = os.environ.get("CNAPS_MAX_PIXELS", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_PIXELS


def read_image(path: Path) -> LoadedImage:
    """Read ``path`` into a ``LoadedImage``, rejecting non-images, damaged files and oversized images."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path} is empty (0 bytes); nothing to restore")
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.width * opened.height > limit:
                    raise ImageReadError(_too_large(path, opened.width, opened.height, limit))
                frames = getattr(opened, "n_frames", 1)
                opened.load()
                image = ImageOps.exif_transpose(opened)
                image.format = opened.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(f"{path} is larger than the decompression-bomb limit of {limit} pixels ({error}); "
                             f"set CNAPS_MAX_PIXELS higher if you trust it") from error
    except UnidentifiedImageError as error:
        raise ImageReadError(f"{path} is not an image Pillow can read (PNG, JPEG, WebP, TIFF, BMP, ...)") from error
    except ImageReadError:
        raise
    except Exception as error:  # noqa: BLE001  Pillow's decoders raise TypeError, KeyError, struct.error... on damage
        raise ImageReadError(f"{path} is truncated or corrupt ({_one_line(error)}); re-export or re-download "
                             "it") from error
    try:
        loaded = _to_loaded(image, path)
    except Exception as error:  # noqa: BLE001  a mode or profile the header promised but the data does not hold
        raise ImageReadError(f"{path} could not be converted for restoration ({_one_line(error)})") from error
    if frames > 1:
        loaded.notes.insert(0, f"{path.name} has {frames} frames (animation or multi-page); only the first was "
                               "restored and the output is a single image")
    return loaded


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _too_large(path: Path, width: int, height: int, limit: int) -> str:
    return (f"{path} is {width}x{height} = {width * height} pixels, over the decompression-bomb limit of {limit}; "
            f"downscale it or raise CNAPS_MAX_PIXELS if you trust the file")


def _to_loaded(image, path: Path) -> LoadedImage:
    notes: list[str] = []
    exif = image.getexif()
    loaded = LoadedImage(rgb=np.empty(0), format=image.format or "PNG", grayscale=False, bits=8,
                         exif=exif.tobytes() if len(exif) else None, icc_profile=image.info.get("icc_profile"),
                         notes=notes)
    mode = image.mode
    if mode in ("P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV", "F"):
        target = "RGBA" if mode == "PA" or (mode == "P" and "transparency" in image.info) else "RGB"
        target = "L" if mode in ("1", "F") else target
        notes.append(f"{mode} image converted to {target} for restoration and written as {target}")
        if mode == "CMYK" and loaded.icc_profile:
            notes.append("the CMYK colour profile does not describe the RGB output and was dropped")
            loaded.icc_profile = None
        image = image.convert(target)
        mode = image.mode
    if mode in ("RGBA", "LA", "RGBa", "La"):
        loaded.alpha = image.getchannel("A")
        image = image.convert("RGB" if mode.startswith("RGB") else "L")
        mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float32) / 65535.0
        loaded.grayscale, loaded.bits = True, 16
        loaded.rgb = np.repeat(np.clip(values, 0, 1)[..., None], 3, axis=2)
        return loaded
    if mode == "L":
        loaded.grayscale = True
        loaded.rgb = np.repeat((np.asarray(image, dtype=np.float32) / 255.0)[..., None], 3, axis=2)
        return loaded
    loaded.rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    if loaded.format == "PNG" and _png_bit_depth(path) == 16:
        loaded.bits = 16
        notes.append("Pillow decodes 16-bit colour PNG at 8 bits: restored in float and written as 16-bit PNG")
    return loaded


def _png_bit_depth(path: Path) -> int:
    with Path(path).open("rb") as stream:
        head = stream.read(26)
    return head[24] if head[:8] == _PNG_SIGNATURE and len(head) == 26 else 8


def encode_image(rgb: np.ndarray, like: LoadedImage) -> bytes:
    """Encode restored float RGB (H, W, 3) in [0,1] in the format, mode, depth and metadata of ``like``."""
    from PIL import Image

    if like.bits == 16 and not like.grayscale:
        return _encode_png16_rgb(rgb, like)
    if like.grayscale:
        gray = rgb.mean(axis=2)
        if like.bits == 16:
            image = Image.fromarray(np.round(np.clip(gray, 0, 1) * 65535).astype(np.uint16))
        else:
            image = Image.fromarray(_to_uint8(gray), mode="L")
    else:
        image = Image.fromarray(_to_uint8(rgb), mode="RGB")
    if like.alpha is not None and image.mode in ("L", "RGB"):
        image = image.convert(image.mode + "A")
        image.putalpha(like.alpha)
    buffer = io.BytesIO()
    image.save(buffer, format=like.format, **_save_options(like, image.mode))
    return buffer.getvalue()


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)


def _save_options(like: LoadedImage, mode: str) -> dict:
    options: dict = {}
    if like.exif:
        options["exif"] = like.exif
    if like.icc_profile:
        options["icc_profile"] = like.icc_profile
    if like.format == "JPEG":
        options.update(quality=95, subsampling=0)
    elif like.format == "WEBP":
        options.update(quality=95)
    return options


def _encode_png16_rgb(rgb: np.ndarray, like: LoadedImage) -> bytes:
    """A 16-bit RGB(A) PNG, written directly because Pillow has no 16-bit colour mode."""
    planes = [np.round(np.clip(rgb, 0, 1) * 65535).astype(np.uint16)]
    if like.alpha is not None:
        alpha = np.asarray(like.alpha, dtype=np.float32)
        scale = 257.0 if alpha.max(initial=0) <= 255 else 1.0
        planes.append(np.round(alpha * scale).astype(np.uint16)[..., None])
    pixels = np.concatenate(planes, axis=2)
    height, width, channels = pixels.shape
    # Big-endian and C-contiguous whatever the layout handed in (a tiled restoration arrives as a transposed
    # view of the network's (C, H, W) output, and a byte view of a non-contiguous array raises ValueError).
    rows = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, width * channels * 2)
    scanlines = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 16, 6 if channels == 4 else 2, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    if like.icc_profile:
        chunks.append(_png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(like.icc_profile)))
    if like.exif:
        chunks.append(_png_chunk(b"eXIf", like.exif.removeprefix(b"Exif\x00\x00")))
    chunks += [_png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)), _png_chunk(b"IEND", b"")]
    return _PNG_SIGNATURE + b"".join(chunks)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_output(payload: bytes, destination: Path, source: Path) -> Path:
    """Write ``payload`` atomically to ``destination``, refusing to overwrite the input ``source``."""
    destination, source = Path(destination), Path(source)
    if destination.exists() and destination.resolve() == source.resolve():
        raise RestorationError(f"the output {destination} would overwrite the input; choose another --out folder")
    atomic_write_bytes(destination, payload)
    return destination
