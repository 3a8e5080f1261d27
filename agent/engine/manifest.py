"""The manifest of an output folder: what each item was made from, with which settings, and what it wrote.

``manifest.jsonl`` holds one JSON line per finished item, appended in a single write and flushed to disk, so a
run killed at any moment leaves at most one torn last line (ignored on reading); the file is rewritten
atomically, one line per item, at the end of every run.  An item counts as done only when its input and
settings hashes match and every output it recorded is still on disk with the recorded SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_NAME = "manifest.jsonl"
SUMMARY_NAME = "summary.json"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_sha256(payload: bytes) -> str:
    """The SHA-256 of ``payload``."""
    return hashlib.sha256(payload).hexdigest()


def settings_sha256(settings: dict) -> str:
    """A stable hash of a settings mapping (keys sorted, JSON-encoded)."""
    return bytes_sha256(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))


@dataclass
class ManifestEntry:
    """One item of a run: its key (where it was written), what it came from and what it wrote.

    Args:
        key: the item's name in the output folder (a file name or an answer folder).
        outputs: output path relative to the folder -> SHA-256 of the bytes written.
    """

    key: str
    input_sha256: str
    settings_sha256: str
    status: str
    settings: dict = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


class Manifest:
    """The manifest of one output folder, read once and appended to as items finish."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.entries: dict[str, ManifestEntry] = _read_entries(self.path)

    def is_done(self, key: str, input_sha256: str, settings_hash: str) -> bool:
        """Whether ``key`` was finished from the same input and settings and its outputs are intact."""
        entry = self.entries.get(key)
        if entry is None or entry.status != "done":
            return False
        if entry.input_sha256 != input_sha256 or entry.settings_sha256 != settings_hash or not entry.outputs:
            return False
        return all(_intact(self.folder / name, digest) for name, digest in entry.outputs.items())

    def record(self, entry: ManifestEntry) -> None:
        """Append ``entry`` as one line, flushed to disk before returning."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries[entry.key] = entry
        line = (json.dumps(asdict(entry), sort_keys=True) + "\n").encode("utf-8")
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def compact(self) -> None:
        """Rewrite the manifest atomically with one line per item (the latest record of each)."""
        from tools.files import atomic_write_bytes

        if not self.entries:
            return
        lines = "".join(json.dumps(asdict(entry), sort_keys=True) + "\n" for entry in self.entries.values())
        atomic_write_bytes(self.path, lines.encode("utf-8"))


def _intact(path: Path, digest: str) -> bool:
    try:
        return path.is_file() and file_sha256(path) == digest
    except OSError:
        return False


def _read_entries(path: Path) -> dict[str, ManifestEntry]:
    """The latest entry per key; unreadable lines (a torn last line after a kill) are skipped."""
    entries: dict[str, ManifestEntry] = {}
    if not path.is_file():
        return entries
    for line in path.read_bytes().splitlines():
        try:
            entry = ManifestEntry(**json.loads(line))
        except (ValueError, TypeError):
            continue
        if _well_formed(entry):
            entries[entry.key] = entry
    return entries


def _well_formed(entry: ManifestEntry) -> bool:
    """Whether a line read back has the types this module writes (a hand-edited line may not)."""
    text_fields = (entry.key, entry.input_sha256, entry.settings_sha256, entry.status)
    return (all(isinstance(value, str) for value in text_fields) and isinstance(entry.outputs, dict)
            and all(isinstance(name, str) and isinstance(digest, str) for name, digest in entry.outputs.items()))
