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

_CLOSE = {"Connection": "close"}
#: Environment variable naming the server's public base URL (``https://cnaps.example.org``) for absolute links.
PUBLIC_URL_ENV = "CNAPS_PUBLIC_URL"


class BodyDeadline:
    """ASGI middleware: a request body must arrive in full within ``seconds``, or the request gets 408.

    A client that opens a request and then sends its body slowly, or never finishes it, holds a connection and
    a form parser; without a deadline it holds them forever.
    """

    def __init__(self, app, seconds: float, idle_seconds: float = 10.0) -> None:
        self.app = app
        self.seconds = seconds
        #: a body that stalls (no bytes for this long) is given up on at once, whatever the overall deadline
        self.idle_seconds = min(idle_seconds, seconds)

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
            remaining = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), max(min(remaining, self.idle_seconds), 0.001))
            except asyncio.TimeoutError:
                # An HTTPException passes through FastAPI's body parsing to the JSON error handlers.
                stalled = remaining > self.idle_seconds
                detail = (f"the request body stalled: no data for {self.idle_seconds:g} s" if stalled
                          else f"the request body did not arrive within {self.seconds:g} s")
                raise HTTPException(408, detail, headers=_CLOSE) from None
            if message.get("type") != "http.request" or not message.get("more_body", False):
                finished = True
            return message

        await self.app(scope, timed_receive, send)


class PartSizeLimit:
    """ASGI middleware: a multipart form part over its limit (``{"bundle": 256 KiB}``) gets 413 as soon as the
    excess arrives, instead of after the whole request body has been received and stored.

    A million-source bundle is tens of megabytes; refused at its first 256 KiB it costs a fraction of a second.
    """

    def __init__(self, app, limits: dict[str, int]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope, receive, send) -> None:
        boundary = _multipart_boundary(scope) if scope["type"] == "http" else None
        if boundary is None:
            await self.app(scope, receive, send)
            return
        watch = _PartWatch(boundary, self.limits)

        async def watched_receive():
            message = await receive()
            if message.get("type") == "http.request":
                watch.feed(message.get("body", b""))
            return message

        await self.app(scope, watched_receive, send)


class _PartWatch:
    """Follows a multipart stream with python-multipart's parser, counting the bytes of each limited part."""

    def __init__(self, boundary: bytes, limits: dict[str, int]) -> None:
        from python_multipart.multipart import MultipartParser

        self.limits = limits
        self.header = b""
        self.name: str | None = None
        self.size = 0
        self.broken = False
        self.parser = MultipartParser(boundary, callbacks={
            "on_part_begin": self._begin, "on_header_field": self._header, "on_header_value": self._header,
            "on_header_end": self._header_end, "on_part_data": self._data})

    def feed(self, chunk: bytes) -> None:
        if self.broken or not chunk:
            return
        try:
            self.parser.write(chunk)
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001  a malformed form is the form parser's to report, with its own error
            self.broken = True

    def _begin(self) -> None:
        self.name, self.size, self.header = None, 0, b""

    def _header(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end] + b"\0"

    def _header_end(self) -> None:
        field, _, value = self.header.partition(b"\0")
        if field.strip().lower() == b"content-disposition":
            named = re.search(rb'name="([^"]*)"', value)
            self.name = named.group(1).decode("latin-1") if named else None
        self.header = b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        limit = self.limits.get(self.name or "")
        if limit is None:
            return
        self.size += end - start
        if self.size > limit:
            # Connection: close lets the server stop reading the rest; clients read this answer right away.
            raise HTTPException(413, f"the {self.name} part is over its limit of {limit} bytes", headers=_CLOSE)


def _multipart_boundary(scope) -> bytes | None:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    if not content_type.lower().startswith(b"multipart/form-data"):
        return None
    found = re.search(rb'boundary="?([^";,]+)"?', content_type)
    return found.group(1) if found else None


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
