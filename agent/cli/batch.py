"""Answering many bundles: collect files, answer each into its own folder, skip finished ones, keep going on errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agent.cli.answer_commands import BUNDLE_SUFFIXES

Status = Literal["answered", "skipped", "failed"]
DETAIL_WIDTH = 90


@dataclass
class BatchResult:
    """What happened to one bundle."""

    source: Path
    folder: Path | None
    status: Status
    detail: str
    grounded: bool | None = None
    #: the item's label when the bundle is one of many in its file (answered into <name>/<label>/)
    item: str | None = None


def collect_bundles(paths: list[Path]) -> tuple[list[Path], list[BatchResult]]:
    """Bundle files named directly or found in folders (recursively, sorted), and failures for missing paths."""
    found: list[Path] = []
    missing: list[BatchResult] = []
    for path in paths:
        if path.is_dir():
            found += sorted(item for item in path.rglob("*") if item.is_file()
                            and item.suffix.lower() in BUNDLE_SUFFIXES
                            and not any(part.startswith(".") for part in item.relative_to(path).parts))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(BatchResult(path, None, "failed", "no such file or folder"))
    return list(dict.fromkeys(found)), missing


def folder_names(files: list[Path]) -> dict[Path, str]:
    """One distinct, filesystem-safe folder name per bundle file, from its file name."""
    names: dict[Path, str] = {}
    used: set[str] = set()
    for file in files:
        base = re.sub(r"[^\w.-]+", "_", file.stem).strip("._") or "bundle"
        name, number = base, 1
        while name in used:
            number += 1
            name = f"{base}-{number}"
        used.add(name)
        names[file] = name
    return names


def answer_all(paths: list[Path], out: Path, backend: str, fallback: str | None, engine, *,
               force: bool = False) -> list[BatchResult]:
    """Answer every bundle under ``paths`` into ``out/<name>/`` on ``engine`` (local or Ray), with a progress bar.

    A bundle whose answers the manifest in ``out`` records as made from the same bundle and backend, and still
    intact, is skipped unless ``force``.
    """
    from agent.cli.answer_commands import write_answer
    from agent.engine.answer_job import answer_many

    files, results = collect_bundles(paths)
    out = out.resolve()
    # Answers written by an earlier run must not be read back as bundles.
    files = [file for file in files if out not in file.resolve().parents]
    names = folder_names(files)
    entries = [entry for file in files for entry in _bundle_entries(file, out, names[file])]
    outcomes = answer_many(engine, [entry for entry, _, _ in entries], out, backend, fallback, write_answer,
                           force=force)
    return results + [_result(outcomes[entry.key], entry, source, label) for entry, source, label in entries]


def _bundle_entries(file: Path, out: Path, name: str) -> list[tuple]:
    """(BundleEntry, source, item label) for the bundle of a file, or for each bundle of a many-bundle file."""
    from agent.engine.answer_job import BundleEntry
    from knowledge.errors import BundleError
    from knowledge.parser import load_bundle_items

    try:
        items = load_bundle_items(file)
    except BundleError as error:
        return [(BundleEntry(name, out / name, error=str(error)), file, None)]
    entries = []
    for item in items:
        source = file if item.label is None else Path(f"{file}#{item.label}")
        key = name if item.label is None else f"{name}/{item.label}"
        error = "" if item.error is None else str(item.error) or "unreadable bundle"
        entries.append((BundleEntry(key, out / key, None if error else item.bundle, error), source, item.label))
    return entries


def _result(outcome, entry, source: Path, label: str | None) -> BatchResult:
    """The batch's view of an engine outcome: answered (with the task and grounding), skipped or failed."""
    if outcome.status == "failed":
        return BatchResult(source, None, "failed", outcome.detail, item=label)
    if outcome.status == "skipped":
        return BatchResult(source, entry.folder, "skipped", "already answered (use --force to answer again)",
                           item=label)
    answer = outcome.result["answer"]
    return BatchResult(source, entry.folder, "answered", _clip(answer.task.text.split(". ")[0]), answer.grounded,
                       item=label)


def _clip(text: str, width: int = DETAIL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _folder_label(result: BatchResult) -> str:
    """The answer folder as found under --out: <name>, or <name>/<label> for a bundle of a many-bundle file."""
    if result.folder is None:
        return ""
    return f"{result.folder.parent.name}/{result.folder.name}" if result.item is not None else result.folder.name


STATUSES: tuple[Status, ...] = ("answered", "skipped", "failed")


def batch_summary(results: list[BatchResult]) -> dict:
    """The ``--json`` summary of a batch: one record per bundle (folder relative to --out) and the counts."""
    records = [{"bundle": str(result.source), "status": result.status, "grounded": result.grounded,
                "folder": _folder_label(result) or None, "detail": result.detail} for result in results]
    return {"bundles": records, **{status: sum(r.status == status for r in results) for status in STATUSES}}


def print_summary(results: list[BatchResult]) -> None:
    """A table of every bundle: its folder, what happened, whether the answer is grounded, and the detail."""
    from rich.table import Table

    from agent.cli.console import table_console

    table = Table(title="cnaps batch")
    for column in ("bundle", "status", "grounded", "folder", "detail"):
        table.add_column(column, overflow="fold")
    styles = {"answered": "green", "skipped": "yellow", "failed": "red"}
    for result in results:
        grounded = "" if result.grounded is None else ("yes" if result.grounded else "NO")
        # The bundle column already shows the path: an error that repeats it names the file only, so narrow
        # terminals fold less (the --json summary keeps the message whole).
        detail = result.detail.replace(str(result.source), result.source.name)
        table.add_row(str(result.source), f"[{styles[result.status]}]{result.status}[/]", grounded,
                      _folder_label(result), detail)
    console = table_console()
    console.print(table)
    counts = {status: sum(result.status == status for result in results) for status in styles}
    console.print(", ".join(f"{count} {status}" for status, count in counts.items()))
