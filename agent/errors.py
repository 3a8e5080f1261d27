"""The user-facing error types of every layer, gathered so the faces (CLI, API, chat) treat them alike."""

from __future__ import annotations

from knowledge.errors import BundleError
from tools.errors import RestorationError


class BackendError(RuntimeError):
    """A reasoning backend that cannot answer (missing key, unreachable server, missing model file)."""


USER_ERRORS: tuple[type[Exception], ...] = (BundleError, RestorationError, BackendError, FileNotFoundError)
