"""Rich consoles for the CLI's tables and progress bars, as wide as the user's terminal."""

from __future__ import annotations

import os
import sys

#: Width used when no standard stream is a terminal (a pipe, a file, CI) and COLUMNS is unset: wide enough
#: that a summary table is not folded; rich tables never pad themselves out to it.
UNBOUNDED_WIDTH = 240


def _terminal_width() -> int | None:
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            continue
    return None


def table_console(stderr: bool = False):
    """A rich ``Console`` sized to the terminal (or to ``COLUMNS``); unbounded when there is no terminal."""
    from rich.console import Console

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        width = int(columns)
    else:
        width = _terminal_width() or UNBOUNDED_WIDTH
    return Console(stderr=stderr, width=width)


def progress_console():
    """The console progress bars draw on: stderr, so stdout carries only results (tables, JSON)."""
    from rich.console import Console

    return Console(stderr=True)
