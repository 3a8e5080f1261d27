"""What a question asks and which supplied sources bear on it, decided by meaning before anything is composed.

The tasks a question asks for come from two readings that back each other up: cue phrases of the aspects it
raises (knowledge/aspects.yaml, in several languages) and the similarity of the question to each task's example
requests (knowledge/tasks.yaml), which the multilingual ranker makes work in any of its sixteen languages. A
source bears on the question when it serves one of those tasks, when the question names it, or, for a source of a
task the vocabulary does not know, when its own text is close to the question. When none does, the question is
off-topic: the answer says so and names no task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agent.coverage import AspectMatch
from agent.language import detect_language
from agent.ranking import Ranker
from knowledge.catalog import SourceProfile
from knowledge.vocabulary import Task, tasks

# A task within this much of the question's best-matching task is asked for too ("blurry and grainy").
TASK_MARGIN = 0.06
_CLAUSE_END = re.compile(r"(?<=[.!?。！？;；])\s*")


@dataclass(frozen=True)
class AskedTask:
    """A task the question asks for, and how sure we are: 1.0 when a cue of the question names it."""

    task: Task
    score: float


@dataclass
class Understanding:
    """The question's language, the tasks it asks for, the sources bearing on it and the one the workflow runs."""

    language: str
    asked: list[AskedTask]
    relevant: list[SourceProfile]
    primary: SourceProfile | None
    #: the user's task as read from the sources: the primary's task that the question asks for
    task: Task | None

    @property
    def off_topic(self) -> bool:
        return not self.relevant

    @property
    def asked_ids(self) -> set[str]:
        return {item.task.id for item in self.asked}


def understand(question: str, profiles: list[SourceProfile], matches: list[AspectMatch], ranker: Ranker,
               source_scores: dict[str, float]) -> Understanding:
    """Read ``question`` against the profiled sources.

    Args:
        matches: the aspects the question's cue phrases raise.
        source_scores: the ranker's score of each source's text against the question, by source id.
    """
    asked = asked_tasks(question, matches, ranker)
    asked_ids = {item.task.id for item in asked}
    relevant = []
    for profile in profiles:
        serves = any(task.id in asked_ids for task in profile.tasks)
        named = _names(question, profile)
        unknown_task = not profile.tasks or all(task.id.startswith("own:") for task in profile.tasks)
        close = source_scores.get(profile.id, 0.0) >= ranker.relevance_floor
        if serves or named or (close and (unknown_task or not asked)):
            relevant.append(profile)
    relevant.sort(key=lambda p: (p.source.role != "recommended", -_strength(p, asked), profiles.index(p)))
    primary = relevant[0] if relevant else None
    if primary is not None:
        wanted = [task for task in primary.tasks if task.id in asked_ids]
        task = wanted[0] if wanted else primary.task
        primary = replace(primary, task=task)
        relevant[0] = primary
    else:
        task = None
    return Understanding(detect_language(question), asked, relevant, primary, task)


def asked_tasks(question: str, matches: list[AspectMatch], ranker: Ranker) -> list[AskedTask]:
    """The tasks ``question`` asks for, best first: those its cue phrases need, and those its meaning is close to."""
    known = tasks()
    found: dict[str, float] = {}
    for match in matches:
        for task_id in match.aspect.needs:
            if task_id in known:
                found[task_id] = 1.0
    examples = [(task_id, example) for task_id, task in known.items() for example in task.examples]
    clauses = [clause for clause in _CLAUSE_END.split(question) if clause.strip()] or [question]
    if examples:
        rows = ranker.matrix([question, *clauses] if len(clauses) > 1 else [question],
                             [example for _, example in examples])
        best: dict[str, float] = {}
        for row in rows:
            for (task_id, _), score in zip(examples, row):
                best[task_id] = max(best.get(task_id, -1.0), score)
        top = max(best.values(), default=0.0)
        for task_id, score in best.items():
            if score >= ranker.task_floor and score >= top - TASK_MARGIN:
                found[task_id] = max(found.get(task_id, 0.0), score)
    ranked = sorted(found.items(), key=lambda item: -item[1])
    return [AskedTask(known[task_id], score) for task_id, score in ranked]


def _names(question: str, profile: SourceProfile) -> bool:
    """Whether the question names the source (its prose name or its supplied name)."""
    lowered = question.lower()
    names = {profile.name.lower(), profile.source.name.lower()}
    return any(len(name) >= 4 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered) for name in names)


def _strength(profile: SourceProfile, asked: list[AskedTask]) -> float:
    return max((item.score for item in asked if item.task in profile.tasks), default=0.0)
