"""Fidelity of what an answer presents as the sources' words: every quoted passage must be verbatim in the bundle (or
the user's question), and every dB figure must be supplied or the difference of two supplied figures."""

from __future__ import annotations

import re
from itertools import combinations

from agent.evaluation.allowlist import supplied_text
from agent.evaluation.text import fold, unmark
from knowledge.bundle import QuestionBundle

#: Quoted passages shorter than this are words, not passages (a quoted "blurry" from the question, a term).
MIN_QUOTE_CHARS = 12
_QUOTE = re.compile(r"“([^”]+)”|\"([^\"\n]+)\"")
_ELLIPSIS = re.compile(r"(?<!\s)\s*(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*")  # from a run's start only: linear
_DB = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3})?)\s?db\b")


def unsupplied_quotes(markdown: str, bundle: QuestionBundle) -> list[str]:
    """Quoted passages of ``markdown`` that neither the bundle's sources nor the question contain word for word."""
    allowed = supplied_text(bundle) + "\n" + fold(bundle.question)
    found = []
    for match in _QUOTE.finditer(unmark(markdown)):
        passage = match.group(1) or match.group(2)
        pieces = [piece for piece in _ELLIPSIS.split(passage) if len(piece.strip()) >= MIN_QUOTE_CHARS]
        if any(fold(piece).strip(" .,;:") not in allowed for piece in pieces):
            found.append(passage)
    return found


def supplied_figures(bundle: QuestionBundle) -> set[float]:
    """The dB figures an answer may give: those the sources or the question supply, and differences of two supplied."""
    supplied = {float(value) for value in _DB.findall(supplied_text(bundle))}
    differences = {round(abs(a - b), 2) for a, b in combinations(supplied, 2)}
    return supplied | differences | {float(value) for value in _DB.findall(fold(bundle.question))}


def is_supplied_figure(number: float, figures: set[float]) -> bool:
    """Whether ``number`` is one of ``figures`` (to the hundredth a summary writes)."""
    return any(abs(number - known) < 0.006 for known in figures)


def unsupplied_figures(markdown: str, bundle: QuestionBundle) -> list[str]:
    """dB figures of ``markdown`` that are not supplied, nor the difference of two supplied dB figures."""
    figures = supplied_figures(bundle)
    found = [f"{value} dB" for value in _DB.findall(fold(unmark(markdown)))
             if not is_supplied_figure(float(value), figures)]
    return list(dict.fromkeys(found))
