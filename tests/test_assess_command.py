"""`cnaps assess BEFORE AFTER`: the acceptance check as a command, on real photo crops and their blurred copies."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools.images import read_image
from tools.training.blur import blur_valid, camera_shake_kernel, linear_to_srgb, srgb_to_linear

SHARP = Path(__file__).parent / "fixtures" / "sharp" / "crop_kodim21.png"


def cnaps(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _save(rgb: np.ndarray, path: Path) -> Path:
    Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(blurred, sharp) PNGs: the fixture crop shaken by a seeded 11-px hand trajectory, and the crop itself."""
    folder = tmp_path_factory.mktemp("assess")
    sharp = read_image(SHARP).rgb
    kernel = camera_shake_kernel(np.random.default_rng(3), 11.0, 15)
    padded = np.pad(srgb_to_linear(sharp), ((7, 7), (7, 7), (0, 0)), mode="reflect")
    blurred = linear_to_srgb(blur_valid(padded, kernel))
    return _save(blurred, folder / "blurred.png"), _save(sharp, folder / "sharp.png")


def test_the_sharp_original_is_accepted_as_a_restoration_of_its_blurred_copy(pair):
    blurred, sharp = pair
    done = cnaps("assess", blurred, sharp, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["accepted"] is True and record["reason"].startswith("sharper")
    assert record["before"]["blur"] > record["after"]["blur"]
    assert {"gain", "overshoot", "flat_noise", "level_shift"} <= set(record["measures"])


def test_a_blurred_copy_is_not_accepted_as_a_restoration_and_still_exits_0(pair):
    blurred, sharp = pair
    done = cnaps("assess", sharp, blurred)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("not accepted:") and "reason:" in done.stdout and "blur estimate:" in done.stdout


def test_a_brightened_copy_is_not_accepted(pair, tmp_path):
    blurred, _ = pair
    brighter = _save(read_image(blurred).rgb + 0.05, tmp_path / "brighter.png")
    record = json.loads(cnaps("assess", blurred, brighter, "--json").stdout)
    assert record["accepted"] is False


def test_bad_input_is_a_clear_error_with_a_nonzero_exit(pair, tmp_path):
    blurred, _ = pair
    missing = cnaps("assess", blurred, tmp_path / "missing.png")
    assert missing.returncode != 0 and "does not exist" in missing.stderr and not missing.stdout
    small = _save(np.zeros((16, 16, 3)), tmp_path / "small.png")
    mismatched = cnaps("assess", blurred, small, "--json")
    assert mismatched.returncode != 0 and "size" in mismatched.stderr and not mismatched.stdout
