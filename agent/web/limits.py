"""Checks on what web clients upload (images and bundle documents), shared by the HTTP API and the chat page."""

from __future__ import annotations

import io

from pydantic import BaseModel, Field

# Declared content type -> Pillow formats it may really contain (the bytes decide, the label only has to agree).
IMAGE_TYPES: dict[str, set[str]] = {
    "image/png": {"PNG"},
    "image/jpeg": {"JPEG", "MPO"},
    "image/jpg": {"JPEG", "MPO"},
    "image/webp": {"WEBP"},
    "image/bmp": {"BMP"},
    "image/tiff": {"TIFF"},
}
FORMAT_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}
BUNDLE_TYPES = {"text/plain", "text/markdown", "text/yaml", "text/x-yaml", "application/yaml", "application/x-yaml",
                "application/json"}
# Labels that say nothing about the content (curl sends the first for .yaml and .json files): the bytes decide.
UNDECLARED_TYPES = {"", "application/octet-stream"}


class UploadLimits(BaseModel):
    """How much a client may send; the defaults keep one restoration within a few GiB on a CPU machine."""

    max_request_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    max_image_bytes: int = Field(default=24 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=12_000_000, gt=0)
    max_bundle_bytes: int = Field(default=256 * 1024, gt=0)
    max_question_chars: int = Field(default=4000, gt=0)
    #: Seconds a client has to send its whole request body (slow or unfinished bodies get 408).
    body_timeout_s: float = Field(default=60.0, gt=0)


class UploadError(ValueError):
    """An upload the server refuses; ``status`` is the HTTP status that says why (413, 415 or 422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def base_content_type(content_type: str | None) -> str | None:
    """The media type without parameters, lower-cased; None when the client did not really declare one."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    return None if declared in UNDECLARED_TYPES else declared


def check_image_bytes(data: bytes, content_type: str | None, limits: UploadLimits) -> str:
    """Validate an uploaded image and return the file suffix its real format calls for.

    Args:
        content_type: the type the client declared; None or application/octet-stream skips that check (the chat
            page has no such label).
    """
    from PIL import Image, UnidentifiedImageError

    declared = _check_size_and_type(data, content_type, limits.max_image_bytes, IMAGE_TYPES, "image")
    try:
        # Opening reads only the header, so the pixel check happens before any decoding.
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
            if width * height > limits.max_image_pixels:
                raise UploadError(f"image is {width}x{height} = {width * height} pixels; the limit is "
                                  f"{limits.max_image_pixels}", 413)
            image.verify()
    except UploadError:
        raise
    except Image.DecompressionBombError as error:
        raise UploadError(f"image is too large to decode safely: {error}", 413) from error
    except UnidentifiedImageError as error:
        raise UploadError("the image could not be read: its bytes are not a PNG, JPEG, WebP, BMP or TIFF "
                          "image") from error
    except Exception as error:  # noqa: BLE001  Pillow raises TypeError, KeyError, struct.error... on damaged bytes
        raise UploadError(f"the image could not be read ({' '.join(str(error).split()) or type(error).__name__}); "
                          "send a PNG, JPEG, WebP, BMP or TIFF file") from error
    if image_format not in FORMAT_SUFFIX:
        raise UploadError(f"image format {image_format} is not accepted; send PNG, JPEG, WebP, BMP or TIFF", 415)
    if declared is not None and image_format not in IMAGE_TYPES[declared]:
        raise UploadError(f"the image was declared {declared} but its bytes are {image_format}", 415)
    return FORMAT_SUFFIX[image_format]


def _check_size_and_type(data: bytes, content_type: str | None, max_bytes: int, accepted, what: str) -> str | None:
    """The upload's size (413) and declared content type (415), checked before its bytes are read; the
    declared type (None when undeclared). ``what``: "image" or "bundle", as the messages name it."""
    if len(data) > max_bytes:
        noun = "bundle document" if what == "bundle" else what
        raise UploadError(f"{noun} is {len(data)} bytes; the limit is {max_bytes}", 413)
    declared = base_content_type(content_type)
    if declared is not None and declared not in accepted:
        raise UploadError(f"{what} content type {declared!r} is not accepted; send one of "
                          f"{', '.join(sorted(accepted))}", 415)
    return declared


def check_bundle_bytes(data: bytes, content_type: str | None, limits: UploadLimits) -> str:
    """Validate an uploaded bundle document and return its text (UTF-8, a byte-order mark removed)."""
    _check_size_and_type(data, content_type, limits.max_bundle_bytes, BUNDLE_TYPES, "bundle")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadError(f"the bundle document is not UTF-8 text (byte {error.start}); save it as UTF-8") from error


def check_question(question: str, limits: UploadLimits) -> str:
    """The question stripped of surrounding space, refused when longer than the limit."""
    question = question.strip()
    if len(question) > limits.max_question_chars:
        raise UploadError(f"question is {len(question)} characters; the limit is {limits.max_question_chars}", 413)
    return question
