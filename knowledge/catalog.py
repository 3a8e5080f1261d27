"""The catalog of one bundle: each supplied source with its card (when the bundle names a carded model) and task."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.bundle import QuestionBundle, Source
from knowledge.cards import SourceCard, card_for
from knowledge.vocabulary import Task, tasks

SHORT_PREFIX_MAX = 32
_ARXIV_ID = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", re.IGNORECASE)


@dataclass(frozen=True)
class SourceProfile:
    """A supplied source as the agent may describe it: its card (or None), its task, and the name prose uses.

    ``tasks`` holds every task the source serves (for a source without a card, each task its text names), and
    ``task`` the one the answer presents it for.
    """

    source: Source
    card: SourceCard | None
    task: Task | None
    name: str
    tasks: tuple[Task, ...] = ()

    @property
    def id(self) -> str:
        return self.source.id


def profile_bundle(bundle: QuestionBundle, wanted: set[str] | frozenset[str] = frozenset()) -> list[SourceProfile]:
    """Profile every supplied source of ``bundle``, recommended first.

    Args:
        wanted: ids of the tasks the question calls for; a source that serves several is presented for one of these.
    """
    supplied = bundle.supplied_text().lower()
    return [_profile(source, supplied, wanted) for source in bundle.sources]


def _profile(source: Source, supplied: str, wanted: set[str] | frozenset[str]) -> SourceProfile:
    card = card_for(source)
    served = (tasks()[card.task],) if card else infer_tasks(source)
    task = next((task for task in served if task.id in wanted), served[0] if served else None)
    return SourceProfile(source=source, card=card, task=task, name=_prose_name(source, card, supplied), tasks=served)


#: Beyond a source's main task, a summary that hits only symptom cues must hit them this often before the
#: source counts as serving that task: one passing mention ("long exposures can induce blur" in a low-light
#: paper) does not make it a deblurring method, while "we evaluate on deraining and denoising" does count.
SECONDARY_SYMPTOM_HITS = 2


def infer_tasks(source: Source) -> tuple[Task, ...]:
    """The tasks a source without a card serves, most cited first: from its supplied name, else its summary."""
    for text, from_summary in ((source.name, False), (source.summary or "", True)):
        scored = [(task.hits(text), -order, task) for order, task in enumerate(tasks().values())]
        ranked = [(hits, task) for hits, _, task in sorted(scored, key=lambda item: item[:2], reverse=True) if hits]
        if ranked:
            return tuple(task for index, (hits, task) in enumerate(ranked)
                         if index == 0 or not from_summary or hits >= SECONDARY_SYMPTOM_HITS
                         or task.hits(text, symptoms=False))
    return ()


def _prose_name(source: Source, card: SourceCard | None, supplied: str) -> str:
    """A short name for prose that the bundle itself supplies: the card's short name, a title's prefix, or the name."""
    if card and card.short_name.lower() in supplied:
        return card.short_name
    # "Long Title (Short-Name)" and "Short-Name: Long Title" both carry the short name the bundle uses.
    abbreviation = re.search(r"\(([^()]{2,%d})\)\s*$" % SHORT_PREFIX_MAX, source.name)
    if abbreviation:
        return abbreviation.group(1).strip()
    prefix, colon, _ = source.name.partition(":")
    if colon and len(prefix.strip()) <= SHORT_PREFIX_MAX:
        return prefix.strip()
    return source.name


def work_keys(source: Source) -> set[str]:
    """Keys of the work a source's links point at: arXiv abs/pdf/version links of one paper share a key."""
    keys = set()
    for url in source.links.all():
        arxiv = _ARXIV_ID.search(url)
        if arxiv:
            keys.add("arxiv:" + arxiv.group(1))
        else:
            keys.add(re.sub(r"^https?://(?:www\.)?", "", url).rstrip("/").lower())
    return keys


def paper_twins(profiles: list[SourceProfile]) -> dict[str, SourceProfile]:
    """Related papers that are the paper of a recommended model (a shared link): related id -> recommended profile."""
    twins = {}
    recommended = [profile for profile in profiles if profile.source.role == "recommended"]
    for profile in profiles:
        if profile.source.role != "related":
            continue
        keys = work_keys(profile.source)
        match = next((model for model in recommended if keys & work_keys(model.source)), None)
        if match is not None:
            twins[profile.id] = match
    return twins
