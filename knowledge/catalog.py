"""The catalog of one bundle: each supplied source with its card (when the bundle names a carded model) and task."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.bundle import QuestionBundle, Source
from knowledge.cards import SourceCard, card_for
from knowledge.vocabulary import Task, tasks

SHORT_PREFIX_MAX = 32


@dataclass(frozen=True)
class SourceProfile:
    """A supplied source as the agent may describe it: its card (or None), its task, and the name prose uses."""

    source: Source
    card: SourceCard | None
    task: Task | None
    name: str

    @property
    def id(self) -> str:
        return self.source.id


def profile_bundle(bundle: QuestionBundle) -> list[SourceProfile]:
    """Profile every supplied source of ``bundle``, recommended first."""
    supplied = bundle.supplied_text().lower()
    return [_profile(source, supplied) for source in bundle.sources]


def _profile(source: Source, supplied: str) -> SourceProfile:
    card = card_for(source)
    task = tasks().get(card.task) if card else infer_task(source)
    return SourceProfile(source=source, card=card, task=task, name=_prose_name(source, card, supplied))


def infer_task(source: Source) -> Task | None:
    """The task a source without a card serves, from its supplied name first and its summary otherwise."""
    for text in (source.name, source.summary or ""):
        scores = [(task.hits(text), -order, task) for order, task in enumerate(tasks().values())]
        best = max(scores, key=lambda item: item[:2])
        if best[0] > 0:
            return best[2]
    return None


def _prose_name(source: Source, card: SourceCard | None, supplied: str) -> str:
    """A short name for prose that the bundle itself supplies: the card's short name, a title's prefix, or the name."""
    if card and card.short_name.lower() in supplied:
        return card.short_name
    prefix, colon, _ = source.name.partition(":")
    if colon and len(prefix.strip()) <= SHORT_PREFIX_MAX:
        return prefix.strip()
    return source.name
