"""SIGTERM stops the local model server's child process as SIGINT does, tested with real processes: a parent that
starts LocalModelServer (on a stand-in HTTP server, so no model is loaded) and is then sent the signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real processes and servers: make test runs it, make test-fast does not

PARENT = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    # A shell that starts a job in the background (CI, nohup ... &) hands it SIGINT ignored; Ctrl+C reaches an
    # interactive command as KeyboardInterrupt, which is what this test stands for.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from agent.llm.local_server import LocalModelServer

    STAND_IN = '''
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    class Models(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b'{"data": []}')
        def log_message(self, *args):
            pass
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Models).serve_forever()
    '''

    class StandIn(LocalModelServer):
        def _command(self):
            return [sys.executable, "-c", STAND_IN, str(self.port)]

    server = StandIn(Path(sys.argv[1]), start_timeout_s=60)
    server.start()
    print(server._process.pid, flush=True)
    time.sleep(600)
""")


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_stops_the_model_server(hostile, tmp_path, signum):
    pytest.importorskip("llama_cpp")  # start() refuses without llama-cpp-python, which the real server needs
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF stand-in")
    hostile.watch(model)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(model)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        with hostile.case():
            parent.send_signal(signum)
            parent.wait(30)
            deadline = time.monotonic() + 10
            while alive(child) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not alive(child), f"the model server {child} outlived its parent after {signum.name}"
    finally:
        parent.kill()
        parent.wait(10)
