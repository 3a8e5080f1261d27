"""The options every restoring or summarising command shares, defined once so they read the same everywhere.

Use them as defaults: ``weights: str | None = WEIGHTS``.  ``--weights`` (alias ``--preset``), ``--tile``
(0: no tiling), ``--device`` (cpu, cuda, auto), ``--bf16`` and ``--json`` mean the same in every command.
"""

from __future__ import annotations

from enum import Enum

import typer


class Device(str, Enum):
    """Where restoration runs; auto is cuda when torch sees a GPU, else cpu."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


WEIGHTS_HELP = ("Restoration weights: a preset (cnaps-lite, official-gopro, official-plus-gopro, "
                "official-plus-realblur) or a weights file.")
TILE_HELP = "Tile size in pixels (default: chosen from image size and free memory; 0: never tile)."

WEIGHTS = typer.Option(None, "--weights", "--preset", help=WEIGHTS_HELP)
TILE = typer.Option(None, "--tile", min=0, help=TILE_HELP)
DEVICE = typer.Option(Device.auto, "--device", case_sensitive=False,
                      help="Run restoration on cpu, cuda, or auto (cuda when available).")
BF16 = typer.Option(False, "--bf16", help="bfloat16 restoration on CPUs with AVX512-BF16/AMX or on a GPU: faster, "
                                          "slightly less exact (default: $CNAPS_BF16=1 turns it on).")
KEEP_OUTPUT = typer.Option(False, "--keep-output", help="Hand back the network's output even when the checks find "
                                                         "the photo not blurred or the output not clearly better "
                                                         "(default: the photo is then returned unchanged).")
JSON = typer.Option(False, "--json", help="Print a machine-readable JSON summary on stdout, and nothing else there.")


def bf16_choice(flag: bool) -> bool | None:
    """``--bf16`` as the restorer takes it: True when given, else None so ``CNAPS_BF16`` decides."""
    return True if flag else None


def outcome_line(run) -> str:
    """One line on what a restoration handed back (restored, returned unchanged or kept on request, and why)."""
    from agent.restoration_outcome import outcome_line as line

    return line(run)


def print_json(payload: object) -> None:
    """Write ``payload`` as indented JSON on stdout, the only thing a ``--json`` run prints there."""
    import json

    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
