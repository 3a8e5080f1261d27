"""What an engine runs: a job (a worker class and its settings) applied to items, each giving one result dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

#: Called with (tiles done, tiles total) while one item is worked on; only the local engine reports it.
TileProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Job:
    """A worker class, its constructor arguments and how an engine spreads it.

    Args:
        worker: a class built once per worker process with ``**kwargs``; calling an instance with
            ``(payload, progress)`` returns a result dict carrying the payload's ``key``.
        mode: ``actors`` (Ray Data ``map_batches`` over long-lived actors, for heavy models; payload values
            must be strings) or ``tasks`` (one Ray task per item; payloads may hold any picklable object).
    """

    worker: type
    kwargs: dict = field(default_factory=dict)
    mode: Literal["actors", "tasks"] = "tasks"


def run_safely(worker, payload: dict, progress: TileProgress | None = None) -> dict:
    """Call ``worker`` on one payload; any failure becomes the result's ``error`` so the other items go on."""
    from agent.errors import USER_ERRORS

    try:
        result = worker(payload, progress)
    except USER_ERRORS as error:
        return failure(payload["key"], str(error))
    except Exception as error:  # noqa: BLE001  (one broken item must not lose the others)
        return failure(payload["key"], f"{type(error).__name__}: {error}")
    result.setdefault("key", payload["key"])
    result.setdefault("error", "")
    return result


def failure(key: str, message: str) -> dict:
    """The result of an item that failed with ``message``."""
    return {"key": key, "error": message or "failed"}
