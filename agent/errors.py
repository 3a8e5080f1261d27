"""The user-facing error types of every layer, gathered so the faces (CLI, API, chat) treat them alike."""

from __future__ import annotations

from knowledge.errors import BundleError
from tools.errors import OutputPathError, RestorationError


class BackendError(RuntimeError):
    """A reasoning backend that cannot answer (missing key, unreachable server, missing model file)."""


class EngineError(RuntimeError):
    """An engine that cannot run (Ray not installed, a cluster address that does not answer, workers that died)."""


class EvaluationError(ValueError):
    """An answer-evaluation folder, labels file or thresholds file that cannot be used; the message says why."""


USER_ERRORS: tuple[type[Exception], ...] = (BundleError, RestorationError, BackendError, EngineError,
                                            EvaluationError, OutputPathError, FileNotFoundError)
