"""Server hygiene shared by the HTTP API and the chat page: a request-body deadline, no server paths in what a
client sees, and URLs that never come from the client's ``Host`` header."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from starlette.exceptions import HTTPException

#: Environment variable naming the server's public base URL (``https://cnaps.example.org``) for absolute links.
PUBLIC_URL_ENV = "CNAPS_PUBLIC_URL"


class BodyDeadline:
    """ASGI middleware: a request body must arrive in full within ``seconds``, or the request gets 408.

    A client that opens a request and then sends its body slowly, or never finishes it, holds a connection and
    a form parser; without a deadline it holds them forever.
    """

    def __init__(self, app, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.seconds
        finished = False

        async def timed_receive():
            nonlocal finished
            if finished:  # after the body, receive() only waits for the client to disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                # An HTTPException passes through FastAPI's body parsing to the JSON error handlers.
                raise HTTPException(408, f"the request body did not arrive within {self.seconds:g} s") from None
            if message.get("type") != "http.request" or not message.get("more_body", False):
                finished = True
            return message

        await self.app(scope, timed_receive, send)


def public_url(request, route: str, **params: str) -> str:
    """The URL of ``route`` for a client: a path relative to the server, or under $CNAPS_PUBLIC_URL when set.

    Never built from the request's ``Host`` header, which the client chooses.
    """
    path = str(request.app.url_path_for(route, **params))
    base = os.environ.get(PUBLIC_URL_ENV, "").strip().rstrip("/")
    return f"{base}{path}" if base else path


def redact_paths(text: str) -> str:
    """``text`` with every path under a server folder (home, temporary files, the installation, the working
    folder) replaced by its file name: a client learns what file was meant, not where the server keeps it."""
    return _server_paths().sub(_file_name, text)


def _file_name(match: re.Match[str]) -> str:
    path = match.group(0)
    core = path.rstrip(".,;:)'\"")  # the sentence's punctuation stays
    return Path(core).name + path[len(core):]


@cache
def _server_paths() -> re.Pattern[str]:
    roots = {Path.home(), Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path.cwd(),
             Path(sys.prefix), Path(__file__).resolve().parents[2]}
    configured = os.environ.get("CNAPS_WEIGHTS_DIR")
    if configured:
        roots.add(Path(configured).expanduser())
    # Longest first, so /root/.cache/x wins over /root; "~/" as people write the home folder.
    prefixes = sorted({str(root) for root in roots if str(root) not in ("/", "")}, key=len, reverse=True)
    alternatives = "|".join(re.escape(prefix) for prefix in prefixes)
    # Not inside a URL or a longer path: https://example.org/tmp/x is left alone.
    return re.compile(rf"(?<![\w/.:~%-])(?:{alternatives}|~)(?:/[^\s'\"<>`]*)?(?![\w])")
