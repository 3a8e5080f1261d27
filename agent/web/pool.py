"""A bounded worker pool with a bounded queue, so many web clients wait their turn instead of exhausting memory."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class PoolBusyError(RuntimeError):
    """Every worker is busy and the queue is full; the client should retry later."""


class PoolStats(BaseModel):
    """What the pool is doing now (shown by the health check)."""

    workers: int
    queue_size: int
    running: int
    waiting: int
    completed: int


class WorkerPool:
    """Runs at most ``workers`` jobs at once and holds at most ``queue_size`` more; beyond that it refuses.

    Restorations take one to a few GiB each, so the worker count, not the client count, bounds memory.
    """

    def __init__(self, workers: int = 1, queue_size: int = 16) -> None:
        if workers < 1 or queue_size < 0:
            raise ValueError("a pool needs at least one worker and a queue size of zero or more")
        self.workers = workers
        self.queue_size = queue_size
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnaps-worker")
        self._slots = threading.BoundedSemaphore(workers + queue_size)
        self._lock = threading.Lock()
        self._running = 0
        self._admitted = 0
        self._completed = 0

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Queue ``job``; raises PoolBusyError at once when workers and queue are all taken."""
        if not self._slots.acquire(blocking=False):
            raise PoolBusyError(f"all {self.workers} workers are busy and {self.queue_size} requests are waiting; "
                                "retry in a little while")
        with self._lock:
            self._admitted += 1
        try:
            return self._executor.submit(self._run, job)
        except RuntimeError:
            self._release()
            raise

    def _run(self, job: Callable[[], T]) -> T:
        with self._lock:
            self._running += 1
        try:
            return job()
        finally:
            with self._lock:
                self._running -= 1
                self._completed += 1
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1
        self._slots.release()

    def stats(self) -> PoolStats:
        """A snapshot of running, waiting and completed jobs."""
        with self._lock:
            return PoolStats(workers=self.workers, queue_size=self.queue_size, running=self._running,
                             waiting=self._admitted - self._running, completed=self._completed)

    def shutdown(self) -> None:
        """Finish the running jobs and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
