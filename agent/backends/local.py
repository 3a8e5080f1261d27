"""The ``local`` backend: the grounded agent over the embedded SmolLM2 model, served by cnaps itself on 127.0.0.1.

The server is started on the first answer and kept for the next ones (batch, chat, API), and stopped by
close(), on leaving a ``with`` block, or when the process exits. Why a server subprocess rather than
llama.cpp in-process: see agent.llm.local_server.
"""

from __future__ import annotations

from agent.llm.backend import LLMBackend
from agent.llm.local_server import SERVED_MODEL_ALIAS, LocalModelServer
from agent.settings import LLMSettings

LOCAL_TIMEOUT_S = 900.0


class LocalBackend(LLMBackend):
    """Answers with a local GGUF model (the embedded SmolLM2-135M unless CNAPS_LOCAL_MODEL names another).

    Args:
        fallback: ``"offline"`` answers with the flagged offline composer when the model cannot run.
        server: an already started LocalModelServer to use (and not stop); one is started on demand otherwise.
        overrides: LLMSettings fields (local_model_path, local_threads, agent_mode, ...) over the environment.
    """

    name = "local"
    embedded = True

    def __init__(self, *, server: LocalModelServer | None = None, **options: object) -> None:
        super().__init__(**options)
        self._server = server
        self._owns_server = server is None

    @property
    def server(self) -> LocalModelServer:
        """The model server, started if it is not running yet."""
        if self._server is None:
            self._server = LocalModelServer(
                self.settings.local_model_path,
                threads=self.settings.local_threads,
                context=self.settings.local_context,
                start_timeout_s=self.settings.local_start_timeout_s,
            )
        self._server.start()
        return self._server

    def connection_settings(self) -> LLMSettings:
        """The settings pointed at the running local server (no key; the server's model alias).

        Unless CNAPS_TIMEOUT / CNAPS_MAX_RETRIES say otherwise, waits up to LOCAL_TIMEOUT_S and never retries:
        one thread on a busy CPU can take minutes per answer, and a retry would queue the same generation again.
        """
        update: dict[str, object] = {"base_url": self.server.base_url, "api_key": None, "model": SERVED_MODEL_ALIAS}
        if "timeout_s" not in self.settings.model_fields_set:
            update["timeout_s"] = LOCAL_TIMEOUT_S
        if "max_retries" not in self.settings.model_fields_set:
            update["max_retries"] = 0
        return self.settings.model_copy(update=update)

    def close(self) -> None:
        """Stop the server if this backend started it."""
        if self._owns_server and self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
