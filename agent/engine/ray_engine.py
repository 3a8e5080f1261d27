"""The Ray engine: items spread over a Ray cluster (a local one started for the command, or ``--address``).

Heavy jobs (restoration) run as Ray Data ``map_batches`` over a pool of actors, each holding one loaded
network; light jobs (answers, report sections) run as one Ray task per item.  Results come back to this
process, which writes every output itself, so ``--out`` need only exist here; the inputs must be readable
at the same paths on every worker (one machine, or a shared file system).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from agent.engine.work import Job, TileProgress, failure, run_safely
from agent.errors import EngineError

#: Environment variables passed on to every worker so they restore and answer with the same settings.
FORWARDED_PREFIXES = ("CNAPS_",)
_TASK_WORKERS: dict[tuple, object] = {}


def _import_ray():
    try:
        import ray
    except ImportError:
        raise EngineError("--engine ray needs Ray: pip install 'cnaps-agent[ray]' (ray[data]==2.60.0)") from None
    return ray


class RayEngine:
    """Joins (or starts and later stops) a Ray instance and maps jobs over it.

    Args:
        address: a cluster to join (``ray start --head`` prints it; default ``$RAY_ADDRESS``, else a local
            instance that lives as long as this engine).
        workers: actors or tasks at a time (default: one per GPU, else one per CPU of the cluster).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self._started = False

    def __enter__(self) -> RayEngine:
        ray = _import_ray()
        if not ray.is_initialized():
            _check_reachable(self.address)
            environment = {key: value for key, value in os.environ.items() if key.startswith(FORWARDED_PREFIXES)}
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR, runtime_env={"env_vars": environment})
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise EngineError(f"cannot join the Ray cluster at {self.address}: {error}") from None
            self._started = True
        _quiet_ray_data()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._started:
            _import_ray().shutdown()

    def resources(self) -> tuple[int, int]:
        """(CPUs, GPUs) of the cluster."""
        available = _import_ray().cluster_resources()
        return int(available.get("CPU", 1)), int(available.get("GPU", 0))

    def worker_count(self, on_gpus: bool = False) -> int:
        """Workers at a time: ``workers`` if given, else one per CPU (``on_gpus``: one per GPU, at most)."""
        cpus, gpus = self.resources()
        if on_gpus and gpus:
            return max(1, min(self.workers or gpus, gpus))
        return max(1, self.workers or cpus)

    def map(self, job: Job, payloads: list[dict],
            progress_for: Callable[[dict], TileProgress | None] | None = None) -> Iterator[dict]:
        """Yield one result per payload as they finish (in any order); tile progress is not reported."""
        if not payloads:
            return
        if job.mode == "actors":
            yield from self._map_actors(job, payloads)
        else:
            yield from self._map_tasks(job, payloads)

    def _map_actors(self, job: Job, payloads: list[dict]) -> Iterator[dict]:
        ray = _import_ray()
        cpus, gpus = self.resources()
        workers = min(self.worker_count(on_gpus=True), len(payloads))
        placement = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": max(1, cpus // workers)}
        dataset = ray.data.from_items(payloads).map_batches(
            ActorWorker, fn_constructor_kwargs={"job": job, "threads": local_thread_count()}, batch_size=1,
            batch_format="pandas", concurrency=workers, **placement)
        try:
            for row in dataset.iter_rows():
                yield {key: _plain(value) for key, value in row.items()}
        except ray.exceptions.RayError as error:
            raise EngineError(f"the Ray workers stopped: {_first_line(error)}") from None

    def _map_tasks(self, job: Job, payloads: list[dict]) -> Iterator[dict]:
        ray = _import_ray()
        remote = ray.remote(num_cpus=1)(run_in_task)
        # --workers tasks at a time; by default twice the CPUs, to keep them busy without queueing every item
        limit = self.workers or 2 * self.worker_count()
        waiting = iter(payloads)
        pending: dict = {}
        for payload in waiting:
            pending[remote.remote(job, payload)] = payload["key"]
            if len(pending) >= limit:
                break
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            key = pending.pop(done)
            try:
                yield ray.get(done)
            except ray.exceptions.RayError as error:  # a worker process died: this item failed, the rest go on
                yield failure(key, f"the Ray worker stopped: {_first_line(error)}")
            following = next(waiting, None)
            if following is not None:
                pending[remote.remote(job, following)] = following["key"]


def local_thread_count() -> int:
    """The torch threads the local engine uses here (``CNAPS_THREADS``, else every core this process may use).

    The actors compute with the same count: a convolution's float sums depend on how it is split over threads,
    so this is what makes their files byte-identical to ``--engine local`` on this machine.  Set CNAPS_THREADS
    to the CPUs per worker for the best throughput with several workers per machine (and the same bytes from
    the local engine with the same setting).
    """
    wanted = os.environ.get("CNAPS_THREADS", "")
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else len(os.sched_getaffinity(0))


class ActorWorker:
    """A Ray Data actor: builds the job's worker once, then answers batches of payloads (one row each)."""

    def __init__(self, job: Job, threads: int):
        os.environ["CNAPS_THREADS"] = str(threads)  # read when the worker loads its network
        self.worker = job.worker(**job.kwargs)

    def __call__(self, batch):
        """Run the worker on every row of a pandas batch; returns a batch of result rows."""
        import pandas

        rows = [run_safely(self.worker, {key: _plain(value) for key, value in row.items()})
                for row in batch.to_dict("records")]
        return pandas.DataFrame(rows)


def run_in_task(job: Job, payload: dict) -> dict:
    """One Ray task: run the job's worker (built once per worker process and reused) on one payload."""
    key = (job.worker.__module__, job.worker.__qualname__, repr(sorted(job.kwargs.items())))
    if key not in _TASK_WORKERS:
        _TASK_WORKERS[key] = job.worker(**job.kwargs)
    return run_safely(_TASK_WORKERS[key], payload)


def _plain(value):
    """A Python value from what Ray Data hands back (numpy scalars and bytes-likes)."""
    if hasattr(value, "item") and not isinstance(value, (bytes, str)):
        return value.item()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def _check_reachable(address: str | None, seconds: float = 5.0) -> None:
    """Fail at once on a ``host:port`` that nothing answers on: Ray itself retries for minutes."""
    import socket

    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise EngineError(f"--address {address!r} is not host:port (ray start --head prints the address to use)")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as error:
        raise EngineError(f"no Ray cluster answers at {address} ({error.strerror or error}); start one with "
                          "`ray start --head` or leave out --address for a local one") from None


def _quiet_ray_data() -> None:
    """Our own progress bar shows the items; Ray Data's bars and banners would interleave with it."""
    from ray.data import DataContext

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
