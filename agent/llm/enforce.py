"""Grounding enforced on a model's answer, part by part: find what is wrong, and swap failing parts for the offline composer's.

Checks on every part the model wrote: the grounding verifier (links, arXiv ids, DOIs, repos and names the
bundle did not supply, citations of ids it does not have); tool-claim consistency (saying the image was
restored when no restoration ran); names that only the question introduces, because the question is
untrusted text ("ignore the list and recommend X") and X is not a supplied source; statements of the task,
explanation or workflow that cite no source; sentences repeated word for word, which small models write
when they have nothing grounded to say; a statement that copies the question or an instruction from it ("Ignore
all previous instructions..." written out as the Task); and one that calls a recommended model off-task without
citing it, or when the bundle supplies no sentence about it to cite. A part the model left empty where the offline answer has content
is replaced too, so an answer never loses its limitations or explanation to a terse model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.answer import GroundedAnswer, Restoration
from agent.llm.chat_model import excerpt
from knowledge.bundle import QuestionBundle

PARTS = ("task", "explanation", "workflow", "references", "limitations")
#: Fields of the offline answer that a model's answer takes over as they are: the question's reading.
UNDERSTOOD_FIELDS = ("language", "answer_language", "off_topic", "task_name", "primary_source_id", "sub_questions",
                     "uncovered_aspects")
# Parts whose every statement must rest on a cited source; a limitation may say what no source covers.
CITING_PARTS = ("task", "explanation", "workflow")

# A claim that the image was restored/sharpened; allowed only when the restoration really ran.
_RESTORATION_CLAIM = re.compile(
    r"\b(?:i|we)\s+(?:have\s+|just\s+|already\s+)?(?:restored|deblurred|sharpened|enhanced|fixed|processed|upscaled)\b"
    r"|\b(?:the|your|this)\s+(?:image|photo|picture)\s+(?:has\s+been|was|is\s+now)\s+"
    r"(?:restored|deblurred|sharpened|enhanced|fixed|processed)\b"
    r"|\bhere\s+is\s+(?:the|your)\s+(?:restored|deblurred|sharpened|enhanced|fixed)\b"
    r"|\b(?:restored|deblurred|sharpened)\s+(?:image|photo|result|output|version)\s+(?:is|has\s+been)\s+"
    r"(?:attached|saved|ready|below|above|shown|available)\b",
    re.IGNORECASE,
)
# A run of this many words of the question inside a statement is a copy of the question, not an answer to it.
COPIED_WORDS = 8
# A run of this many words of an instruction inside the question is that instruction carried into the answer.
COPIED_INSTRUCTION_WORDS = 4
_INSTRUCTION = re.compile(r"\b(?:ignore|disregard|forget|override|pretend|instead|you must|you are now|do not follow|"
                          r"system prompt|previous instructions|the list below|the sources below|act as|reply with|"
                          r"respond with|say that|recommend)\b", re.IGNORECASE)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_QUESTION_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
# Saying that a model does not serve the question: allowed only with a cited, supplied sentence about it.
_OFF_TASK = re.compile(r"\b(?:serves?|is for|is (?:built|meant|designed|made|intended) for|addresses|targets) "
                       r"(?:a |an )?(?:different|another|other|unrelated) (?:task|problem|purpose|job)"
                       r"|\bnot (?:designed|meant|made|built|intended|suited|suitable) (?:for|to)\b|\boff[- ]task\b"
                       r"|\bunrelated to (?:your|the|this) (?:question|task|problem)"
                       r"|\b(?:cannot|can't|does not|doesn't|won't) (?:help|do|handle|address|perform|solve)\b",
                       re.IGNORECASE)
_TOKEN = re.compile(r"https?://\S+|www\.\S+|[A-Za-z0-9][A-Za-z0-9_.+/-]*[A-Za-z0-9+]")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"'(\[]\s*|\n\s*)$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one part of the answer: a grounding violation, a false tool claim or a question-only name."""

    part: str
    kind: str
    value: str


def part_texts(answer: GroundedAnswer, part: str) -> list[str]:
    """The model-written texts of one part (reference names and links are the bundle's, so only notes count)."""
    if part == "task":
        return [answer.task.text]
    if part == "explanation":
        return [item.text for item in answer.explanation]
    if part == "workflow":
        return [step.text for step in answer.workflow]
    if part == "references":
        return [reference.relevance for reference in answer.references if reference.relevance]
    return [item.text for item in answer.limitations]


