"""Downloading the official MIMO-UNet checkpoints for users who have internet (`cnaps weights download NAME`).

The links are the Google Drive files of the official README, kept in ``tools/official_weights.json``. A file
is streamed into a temporary file beside its destination, loaded strictly (it must be a plain tensor checkpoint
of the preset's variant), and only then renamed into place, so the weights folder never holds a partial or
wrong file. ``CNAPS_WEIGHTS_URL`` (or ``base_url``) replaces the scheme and host of the download URL, for a
mirror or a test server.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from tools.presets import PRESETS, Preset
from tools.weights_io import WeightsError

_LINKS_FILE = Path(__file__).resolve().parent / "official_weights.json"
#: Larger than any official checkpoint (MIMO-UNet+ is about 65 MB); a response beyond it is not one.
MAX_DOWNLOAD_BYTES = 512 * 2**20
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DownloadedWeights:
    """A checkpoint that was verified and is in place; ``fetched`` is False when it was already installed."""

    preset: str
    path: Path
    bytes: int
    variant: str
    num_res: int
    width: int
    fetched: bool = False


def official_links() -> dict:
    """The parsed ``official_weights.json``: the download URL template and each preset's README link and file id."""
    return json.loads(_LINKS_FILE.read_text(encoding="utf-8"))


def download_url(preset: str, base_url: str | None = None) -> str:
    """The URL a preset's checkpoint is fetched from; ``base_url`` (or ``CNAPS_WEIGHTS_URL``) replaces its host."""
    links = official_links()
    entry = links["presets"].get(preset)
    if entry is None:
        raise WeightsError(_no_link_message(preset))
    url = links["download_url"].format(file_id=entry["file_id"])
    base = base_url or os.environ.get("CNAPS_WEIGHTS_URL", "")
    if base:
        parts = urlsplit(url)
        url = base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    return url


def _no_link_message(preset: str) -> str:
    if preset not in PRESETS:
        return f"unknown preset {preset!r}; downloadable presets: {', '.join(official_links()['presets'])}"
    if PRESETS[preset].shipped:
        return f"preset {preset!r} ships with cnaps-agent; there is nothing to download"
    return (f"the official README links no checkpoint file for {preset!r}; {PRESETS[preset].missing_message()}")


def download_preset(preset: str, base_url: str | None = None, timeout: float = 60.0, force: bool = False,
                    progress: Callable[[int, int | None], None] | None = None) -> DownloadedWeights:
    """Fetch, verify and install the official checkpoint of ``preset`` into the weights folder.

    Args:
        base_url: scheme and host to fetch from instead of Google Drive (a mirror, or a test server).
        force: download again even when the file is already installed.
        progress: called with (bytes so far, total bytes or None) while downloading.

    Raises ``WeightsError`` with a one-line message when offline, when the server answers with something that
    is not the checkpoint, or when the file does not load strictly as the preset's variant.
    """
    url = download_url(preset, base_url)
    target = PRESETS[preset]
    destination = target.path()
    if destination.is_file() and not force:
        return _verified(target, destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            link = official_links()["presets"][preset]["readme_link"]
            by_hand = f"download {link} by hand and save it as {destination}"
            size = _fetch(url, stream, timeout, progress, by_hand)
        result = _verified(target, Path(temporary), size)
        os.replace(temporary, destination)
        return DownloadedWeights(preset, destination, size, result.variant, result.num_res, result.width, True)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _fetch(url: str, stream, timeout: float, progress, by_hand: str) -> int:
    """Stream ``url`` into ``stream``; returns the byte count. Errors become one-line ``WeightsError``s that end
    with ``by_hand``, the way to get the file without this command."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "cnaps-agent"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.headers.get_content_type() in ("text/html", "text/plain", "application/json"):
                raise WeightsError(f"{_host(url)} answered with a web page instead of the checkpoint (the file may "
                                   f"have moved, or its download quota is used up); try again later, or {by_hand}")
            total = int(response.headers.get("Content-Length") or 0) or None
            size = 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise WeightsError(f"{_host(url)} sent more than {MAX_DOWNLOAD_BYTES >> 20} MiB; that is not a "
                                       "MIMO-UNet checkpoint")
                stream.write(chunk)
                if progress:
                    progress(size, total)
    except urllib.error.HTTPError as error:
        raise WeightsError(f"{_host(url)} refused the download (HTTP {error.code} {error.reason}); "
                           f"{by_hand}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise WeightsError(f"cannot reach {_host(url)} ({reason}); this needs internet: connect and run it "
                           f"again, or {by_hand}") from error
    if total is not None and size != total:
        raise WeightsError(f"the download from {_host(url)} stopped after {size} of {total} bytes; run it again, "
                           f"or {by_hand}")
    return size


def _verified(target: Preset, path: Path, size: int | None = None) -> DownloadedWeights:
    """Load ``path`` strictly and check it is the preset's variant."""
    from tools.checkpoints import load_network

    try:
        loaded = load_network(path)
    except WeightsError as error:
        raise WeightsError(f"the downloaded file is not a usable {target.description} checkpoint: {error}") from error
    if loaded.source != "official" or loaded.variant != target.variant:
        raise WeightsError(f"the downloaded file holds a {loaded.variant} ({loaded.source}) network, not the "
                           f"official {target.variant} that preset {target.name!r} needs")
    return DownloadedWeights(target.name, path, size if size is not None else path.stat().st_size,
                             loaded.variant, loaded.num_res, loaded.width)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url
