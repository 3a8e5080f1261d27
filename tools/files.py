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


def check_output_folder(folder: Path, option: str = "--out") -> Path:
    """Raise OutputPathError when ``folder`` cannot take outputs: it is a file, lies under a file, or the nearest
    existing folder on its way is not writable. Nothing is created: it is called before any work.
    """
    from tools.errors import OutputPathError

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{option} {folder} is a file; give a folder (it is created when missing)")
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{option} {folder} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {folder}: {existing} is not writable")
    return folder


def check_output_file(path: Path, option: str = "--out") -> Path:
    """Check that ``path`` can be written as a file (its folder is created), else raise OutputPathError."""
    from tools.errors import OutputPathError

    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a folder; give a file name, e.g. {path / 'report.html'}")
    check_output_folder(path.parent, option)
    return path
