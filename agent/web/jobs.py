"""Answers as jobs: started at once, run on the worker pool, followed by polling or events, cancellable at a tile.

The HTTP API's ``/v1/jobs`` routes and the chat page both run their answers through a ``JobBoard``: one place
decides how a job moves from queued to running to done, failed or cancelled, and when its folder is removed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel

from agent.answer import GroundedAnswer
from agent.web.pool import WorkerPool
from agent.web.store import JobStore

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})
Progress = Callable[[int, int], None]


class JobProgress(BaseModel):
    """How far a job is: its stage and, while the image is restored, the tiles done of the total."""

    stage: Literal["waiting", "starting", "restoring", "composing", "finished"] = "waiting"
    tiles_done: int = 0
    tiles_total: int = 0


class JobError(BaseModel):
    """Why a job failed: the same short kind and message the API gives for a request that fails at once."""

    error: str
    detail: str


class JobCancelled(BaseException):
    """Raised inside a running job, from its progress callback, once its client has cancelled it.

    A BaseException, like asyncio's CancelledError, so no ``except Exception`` on the answering path swallows it.
    """


@dataclass
class Job:
    """One job's state; read it through ``JobBoard.snapshot`` (the worker thread changes it)."""

    id: str
    folder: Path
    status: JobStatus = "queued"
    progress: JobProgress = field(default_factory=JobProgress)
    answer: GroundedAnswer | None = None
    error: JobError | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    version: int = 0
    cancel_requested: threading.Event = field(default_factory=threading.Event)


def describe_failure(error: BaseException) -> JobError:
    """The kind and message of a failed job, with the kinds the API uses for the same errors."""
    from agent.errors import BackendError
    from agent.web.limits import UploadError
    from knowledge.errors import BundleError
    from tools.errors import RestorationError

    kinds = ((UploadError, "invalid_request"), (BundleError, "bad_bundle"), (RestorationError, "bad_image"),
             (BackendError, "backend_unavailable"))
    from agent.web.guards import redact_paths

    for kind, name in kinds:
        if isinstance(error, kind):
            return JobError(error=name, detail=redact_paths(str(error)))
    return JobError(error="internal", detail=redact_paths(f"the answer failed: {type(error).__name__}: {error}"))


class JobBoard:
    """Jobs by id: created with a folder, run on the pool, cancelled on request, forgotten when they expire.

    Finished jobs are kept ``keep_seconds`` and at most ``keep_finished`` of them; a forgotten job's folder
    (its upload and restored image) is deleted with it.
    """

    def __init__(self, pool: WorkerPool, store: JobStore, keep_finished: int = 100,
                 keep_seconds: float = 3600.0) -> None:
        self.pool = pool
        self.store = store
        self.keep_finished = keep_finished
        self.keep_seconds = keep_seconds
        self._jobs: dict[str, Job] = {}
        self._changed = threading.Condition()

    def create(self) -> Job:
        """A new queued job with its own empty folder; ``start`` it, or ``forget`` it if the request fails."""
        self._expire()
        job_id, folder = self.store.new_job()
        job = Job(id=job_id, folder=folder)
        with self._changed:
            self._jobs[job_id] = job
        return job

    def start(self, job: Job, work: Callable[[Progress], GroundedAnswer]) -> None:
        """Queue ``work`` on the pool; it is called with a progress callback that stops it once cancelled.

        Raises PoolBusyError (and forgets the job) when the pool's queue is full.
        """
        try:
            self.pool.submit(lambda: self._run(job, work))
        except BaseException:
            self.forget(job.id)
            raise

    def _run(self, job: Job, work: Callable[[Progress], GroundedAnswer]) -> None:
        if job.cancel_requested.is_set():
            return  # cancelled while queued: already marked, nothing to run

        def progress(done: int, total: int) -> None:
            if job.cancel_requested.is_set():
                raise JobCancelled(job.id)
            stage = "composing" if total and done >= total else "restoring"
            self._update(job, progress=JobProgress(stage=stage, tiles_done=done, tiles_total=total))

        self._update(job, status="running", progress=JobProgress(stage="starting"))
        try:
            answer = work(progress)
        except JobCancelled:
            self._finish(job, "cancelled")
        except Exception as error:  # noqa: BLE001 - every failure becomes the job's error, never a dead thread
            self._finish(job, "failed", error=describe_failure(error))
        else:
            # Cancelled after its last tile: the client asked not to have it, so it is not kept.
            self._finish(job, "cancelled" if job.cancel_requested.is_set() else "done", answer=answer)

    def _update(self, job: Job, **changes) -> None:
        with self._changed:
            if job.status in FINISHED:
                return
            for name, value in changes.items():
                setattr(job, name, value)
            job.version += 1
            self._changed.notify_all()

    def _finish(self, job: Job, status: JobStatus, answer: GroundedAnswer | None = None,
                error: JobError | None = None) -> None:
        progress = job.progress.model_copy(update={"stage": "finished"})
        self._update(job, status=status, answer=answer if status == "done" else None, error=error,
                     finished=time.time(), progress=progress)

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop: a queued job is cancelled at once, a running one at its next tile; None if unknown."""
        job = self.get(job_id)
        if job is None:
            return None
        job.cancel_requested.set()
        if job.status == "queued":
            self._finish(job, "cancelled")
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None when it is unknown or has expired."""
        self._expire()
        with self._changed:
            return self._jobs.get(job_id)

    def snapshot(self, job_id: str) -> Job | None:
        """A consistent copy of the job with this id (the worker may change the original), or None."""
        self._expire()
        with self._changed:
            job = self._jobs.get(job_id)
            return replace(job) if job is not None else None

    def wait(self, job_id: str, after_version: int, timeout: float) -> Job | None:
        """Block until the job changes past ``after_version``, finishes or ``timeout`` seconds pass; a snapshot."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                remaining = deadline - time.monotonic()
                if job is None or job.version > after_version or job.status in FINISHED or remaining <= 0:
                    return replace(job) if job is not None else None
                self._changed.wait(remaining)

    def forget(self, job_id: str) -> None:
        """Drop a job and delete its folder (cancelling it first if it still runs)."""
        with self._changed:
            job = self._jobs.pop(job_id, None)
            self._changed.notify_all()
        if job is not None:
            job.cancel_requested.set()
        self.store.discard(job_id)

    def _expire(self) -> None:
        now = time.time()
        with self._changed:
            finished = sorted((job for job in self._jobs.values() if job.finished is not None),
                              key=lambda job: job.finished)
            overflow = max(0, len(finished) - self.keep_finished)
            expired = [job.id for index, job in enumerate(finished)
                       if index < overflow or now - job.finished > self.keep_seconds]
        for job_id in expired:
            self.forget(job_id)

    def cancel_all(self) -> None:
        """Cancel every job that has not finished (the server is stopping)."""
        with self._changed:
            unfinished = [job.id for job in self._jobs.values() if job.status not in FINISHED]
        for job_id in unfinished:
            self.cancel(job_id)

    def counts(self) -> dict[str, int]:
        """How many jobs the board holds, by status."""
        with self._changed:
            counts = dict.fromkeys(("queued", "running", "done", "failed", "cancelled"), 0)
            for job in self._jobs.values():
                counts[job.status] += 1
            return counts
