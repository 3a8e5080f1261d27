"""The output folder's manifest and the engine choice: what counts as done, torn lines, corrupt outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.engine import open_engine
from agent.engine.local import LocalEngine
from agent.engine.manifest import MANIFEST_NAME, Manifest, ManifestEntry, bytes_sha256
from agent.engine.run import Run, WorkItem, run_items
from agent.engine.work import Job
from agent.errors import EngineError


class Doubler:
    """A worker that doubles the text of its payload and refuses 'bad'."""

    def __init__(self, times: int = 2):
        self.times = times

    def __call__(self, payload: dict, progress=None) -> dict:
        if payload["text"] == "bad":
            raise ValueError("cannot double bad")
        return {"key": payload["key"], "error": "", "text": payload["text"] * self.times}


def _write(out: Path):
    def write(item: WorkItem, result: dict) -> dict[str, str]:
        payload = result["text"].encode()
        (out / item.key).write_bytes(payload)
        return {item.key: bytes_sha256(payload)}
    return write


def _run(out: Path, texts: dict[str, str], force: bool = False, times: int = 2):
    run = Run(engine=LocalEngine(), job=Job(Doubler, {"times": times}), settings={"times": times}, out=out,
              write=_write(out))
    items = [WorkItem(key, bytes_sha256(text.encode()), {"key": key, "text": text}) for key, text in texts.items()]
    return {outcome.key: outcome.status for outcome in run_items(run, items, force=force)}


def test_a_rerun_skips_done_items_and_redoes_corrupt_missing_and_changed_ones(tmp_path: Path) -> None:
    texts = {"a.txt": "a", "b.txt": "b", "c.txt": "c", "d.txt": "bad"}
    assert _run(tmp_path, texts) == {"a.txt": "done", "b.txt": "done", "c.txt": "done", "d.txt": "failed"}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["counts"] == {"done": 3, "skipped": 0, "failed": 1}
    assert summary["failed"] == [{"key": "d.txt", "error": "ValueError: cannot double bad"}]

    (tmp_path / "a.txt").write_bytes(b"corrupted")  # same name, wrong bytes
    (tmp_path / "b.txt").unlink()
    texts["c.txt"] = "C"  # the input changed
    texts["d.txt"] = "d"  # the failed one is fixed
    assert _run(tmp_path, texts) == {"a.txt": "done", "b.txt": "done", "c.txt": "done", "d.txt": "done"}
    assert (tmp_path / "a.txt").read_text() == "aa" and (tmp_path / "c.txt").read_text() == "CC"
    assert set(_run(tmp_path, texts).values()) == {"skipped"}
    assert set(_run(tmp_path, texts, times=3).values()) == {"done"}  # other settings: other outputs
    assert set(_run(tmp_path, texts, times=3, force=True).values()) == {"done"}
    assert (tmp_path / "a.txt").read_text() == "aaa"
    # compacted: one line per item
    assert len((tmp_path / MANIFEST_NAME).read_text().splitlines()) == 4


def test_a_torn_last_line_from_a_killed_run_is_ignored(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path)
    (tmp_path / "x.png").write_bytes(b"restored")
    manifest.record(ManifestEntry("x.png", "in", "set", "done", outputs={"x.png": bytes_sha256(b"restored")}))
    with (tmp_path / MANIFEST_NAME).open("a") as stream:
        stream.write('[1, 2]\n{"key": "z.png", "input_sha256": "in", "settings_sha256": "set", "status": "done", '
                     '"outputs": "not a mapping"}\n')
        stream.write('{"key": "y.png", "input_sha2')
    again = Manifest(tmp_path)
    assert list(again.entries) == ["x.png"]
    assert again.is_done("x.png", "in", "set")
    assert not again.is_done("x.png", "other input", "set") and not again.is_done("x.png", "in", "other")
    assert not again.is_done("y.png", "in", "set")


def test_stale_temporary_files_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".a.txt.k2j4h5g1.tmp"
    stale.write_bytes(b"half")
    users_own = tmp_path / ".notes.tmp"
    users_own.write_bytes(b"keep me")
    _run(tmp_path, {"a.txt": "a"})
    assert not stale.exists() and users_own.exists()


def test_engine_choice_errors_are_user_errors() -> None:
    with pytest.raises(EngineError, match="unknown engine 'spark'"):
        open_engine("spark")
    with pytest.raises(EngineError, match="use it with --engine ray"):
        open_engine("local", address="10.0.0.1:6379")
    assert open_engine("LOCAL").name == "local"


def test_an_address_nobody_answers_on_is_a_one_line_error_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    pytest.importorskip("ray")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "batch",
                           str(Path(__file__).parent / "fixtures" / "bundles" / "seed.txt"), "--out", str(tmp_path),
                           "--engine", "ray", "--address", "127.0.0.1:1"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and time.monotonic() - started < 60
    assert done.stderr.startswith("error: no Ray cluster answers at 127.0.0.1:1") and done.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())
