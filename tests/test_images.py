"""Image reading and writing keep orientation, metadata, alpha, depth and mode, and reject bad files clearly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from tools.errors import RestorationError
from tools.images import ImageReadError, encode_image, read_image, write_output

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"


def _reopen(payload: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(payload))
    image.load()
    return image


def test_exif_orientation_is_applied_and_exif_written_back(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "TestCamera"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=100)
    loaded = read_image(path)
    assert loaded.rgb.shape == (40, 20, 3)  # displayed upright: portrait
    assert loaded.rgb[:20].mean() > 0.9 and loaded.rgb[20:].mean() < 0.1  # white half now on top
    written = _reopen(encode_image(loaded.rgb, loaded))
    assert written.format == "JPEG" and written.size == (20, 40)
    assert written.getexif()[0x010F] == "TestCamera"
    assert written.getexif().get(0x0112, 1) == 1  # not rotated twice by viewers


def test_icc_profile_is_written_back(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "profiled.png"
    Image.open(BLURRY).convert("RGB").save(path, icc_profile=profile)
    loaded = read_image(path)
    assert _reopen(encode_image(loaded.rgb, loaded)).info["icc_profile"] == profile


def test_alpha_is_passed_through_untouched(tmp_path):
    rgba = np.asarray(Image.open(BLURRY).convert("RGBA")).copy()
    rgba[..., 3] = np.arange(rgba.shape[1], dtype=np.uint8)[None, :] * 2
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = read_image(path)
    assert loaded.rgb.shape[2] == 3
    written = _reopen(encode_image(np.clip(loaded.rgb * 0.5, 0, 1), loaded))
    assert written.mode == "RGBA"
    assert np.array_equal(np.asarray(written)[..., 3], rgba[..., 3])


def test_grayscale_in_grayscale_out(tmp_path):
    path = tmp_path / "gray.png"
    Image.open(BLURRY).convert("L").save(path)
    loaded = read_image(path)
    assert loaded.grayscale and loaded.bits == 8
    written = _reopen(encode_image(loaded.rgb, loaded))
    assert written.mode == "L"
    assert np.array_equal(np.asarray(written), np.asarray(Image.open(path)))


def test_16_bit_grayscale_png_keeps_its_precision(tmp_path):
    values = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    loaded = read_image(path)
    assert loaded.bits == 16 and loaded.grayscale
    written = _reopen(encode_image(loaded.rgb, loaded))
    assert written.mode.startswith("I")
    assert np.abs(np.asarray(written).astype(np.int64) - values).max() <= 1  # 16-bit, not 8-bit steps


def test_16_bit_colour_png_is_written_as_16_bit(tmp_path):
    path = tmp_path / "deep_rgb.png"
    like = read_image(BLURRY)
    like.bits, like.format = 16, "PNG"
    path.write_bytes(encode_image(like.rgb, like))
    header = path.read_bytes()[:26]
    assert header[24] == 16 and header[25] == 2  # 16-bit truecolour
    loaded = read_image(path)
    assert loaded.bits == 16 and any("16-bit" in note for note in loaded.notes)
    assert np.abs(np.asarray(Image.open(path).convert("RGB"), np.float32) / 255 - like.rgb).max() <= 1 / 255


@pytest.mark.parametrize("tile", [0, 128])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16_bit_colour_png_restores_tiled_and_untiled(tmp_path, tile, with_alpha):
    """Issue 20, item 4: a tiled restoration's output is a transposed (non-contiguous) array, which the 16-bit
    PNG encoder's byte view refused with a ValueError; RGB and RGBA, tiled and untiled, must all be written."""
    from tools.images import LoadedImage
    from tools.restore import restore_file

    rng = np.random.default_rng(20)
    rgb = rng.random((260, 300, 3)).astype(np.float32)
    alpha = Image.fromarray(rng.integers(0, 256, (260, 300), dtype=np.uint8), "L") if with_alpha else None
    source = tmp_path / ("rgba16.png" if with_alpha else "rgb16.png")
    source.write_bytes(encode_image(rgb, LoadedImage(rgb=rgb, format="PNG", grayscale=False, bits=16,
                                                     alpha=alpha)))
    result = restore_file(source, tmp_path / "out", preset=str(FIXTURES / "tiny_mimo_unet.safetensors"),
                          tile=tile, keep_output=True)
    header = result.output_path.read_bytes()[:26]
    assert header[24] == 16 and header[25] == (6 if with_alpha else 2)  # 16-bit truecolour (with alpha)
    written = _reopen(result.output_path.read_bytes())
    assert written.size == (300, 260) and written.mode == ("RGBA" if with_alpha else "RGB")
    assert read_image(result.output_path).bits == 16


@pytest.mark.parametrize("mode", ["P", "CMYK"])
def test_palette_and_cmyk_are_converted_with_a_note(tmp_path, mode):
    suffix = ".png" if mode == "P" else ".jpg"
    path = tmp_path / f"converted{suffix}"
    Image.open(BLURRY).convert("RGB").convert(mode).save(path)
    loaded = read_image(path)
    assert loaded.rgb.shape == (96, 128, 3)
    assert any(mode in note and "RGB" in note for note in loaded.notes)
    assert _reopen(encode_image(loaded.rgb, loaded)).mode == "RGB"


def test_decompression_bomb_limit_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_MAX_PIXELS", "1000")
    with pytest.raises(ImageReadError, match="decompression-bomb limit of 1000"):
        read_image(BLURRY)


@pytest.mark.parametrize("payload, message", [
    (b"", "empty"),
    (b"hello, I am a text file", "not an image"),
    (BLURRY.read_bytes()[:2000], "truncated or corrupt"),
    (BLURRY.read_bytes()[:100] + b"\x00" * 3000, "truncated or corrupt"),
])
def test_bad_files_are_rejected_with_a_clear_error(tmp_path, payload, message):
    path = tmp_path / "bad.png"
    path.write_bytes(payload)
    with pytest.raises(ImageReadError, match=message):
        read_image(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "nothing.png")


def test_output_never_overwrites_the_input_and_leaves_no_temporary(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(BLURRY.read_bytes())
    with pytest.raises(RestorationError, match="overwrite the input"):
        write_output(b"new", source, source)
    assert source.read_bytes() == BLURRY.read_bytes()
    written = write_output(b"payload", tmp_path / "out" / "in.png", source)
    assert written.read_bytes() == b"payload"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["in.png"]


def test_animated_image_restores_the_first_frame_and_says_so(tmp_path):
    first = Image.open(BLURRY).convert("RGB")
    path = tmp_path / "clip.gif"
    first.save(path, save_all=True, append_images=[first.rotate(180), first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    loaded = read_image(path)
    assert loaded.rgb.shape == (96, 128, 3)
    assert loaded.notes[0] == "clip.gif has 3 frames (animation or multi-page); only the first was restored and " \
                              "the output is a single image"
    single = tmp_path / "still.gif"
    first.save(single)
    assert not any("frames" in note for note in read_image(single).notes)
