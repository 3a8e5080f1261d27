"""Hostile command lines: outputs that would replace inputs or each other, unusable --out paths and weights files
with absurd metadata are refused with one line before any work; inputs are never modified."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes and servers: make test runs it, make test-fast does not

FIXTURES = Path(__file__).parents[1] / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
TINY = FIXTURES / "tiny_mimo_unet.safetensors"
SEED = FIXTURES / "bundles" / "seed.txt"


def cnaps(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> bool:
    lines = done.stderr.strip().splitlines()
    return (done.returncode != 0 and "Traceback" not in done.stderr and len(lines) == 1
            and lines[0].startswith("error: ") and all(word in lines[0] for word in words))


def copies(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(BLURRY, folder / name)
    return [folder / name for name in names]


def test_compare_never_overwrites_an_input(hostile, tmp_path):
    first, = copies(tmp_path / "f2", "a.png")
    second, = copies(tmp_path / "f3", "a.compare.png")
    hostile.watch(first, second)
    with hostile.case():
        done = cnaps("restore", first, second, "--out", tmp_path / "f3", "--compare", "--weights", TINY)
        assert one_line_error(done, "would overwrite the input", "a.compare.png")
        assert sorted(path.name for path in (tmp_path / "f3").iterdir()) == ["a.compare.png"]


def test_compare_never_silently_replaces_another_output(hostile, tmp_path):
    inputs = copies(tmp_path / "in", "x.png", "x.compare.png")
    hostile.watch(*inputs)
    with hostile.case():
        done = cnaps("restore", *inputs, "--out", tmp_path / "out", "--compare", "--weights", TINY)
        assert one_line_error(done, "would both be written to", "x.compare.png")
        assert not (tmp_path / "out").exists()


def test_same_named_inputs_from_two_folders_are_refused_before_any_work(hostile, tmp_path):
    inputs = copies(tmp_path / "a", "p.png") + copies(tmp_path / "b", "p.png")
    hostile.watch(*inputs)
    with hostile.case():
        assert one_line_error(cnaps("restore", *inputs, "--out", tmp_path / "out", "--weights", TINY),
                              "would both be written")


@pytest.mark.parametrize("command", ["restore", "ask", "batch"])
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_an_out_that_is_a_file_or_lies_under_one_is_one_line(hostile, tmp_path, command, where):
    blocker = tmp_path / "taken.txt"
    blocker.write_text("not a folder\n")
    out = blocker if where == "file" else blocker / "sub"
    image, = copies(tmp_path / "in", "photo.png")
    hostile.watch(blocker, image)
    arguments = {"restore": ["restore", image, "--weights", TINY], "ask": ["ask", "--bundle", SEED],
                 "batch": ["batch", SEED]}[command]
    with hostile.case():
        assert one_line_error(cnaps(*arguments, "--out", out), "--out", str(blocker))


def test_report_out_an_existing_folder_is_refused_before_answering(hostile, tmp_path):
    hostile.watch(SEED)
    with hostile.case():
        started = time.perf_counter()
        done = cnaps("report", SEED, SEED, SEED, "--out", tmp_path)
        assert one_line_error(done, "is a folder")
        assert time.perf_counter() - started < 60 and list(tmp_path.iterdir()) == []


def weights_with(folder: Path, **metadata: str) -> Path:
    """The tiny test weights saved again with some metadata replaced."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(TINY), framework="pt") as reader:
        metadata = {**reader.metadata(), **metadata}
    path = folder / "evil.safetensors"
    save_file(load_file(str(TINY)), str(path), metadata=metadata)
    return path


@pytest.mark.parametrize("num_res, width", [(8, -16), (8, 10**9), (-1, 16), (10**6, 16), (0, 0)])
def test_weights_with_absurd_metadata_are_refused_before_allocating(hostile, tmp_path, num_res, width):
    from tools.checkpoints import load_network
    from tools.weights_io import WeightsError

    evil = weights_with(tmp_path, num_res=str(num_res), width=str(width))
    hostile.watch(evil)
    with hostile.case():
        started = time.perf_counter()
        with pytest.raises(WeightsError) as refused:
            load_network(evil)
        assert time.perf_counter() - started < 5 and "\n" not in str(refused.value)


def test_restore_reports_absurd_weights_in_one_line(hostile, tmp_path):
    evil = weights_with(tmp_path, width=str(10**9))
    image, = copies(tmp_path / "in", "photo.png")
    hostile.watch(evil, image)
    with hostile.case():
        done = cnaps("restore", image, "--out", tmp_path / "out", "--weights", evil)
        assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout
        assert "width=1000000000" in " ".join(done.stdout.split()) or "width=1000000000" in done.stderr


def test_a_question_argument_over_the_limit_is_one_line(hostile):
    with hostile.case():
        assert one_line_error(cnaps("ask", "why is my photo blurry " * 5000, "--format", "json"),
                              "the limit is 4,000")
