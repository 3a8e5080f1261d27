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
from knowledge.catalog import SourceProfile, paper_twins
from knowledge.vocabulary import Task, tasks

# A task within this much of the question's best-matching task is asked for too ("blurry and grainy").
TASK_MARGIN = 0.06
# A question is read clause by clause up to this many (a pasted essay costs no more than a paragraph).
MAX_CLAUSES = 12
# When cue phrases already name tasks, a task found by meaning alone must beat the ranker's task floor by this much.
STRONG_EXTRA = 0.15
# A question that points at the supplied models without naming a task ("this model", "any of these", "it"): it is
# about them, never off-topic.
_REFERS_TO_MODEL = re.compile(
    r"\b(?:this|that|the|these|those|your|recommended|supplied)\s+(?:recommended\s+|supplied\s+)?(?:models?|networks?|"
    r"methods?|tools?|workflow|pipeline|code|weights|papers?|approach|things?|ones?|ais?)\b|"
    r"\b(?:any|one|some|either|none|which|each)\s+of\s+(?:these|those|them|the\s+(?:models?|tools?))\b|"
    r"\b(?:can|could|will|would)\s+(?:these|this)\b|"
    r"\b(?:use|run|apply|try|train|retrain|fine-tune|install|deploy|download)\s+(?:this|it|them|these)\b|"
    # "o"/"a" are left out: "a red wine stain" is English.
    r"\b(?:este|ese|esta|el|la|ce|cet|cette|le|dieses|diesem|diesen|das|der|diese|esse|essa|desse|deste)\s+"
    r"(?:modelo|mod[eè]le|modell|m[ée]todo|m[ée]thode|methode|red|r[ée]seau|netz(?:werk)?|rede|flujo|workflow|"
    r"herramienta|outil|werkzeug|ferramenta)s?\b|\b(?:alguno|alguna|uno|una|cu[aá]l)\s+de\s+(?:estos|estas|ellos|"
    r"ellas)\b|\b(?:l'un|un|une|aucun|lequel)\s+(?:de\s+ces|d'eux|d'entre\s+eux)\b|\b(?:eins?|einer|eines|welches)\s+"
    r"(?:davon|von\s+diesen|dieser)\b|\b(?:algum|alguma|um|uma|qual)\s+(?:desses|dessas|deles|destes)\b|"
    r"(?:这个|这些|那个|该|此|哪个)(?:模型|方法|工具)|(?:この|これらの|その|どの)(?:モデル|手法|ツール)",
    re.IGNORECASE)
# "Does it ...?", "how long does it take": "it" is the supplied model only when nothing else in the question is read
# ("is it legal?" is not about a model).
_PRONOUN_IT = re.compile(r"\b(?:does|do|can|could|will|would|is)\s+it\b|\bit\s+(?:take|run|work|need|require)s?\b",
                         re.IGNORECASE)
# Words that say the question is about a picture, in the supported languages: with one of them, an image word
# ("noise", "dark") is meant of the picture, and a question no cue reads is still not off-topic.
_IMAGE_WORDS = re.compile(
    r"\b(?:photos?|photograph\w*|pics?|pix|pictures?|images?|selfies?|screenshots?|screen\s?caps?|snapshots?|shots?|"
    r"frames?|scans?|scanned|jpe?gs?|pngs?|camera|webcam|portraits?|foto\w*|bild\w*|aufnahme\w*|im[aá]gen(?:es)?|"
    r"imagens?|clich[ée]s?|retratos?|porträt\w*)\b|照片|图片|相片|图像|圖片|相機|相机|写真|画像|スクショ|カメラ",
    re.IGNORECASE)
# An everyday question must beat every image task by this much, by meaning, to be read as one.
EVERYDAY_MARGIN = 0.08
# ... and score at least the ranker's task floor less this. When a cue phrase reads an image task in it ("bruit",
# "stain", "sharpen"), it must score at least the task floor plus CUED_EVERYDAY_EXTRA ("freistellen ... Hintergrund"
# stays matting) and beat every image task by CUED_EVERYDAY_MARGIN ("How do I remove noise?" stays denoising).
EVERYDAY_BELOW_FLOOR = 0.1
CUED_EVERYDAY_EXTRA = 0.1
CUED_EVERYDAY_MARGIN = 0.2
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
    pointing = bool(_REFERS_TO_MODEL.search(question))
    pictured = bool(_IMAGE_WORDS.search(question))
    if not other and not pointing and not pictured:
        # "Mes voisins font trop de bruit": a word shared with a source is not enough when the sentence is about
        # something else (people, law, sound, cooking) and names no picture.
        other = _outside_imaging(question, ranker, cued=bool(asked))
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
    if not relevant and not other and asked and all(item.score < 1.0 for item in asked):
        # Read by meaning alone, the question's best task may be a neighbour of what a recommended model does ("remove
        # the guy on the left" reads as matting first): a recommended model's task that also clears the floor counts.
        served = _served_by_meaning(question, profiles, ranker)
        if served:
            asked = sorted([*asked, *served], key=lambda item: -item.score)
            asked_ids = {item.task.id for item in asked}
            relevant = [profile for profile in profiles
                        if profile.source.role == "recommended" and any(task.id in asked_ids for task in profile.tasks)]
    if not relevant and not other and (pointing or (not asked and (pictured or _PRONOUN_IT.search(question)))):
        # "How does this model work?", "can any of these fix that": a question pointing at the supplied models is
        # about them, whatever their task; so is a question about a picture that no cue or task example reads
        # ("pics r basically pitch black"). Off-topic needs positive evidence, and neither gives it.
        relevant = _fallback(profiles, source_scores)
    # A related paper that is a recommended model's own paper (same link or name) brings its model: the model is
    # what the user runs, so it is the primary ("SAM" before "Segment Anything").
    papers = paper_twins(profiles)
    relevant += [model for paper_id, model in papers.items()
                 if any(profile.id == paper_id for profile in relevant) and model not in relevant]
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


