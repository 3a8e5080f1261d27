"""`cnaps restore DIR --out OUT` killed with SIGKILL part way, then run again: every file whole, the set complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny_mimo_unet.safetensors"
COUNT = 10

pytestmark = pytest.mark.slow


def _command(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", "from agent.cli import main; main()", "restore", str(inputs), "--out", str(out),
            "--weights", str(TINY), "--device", "cpu", "--tile", "64", "--keep-output"]


def _make_inputs(folder: Path) -> None:
    """Ten different blurred 192x160 crops of the fixture photographs, tiled by 64 so each takes a while.

    ``--keep-output`` hands back the network's output whatever the acceptance check says, so the files compared
    are what the network computed, not copies of the inputs.
    """
    folder.mkdir()
    sources = sorted((FIXTURES / "sharp").glob("*.png"))
    for index in range(COUNT):
        with Image.open(sources[index % len(sources)]) as image:
            big = image.convert("RGB").resize((384, 320))
            left, top = (index * 17) % 192, (index * 29) % 160
            crop = big.crop((left, top, left + 192, top + 160))
            crop.filter(ImageFilter.GaussianBlur(1.5)).save(folder / f"photo{index:02d}.png")


def _done_lines(manifest: Path) -> int:
    if not manifest.is_file():
        return 0
    return sum('"status": "done"' in line for line in manifest.read_text(errors="replace").splitlines())


def test_a_killed_restore_leaves_only_whole_files_and_a_rerun_completes_the_same_set(tmp_path) -> None:
    inputs, killed, reference = tmp_path / "in", tmp_path / "killed", tmp_path / "reference"
    _make_inputs(inputs)
    before = {path.name: path.read_bytes() for path in inputs.iterdir()}

    process = subprocess.Popen(_command(inputs, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _done_lines(killed / "manifest.jsonl") < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished_when_killed = _done_lines(killed / "manifest.jsonl")
    assert 2 <= finished_when_killed < COUNT, "the run must be killed part way"

    # Whatever is there now is whole: every visible image decodes completely.
    for path in killed.glob("*.png"):
        with Image.open(path) as image:
            image.load()

    again = subprocess.run(_command(inputs, killed), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["counts"]["failed"] == 0 and summary["counts"]["skipped"] >= finished_when_killed
    assert summary["counts"]["done"] + summary["counts"]["skipped"] == COUNT

    uninterrupted = subprocess.run(_command(inputs, reference), capture_output=True, text=True, timeout=600)
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    restored = {path.name: path.read_bytes() for path in killed.iterdir() if path.suffix == ".png"}
    assert restored == {path.name: path.read_bytes() for path in reference.iterdir() if path.suffix == ".png"}
    assert len(restored) == COUNT
    assert all(restored[name] != before[name] for name in restored)  # the network's output, not the input
    assert not [path.name for path in killed.iterdir() if path.name.endswith(".tmp")]
    assert {path.name: path.read_bytes() for path in inputs.iterdir()} == before  # inputs untouched
