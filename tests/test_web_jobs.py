"""The job board behind /v1/jobs and the chat: states, progress, cancelling at a tile, failures and expiry."""

from __future__ import annotations

import threading
import time

import pytest

from agent.web.jobs import FINISHED, JobBoard, JobCancelled, describe_failure
from agent.web.limits import UploadError
from agent.web.pool import PoolBusyError, WorkerPool
from agent.web.store import JobStore
from knowledge.errors import BundleError
from tools.errors import RestorationError


@pytest.fixture
def board(tmp_path):
    jobs = JobBoard(WorkerPool(1, queue_size=4), JobStore(tmp_path), keep_finished=3, keep_seconds=3600)
    yield jobs
    jobs.cancel_all()
    jobs.pool.shutdown()
    jobs.store.close()


def run(board: JobBoard, work, seconds: float = 30):
    job = board.create()
    board.start(job, work)
    deadline = time.monotonic() + seconds
    while (snapshot := board.snapshot(job.id)).status not in FINISHED:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return snapshot


def tiles(count: int, gate: threading.Event | None = None):
    """Work that reports ``count`` tiles (waiting at ``gate`` after the first) and returns no answer object."""
    def work(progress):
        for done in range(count + 1):
            progress(done, count)
            if done == 1 and gate is not None:
                gate.wait(10)
        return None
    return work


def test_progress_moves_from_restoring_to_composing_and_a_finished_job_keeps_its_stage(board):
    seen = []

    def work(progress):
        for done in range(4):
            progress(done, 3)
            seen.append(board.snapshot(job_id).progress.model_dump())
        return None

    job = board.create()
    job_id = job.id
    board.start(job, work)
    while board.snapshot(job_id).status not in FINISHED:
        time.sleep(0.01)
    assert [step["stage"] for step in seen] == ["restoring"] * 3 + ["composing"]
    assert seen[-1]["tiles_done"] == seen[-1]["tiles_total"] == 3
    final = board.snapshot(job_id)
    assert final.status == "done" and final.progress.stage == "finished" and final.finished is not None


def test_a_running_job_stops_at_its_next_tile_and_a_queued_one_never_runs(board):
    gate = threading.Event()
    running = board.create()
    board.start(running, tiles(10, gate))
    queued = board.create()
    ran = []
    board.start(queued, lambda progress: ran.append(True))
    while board.snapshot(running.id).progress.tiles_done < 1:
        time.sleep(0.01)
    assert board.cancel(queued.id).status == "cancelled"
    board.cancel(running.id)
    gate.set()
    while board.snapshot(running.id).status not in FINISHED:
        time.sleep(0.01)
    stopped = board.snapshot(running.id)
    assert stopped.status == "cancelled" and stopped.progress.tiles_done == 1 and stopped.answer is None
    board.pool.shutdown()
    assert ran == [] and board.counts()["cancelled"] == 2
    assert board.cancel("0" * 32) is None


def test_failures_are_described_with_the_api_s_error_kinds(board):
    def broken(progress):
        raise RestorationError("the image could not be read")

    failed = run(board, broken)
    assert failed.status == "failed" and failed.error.error == "bad_image"
    assert failed.error.detail == "the image could not be read"
    assert describe_failure(BundleError("x")).error == "bad_bundle"
    assert describe_failure(UploadError("x")).error == "invalid_request"
    assert describe_failure(KeyError("k")).error == "internal"
    with pytest.raises(JobCancelled):
        raise JobCancelled("not an Exception: no `except Exception` on the answering path swallows it")
    assert not issubclass(JobCancelled, Exception)


def test_finished_jobs_expire_by_count_and_age_with_their_folders(board):
    jobs = [run(board, tiles(1)) for _ in range(5)]
    # keep_finished=3: the two oldest are gone, folders and all.
    assert [board.get(job.id) is None for job in jobs] == [True, True, False, False, False]
    assert [job.folder.exists() for job in jobs] == [False, False, True, True, True]
    board.keep_seconds = 0.05
    time.sleep(0.1)
    assert all(board.get(job.id) is None for job in jobs[2:])
    assert not any(job.folder.exists() for job in jobs) and board.counts() == dict.fromkeys(
        ("queued", "running", "done", "failed", "cancelled"), 0)


def test_a_full_pool_refuses_a_job_and_forgets_it(tmp_path):
    gate = threading.Event()
    board = JobBoard(WorkerPool(1, queue_size=0), JobStore(tmp_path))
    try:
        first = board.create()
        board.start(first, tiles(2, gate))
        second = board.create()
        with pytest.raises(PoolBusyError):
            board.start(second, tiles(1))
        assert board.get(second.id) is None and not second.folder.exists()
    finally:
        gate.set()
        board.pool.shutdown()
        board.store.close()