#: A follow-up of at most this many words may lean on the conversation's previous question.
SHORT_FOLLOW_UP_WORDS = 8
_FOLLOW_UP_START = re.compile(r"^\s*(?:and|also|but|so|what about|how about|et|y|und|e|e se|et si|y si|还有|那|それと|あと)\b",
                              re.IGNORECASE)


def needs_context(question: str, alone: Understanding) -> bool:
    """Whether a follow-up question should be read with the conversation's previous one: it is off-topic alone, or
    it is short or points back ("and how long does it take?", "does it ...", "this model") without naming a task."""
    if any(item.task.scope == "other" for item in alone.asked):
        return False  # positively about something else (sourdough, a poem): the conversation does not change that
    if alone.off_topic:
        return True
    cued = any(item.score >= 1.0 for item in alone.asked)
    deictic = bool(_REFERS_TO_MODEL.search(question) or _PRONOUN_IT.search(question)
                   or _FOLLOW_UP_START.search(question))
    return not cued and (deictic or len(question.split()) <= SHORT_FOLLOW_UP_WORDS)


def _served_by_meaning(question: str, profiles: list[SourceProfile], ranker: Ranker) -> list[AskedTask]:
    """The tasks of the recommended models that the question's clauses are close to by meaning (at least the task
    floor), whether or not they are its best-matching tasks."""
    known = tasks()
    offered = {task.id for profile in profiles if profile.source.role == "recommended" for task in profile.tasks
               if task.id in known}
    examples = [(task_id, example) for task_id in offered for example in known[task_id].examples]
    clauses = list(dict.fromkeys(clause.strip() for clause in _CLAUSE_END.split(question) if clause.strip()))
    clauses = clauses[:MAX_CLAUSES]
    if not examples or not clauses:
        return []
    found: dict[str, AskedTask] = {}
    for clause, row in zip(clauses, ranker.matrix(clauses, [example for _, example in examples])):
        for (task_id, _), score in zip(examples, row):
            if score >= ranker.task_floor and score > (found[task_id].score if task_id in found else -1.0):
                found[task_id] = AskedTask(known[task_id], score, clause)
    return list(found.values())


def _fallback(profiles: list[SourceProfile], source_scores: dict[str, float]) -> list[SourceProfile]:
    """The sources a question bears on when it points at them without saying what it wants: the recommended models
    (they were recommended for it), else the source closest to it."""
    recommended = [profile for profile in profiles if profile.source.role == "recommended"]
    if recommended:
        return recommended
    return sorted(profiles, key=lambda p: -source_scores.get(p.id, 0.0))[:1]


def _outside_imaging(question: str, ranker: Ranker, cued: bool) -> list[AskedTask]:
    """The outside-imaging task (scope other) the question asks for by meaning, as a one-item list, when it beats
    every image task by EVERYDAY_MARGIN and clears its floor (higher when ``cued``: an image task was read in it);
    else an empty list."""
    known = tasks()
    examples = [(task_id, example) for task_id, task in known.items() for example in task.examples]
    text = " ".join(question.split()[:120])
    if not examples or not text:
        return []
    best: dict[str, float] = {}
    for (task_id, _), score in zip(examples, ranker.scores(text, [example for _, example in examples])):
        best[task_id] = max(best.get(task_id, -1.0), score)
    image = max((score for task_id, score in best.items() if known[task_id].scope == "image"), default=-1.0)
    task_id, score = max(((task_id, score) for task_id, score in best.items() if known[task_id].scope == "other"),
                         key=lambda item: item[1], default=(None, -1.0))
    floor = ranker.task_floor + CUED_EVERYDAY_EXTRA if cued else ranker.task_floor - EVERYDAY_BELOW_FLOOR
    margin = CUED_EVERYDAY_MARGIN if cued else EVERYDAY_MARGIN
    if task_id is None or score < image + margin or score < floor:
        return []
    return [AskedTask(known[task_id], score, text)]


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
        # A task with no cues (everyday questions) is read only by _outside_imaging, for a question naming no picture.
        if score >= floor and task_id not in found and known[task_id].cues:
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
    names = {profile.name, profile.source.name}
    if any(len(name) >= 4 and re.search(rf"(?<!\w){re.escape(name.lower())}(?!\w)", lowered) for name in names):
        return True
    # A short acronym ("SAM") names it only when written as the bundle writes it: "sam" is also a word.
    return any(len(name) == 3 and sum(char.isupper() for char in name) >= 2
               and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", question) for name in names)


def _strength(profile: SourceProfile, asked: list[AskedTask]) -> float:
    return max((item.score for item in asked if item.task in profile.tasks), default=0.0)
