"""`--engine ray` on a local Ray instance: the same files as the local engine, failures isolated, resumable."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

ray = pytest.importorskip("ray")

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny_mimo_unet.safetensors"
BUNDLES = FIXTURES / "bundles"
# keep_output: the network's output is written whatever the acceptance check says, so the bytes compared are
# what the network computed on each engine (the check would hand some inputs back unchanged)
SETTINGS = {"preset": str(TINY), "tile": None, "device": "cpu", "bf16": None, "keep_output": True}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    """One local Ray instance for the module; workers inherit the offline, lexical settings set before it starts."""
    saved = {key: os.environ.get(key) for key in ("CNAPS_RANKER", "CNAPS_BACKEND")}
    os.environ.update(CNAPS_RANKER="lexical", CNAPS_BACKEND="offline")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Five fixture images (one grayscale, one with alpha) and a file that is not an image."""
    folder = tmp_path_factory.mktemp("images")
    for source in sorted((FIXTURES / "sharp").glob("*.png")):
        shutil.copy(source, folder / source.name)
    shutil.copy(FIXTURES / "web_blurry_kodim23_128x96.png", folder / "blurry.png")
    with Image.open(FIXTURES / "web_blurry_kodim23_128x96.png") as image:
        image.convert("L").save(folder / "gray.png")
        image.convert("RGBA").save(folder / "alpha.webp", lossless=True)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg at all")
    return folder


def _restore(engine_name: str, images: Path, out: Path, force: bool = False) -> list:
    from agent.cli.restore_commands import collect_images
    from agent.engine import open_engine
    from agent.engine.restore_job import restore_many

    triples = [(image, image.name, None) for image in collect_images([images])]
    with open_engine(engine_name, workers=2) as engine:
        return restore_many(engine, triples, out, SETTINGS, compare=True, force=force)


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name not in ("manifest.jsonl", "summary.json")}


def _differences(first, second, path: str = "") -> list[str]:
    """Where two JSON-like values differ, as paths such as ``[0].answer.task.text``."""
    if isinstance(first, dict) and isinstance(second, dict):
        keys = sorted(set(first) | set(second))
        return [found for key in keys for found in _differences(first.get(key), second.get(key), f"{path}.{key}")]
    if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
        return [found for index, pair in enumerate(zip(first, second))
                for found in _differences(*pair, f"{path}[{index}]")]
    return [] if first == second else [f"{path}: {first!r:.200} != {second!r:.200}"]


def test_ray_restores_byte_identical_files_and_a_broken_image_does_not_stop_the_others(images, tmp_path) -> None:
    _restore("local", images, tmp_path / "local")
    outcomes = _restore("ray", images, tmp_path / "ray")

    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert len(_files(tmp_path / "ray")) == 12  # six restored images and their comparisons
    inputs = _files(images)
    assert all(_files(tmp_path / "ray")[name] != inputs[name] for name in inputs if name != "broken.jpg")
    failed = {image.name: outcome for image, outcome in outcomes if isinstance(outcome, str)}
    assert list(failed) == ["broken.jpg"] and "not an image" in failed["broken.jpg"]
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["engine"] == "ray" and summary["counts"] == {"done": 6, "skipped": 0, "failed": 1}
    assert summary["failed"][0]["key"] == "broken.jpg"


def test_ray_rerun_skips_done_images_and_redoes_missing_and_corrupt_ones(images, tmp_path) -> None:
    from agent.engine.restore_job import AlreadyRestored

    out = tmp_path / "out"
    _restore("ray", images, out)
    complete = _files(out)
    (out / "gray.png").unlink()
    (out / "blurry.png").write_bytes(complete["blurry.png"][:100])  # a truncated output
    outcomes = dict(_restore("ray", images, out))

    redone = sorted(image.name for image, outcome in outcomes.items() if hasattr(outcome, "sharpness_after"))
    assert redone == ["blurry.png", "gray.png"]
    assert sum(isinstance(outcome, AlreadyRestored) for outcome in outcomes.values()) == 4
    assert _files(out) == complete
    assert sum(hasattr(o, "sharpness_after") for o in dict(_restore("ray", images, out, force=True)).values()) == 6


def test_ray_batch_writes_the_same_answers_as_local_and_reports_a_broken_bundle(tmp_path) -> None:
    from agent.cli.answer_commands import ANSWER_FILES
    from agent.cli.batch import answer_all
    from agent.engine import open_engine

    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("seed.txt", "ex_dashcam_frame.txt", "spanish_shaky_hand.yaml", "night_noise_restormer.txt"):
        shutil.copy(BUNDLES / name, inputs / name)
    (inputs / "broken.yaml").write_text("question: [unclosed\n", encoding="utf-8")
    results = {}
    for name in ("local", "ray"):
        with open_engine(name) as engine:
            results[name] = answer_all([inputs], tmp_path / name, "offline", None, engine)

    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert len(_files(tmp_path / "ray")) == 4 * len(ANSWER_FILES)
    statuses = {result.source.name: result.status for result in results["ray"]}
    assert statuses == {"broken.yaml": "failed", "seed.txt": "answered", "ex_dashcam_frame.txt": "answered",
                        "spanish_shaky_hand.yaml": "answered", "night_noise_restormer.txt": "answered"}
    with open_engine("ray") as engine:
        again = answer_all([inputs], tmp_path / "ray", "offline", None, engine)
    assert sorted(result.status for result in again) == ["failed"] + ["skipped"] * 4


def test_ray_report_has_the_same_sections_as_local(tmp_path) -> None:
    from agent.engine import open_engine
    from agent.report import ReportJob, build_report

    jobs = ReportJob.pair([BUNDLES / "seed.txt", BUNDLES / "ex_dashcam_frame.txt", tmp_path / "missing.txt"],
                          [FIXTURES / "web_blurry_kodim23_128x96.png"], [FIXTURES / "web_sharp_kodim23_128x96.png"])
    sections = {}
    for name in ("local", "ray"):
        with open_engine(name) as engine:
            report = build_report(jobs, "offline", engine)
        # timing fields aside: the section's seconds and the restoration's
        sections[name] = [section.model_dump(exclude={"seconds": True, "answer": {"restoration": {"seconds"}}})
                          for section in report.sections]
    assert _differences(sections["ray"], sections["local"]) == []
    assert [section["number"] for section in sections["ray"]] == [1, 2, 3]
    assert sections["ray"][0]["after"] is not None and sections["ray"][0]["psnr_after"] is not None
    assert sections["ray"][2]["error"] and sections["ray"][1]["error"] is None


def test_the_restore_command_runs_on_ray_with_its_options(images, tmp_path) -> None:
    from typer.testing import CliRunner

    from agent.cli import commands  # noqa: F401  (registers the commands)
    from agent.cli.app import app

    out = tmp_path / "out"
    arguments = ["restore", str(images), "--out", str(out), "--weights", str(TINY), "--device", "cpu",
                 "--keep-output", "--engine", "ray", "--workers", "2", "--json"]
    done = CliRunner().invoke(app, arguments)
    assert done.exit_code == 1  # broken.jpg failed; the others were processed
    summary = json.loads(done.stdout)
    # The tiny weights' outputs are never clearly better: handed back only because --keep-output asked for them.
    assert (summary["processed"], summary["kept"], summary["skipped"], summary["failed"]) == (7, 6, 0, 1)
    again = json.loads(CliRunner().invoke(app, arguments).stdout)
    assert (again["processed"], again["kept"], again["skipped"], again["failed"]) == (1, 0, 6, 1)
    assert json.loads((out / "summary.json").read_text())["engine"] == "ray"
