"""The answer's restoration step: run the MIMO-UNet tool on the user's image when the bundle calls for it.

The returned ``Restoration`` is built from what the tool really did, after it ran; when nothing ran the
step returns None, so an answer can never report a restoration that did not happen.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agent.answer import Restoration
from agent.backends.base import AnswerRequest


def planned_preset(request: AnswerRequest) -> tuple[str, list[str]] | None:
    """(preset or weights path, notes) that would run for ``request``, or None when none applies.

    An explicit ``request.preset`` wins; otherwise the first recommended model that names a MIMO-UNet
    decides (its official preset when installed, else the shipped default, with a note).
    """
    from tools.presets import choose_preset

    if request.preset:
        return request.preset, []
    for source in request.bundle.recommended:
        choice = choose_preset(source.name)
        if choice is not None:
            return choice.preset, list(choice.notes)
    return None


def restore_for_answer(request: AnswerRequest) -> Restoration | None:
    """Restore ``request.image`` when given and applicable; the record of what ran, else None.

    Raises ``RestorationError`` when the image or the weights cannot be used.
    """
    if request.image is None:
        return None
    planned = planned_preset(request)
    if planned is None:
        return None
    from tools.restore import restore_file

    preset, notes = planned
    out_dir = Path(request.out_dir) if request.out_dir else Path(tempfile.mkdtemp(prefix="cnaps-restore-"))
    result = restore_file(Path(request.image), out_dir, preset=preset, tile=request.tile,
                          progress=request.progress)
    return Restoration(input_path=str(result.input_path), output_path=str(result.output_path), preset=result.preset,
                       seconds=round(result.seconds, 3), sharpness_before=result.sharpness_before,
                       sharpness_after=result.sharpness_after, psnr=result.psnr, ssim=result.ssim,
                       notes=notes + result.notes)
