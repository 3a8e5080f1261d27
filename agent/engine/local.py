"""The local engine: every item in this process, one after another (what the commands always did)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from agent.engine.work import Job, TileProgress, run_safely


class LocalEngine:
    """Runs a job's worker in this process, built once, over every payload in order."""

    name = "local"

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def map(self, job: Job, payloads: list[dict],
            progress_for: Callable[[dict], TileProgress | None] | None = None) -> Iterator[dict]:
        """Yield one result per payload, in order; ``progress_for`` gives a tile-progress callback per payload."""
        if not payloads:
            return
        worker = job.worker(**job.kwargs)
        for payload in payloads:
            yield run_safely(worker, payload, progress_for(payload) if progress_for else None)
