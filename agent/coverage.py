"""Which aspects a question raises, in the user's own words, and which supplied sources cover each of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.catalog import SourceProfile
from knowledge.vocabulary import Aspect, Task, aspects, tasks


@dataclass(frozen=True)
class AspectMatch:
    """An aspect the question raises and the phrases of the question that raise it, in question order."""

    aspect: Aspect
    phrases: tuple[str, ...]
    position: int


@dataclass(frozen=True)
class Cover:
    """A source that covers an aspect, with its card's explanation of how (None when only its task says so)
    and the task of the source that covers it (None when its card says so)."""

    profile: SourceProfile
    fact: str | None
    task: Task | None = None


@dataclass(frozen=True)
class Gap:
    """A source that does not cover an aspect, with its card's reason why."""

    profile: SourceProfile
    reason: str


@dataclass
class AspectCoverage:
    """One aspect of the question, the sources that cover it and the card reasons of those that do not."""

    match: AspectMatch
    covers: list[Cover] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def covered(self) -> bool:
        return bool(self.covers)

    @property
    def needed_tasks(self) -> list[Task]:
        """The tasks that would cover this aspect."""
        return [tasks()[task_id] for task_id in self.match.aspect.needs if task_id in tasks()]

    def source_ids(self) -> list[str]:
        """The ids this aspect's statement rests on: the covering sources, else those whose cards explain the gap."""
        chosen = self.covers or self.gaps
        return [item.profile.id for item in chosen]


def find_aspects(question: str) -> list[AspectMatch]:
    """The aspects ``question`` raises; where cues of two aspects overlap, the longer phrase wins."""
    spans = [(start, end, aspect) for aspect in aspects() for start, end in aspect.phrases(question)]
    # Longest first, then earliest, so "crisper masks" claims its words before "crisper" alone can.
    spans.sort(key=lambda item: (-(item[1] - item[0]), item[0]))
    taken: list[tuple[int, int, Aspect]] = []
    for start, end, aspect in spans:
        if all(end <= other_start or start >= other_end for other_start, other_end, _ in taken):
            taken.append((start, end, aspect))
    by_aspect: dict[str, list[tuple[int, int]]] = {}
    for start, end, aspect in sorted(taken, key=lambda item: item[0]):
        by_aspect.setdefault(aspect.id, []).append((start, end))
    present = set(by_aspect)
    matches = []
    for aspect in aspects():
        found = by_aspect.get(aspect.id)
        if not found or present & set(aspect.yields_to):
            continue
        phrases = tuple(dict.fromkeys(question[start:end] for start, end in found))
        matches.append(AspectMatch(aspect=aspect, phrases=phrases, position=found[0][0]))
    return sorted(matches, key=lambda match: match.position)


def plan_coverage(matches: list[AspectMatch], profiles: list[SourceProfile]) -> list[AspectCoverage]:
    """For each aspect, the sources that cover it (a card that addresses it, or a task it needs) and the gaps."""
    plan = []
    for match in matches:
        coverage = AspectCoverage(match=match)
        for profile in profiles:
            cover = _cover(match.aspect, profile)
            if cover is not None:
                coverage.covers.append(cover)
            elif profile.card and match.aspect.id in profile.card.gaps:
                coverage.gaps.append(Gap(profile, profile.card.gaps[match.aspect.id]))
        plan.append(coverage)
    return plan


def _cover(aspect: Aspect, profile: SourceProfile) -> Cover | None:
    if profile.card and aspect.id in profile.card.addresses:
        return Cover(profile, profile.card.addresses[aspect.id])
    task = next((task for task in profile.tasks if task.id in aspect.needs), None)
    return Cover(profile, None, task) if task else None
