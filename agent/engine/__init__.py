"""Engines for running many items (answers, restorations, report sections): in this process or on Ray.

Both engines run the same worker code and the commands write every output here, through the same atomic
writers, so ``--engine ray`` gives the same files as ``--engine local``; the manifest in the output folder
makes every run resumable (see ``agent.engine.manifest``).
"""

from __future__ import annotations

from agent.errors import EngineError

ENGINES = ("local", "ray")


def open_engine(name: str = "local", address: str | None = None, workers: int | None = None):
    """The engine called ``name`` (use it as a context manager: a local Ray instance stops on exit).

    Args:
        address: the Ray cluster to join (default ``$RAY_ADDRESS``; neither: start a local one).
        workers: Ray workers at a time (default: one per GPU, else one per CPU).
    """
    choice = (name or "local").strip().lower()
    if choice == "local":
        from agent.engine.local import LocalEngine

        if address:
            raise EngineError("--address joins a Ray cluster; use it with --engine ray")
        return LocalEngine()
    if choice == "ray":
        from agent.engine.ray_engine import RayEngine

        return RayEngine(address, workers)
    raise EngineError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
