"""What a restoration handed back, said the same way by every interface.

The outcome itself is ``tools.outcome.restoration_outcome``: restored (the network's output, accepted by the
acceptance check), unchanged (the photo handed back as it was) or kept (the output handed back on request although
the check did not accept it). Its words live in ``prompts/_restoration.j2``; the CLI summaries, ``--json``,
``eval-restore``, the chat, the API fields, the report and the answer all render them from there.

``run`` below is any restoration record with ``applied``, ``verdict``, ``verdict_reason``, ``preset``,
``blur_before`` and ``blur_after``: a ``tools.restore.RestorationMeasures`` or an ``agent.answer.Restoration``.
"""

from __future__ import annotations


def outcome_of(run) -> str:
    """restored, unchanged or kept."""
    from tools.outcome import restoration_outcome

    return restoration_outcome(run.applied, run.verdict)


def outcome_line(run) -> str:
    """One line: the outcome and the reason for it (e.g. ``returned unchanged: no clear sharpness gain ...``)."""
    from agent.prompting import render_sentence

    return render_sentence("restore_outcome.txt.j2", run=run)


def trained_on(preset: str) -> str:
    """What the weights named ``preset`` (a preset or a weights file name) are and were trained on; "" if unknown."""
    from tools.presets import preset_named

    known = preset_named(preset)
    return known.trained_on if known is not None else ""


def full_strength_advice(run) -> str:
    """What would help when ``run`` handed the photo back without a restoration (unchanged, or kept on request):
    the official GoPro weights, how to get them and what they are expected to gain; "" when the photo was
    restored, or when official weights (or the user's own file) already ran."""
    return advice_for(run.preset, outcome_of(run))


def advice_for(preset: str, outcome: str, several: bool = False) -> str:
    """``full_strength_advice`` for the weights named ``preset`` and an ``outcome``; ``several``: after a run of
    several photos that were not restored (the CLI summaries)."""
    from agent.prompting import render_sentence
    from tools.presets import full_strength

    stronger = full_strength(preset) if outcome != "restored" else None
    if stronger is None:
        return ""
    return render_sentence("restore_full_strength.txt.j2", preset=preset, stronger=stronger.preset,
                           installed=stronger.installed, outcome=outcome, several=several)


#: The outcomes in a few words, for table cells and counts.
OUTCOME_WORDS = {"restored": "restored", "unchanged": "returned unchanged", "kept": "kept on request"}
