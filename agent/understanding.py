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
# A question is read clause by clause up to this many (a pasted essay costs no more than a paragraph).
MAX_CLAUSES = 12
# When cue phrases already name tasks, a task found by meaning alone must beat the ranker's task floor by this much.
STRONG_EXTRA = 0.15
# A question that points at the supplied models without naming a task ("this model", "the workflow", "it").
_REFERS_TO_MODEL = re.compile(
    r"\b(?:this|that|the|these|those|your|recommended|supplied)\s+(?:recommended\s+|supplied\s+)?(?:models?|networks?|"
    r"methods?|tools?|workflow|pipeline|code|weights|papers?|approach)\b|\b(?:does|do|can|could|will|would|is)\s+it\b|"
    r"\bit\s+(?:take|run|work|need|require)s?\b|"
    r"\b(?:use|run|apply|try|train|retrain|fine-tune|install|deploy|download)\s+(?:this|it|them|these)\b|"
    r"\b(?:este|ese|el|la|ce|cet|cette|le|dieses|das|der|diese|esse|o|a)\s+(?:modelo|mod[eè]le|modell|m[ée]todo|"
    r"m[ée]thode|methode|red|r[ée]seau|netz(?:werk)?|rede|flujo|workflow)\b|这个模型|该模型|此模型|このモデル|この手法",
    re.IGNORECASE)
_CLAUSE_END = re.compile(r"(?<=[.!?。！？;；])\s*")


@dataclass(frozen=True)
class AskedTask:
    """A task the question asks for, and how sure we are: 1.0 when a cue of the question names it."""

    task: Task
    score: float
    #: the question's own words that ask for it: a cue phrase, or the clause whose meaning is close to the task
    words: str = ""


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

    def unserved(self) -> list[AskedTask]:
        """Tasks the question asks for (by meaning, not by a cue phrase) that no source bearing on it serves.

        None while a source bearing on it has a task the vocabulary does not know: it may well be what is asked.
        """
        if any(not profile.tasks or profile.tasks[0].id.startswith("own:") for profile in self.relevant):
            return []
        served = {task.id for profile in self.relevant for task in profile.tasks}
        # A clause that also asks for a served task was read as that task; its runner-up does not count.
        answered = {item.words for item in self.asked if item.task.id in served}
        return [item for item in self.asked
                if item.score < 1.0 and item.task.id not in served and item.words not in answered]


def understand(question: str, profiles: list[SourceProfile], matches: list[AspectMatch], ranker: Ranker,
               source_scores: dict[str, float]) -> Understanding:
    """Read ``question`` against the profiled sources.

    Args:
        matches: the aspects the question's cue phrases raise.
        source_scores: the ranker's score of each source's text against the question, by source id.
    """
    asked = asked_tasks(question, matches, ranker)
    other = [item for item in asked if item.task.scope == "other" and item.score >= 1.0]
    if other:
        # "A poem about a blurry sunset" asks for a poem: the image words are its topic, not a task.
        asked = other
    asked_ids = {item.task.id for item in asked}
    relevant = []
    for profile in profiles:
        serves = any(task.id in asked_ids for task in profile.tasks)
        named = _names(question, profile)
        unknown_task = not profile.tasks or all(task.id.startswith("own:") for task in profile.tasks)
        close = source_scores.get(profile.id, 0.0) >= ranker.relevance_floor
        # A recommended model the bundle says nothing about (a name and a link) was recommended for this question,
        # and nothing supplied says otherwise; a question for sound or writing is still not about it.
        silent = profile.source.role == "recommended" and not profile.tasks and not other
        if serves or named or silent or (close and (unknown_task or not asked)):
            relevant.append(profile)
    if not asked and not relevant and _REFERS_TO_MODEL.search(question):
        # "How does this model work?" asks about the recommended models themselves, whatever their task.
        relevant = [profile for profile in profiles if profile.source.role == "recommended"]
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
    """The tasks ``question`` asks for, best first: those its cue phrases need, and those the meaning of one of its
    clauses is close to. When cues already name tasks, a task found by meaning alone must be a strong match."""
    known = tasks()
    found: dict[str, AskedTask] = {}
    for match in matches:
        for task_id in match.aspect.needs:
            if task_id in known:
                found[task_id] = AskedTask(known[task_id], 1.0, match.phrases[0])
    floor = ranker.task_floor + (STRONG_EXTRA if found else 0.0)
    for task_id, score, clause in _tasks_by_meaning(question, ranker):
        if score >= floor and task_id not in found:
            found[task_id] = AskedTask(known[task_id], score, clause)
    return sorted(found.values(), key=lambda item: -item.score)


def _tasks_by_meaning(question: str, ranker: Ranker) -> list[tuple[str, float, str]]:
    """(task id, score, clause) for each clause's best-matching tasks (within TASK_MARGIN of its best)."""
    examples = [(task_id, example) for task_id, task in tasks().items() for example in task.examples]
    clauses = list(dict.fromkeys(clause.strip() for clause in _CLAUSE_END.split(question) if clause.strip()))
    clauses = clauses[:MAX_CLAUSES]
    if not examples or not clauses:
        return []
    rows = ranker.matrix(clauses, [example for _, example in examples])
    chosen: dict[str, tuple[float, str]] = {}
    for clause, row in zip(clauses, rows):
        best: dict[str, float] = {}
        for (task_id, _), score in zip(examples, row):
            best[task_id] = max(best.get(task_id, -1.0), score)
        top = max(best.values())
        for task_id, score in best.items():
            if score >= top - TASK_MARGIN and score > chosen.get(task_id, (-1.0, ""))[0]:
                chosen[task_id] = (score, clause)
    return [(task_id, score, clause) for task_id, (score, clause) in chosen.items()]


def _names(question: str, profile: SourceProfile) -> bool:
    """Whether the question names the source (its prose name or its supplied name)."""
    lowered = question.lower()
    names = {profile.name.lower(), profile.source.name.lower()}
    return any(len(name) >= 4 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered) for name in names)


def _strength(profile: SourceProfile, asked: list[AskedTask]) -> float:
    return max((item.score for item in asked if item.task in profile.tasks), default=0.0)
