"""Running many items into one output folder: skip what is done, work the rest on an engine, write, record.

The driver (this process) decides what to skip from the folder's manifest, hands the rest to the engine,
writes every result with the command's own atomic writer, records it in the manifest, and finally writes
``summary.json``.  A run killed at any moment leaves only whole files, and the same command finishes the set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.engine.manifest import SUMMARY_NAME, Manifest, ManifestEntry, settings_sha256
from agent.engine.work import Job, TileProgress

#: Temporary files of tools.files.atomic_write_bytes (``.<name>.<random>.tmp``) left by a killed run.
_STALE_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")

#: ``write(item, result)`` writes one result's files and returns {path relative to out: SHA-256}.
Writer = Callable[["WorkItem", dict], dict[str, str]]


class ItemFailed(Exception):
    """Raised by a writer whose item's files are written but which counts as failed (a re-run does it again)."""


@dataclass
class WorkItem:
    """One item to do: its key in the output folder, the hash of what it is made from, and the worker's payload."""

    key: str
    input_sha256: str
    payload: dict


@dataclass
class Outcome:
    """What happened to one item; ``result`` is the worker's result dict when it ran."""

    key: str
    status: Literal["done", "skipped", "failed"]
    detail: str = ""
    result: dict | None = None
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    """One command's run: the engine, the job, the settings that make outputs differ, and the output folder."""

    engine: object
    job: Job
    settings: dict
    out: Path
    write: Writer
    noun: str = "items"
    tile_progress: bool = False


def run_items(run: Run, items: list[WorkItem], rejected: list[Outcome] | None = None, *,
              force: bool = False) -> list[Outcome]:
    """Do every item not already done (all with ``force``), in the order given; returns one outcome per item.

    ``rejected`` are items that failed before any work (say, a file that could not be read); they are
    reported in the summary with the others.
    """
    from tools.errors import OutputPathError

    try:
        run.out.mkdir(parents=True, exist_ok=True)  # before any work: the manifest must be writable
    except OSError as error:
        raise OutputPathError(f"cannot write the results to {run.out}: {error.strerror or error}") from None
    manifest = Manifest(run.out)
    settings_hash = settings_sha256(run.settings)
    outcomes: dict[str, Outcome] = {outcome.key: outcome for outcome in rejected or []}
    todo = []
    for item in items:
        if not force and manifest.is_done(item.key, item.input_sha256, settings_hash):
            outcomes[item.key] = Outcome(item.key, "skipped", "already done (use --force to redo)",
                                         outputs=manifest.entries[item.key].outputs)
        else:
            todo.append(item)
    _remove_stale_temporaries(run.out)
    tiles = run.tile_progress and run.engine.name == "local"
    with ItemProgress(f"{run.noun} ({run.engine.name})", len(items), len(items) - len(todo), tiles) as bars:
        by_key = {item.key: item for item in todo}
        for result in run.engine.map(run.job, [item.payload for item in todo], bars.progress_for):
            item = by_key[result["key"]]
            outcomes[item.key] = _finish(run, manifest, item, result, settings_hash)
            bars.advance()
    manifest.compact()
    ordered = [outcomes[outcome.key] for outcome in rejected or []] + [outcomes[item.key] for item in items]
    write_summary(run, ordered)
    return ordered


def _finish(run: Run, manifest: Manifest, item: WorkItem, result: dict, settings_hash: str) -> Outcome:
    """Write one result and record it; a result that cannot be written fails like one that could not be made."""
    from agent.errors import USER_ERRORS

    error = result.get("error") or ""
    outputs: dict[str, str] = {}
    if not error:
        try:
            outputs = run.write(item, result)
        except (*USER_ERRORS, OSError, ItemFailed) as problem:
            error = str(problem)
    status = "failed" if error else "done"
    manifest.record(ManifestEntry(key=item.key, input_sha256=item.input_sha256, settings_sha256=settings_hash,
                                  status=status, settings=run.settings, outputs=outputs, error=error,
                                  seconds=float(result.get("seconds") or 0.0)))
    return Outcome(item.key, status, error, result, outputs)


def write_summary(run: Run, outcomes: list[Outcome]) -> Path:
    """Write ``summary.json`` (engine, settings, counts, and the done, skipped and failed items) atomically."""
    from tools.files import atomic_write_bytes

    summary = {
        "engine": run.engine.name,
        "settings": run.settings,
        "counts": {status: sum(o.status == status for o in outcomes) for status in ("done", "skipped", "failed")},
        "done": [outcome.key for outcome in outcomes if outcome.status == "done"],
        "skipped": [outcome.key for outcome in outcomes if outcome.status == "skipped"],
        "failed": [{"key": outcome.key, "error": outcome.detail} for outcome in outcomes
                   if outcome.status == "failed"],
    }
    path = run.out / SUMMARY_NAME
    atomic_write_bytes(path, (json.dumps(summary, indent=2, default=str) + "\n").encode("utf-8"))
    return path


def _remove_stale_temporaries(out: Path) -> None:
    if not out.is_dir():
        return
    for path in out.rglob(".*.tmp"):
        if _STALE_TEMPORARY.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)


class ItemProgress:
    """A rich bar over items on stderr and, when asked, a second bar over the tiles of the current item.

    Use it as a context manager; ``progress_for`` is None without the tiles bar (what the Ray engine gets).
    """

    def __init__(self, description: str, total: int, done: int = 0, tiles: bool = False):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.items = self.progress.add_task(description, total=total, completed=done)
        self.tiles = self.progress.add_task("tiles", total=1) if tiles else None
        self.progress_for = self._tile_callback if tiles else None

    def __enter__(self) -> ItemProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self.progress.__exit__(*exc_info)

    def advance(self) -> None:
        """One more item finished."""
        self.progress.advance(self.items)

    def _tile_callback(self, payload: dict) -> TileProgress:
        self.progress.update(self.tiles, description=f"tiles of {payload['key']}", completed=0, total=1)

        def show(done: int, total: int) -> None:
            self.progress.update(self.tiles, completed=done, total=total)

        return show
