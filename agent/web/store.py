"""Server-owned working folders for web requests, named by random ids; nothing a client sends becomes a path."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from pathlib import Path

ID_PATTERN = r"^[0-9a-f]{32}$"
_ID_RE = re.compile(ID_PATTERN)


class JobStore:
    """Creates one folder per request under a private root and remembers the restored image of each.

    Only the newest ``max_jobs`` folders are kept, so a long-running server does not fill the disk.
    """

    def __init__(self, root: Path | None = None, max_jobs: int = 200) -> None:
        if root is not None:
            Path(root).mkdir(parents=True, exist_ok=True)
        # A private folder of our own, even under a given root, so close() never deletes a user's files.
        self.root = Path(tempfile.mkdtemp(prefix="cnaps-web-", dir=root))
        # Removed with the store or at interpreter exit at the latest, so no cnaps-web-* outlives its server.
        self._remove_root = weakref.finalize(self, shutil.rmtree, str(self.root), ignore_errors=True)
        self.max_jobs = max_jobs
        self._images: OrderedDict[str, Path | None] = OrderedDict()
        self._lock = threading.Lock()

    def new_job(self) -> tuple[str, Path]:
        """A fresh random id and its empty folder; the oldest folder goes when the store is full."""
        job_id = secrets.token_hex(16)
        folder = self.root / job_id
        folder.mkdir(mode=0o700)
        with self._lock:
            self._images[job_id] = None
            evicted = self._evict()
        for old in evicted:
            shutil.rmtree(self.root / old, ignore_errors=True)
        return job_id, folder

    def _evict(self) -> list[str]:
        evicted = []
        while len(self._images) > self.max_jobs:
            old, _ = self._images.popitem(last=False)
            evicted.append(old)
        return evicted

    def set_image(self, job_id: str, path: Path) -> None:
        """Remember the restored image of ``job_id`` (a path the server itself wrote inside the job folder)."""
        with self._lock:
            if job_id in self._images:
                self._images[job_id] = path

    def image(self, job_id: str) -> Path | None:
        """The restored image of ``job_id``, or None for an unknown, malformed or image-less id."""
        if not _ID_RE.fullmatch(job_id):
            return None
        with self._lock:
            path = self._images.get(job_id)
        return path if path is not None and path.is_file() else None

    def discard(self, job_id: str) -> None:
        """Forget a job that failed and delete its folder."""
        with self._lock:
            self._images.pop(job_id, None)
        if _ID_RE.fullmatch(job_id):
            shutil.rmtree(self.root / job_id, ignore_errors=True)

    def close(self) -> None:
        """Delete every folder (the server is stopping)."""
        with self._lock:
            self._images.clear()
        self._remove_root()