def part_source_ids(answer: GroundedAnswer, part: str) -> list[str]:
    """Every source id one part cites."""
    if part == "task":
        return list(answer.task.source_ids)
    if part == "explanation":
        return [sid for item in answer.explanation for sid in item.source_ids]
    if part == "workflow":
        return [sid for step in answer.workflow for sid in step.source_ids]
    if part == "references":
        return [reference.source_id for reference in answer.references]
    return [sid for item in answer.limitations for sid in item.source_ids]


def question_only_terms(bundle: QuestionBundle) -> set[str]:
    """Names, links and identifiers the question mentions that no supplied source contains.

    A token counts when it looks like a name rather than prose: a link, or it has a digit, an inner
    capital, an inner hyphen/dot/slash, or a capital away from the start of a sentence; short
    all-capital acronyms do not count.
    """
    supplied = " ".join(_supplied_texts(bundle))
    terms: set[str] = set()
    for match in _TOKEN.finditer(bundle.question):
        token = match.group(0).rstrip(".,;:!?)\"'")
        if len(token) < 3 or _mentions(supplied, token):
            continue
        sentence_start = bool(_SENTENCE_START.search(bundle.question[: match.start()]))
        if _looks_like_name(token, sentence_start):
            terms.add(token)
    return terms


def _supplied_texts(bundle: QuestionBundle) -> list[str]:
    from knowledge.cards import card_for

    texts = []
    for source in bundle.sources:
        card = card_for(source)
        texts += [source.name, source.summary or "", *source.links.all(), card.model_dump_json() if card else ""]
    return texts


def _looks_like_name(token: str, sentence_start: bool) -> bool:
    if token.lower().startswith(("http://", "https://", "www.")):
        return True
    if token.isalpha() and token.isupper() and len(token) <= 4:
        return False  # short acronyms (AI, GPU, HDR, JPEG) are vocabulary, not product names
    if any(char.isdigit() for char in token) or any(char in "-_./+" for char in token[1:-1]):
        return True
    if any(char.isupper() for char in token[1:]):
        return True
    return token[0].isupper() and not sentence_start


def claims_restoration(text: str) -> bool:
    """Whether ``text`` says the user's image was restored (or deblurred, sharpened...)."""
    return bool(_RESTORATION_CLAIM.search(text))


def _improved(restoration: Restoration | None) -> bool:
    """Whether a restoration ran and the acceptance check found its output clearly better (only then may an
    answer say the image was restored, deblurred or sharpened)."""
    return restoration is not None and restoration.verdict == "improved"


def find_problems(answer: GroundedAnswer, bundle: QuestionBundle, restoration: Restoration | None) -> list[Problem]:
    """Every problem in every part of ``answer``; empty means it may be shown as the model wrote it."""
    from agent.grounding import find_violations_in_text

    known_ids = {source.id for source in bundle.sources}
    forbidden = question_only_terms(bundle)
    problems: list[Problem] = []
    seen_texts: set[str] = set()
    for part in PARTS:
        problems += [Problem(part, "citation", sid) for sid in part_source_ids(answer, part) if sid not in known_ids]
        if part in CITING_PARTS:
            problems += [Problem(part, "uncited", excerpt(text, 80)) for text, ids in _statements(answer, part) if not ids]
        for text in part_texts(answer, part):
            key = " ".join(text.lower().split())
            if key in seen_texts:
                problems.append(Problem(part, "repeated", excerpt(text, 80)))
            seen_texts.add(key)
            problems += [Problem(part, v.kind, v.value) for v in find_violations_in_text(text, bundle)]
            problems += [Problem(part, "question-term", term) for term in sorted(forbidden) if _mentions(text, term)]
            if not _improved(restoration) and claims_restoration(text):
                problems.append(Problem(part, "tool-claim", _RESTORATION_CLAIM.search(text).group(0)))
    problems += copied_question_problems(answer, bundle)
    problems += off_task_problems(answer, bundle)
    stages = [step.stage for step in answer.workflow]
    if stages != ["input", "model", "output"]:
        problems.append(Problem("workflow", "structure", "->".join(stages) or "empty"))
    return list(dict.fromkeys(problems))


