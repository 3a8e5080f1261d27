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


def test_suffix_names_the_restored_file_and_default_keeps_the_input_name(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "photo.png").write_bytes(BLURRY.read_bytes())
    assert cnaps("restore", inputs, "--out", tmp_path / "plain", "--weights", TINY).returncode == 0
    assert [path.name for path in (tmp_path / "plain").glob("*.png")] == ["photo.png"]
    # With a suffix, the restored file may even go next to its original.
    done = cnaps("restore", inputs / "photo.png", "--out", inputs, "--suffix", "_restored", "--weights", TINY)
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in inputs.glob("*.png")) == ["photo.png", "photo_restored.png"]
    assert (inputs / "photo.png").read_bytes() == BLURRY.read_bytes()
    bad = cnaps("restore", inputs / "photo.png", "--out", tmp_path, "--suffix", "/../x", "--weights", TINY)
    assert bad.returncode == 2 and "path separator" in bad.stderr


LOADED_PROBE = ("import sys, time\nfrom agent.cli import main\nstarted = time.perf_counter()\ntry:\n    main()\n"
                "finally:\n    print(f'network loaded: {\"tools.checkpoints\" in sys.modules}; '\n"
                "          f'{time.perf_counter() - started:.2f} s', file=sys.stderr)\n")


def test_output_onto_its_input_is_refused_before_any_work(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(BLURRY.read_bytes())
    # A corrupt weights file: had the network been loaded first, the error would be about it.
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not weights")
    for args in (("restore", photo, "--out", tmp_path, "--weights", corrupt),
                 ("restore", tmp_path, "--out", f"{tmp_path}/./", "--weights", corrupt),
                 ("eval-restore", tmp_path, tmp_path, "--out", tmp_path, "--weights", corrupt)):
        done = subprocess.run([sys.executable, "-c", LOADED_PROBE, *map(str, args)], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 1, done.stderr
        first, probe = done.stderr.splitlines()
        assert first.startswith("error: ") and "would overwrite" in first
        assert probe.startswith("network loaded: False")
        assert float(probe.split("; ")[1].split()[0]) < 10  # the restore it replaces took 30 s
    assert photo.read_bytes() == BLURRY.read_bytes()


def test_eval_restore_out_may_not_be_the_sharp_folder(tmp_path):
    blurry_dir, sharp_dir = tmp_path / "blur", tmp_path / "sharp"
    blurry_dir.mkdir(), sharp_dir.mkdir()
    (blurry_dir / "kodim23.png").write_bytes(BLURRY.read_bytes())
    (sharp_dir / "kodim23.png").write_bytes(SHARP.read_bytes())
    done = cnaps("eval-restore", blurry_dir, sharp_dir, "--out", sharp_dir, "--weights", TINY)
    assert done.returncode == 1 and "would overwrite" in done.stderr
    assert (sharp_dir / "kodim23.png").read_bytes() == SHARP.read_bytes()
