"""restore_file end to end: a real network restores real files, keeps the input safe and measures the result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.images import ImageReadError
from tools.restore import get_restorer, restore_file

FIXTURES = Path(__file__).parent / "fixtures"
#: A 160x160 Kodak crop behind a 3-px defocus disc, and the crop itself: the shipped weights gain about 3 dB on it
#: and the acceptance check accepts their output.
BLURRY = FIXTURES / "defocused_kodim05_160.png"
SHARP = FIXTURES / "sharp" / "crop_kodim05.png"
TINY = str(FIXTURES / "tiny_mimo_unet.safetensors")


def test_restores_with_the_default_preset_and_reports_metrics(tmp_path):
    source = tmp_path / "in" / BLURRY.name
    source.parent.mkdir()
    source.write_bytes(BLURRY.read_bytes())
    result = restore_file(source, tmp_path / "out", compare=True, reference=SHARP)
    assert result.preset == "cnaps-lite" and result.seconds > 0
    assert result.output_path == tmp_path / "out" / BLURRY.name
    restored = Image.open(result.output_path)
    assert (restored.format, restored.mode, restored.size) == ("PNG", "RGB", (160, 160))
    assert not np.array_equal(np.asarray(restored), np.asarray(Image.open(BLURRY)))  # the network really ran
    assert source.read_bytes() == BLURRY.read_bytes()
    assert 10 < result.psnr < 60 and 0 < result.ssim <= 1
    assert result.sharpness_before > 0 and result.sharpness_after > 0
    assert Image.open(result.compare_path).size == (160 * 2 + 4, 160)


def test_restorer_is_loaded_once_per_process():
    assert get_restorer(TINY)[1] is get_restorer(TINY)[1]


def test_alpha_and_jpeg_format_survive(tmp_path):
    rgba = Image.open(BLURRY).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    rgba.save(tmp_path / "a.png")
    Image.open(BLURRY).convert("RGB").save(tmp_path / "b.jpg", quality=90)
    first = restore_file(tmp_path / "a.png", tmp_path / "out", preset=TINY)
    second = restore_file(tmp_path / "b.jpg", tmp_path / "out", preset=TINY)
    assert np.array_equal(np.asarray(Image.open(first.output_path))[..., 3], np.asarray(rgba)[..., 3])
    assert Image.open(second.output_path).format == "JPEG"


def test_bad_input_is_a_restoration_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ImageReadError):
        restore_file(bad, tmp_path / "out", preset=TINY)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_3840x2160_restores_under_2_gib_peak_rss_with_a_2_gib_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_MEMORY_MIB", "2048")  # tiles are planned from this budget, not all the free memory
    source = tmp_path / "uhd.png"
    Image.open(BLURRY).resize((3840, 2160), Image.Resampling.BICUBIC).save(source)
    # VmHWM, not getrusage's ru_maxrss: Linux carries that across exec, so it would include pytest's own peak.
    script = ("import sys; from pathlib import Path; from tools.restore import restore_file; "
              "restore_file(Path(sys.argv[1]), Path(sys.argv[2])); "
              "print([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')][0])")
    completed = subprocess.run([sys.executable, "-c", script, str(source), str(tmp_path / "out")],
                               capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    peak_kib = int(completed.stdout.split()[-1])
    assert peak_kib < 2 * 2**20, f"peak RSS {peak_kib / 2**10:.0f} MiB"
    assert Image.open(tmp_path / "out" / "uhd.png").size == (3840, 2160)