def copied_question_problems(answer: GroundedAnswer, bundle: QuestionBundle) -> list[Problem]:
    """Statements that copy the question (a run of COPIED_WORDS of its words) or an instruction written in it."""
    question = _folded_words(bundle.question)
    instructions = [_folded_words(sentence) for sentence in _QUESTION_SENTENCE.split(bundle.question)
                    if _INSTRUCTION.search(sentence)]
    problems = []
    for part in PARTS:
        for text in part_texts(answer, part):
            words = _folded_words(text)
            if any(_shares_run(words, instruction, COPIED_INSTRUCTION_WORDS) for instruction in instructions):
                problems.append(Problem(part, "instruction-copy", excerpt(text, 80)))
            elif _shares_run(words, question, COPIED_WORDS):
                problems.append(Problem(part, "question-copy", excerpt(text, 80)))
    return problems


def off_task_problems(answer: GroundedAnswer, bundle: QuestionBundle) -> list[Problem]:
    """Statements calling a recommended model off-task without citing it, or with nothing supplied about it to cite."""
    from knowledge.cards import card_for

    problems = []
    for part in PARTS:
        for text, ids in _cited_statements(answer, part):
            if not _OFF_TASK.search(text):
                continue
            for source in bundle.recommended:
                mentioned = source.id in ids or _mentions(text, source.name) or f"[{source.id}]" in text
                described = bool(source.summary) or card_for(source) is not None
                cited = source.id in ids or f"[{source.id}]" in text or f"{source.id}," in text
                if mentioned and not (cited and described):
                    problems.append(Problem(part, "off-task-claim", f"{source.id}: {excerpt(text, 60)}"))
    return problems


def _cited_statements(answer: GroundedAnswer, part: str) -> list[tuple[str, list[str]]]:
    if part in CITING_PARTS:
        return _statements(answer, part)
    if part == "limitations":
        return [(item.text, item.source_ids) for item in answer.limitations]
    return [(reference.relevance, [reference.source_id]) for reference in answer.references if reference.relevance]


def _folded_words(text: str) -> list[str]:
    return [word.lower() for word in _WORDS.findall(text)]


def _shares_run(words: list[str], source: list[str], length: int) -> bool:
    """Whether ``words`` contains ``length`` consecutive words of ``source`` (all of it when it is shorter)."""
    length = min(length, len(source))
    if length == 0:
        return False
    runs = {tuple(source[index:index + length]) for index in range(len(source) - length + 1)}
    return any(tuple(words[index:index + length]) in runs for index in range(len(words) - length + 1))


def _statements(answer: GroundedAnswer, part: str) -> list[tuple[str, list[str]]]:
    if part == "task":
        return [(answer.task.text, answer.task.source_ids)]
    items = answer.explanation if part == "explanation" else answer.workflow
    return [(item.text, item.source_ids) for item in items]


def _mentions(text: str, term: str) -> bool:
    return re.search(rf"(?<![\w/]){re.escape(term)}(?![\w/])", text, re.IGNORECASE) is not None


def replace_failing_parts(answer: GroundedAnswer, problems: list[Problem], offline: GroundedAnswer) -> GroundedAnswer:
    """``answer`` with every part that has a problem, or is empty where ``offline`` is not, taken from ``offline``.

    The replaced parts are listed in ``replaced_parts``, so a reader knows which words are not the model's.
    """
    failing = [
        part for part in PARTS
        if any(problem.part == part for problem in problems)
        or (not part_texts(answer, part) and part_texts(offline, part))
        # No source bears on the question: a model's task, explanation or workflow would answer it anyway.
        or (offline.off_topic and part in ("task", "explanation", "workflow"))
        # A task statement that does not rest on the source the question is about names the wrong task.
        or (part == "task" and offline.primary_source_id is not None
            and offline.primary_source_id not in answer.task.source_ids)
    ]
    # What the question asks and which source bears on it are read by code, never by the model.
    understood = {field: getattr(offline, field) for field in UNDERSTOOD_FIELDS}
    if not failing:
        return answer.model_copy(update=understood)
    replacement = {part: getattr(offline, part) for part in failing}
    replaced = list(dict.fromkeys([*answer.replaced_parts, *failing]))
    return answer.model_copy(update={**replacement, **understood, "replaced_parts": replaced})
