"""The answer's restoration step: run the MIMO-UNet tool on the user's image when the bundle calls for it.

The returned ``Restoration`` is built from what the tool really did, after it ran; when nothing ran the
step returns None, so an answer can never report a restoration that did not happen.
"""

from __future__ import annotations

from pathlib import Path

from agent.answer import Restoration
from agent.backends.base import AnswerRequest


#: Where a restored image goes when the request names no folder: visible, never a temporary folder left behind.
DEFAULT_OUTPUT_DIR = Path("cnaps-output")


def output_folder(request: AnswerRequest) -> Path:
    """The folder the request's restored image is written to (``./cnaps-output`` when it names none)."""
    return Path(request.out_dir) if request.out_dir else DEFAULT_OUTPUT_DIR


def planned_preset(request: AnswerRequest) -> tuple[str, list[str]] | None:
    """(preset or weights path, notes) that would run for ``request``, or None when none applies.

    An explicit ``request.preset`` (the user asked for it) wins. Otherwise nothing runs for a question that no
    supplied source bears on, and the recommended model that names a MIMO-UNet decides (its official preset when
    installed, else the shipped default, with a note), when it is the model the answer rests on: a question about
    cutting out a dog does not get its photo deblurred.
    """
    from agent.composer import analyse
    from tools.presets import choose_preset

    if request.preset:
        return request.preset, []
    primary = analyse(request.bundle).understanding.primary
    if primary is None:
        return None
    for source in request.bundle.recommended:
        choice = choose_preset(source.name)
        if choice is not None and source.id == primary.id:
            return choice.preset, _answer_notes(choice, source.name)
    return None


def _answer_notes(choice, model: str) -> list[str]:
    """The answer's note on a substituted preset: the tool's own note names a download link and a folder of this
    machine, which the bundle did not supply and a web user must not see."""
    from agent.prompting import render_sentence

    if choice.preset == choice.requested:
        return []
    return [render_sentence("answer_restoration_weights_note.j2", model=model, requested=choice.requested,
                            preset=choice.preset)]


def restore_for_answer(request: AnswerRequest) -> Restoration | None:
    """Restore ``request.image`` when given and applicable; the record of what ran, else None.

    Raises ``RestorationError`` when the image or the weights cannot be used.
    """
    if request.image is None:
        return None
    planned = planned_preset(request)
    if planned is None:
        return None
    from tools.files import restored_file_name
    from tools.restore import restore_file

    preset, notes = planned
    result = restore_file(Path(request.image), output_folder(request), preset=preset, tile=request.tile,
                          progress=request.progress, output_name=restored_file_name(request.image),
                          device=request.device, bf16=request.bf16, keep_output=request.keep_output)
    return Restoration(input_path=str(result.input_path), output_path=str(result.output_path), preset=result.preset,
                       seconds=round(result.seconds, 3), sharpness_before=result.sharpness_before,
                       sharpness_after=result.sharpness_after, psnr=result.psnr, ssim=result.ssim,
                       notes=notes + result.notes, applied=result.applied, verdict=result.verdict,
                       verdict_reason=result.verdict_reason, blur_before=result.blur_before,
                       blur_after=result.blur_after)
