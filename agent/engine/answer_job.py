"""`cnaps batch` and `cnaps report` on an engine: answers as tasks, written here, batch resumable from the manifest."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.engine.manifest import bytes_sha256, file_sha256
from agent.engine.run import Outcome, Run, WorkItem, run_items
from agent.engine.work import Job


class AnswerWorker:
    """Answers bundles with one backend, built when the worker is (once per process).

    Args:
        backend: the backend's name (offline, openai, local).
        fallback: the backend to answer with when that one fails, or None.
    """

    def __init__(self, backend: str, fallback: str | None = None):
        from agent.backends import get_backend

        self.backend = get_backend(backend, **({"fallback": fallback} if fallback else {}))

    def __call__(self, payload: dict, progress=None) -> dict:
        """Answer ``payload["bundle"]`` (a parsed bundle) for the answer folder ``payload["folder"]``."""
        from agent.backends.base import AnswerRequest

        answer = self.backend.answer(AnswerRequest(bundle=payload["bundle"], out_dir=Path(payload["folder"])))
        return {"key": payload["key"], "error": "", "answer": answer}


@dataclass
class BundleEntry:
    """One bundle to answer into ``folder`` (a path under --out), or why it could not even be read."""

    key: str
    folder: Path
    bundle: object = None
    error: str = ""


def answer_many(engine, entries: list[BundleEntry], out: Path, backend: str, fallback: str | None,
                write_answer, *, force: bool = False) -> dict[str, Outcome]:
    """Answer every entry not already answered with the same bundle and backend; returns outcomes by key.

    ``write_answer(answer, folder)`` is the command's own writer; it returns the paths it wrote.
    """

    def write(item: WorkItem, result: dict) -> dict[str, str]:
        folder = Path(item.payload["folder"])
        return {path.relative_to(out).as_posix(): file_sha256(path) for path in write_answer(result["answer"], folder)}

    run = Run(engine=engine, job=Job(AnswerWorker, {"backend": backend, "fallback": fallback}, mode="tasks"),
              settings={"backend": backend, "fallback": fallback}, out=out, write=write, noun="bundles")
    rejected = [Outcome(entry.key, "failed", entry.error) for entry in entries if entry.bundle is None]
    items = [WorkItem(entry.key, bytes_sha256(entry.bundle.model_dump_json().encode("utf-8")),
                      {"key": entry.key, "bundle": entry.bundle, "folder": str(entry.folder)})
             for entry in entries if entry.bundle is not None]
    return {outcome.key: outcome for outcome in run_items(run, items, rejected, force=force)}


class SectionWorker:
    """Answers report items into report sections (answer, embedded images, PSNR) with one backend name."""

    def __init__(self, backend: str):
        self.backend = backend

    def __call__(self, payload: dict, progress=None) -> dict:
        """The section for ``payload["job"]`` numbered ``payload["number"]``, made in a scratch folder."""
        from agent.report import answer_section

        with tempfile.TemporaryDirectory(prefix="cnaps-report-") as work:
            section = answer_section(payload["number"], payload["job"], self.backend, Path(work))
        return {"key": payload["key"], "error": "", "section": section}
