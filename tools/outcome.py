"""What a restoration handed back, in one word every interface uses (kept free of heavy imports: the answer's
record computes it on every read)."""

from __future__ import annotations

#: "restored" (the network's output, accepted by the acceptance check), "unchanged" (the input itself: the output
#: was not accepted) or "kept" (the output was not accepted but handed back because the caller asked for it,
#: ``keep_output``).
OUTCOMES = ("restored", "unchanged", "kept")


def restoration_outcome(applied: bool, verdict: str) -> str:
    """The outcome (one of ``OUTCOMES``) of a restoration that was ``applied`` or not, with the check's ``verdict``."""
    if not applied:
        return "unchanged"
    return "restored" if verdict == "improved" else "kept"
