"""Property-based fuzzing (Hypothesis): whatever bytes or text arrive, the bundle parser returns a bundle within the
limits or raises BundleError, and the image reader returns a finite RGB image or raises RestorationError."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from knowledge.bundle import QuestionBundle
from knowledge.errors import BundleError
from knowledge.limits import MAX_SOURCES
from knowledge.parser import parse_bundle_text
from tools.errors import RestorationError
from tools.images import read_image

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

KEYS = ["question", "recommended", "related", "name", "model", "title", "paper", "github", "code", "links",
        "summary", "abstract", "id", "prompt", "text", "page", "website"]
CNAPS_LINES = ["A user has asked the following question:", '"How do I deblur this photo?"', '"unclosed question',
               "### Recommended AI Models:", "### Related Papers:", "Model: MIMO-UNet", "- **Model:** Fast-Net",
               "GitHub: https://github.com/chosj95/MIMO-UNet", "Paper: <https://example.org/p.pdf>",
               "Link: [x](https://gitlab.com/a/b)", "Summary: It deblurs.", "Authors: A. Person", "Answer:", "",
               "Paper: javascript:alert(1)", "Model:", "Website: not a url", "    continued summary text",
               "Model: x https://evil.example", "1. Model: Numbered-Net", "Weights: ftp://example.org/w"]
YAML_NOISE = ["&a ", "*a ", "!!python/object:os.system ", "!tag ", "<<: *a", "? ", "- ", ": ", "{", "[", "]", "}",
              "|\n  ", ">\n  ", "'", '"', "\t", "---\n", "...\n", "%YAML 1.1\n"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                                                      children, max_size=6),
    max_leaves=40)
bundle_like = st.fixed_dictionaries({"question": json_values}, optional={
    "recommended": st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5), max_size=6),
    "related": json_values})
cnaps_texts = st.lists(st.sampled_from(CNAPS_LINES) | st.text(max_size=60), max_size=30).map("\n".join)
json_texts = (bundle_like | json_values).map(json.dumps)


@st.composite
def yaml_texts(draw) -> str:
    import yaml

    base = yaml.safe_dump(draw(bundle_like), allow_unicode=True)
    cuts = draw(st.lists(st.tuples(st.integers(0, len(base)), st.sampled_from(YAML_NOISE)), max_size=4))
    for position, noise in sorted(cuts, reverse=True):
        base = base[:position] + noise + base[position:]
    return base


@FUZZ
@given(text=st.text(max_size=3000) | cnaps_texts | json_texts | yaml_texts())
def test_the_parser_returns_a_bundle_within_limits_or_a_bundle_error(hostile, text):
    with hostile.case():
        try:
            bundle = parse_bundle_text(text, "fuzz")
        except BundleError as error:
            assert "\n" not in str(error)
            return
        assert isinstance(bundle, QuestionBundle) and 1 <= len(bundle.sources) <= MAX_SOURCES
        assert all("://" not in source.name for source in bundle.sources)


def _seed_images() -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
    seeds = []
    for mode, format_name in (("RGB", "PNG"), ("RGB", "JPEG"), ("RGB", "WEBP"), ("RGB", "BMP"), ("RGB", "TIFF"),
                              ("P", "GIF"), ("LA", "PNG"), ("I;16", "PNG"), ("CMYK", "TIFF"), ("1", "BMP")):
        buffer = io.BytesIO()
        rgb.convert(mode).save(buffer, format=format_name)
        seeds.append(buffer.getvalue())
    return seeds


SEED_IMAGES = _seed_images()

#: Found by this fuzzer: a TIFF whose frame count Pillow cannot compute raised TypeError through read_image.
TIFF_WITHOUT_DIMENSIONS = (b"II\x00*\x08\x00\x00\x00\t\x00\x00\x01\x04\x00\x01\x00\x00\x00\x00\x00\x00\x01\x01\x01\x03\x00"
                           b"\x01\x00\x00\x00\x01" + b"\x00" * 39 + b"\x11\x01\x01\x00\x01" + b"\x00" * 47 + b"\x01")


@st.composite
def damaged_images(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_IMAGES)))
    for position, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=8)):
        data[position] = value
    return bytes(data[: draw(st.integers(1, len(data)))])


@FUZZ
@example(data=TIFF_WITHOUT_DIMENSIONS)
@given(data=st.binary(min_size=1, max_size=2048) | damaged_images())
def test_the_image_reader_returns_a_finite_rgb_image_or_a_restoration_error(hostile, tmp_path, data):
    path = tmp_path / "fuzzed.img"
    path.write_bytes(data)
    with hostile.case():
        try:
            loaded = read_image(path)
        except RestorationError as error:
            assert "\n" not in str(error)
            return
        assert loaded.rgb.ndim == 3 and loaded.rgb.shape[2] == 3 and np.isfinite(loaded.rgb).all()


@FUZZ
@example(data=TIFF_WITHOUT_DIMENSIONS)
@given(data=st.binary(min_size=1, max_size=2048) | damaged_images())
def test_the_upload_check_accepts_an_image_or_raises_an_upload_error(hostile, data):
    from agent.web.limits import UploadError, UploadLimits, check_image_bytes

    with hostile.case():
        try:
            suffix = check_image_bytes(data, None, UploadLimits())
        except UploadError as error:
            assert error.status in (413, 415, 422) and "\n" not in str(error)
            return
        assert suffix in {".png", ".jpg", ".webp", ".bmp", ".tif"}


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (2**31 - 1, 1), (1, 2**31 - 1)])
def test_an_image_whose_header_claims_billions_of_pixels_is_refused_before_decoding(hostile, tmp_path, width, height):
    import struct
    import zlib

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    with hostile.case():
        with pytest.raises(RestorationError, match="limit|large"):
            read_image(path)
