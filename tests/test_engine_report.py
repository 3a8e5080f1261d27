"""`cnaps report` keeps its sections beside the report: a re-run reuses the valid ones and retries failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent.engine.report_job import sections_folder
from agent.report import ReportJob, build_report

FIXTURES = Path(__file__).parent / "fixtures"
BUNDLES = FIXTURES / "bundles"


def test_a_rerun_reuses_unchanged_sections_and_redoes_changed_and_failed_ones(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CNAPS_RANKER", "lexical")
    for name in ("seed.txt", "ex_dashcam_frame.txt"):
        shutil.copy(BUNDLES / name, tmp_path / name)
    bundles = [tmp_path / "seed.txt", tmp_path / "ex_dashcam_frame.txt", tmp_path / "later.txt"]
    jobs = ReportJob.pair(bundles, [FIXTURES / "web_blurry_kodim23_128x96.png"], [])
    folder = sections_folder(tmp_path / "report.html")
    assert folder == tmp_path / "report.sections"

    first = build_report(jobs, "offline", sections_dir=folder)
    assert [bool(section.error) for section in first.sections] == [False, False, True]
    assert first.sections[0].after is not None

    shutil.copy(BUNDLES / "night_noise_restormer.txt", tmp_path / "later.txt")  # the missing bundle appears
    second = build_report(jobs, "offline", sections_dir=folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["skipped"] == ["section-0001", "section-0002"] and summary["done"] == ["section-0003"]
    assert second.sections[:2] == first.sections[:2] and not second.sections[2].error

    (tmp_path / "ex_dashcam_frame.txt").write_text((BUNDLES / "seed.txt").read_text(), encoding="utf-8")
    build_report(jobs, "offline", sections_dir=folder)
    assert json.loads((folder / "summary.json").read_text())["done"] == ["section-0002"]
    build_report(jobs, "offline", sections_dir=folder, force=True)
    assert json.loads((folder / "summary.json").read_text())["counts"]["done"] == 3
