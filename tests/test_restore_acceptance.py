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


def test_a_clear_improvement_is_applied(tmp_path):
    result = restore_file(BLURRY, tmp_path, reference=SHARP_REFERENCE)
    assert (result.verdict, result.applied) == ("improved", True)
    assert result.blur_after < result.blur_before - 0.1
    assert result.output_path.read_bytes() != BLURRY.read_bytes()
    assert result.psnr > psnr(read_image(SHARP_REFERENCE).rgb, read_image(BLURRY).rgb)


def test_an_output_that_is_not_clearly_better_is_not_applied(tmp_path):
    result = restore_file(BLURRY, tmp_path, preset=WEAK_WEIGHTS, reference=SHARP_REFERENCE)
    assert (result.verdict, result.applied) == ("not_improved", False)
    assert "no clear sharpness gain" in result.verdict_reason
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
