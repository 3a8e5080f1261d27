"""Writing files safely, without heavy imports, so any layer can use it cheaply."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        # mkstemp creates 0600; give the file the permissions a plain open() would have.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: What a restored copy adds to its input's stem everywhere a file leaves the tool beside others.
RESTORED_SUFFIX = "_restored"


def restored_file_name(input_name: str | Path, suffix: str = RESTORED_SUFFIX) -> str:
    """The name a restored copy of ``input_name`` leaves the tool with: ``<stem>_restored.<ext>``.

    Used by ``cnaps ask``, reports and the web downloads, so a restored file saved next to its original
    never replaces or looks like it.  ``cnaps restore --out`` keeps the input's own name unless given --suffix.
    """
    path = Path(input_name)
    return f"{path.stem}{suffix}{path.suffix}"


def lands_on(destination: Path, source: Path) -> bool:
    """Whether writing ``destination`` would replace ``source`` (same path, through links or not)."""
    destination, source = Path(destination), Path(source)
    if destination.exists() and source.exists():
        return os.path.samefile(destination, source)
    return destination.resolve() == source.resolve()
