"""The bounded worker pool: never more jobs at once than workers, a bounded queue, and a refusal beyond it."""

from __future__ import annotations

import threading
import time

import pytest

from agent.web.pool import PoolBusyError, WorkerPool


def test_the_pool_runs_at_most_its_workers_and_refuses_beyond_its_queue():
    pool = WorkerPool(workers=2, queue_size=3)
    release = threading.Event()
    lock = threading.Lock()
    running = peak = 0

    def job(value: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(10)
        with lock:
            running -= 1
        return value * 10

    futures = [pool.submit(lambda value=value: job(value)) for value in range(5)]
    deadline = time.monotonic() + 5
    while pool.stats().running < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = pool.stats()
    assert (stats.running, stats.waiting) == (2, 3)
    with pytest.raises(PoolBusyError, match="all 2 workers are busy and 3 requests are waiting"):
        pool.submit(lambda: job(99))
    release.set()
    assert [future.result(10) for future in futures] == [0, 10, 20, 30, 40]
    assert peak == 2
    stats = pool.stats()
    assert (stats.running, stats.waiting, stats.completed) == (0, 0, 5)
    # Slots come back after the jobs finish, also after a failing job.
    assert pool.submit(lambda: 7).result(5) == 7
    failing = pool.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result(5)
    assert pool.submit(lambda: 8).result(5) == 8
    pool.shutdown()


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError):
        WorkerPool(workers=0)
