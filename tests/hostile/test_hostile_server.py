"""A real `cnaps serve` under attack: every hostile bundle gets a typed JSON error in under a second, a body that
never finishes gets 408, nothing reflects the Host header or names a server folder, and /healthz still answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hostile_inputs import HOSTILE_BUNDLES

pytestmark = pytest.mark.slow  # real processes and servers: make test runs it, make test-fast does not

FIXTURES = Path(__file__).parents[1] / "fixtures"
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"
BODY_TIMEOUT = 2.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`cnaps serve` in its own process, with a 2 s body deadline; stopped with SIGTERM at the end."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-c", "from agent.cli import main; main()", "serve", "--port",
                                    str(port), "--body-timeout", str(BODY_TIMEOUT)],
                                   stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "cnaps serve did not start"
        time.sleep(0.2)
    # The start-up warm-up answers once in the background; timings are measured after it.
    while httpx.get(f"{url}/healthz", timeout=10).json()["pool"]["running"]:
        assert time.monotonic() < deadline, "the warm-up did not finish"
        time.sleep(0.2)
    yield url
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down in order, then re-raises the signal, so the exit status is -SIGTERM.
    assert process.wait(60) in (0, -signal.SIGTERM), log.read_text()[-2000:]


def healthy(url: str) -> bool:
    return httpx.get(f"{url}/healthz", timeout=10).json()["status"] == "ok"


@pytest.mark.parametrize("name", sorted(HOSTILE_BUNDLES))
def test_each_hostile_bundle_gets_a_typed_error_in_under_a_second(hostile, server, name):
    suffix, text = HOSTILE_BUNDLES[name]
    files = {"bundle": (f"{name}{suffix}", text.encode(), "application/octet-stream")}
    with hostile.case():
        elapsed = []
        # The best of three: the machine running the suite may be busy with other work for a moment.
        while len(elapsed) < 3 and (not elapsed or min(elapsed) >= 1.0):
            started = time.perf_counter()
            response = httpx.post(f"{server}/v1/answers", files=files, timeout=30)
            elapsed.append(time.perf_counter() - started)
            assert response.status_code in (413, 422), response.text
            assert response.json()["error"] in {"too_large", "bad_bundle", "invalid_request"}
        assert min(elapsed) < 1.0, f"{name}: {elapsed} s"
        assert healthy(server)


def test_the_service_stays_up_after_every_hostile_request_in_a_row(hostile, server):
    for name, (suffix, text) in sorted(HOSTILE_BUNDLES.items()):
        with hostile.case():
            response = httpx.post(f"{server}/v1/answers", data={"question": "How do I deblur this?"},
                                  files={"bundle": (f"{name}{suffix}", text.encode(), "text/plain")}, timeout=30)
            assert 400 <= response.status_code < 500 and set(response.json()) == {"error", "detail"}
    with hostile.case():
        assert healthy(server)
        answered = httpx.post(f"{server}/v1/answers", data={"question": "How do I remove camera shake?"}, timeout=300)
        assert answered.status_code == 200 and answered.json()["answer"]["grounded"]


def test_a_body_that_never_finishes_gets_408_within_seconds(hostile, server):
    host, port = server.removeprefix("http://").split(":")
    with hostile.case(), socket.create_connection((host, int(port)), timeout=30) as connection:
        started = time.monotonic()
        connection.sendall(b"POST /v1/answers HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                           b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\nContent-Disposition: "
                           b"form-data; name=\"question\"\r\n\r\nslow")
        reply = b""
        while b'"}' not in reply and (chunk := connection.recv(4096)):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 408") and b'"error":"timeout"' in reply, reply
        assert time.monotonic() - started < BODY_TIMEOUT + 3
    with hostile.case():
        assert healthy(server)


def test_the_image_url_never_comes_from_the_host_header_and_no_folder_leaks(hostile, server):
    hostile.watch(BLURRY)
    with hostile.case():
        response = httpx.post(f"{server}/v1/answers", headers={"Host": "evil.example"}, timeout=600,
                              data={"question": "How do I remove the camera shake blur from this photo?"},
                              files={"image": ("photo.png", BLURRY.read_bytes(), "image/png")})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["restored_image_url"] == f"/v1/images/{body['id']}"
        assert "evil.example" not in response.text and "cnaps-web-" not in response.text
        assert str(Path.home()) not in response.text and "/tmp/" not in response.text
        assert httpx.get(server + body["restored_image_url"]).status_code == 200


def test_errors_name_no_server_folder(hostile, server):
    with hostile.case():
        missing = httpx.post(f"{server}/v1/answers", data={"question": "How do I deblur?",
                                                           "weights": "official-gopro"}, timeout=30)
        assert missing.status_code == 422 and "MIMO-UNet.pkl" in missing.json()["detail"]
        assert str(Path.home()) not in missing.text and ".cache" not in missing.text
    with hostile.case():
        corrupt = httpx.post(f"{server}/v1/answers", data={"question": "How do I deblur?"}, timeout=30,
                             files={"image": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "image/png")})
        assert corrupt.status_code == 422 and "cnaps-web-" not in corrupt.text and "/tmp" not in corrupt.text


def test_an_unexpected_failure_is_a_json_500_and_the_app_keeps_serving(hostile, monkeypatch):
    from fastapi.testclient import TestClient

    from agent.web import answer_io
    from agent.web.api import ApiConfig, create_app

    def broken(*_, **__):
        raise RecursionError(f"maximum recursion depth exceeded in {Path.home()}/secret/parser.py")

    monkeypatch.setattr(answer_io, "resolve_bundle", broken)
    with hostile.case(), TestClient(create_app(ApiConfig(warm_up=False)), raise_server_exceptions=False) as client:
        response = client.post("/v1/answers", data={"question": "How do I deblur?"})
        assert response.status_code == 500 and response.json()["error"] == "internal_error"
        assert str(Path.home()) not in response.text and "Traceback" not in response.text
        assert client.get("/healthz").status_code == 200


def test_a_stalled_body_is_refused_long_before_the_overall_deadline():
    """A client that sends part of a body and then nothing gets 408 after the idle limit, not after 60 s."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from agent.web.guards import BodyDeadline

    async def echo(request):
        return JSONResponse({"size": len(await request.body())})

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])  # its HTTPException handler answers 408

    guarded = BodyDeadline(app, seconds=60, idle_seconds=0.3)
    sent: list[dict] = []

    async def scenario() -> float:
        chunks = [{"type": "http.request", "body": b"part", "more_body": True}]

        async def receive():
            if chunks:
                return chunks.pop()
            await asyncio.sleep(3600)

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/echo", "raw_path": b"/echo", "query_string": b"",
                 "headers": [(b"content-length", b"100")], "http_version": "1.1", "scheme": "http",
                 "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": ""}
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(guarded(scope, receive, send), 10)
        return asyncio.get_running_loop().time() - started

    elapsed = asyncio.run(scenario())
    assert sent[0]["status"] == 408 and elapsed < 3
    assert b"stalled" in b"".join(message.get("body", b"") for message in sent)
