"""`cnaps restore` and `cnaps eval-restore`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
SHARP = FIXTURES / "web_sharp_kodim23_128x96.png"
TINY = FIXTURES / "tiny_mimo_unet.safetensors"


def cnaps(*args: str | Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, env=environment, timeout=600)


def test_restore_folder_keeps_going_past_a_broken_image(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.png").write_bytes(BLURRY.read_bytes())
    (inputs / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    done = cnaps("restore", inputs, "--out", tmp_path / "out", "--weights", TINY, "--compare")
    assert done.returncode == 1
    assert "broken.jpg" in done.stdout and "failed" in done.stdout
    assert "good.png" in done.stdout and "sharpness" in done.stdout
    assert Image.open(tmp_path / "out" / "good.png").size == (128, 96)
    assert (tmp_path / "out" / "good.compare.png").is_file()
    assert not (tmp_path / "out" / "broken.jpg").exists()


def test_restore_with_reference_prints_psnr(tmp_path):
    done = cnaps("restore", BLURRY, "--out", tmp_path, "--weights", TINY, "--reference", SHARP, "--tile", "64")
    assert done.returncode == 0, done.stderr
    assert " dB / " in done.stdout


def test_missing_official_preset_is_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "restore", str(BLURRY),
                           "--out", str(tmp_path), "--weights", "official-plus-realblur"],
                          capture_output=True, text=True, env={**os.environ, "CNAPS_WEIGHTS_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.startswith("error: preset 'official-plus-realblur' needs") and "Traceback" not in done.stderr


def test_eval_restore_scores_input_and_output(tmp_path):
    blurry_dir, sharp_dir = tmp_path / "blur", tmp_path / "sharp"
    blurry_dir.mkdir(), sharp_dir.mkdir()
    (blurry_dir / "kodim23.png").write_bytes(BLURRY.read_bytes())
    (sharp_dir / "kodim23.png").write_bytes(SHARP.read_bytes())
    done = cnaps("eval-restore", blurry_dir, sharp_dir, "--weights", TINY)
    assert done.returncode == 0, done.stderr
    assert "kodim23.png" in done.stdout and "mean" in done.stdout and "19.45 ->" in done.stdout
