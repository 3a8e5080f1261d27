"""restore_file never hands back a worse image as a fix: a sharp photo is returned as it is, an output that is not
clearly better is not applied (unless kept on request), and a clear improvement is applied."""

from pathlib import Path

import pytest

from tools.images import read_image
from tools.metrics import psnr
from tools.restore import restore_file

FIXTURES = Path(__file__).parent / "fixtures"
SHARP_CROP = FIXTURES / "sharp" / "crop_kodim21.png"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
SHARP_REFERENCE = FIXTURES / "web_sharp_kodim23_128x96.png"
#: Tiny weights that barely change an image: their output is never clearly sharper.
WEAK_WEIGHTS = str(FIXTURES / "tiny_mimo_unet.safetensors")


def test_a_sharp_photo_is_returned_unchanged_after_the_network_ran(tmp_path):
    calls = []
    result = restore_file(SHARP_CROP, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert (result.verdict, result.applied, result.outcome) == ("not_blurred", False, "unchanged")
    assert result.output_path.read_bytes() == SHARP_CROP.read_bytes()
    assert calls and calls[-1][0] == calls[-1][1] >= 1  # the network always runs; the check decides
    assert result.blur_before < 0.42 and result.blur_after is not None
    assert "does not look blurred" in result.verdict_reason


def _defocused_crop(folder: Path) -> Path:
    """The kodim05 fixture crop behind a 3-px defocus disc, saved as 8-bit PNG (the network gains about 3 dB)."""
    import numpy as np
    from PIL import Image

    from tools.training.blur import blur_valid, defocus_kernel, linear_to_srgb, srgb_to_linear

    sharp = read_image(FIXTURES / "sharp" / "crop_kodim05.png").rgb
    padded = np.pad(srgb_to_linear(sharp), ((4, 4), (4, 4), (0, 0)), mode="reflect")
    blurred = linear_to_srgb(blur_valid(padded, defocus_kernel(3.0, 9)))
    path = folder / "defocused_kodim05.png"
    Image.fromarray(np.round(np.clip(blurred, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def test_a_clear_improvement_is_applied(tmp_path):
    blurry = _defocused_crop(tmp_path)
    reference = FIXTURES / "sharp" / "crop_kodim05.png"
    result = restore_file(blurry, tmp_path / "out", reference=reference)
    assert (result.verdict, result.applied) == ("improved", True), result.verdict_reason
    assert result.blur_after < result.blur_before - 0.1
    assert result.output_path.read_bytes() != blurry.read_bytes()
    assert result.psnr > psnr(read_image(reference).rgb, read_image(blurry).rgb) + 1.0


def test_an_output_that_is_not_clearly_better_is_not_applied(tmp_path):
    result = restore_file(BLURRY, tmp_path, preset=WEAK_WEIGHTS, reference=SHARP_REFERENCE)
    assert (result.verdict, result.applied) == ("not_improved", False)
    # the untrained weights mostly move the level: the check names that
    assert "brightness or colour shifted" in result.verdict_reason
    assert result.output_path.read_bytes() == BLURRY.read_bytes()
    # PSNR describes the file handed back: the input itself.
    assert result.psnr == pytest.approx(psnr(read_image(SHARP_REFERENCE).rgb, read_image(BLURRY).rgb))


def test_keep_output_hands_back_the_network_output_but_keeps_the_verdict(tmp_path):
    result = restore_file(BLURRY, tmp_path, preset=WEAK_WEIGHTS, keep_output=True)
    assert (result.verdict, result.applied, result.outcome) == ("not_improved", True, "kept")
    assert result.output_path.read_bytes() != BLURRY.read_bytes()
    sharp = restore_file(SHARP_CROP, tmp_path / "sharp", keep_output=True)
    assert (sharp.verdict, sharp.applied) == ("not_blurred", True)
    assert sharp.blur_after is not None and sharp.output_path.read_bytes() != SHARP_CROP.read_bytes()
