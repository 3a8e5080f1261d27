"""The backend registry: every reasoning backend is a plugin chosen by name, imported only when chosen."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from agent.errors import BackendError

if TYPE_CHECKING:
    from agent.backends.base import Backend

BACKEND_NAMES = ("offline", "openai", "local")
# name -> "module:class"; the module is imported on first use so `cnaps --help` never pays for openai or llama.
_BACKENDS = {
    "offline": "agent.backends.offline:OfflineBackend",
    "openai": "agent.backends.openai_backend:OpenAIBackend",
    "local": "agent.backends.local:LocalBackend",
}


def get_backend(name: str, **options) -> Backend:
    """Build the backend called ``name`` with ``options`` (passed to its constructor).

    Raises BackendError for an unknown name or a backend whose module is not installed.
    """
    target = _BACKENDS.get(name.strip().lower())
    if target is None:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    module_name, class_name = target.split(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise BackendError(f"the {name} backend is not available in this installation; "
                           "use --backend offline") from None
    return getattr(module, class_name)(**options)
