"""`cnaps report` on an engine: sections answered as tasks, kept beside the report so a re-run reuses them.

Each section is written as ``<report stem>.sections/section-NNNN.json`` with a manifest; running the same
command again answers only the sections whose bundle, image, reference or settings changed, or that failed.
"""

from __future__ import annotations

from pathlib import Path

from agent.engine.answer_job import SectionWorker
from agent.engine.manifest import bytes_sha256, file_sha256
from agent.engine.run import ItemFailed, Run, WorkItem, run_items
from agent.engine.work import Job


def sections_folder(report_path: Path) -> Path:
    """Where the sections of the report at ``report_path`` are kept: ``<stem>.sections/`` beside it."""
    report_path = Path(report_path)
    return report_path.with_name(f"{report_path.stem}.sections")


def report_sections(engine, jobs: list, backend: str, folder: Path, *, force: bool = False) -> list:
    """The report's sections in order: answered on ``engine``, or read back from ``folder`` when still valid."""
    from agent.report import ReportSection
    from tools.files import atomic_write_bytes

    def write(item: WorkItem, result: dict) -> dict[str, str]:
        section = result["section"]
        payload = section.model_dump_json().encode("utf-8")
        atomic_write_bytes(folder / f"{item.key}.json", payload)
        if section.error:
            raise ItemFailed(section.error)
        return {f"{item.key}.json": bytes_sha256(payload)}

    run = Run(engine=engine, job=Job(SectionWorker, {"backend": backend}), settings={"backend": backend},
              out=Path(folder), write=write, noun="report sections")
    items = [WorkItem(f"section-{number:04d}", _job_sha256(job), {"key": f"section-{number:04d}", "number": number,
                                                                   "job": job})
             for number, job in enumerate(jobs, start=1)]
    sections = []
    for number, outcome in enumerate(run_items(run, items, force=force), start=1):
        if outcome.result and outcome.result.get("section") is not None:
            sections.append(outcome.result["section"])
        elif outcome.status == "skipped":
            sections.append(ReportSection.model_validate_json((folder / f"{outcome.key}.json").read_bytes()))
        else:
            sections.append(ReportSection(number=number, bundle_name=jobs[number - 1].bundle.name,
                                          error=outcome.detail))
    return sections


def _job_sha256(job) -> str:
    """A hash of a report item: its settings and the bytes of its bundle, image and reference."""
    parts = [job.model_dump_json()]
    for path in (job.bundle, job.image, job.reference):
        try:
            parts.append(file_sha256(path) if path is not None else "-")
        except OSError:
            parts.append("unreadable")  # answered anyway: the section then says what is wrong
    return bytes_sha256("\n".join(parts).encode("utf-8"))
