"""One CLI vocabulary: -h everywhere, --weights/--preset, --tile 0, --device, --bf16 and --json mean the same in
every command, and tables follow the terminal's width."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app, commands  # noqa: F401  (commands registers every command on app)

FIXTURES = Path(__file__).parent / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
SHARP = FIXTURES / "web_sharp_kodim23_128x96.png"
TINY = FIXTURES / "tiny_mimo_unet.safetensors"
RESTORING = ("ask", "restore", "eval-restore", "report")


def cnaps(*args: str | Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CNAPS_RANKER": "lexical", "CNAPS_BACKEND": "offline", **env}
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, env=environment, cwd=cwd, timeout=600)


def _help(command: str) -> str:
    result = CliRunner().invoke(app, [command, "-h"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_every_command_answers_dash_h_as_help() -> None:
    names = [command.name or command.callback.__name__ for command in app.registered_commands]
    assert {"ask", "batch", "restore", "eval-restore", "chat", "serve", "report"} <= set(names)
    for name in names:
        assert "Usage: cnaps " + name in _help(name)
    assert "Usage: cnaps" in CliRunner().invoke(app, ["-h"]).stdout


def test_restoring_commands_share_the_same_options() -> None:
    for name in RESTORING:
        text = _help(name)
        for option in ("--weights", "--preset", "--tile", "0: never tile", "--device", "auto|cpu|cuda", "--bf16"):
            assert option in text, (name, option)
    for name in ("restore", "eval-restore", "batch"):
        assert "--json" in _help(name), name
    assert "--share" in _help("chat")


def test_bad_device_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["restore", str(BLURRY), "--out", "unused", "--device", "gpu"])
    assert result.exit_code == 2 and "'gpu' is not one of" in result.stderr


def test_device_cuda_without_a_gpu_is_one_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU; the error is for machines without one")
    done = cnaps("restore", BLURRY, "--out", tmp_path, "--weights", TINY, "--device", "cuda", "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: --device cuda: torch sees no CUDA GPU") and done.stderr.count("\n") == 1


def test_ask_takes_tile_0_and_the_preset_alias_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "answer"
    done = cnaps("ask", "--image", BLURRY, "--out", out, "--preset", TINY, "--tile", "0", "--device", "cpu",
                 "--format", "json")
    assert done.returncode == 0, done.stderr
    restoration = json.loads(done.stdout)["restoration"]
    assert restoration["preset"] == TINY.name
    assert Path(restoration["output_path"]) == out / "web_blurry_kodim23_128x96_restored.png"


def test_json_summaries_are_the_only_stdout(tmp_path: Path) -> None:
    blurry_dir, sharp_dir = tmp_path / "blurry", tmp_path / "sharp"
    blurry_dir.mkdir(), sharp_dir.mkdir()
    (blurry_dir / "k.png").write_bytes(BLURRY.read_bytes())
    (sharp_dir / "k.png").write_bytes(SHARP.read_bytes())

    restored = json.loads(cnaps("restore", blurry_dir, "--out", tmp_path / "out", "--weights", TINY, "--json",
                                "--reference", sharp_dir).stdout)
    # The tiny weights' output is never clearly better: the image is processed and handed back unchanged.
    assert (restored["processed"], restored["restored"], restored["unchanged"], restored["failed"]) == (1, 0, 1, 0)
    record = restored["images"][0]
    assert record["output"] == str(tmp_path / "out" / "k.png") and record["psnr"] > 15

    evaluated = json.loads(cnaps("eval-restore", blurry_dir, sharp_dir, "--weights", TINY, "--json").stdout)
    assert evaluated["preset"] == TINY.name and [row["name"] for row in evaluated["images"]] == ["k.png"]
    assert evaluated["mean"]["psnr_input"] == pytest.approx(19.45, abs=0.01)

    bundle = FIXTURES / "bundles" / "seed.txt"
    batch = json.loads(cnaps("batch", bundle, tmp_path / "missing.txt", "--out", tmp_path / "answers",
                             "--json").stdout)
    assert (batch["answered"], batch["failed"], batch["skipped"]) == (1, 1, 0)
    assert {record["status"] for record in batch["bundles"]} == {"answered", "failed"}
    assert [record["folder"] for record in batch["bundles"] if record["status"] == "answered"] == ["seed"]


def test_tables_follow_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cli import console

    monkeypatch.setenv("COLUMNS", "97")
    assert console.table_console().width == 97
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(console, "_terminal_width", lambda: 133)
    assert console.table_console().width == 133
    monkeypatch.setattr(console, "_terminal_width", lambda: None)
    assert console.table_console().width == console.UNBOUNDED_WIDTH


def test_report_restores_with_the_weights_and_tile_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = cnaps("report", FIXTURES / "bundles" / "seed.txt", "--images", BLURRY, "--out", out, "--weights", TINY,
                 "--tile", "0", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert TINY.name in html and "cnaps-lite" not in html
    missing = cnaps("report", FIXTURES / "bundles" / "seed.txt", "--out", out, "--weights", tmp_path / "none.pt")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
