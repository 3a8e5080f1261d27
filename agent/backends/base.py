"""The one small interface every reasoning backend implements, and the request it answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from agent.answer import GroundedAnswer
from knowledge.bundle import QuestionBundle


@dataclass
class AnswerRequest:
    """Everything one answer needs.

    Args:
        image: the user's image, restored when the bundle's recommended model maps to a MIMO-UNet preset.
        out_dir: where the restored image goes, as ``<stem>_restored.<ext>`` (None: ``./cnaps-output``).
        preset: a weights preset name or file path overriding the one mapped from the bundle.
        tile: tile size for restoration (None: chosen from the image and memory; 0: no tiling).
        device: cpu, cuda or auto for restoration (None: auto).
        bf16: bfloat16 restoration (None: ``CNAPS_BF16=1`` decides).
        keep_output: keep the network's output even when the acceptance check finds it not clearly better.
        progress: called with (tiles done, tiles total) while restoring.
    """

    bundle: QuestionBundle
    image: Path | None = None
    out_dir: Path | None = None
    preset: str | None = None
    tile: int | None = None
    device: str | None = None
    bf16: bool | None = None
    keep_output: bool = False
    progress: Callable[[int, int], None] | None = field(default=None, repr=False)


class Backend(Protocol):
    """A reasoning backend: turns a request into a verified GroundedAnswer."""

    name: str

    def answer(self, request: AnswerRequest) -> GroundedAnswer:
        """Answer, restore the image when applicable, and run the grounding verifier."""
        ...
