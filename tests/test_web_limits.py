"""Upload checks shared by the HTTP API and the chat page: sizes, pixels, content types and real formats."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from agent.web.limits import UploadError, UploadLimits, check_bundle_bytes, check_image_bytes, check_question

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"


def encoded(format_name: str, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=format_name)
    return buffer.getvalue()


def test_a_png_declared_as_png_is_accepted_and_named_by_its_real_format():
    assert check_image_bytes(BLURRY.read_bytes(), "image/png", UploadLimits()) == ".png"
    assert check_image_bytes(encoded("JPEG"), "image/jpeg; charset=binary", UploadLimits()) == ".jpg"
    assert check_image_bytes(encoded("WEBP"), None, UploadLimits()) == ".webp"
    # A label that says nothing (curl's default) lets the bytes decide, and still refuses what is not an image.
    assert check_image_bytes(encoded("BMP"), "application/octet-stream", UploadLimits()) == ".bmp"
    with pytest.raises(UploadError, match="its bytes are not a PNG, JPEG, WebP, BMP or TIFF image$"):
        check_image_bytes(b"plain text", "application/octet-stream", UploadLimits())


@pytest.mark.parametrize(("data", "content_type", "status", "words"), [
    (b"%PDF-1.7 not an image", "application/pdf", 415, "content type 'application/pdf'"),
    (b"plain text pretending", "image/png", 422, "could not be read"),
    (encoded("JPEG"), "image/png", 415, "declared image/png but its bytes are JPEG"),
    (encoded("GIF"), "image/png", 415, "GIF is not accepted"),
    (encoded("PNG")[:60], "image/png", 422, "could not be read"),
])
def test_bad_images_are_refused_with_a_status_and_a_reason(data, content_type, status, words):
    with pytest.raises(UploadError) as refused:
        check_image_bytes(data, content_type, UploadLimits())
    assert refused.value.status == status
    assert words in str(refused.value)


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    limits = UploadLimits(max_image_pixels=128 * 96 - 1)
    with pytest.raises(UploadError, match=r"128x96 = 12288 pixels; the limit is 12287") as refused:
        check_image_bytes(BLURRY.read_bytes(), "image/png", limits)
    assert refused.value.status == 413
    assert check_image_bytes(BLURRY.read_bytes(), "image/png", UploadLimits(max_image_pixels=128 * 96)) == ".png"


def test_byte_limits_apply_to_images_bundles_and_questions():
    limits = UploadLimits(max_image_bytes=100, max_bundle_bytes=10, max_question_chars=5)
    with pytest.raises(UploadError, match="the limit is 100"):
        check_image_bytes(BLURRY.read_bytes(), "image/png", limits)
    with pytest.raises(UploadError, match="the limit is 10"):
        check_bundle_bytes(b"question: longer than ten bytes", "text/plain", limits)
    with pytest.raises(UploadError, match="the limit is 5"):
        check_question("a long question", limits)
    assert check_question("  short ", limits) == "short"


def test_bundle_documents_must_be_text_of_an_accepted_type():
    limits = UploadLimits()
    assert check_bundle_bytes("\ufeffquestion: Ça va?".encode(), "text/plain; charset=utf-8", limits) == "question: Ça va?"
    assert check_bundle_bytes(b"question: x", "application/octet-stream", limits) == "question: x"
    with pytest.raises(UploadError, match="not UTF-8") as refused:
        check_bundle_bytes(b"question: \xff\xfe", "text/plain", limits)
    assert refused.value.status == 422
    with pytest.raises(UploadError, match="'image/png' is not accepted") as refused:
        check_bundle_bytes(b"question: x", "image/png", limits)
    assert refused.value.status == 415
