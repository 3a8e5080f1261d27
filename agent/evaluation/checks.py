"""The per-answer checks behind each metric. An answer is read as answer.json (a dict) plus its rendered Markdown;
a field the answer lacks is scored as wrong, never raised."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.evaluation.allowlist import allowlist_violations
from agent.evaluation.fidelity import unsupplied_figures, unsupplied_quotes
from agent.evaluation.labels import BundleLabels, SubQuestionLabel
from agent.evaluation.text import clip, contains, contains_any, fold, unmark
from knowledge.bundle import QuestionBundle

#: Paragraphs shorter than this may repeat (headings, "Input", short notes).
REPEAT_MIN_CHARS = 40
#: A sentence this long said twice anywhere in one answer (a bullet's copy with a lead-in included) is a repeat.
REPEAT_SENTENCE_MIN_CHARS = 60
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
# What a list item or sub-answer puts before the fact it repeats: "“How …?” — What is known of X [S1]: …".
_LEAD_IN = re.compile(r"^.{0,200}?(?:\s[—–-]\s|:\s)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]\s+|\d{1,3}[.)]\s+)")
_URL_IN_TEXT = re.compile(r"<?https?://\S+>?")


@dataclass
class Check:
    """One scored case of one metric: whether it passed and, when it did not, a one-line reason."""

    passed: bool
    reason: str = ""


def _field(answer: dict, name: str) -> object:
    return answer.get(name) if isinstance(answer, dict) else None


def _text_of(value: object) -> str:
    """The text of a Statement-like value (a dict with ``text``) or of a plain string."""
    if isinstance(value, dict):
        return str(value.get("text") or "")
    return value if isinstance(value, str) else ""


def check_task(answer: dict, labels: BundleLabels) -> Check:
    """The task is right when one of the labelled keywords is in ``task_name`` or the Task statement."""
    task_name = _field(answer, "task_name")
    statement = _text_of(_field(answer, "task"))
    if contains_any(f"{task_name or ''}\n{statement}", labels.task):
        return Check(True)
    named = f"task_name {task_name!r}" if task_name else "no task_name"
    return Check(False, f"{named}; Task says '{clip(statement, 60)}'; wanted one of {labels.task}")


def check_primary(answer: dict, expected_id: str, source_names: dict[str, str]) -> Check:
    """The primary model is right when ``primary_source_id`` is the labelled source's id.

    Args:
        source_names: source id -> supplied name, for the reason.
    """
    got = _field(answer, "primary_source_id")
    if got == expected_id:
        return Check(True)
    wanted = f"expected {expected_id} ({clip(source_names.get(expected_id, ''), 40)})"
    if not got:
        return Check(False, f"answer has no primary_source_id; {wanted}")
    return Check(False, f"primary is {got} ({clip(source_names.get(str(got), 'not a supplied id'), 40)}); {wanted}")


def check_off_topic(answer: dict, labels: BundleLabels) -> Check:
    """Off-topic bundles must be answered with ``off_topic: true``; on-topic ones must not (checked by the caller
    as the false off-topic rate)."""
    flagged = _field(answer, "off_topic")
    if labels.off_topic:
        if flagged is True:
            return Check(True)
        return Check(False, "answer has no off_topic field" if flagged is None else "answered as on-topic")
    if flagged is True:
        return Check(False, f"on-topic bundle answered as off-topic (wanted task {labels.task})")
    return Check(True)


def check_language(answer: dict, labels: BundleLabels) -> Check:
    """The answer's ``language`` (the question's ISO 639-1 code) must be the labelled one."""
    language = _field(answer, "language")
    if isinstance(language, str) and language.strip().lower() == labels.language:
        return Check(True)
    return Check(False, f"language is {language!r}, expected {labels.language!r}")


def declared_uncovered(answer: dict) -> list[str]:
    """Every text in which the answer declares something uncovered: ``uncovered_aspects``, the limitations, and the
    sub-questions it declines (status ``not_given``)."""
    declared = [str(item) for item in (_field(answer, "uncovered_aspects") or []) if item]
    declared += [_text_of(item) for item in (_field(answer, "limitations") or [])]
    declined = [item for item in (_field(answer, "sub_questions") or [])
                if isinstance(item, dict) and item.get("status") == "not_given"]
    declared += [f"{item.get('question') or ''} {item.get('text') or ''}" for item in declined]
    return [text for text in declared if text]


def check_uncovered(answer: dict, labels: BundleLabels) -> list[Check]:
    """One check per labelled aspect: one of its keywords must be in what the answer declares uncovered."""
    declared = "\n".join(declared_uncovered(answer))
    return [Check(True) if contains_any(declared, aspect)
            else Check(False, f"no uncovered aspect or limitation mentions {' / '.join(aspect)}")
            for aspect in labels.uncovered]


def check_sub_questions(answer: dict, labels: BundleLabels) -> list[Check]:
    """One check per labelled sub-question: found by its ``about`` keywords among the answer's sub-questions, then
    answered with ``expect`` in its text, or declined (status ``not_given``) when ``expect`` is ``not_given``."""
    given = [item for item in (_field(answer, "sub_questions") or []) if isinstance(item, dict)]
    return [_check_sub_question(given, label) for label in labels.sub_questions]


def _check_sub_question(given: list[dict], label: SubQuestionLabel) -> Check:
    matches = [item for item in given if contains_any(str(item.get("question") or ""), label.about)]
    if not matches:
        return Check(False, f"no sub-question about {' / '.join(label.about)} among {len(given)} sub-question(s)")
    # Several may mention a keyword: the one that mentions most of them is the one meant.
    item = max(matches, key=lambda entry: sum(contains(str(entry.get("question")), word) for word in label.about))
    status, text = item.get("status"), str(item.get("text") or "")
    asked = clip(str(item.get("question")), 40)
    if label.declined:
        if status == "not_given":
            return Check(True)
        return Check(False, f"'{asked}': status {status!r}, but the bundle does not give it (expected not_given)")
    if status != "answered":
        return Check(False, f"'{asked}': status {status!r}, expected an answer containing {label.expect!r}")
    if not contains(text, label.expect):
        return Check(False, f"'{asked}': answer '{clip(text, 50)}' lacks {label.expect!r}")
    return Check(True)


def answer_texts(answer: dict, markdown: str, question: str) -> list[str]:
    """The texts the allowlist check reads: the Markdown (its echo of the question already removed) and every string
    of answer.json but the question and verbatim quotes of it (the user's own words are echoed, not claimed)."""
    folded_question = fold(question)
    texts = [markdown]

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if key == "question" and fold(value) in folded_question:
                return
            texts.append(value)

    walk(answer)
    return texts


def check_allowlist(answer: dict, markdown: str, bundle: QuestionBundle, labels: BundleLabels) -> Check:
    """Passes when neither the Markdown nor answer.json holds anything the bundle does not allow (see allowlist)."""
    quoted = [str(item.get("question")) for item in (_field(answer, "sub_questions") or [])
              if isinstance(item, dict) and item.get("question")]
    markdown = _without_quotes(unmark(markdown), [bundle.question, *quoted], bundle.question)
    found = allowlist_violations(answer_texts(answer, markdown, bundle.question), bundle, labels.forbidden)
    if not found:
        return Check(True)
    more = f" (+{len(found) - 2} more)" if len(found) > 2 else ""
    return Check(False, "; ".join(found[:2]) + more)


def check_grounded_flag(answer: dict, allowlist: Check) -> Check:
    """Passes when the answer's own ``grounded`` verdict agrees with the independent allowlist check: a correct
    answer flagged "Not grounded", or a flagged one called grounded, fails."""
    grounded = _field(answer, "grounded")
    if grounded is allowlist.passed:
        return Check(True)
    if grounded is True:
        return Check(False, f"grounded: true, but {allowlist.reason}")
    found = [f"{item.get('kind')} {item.get('value')!r}" for item in (_field(answer, "violations") or [])
             if isinstance(item, dict)]
    return Check(False, f"grounded: {grounded!r} ({clip('; '.join(found) or 'no violations listed', 70)}), "
                        "but the allowlist check found nothing")


def check_fidelity(markdown: str, bundle: QuestionBundle) -> Check:
    """Passes when every quoted passage is verbatim in the bundle or the question, and every dB figure is supplied
    or the difference of two supplied figures."""
    found = [f"quote '{clip(quote, 50)}' is not in the bundle" for quote in unsupplied_quotes(markdown, bundle)]
    found += [f"figure {figure} is not supplied" for figure in unsupplied_figures(markdown, bundle)]
    if not found:
        return Check(True)
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return Check(False, found[0] + more)


def _without_quotes(markdown: str, quotes: list[str], question: str) -> str:
    """The Markdown with verbatim quotes of the question removed (the echo and sub-question headings)."""
    from agent.escaping import without_links

    folded_question = fold(question)
    for quote in sorted(quotes, key=len, reverse=True):
        if quote.strip() and fold(quote) in folded_question:
            # Answers show the user's words with their links replaced by "(link removed)".
            for shown in dict.fromkeys((quote.strip(), without_links(quote).strip())):
                markdown = markdown.replace(shown, " ")
    return markdown


def repeated_paragraphs(markdown: str, question: str = "") -> list[str]:
    """Paragraphs (or list items) of at least REPEAT_MIN_CHARS characters (links not counted) that appear again in the
    same answer, alone or inside a longer paragraph; the echo of the user's question is not counted. One entry per
    repeat."""
    units = [unit for unit in _paragraphs(unmark(markdown)) if not question or fold(question) not in unit]
    repeats = []
    for index, unit in enumerate(units):
        # A link list item ("Paper: <url>") repeats when a model and its paper share a link; that is not prose.
        if len(_URL_IN_TEXT.sub("", unit)) < REPEAT_MIN_CHARS:
            continue
        earlier = units[:index]
        if unit in earlier or any(unit in other for other in units if other is not unit and len(other) > len(unit)):
            repeats.append(unit)
    repeats += _repeated_sentences(units, question, repeats)
    return repeats


def _repeated_sentences(units: list[str], question: str, already: list[str]) -> list[str]:
    """Sentences of at least REPEAT_SENTENCE_MIN_CHARS characters said again anywhere in the answer, whatever the
    paragraph, bullet or lead-in around them; sentences of the question and of paragraphs already counted are not
    counted again."""
    folded_question = fold(question)
    seen: set[str] = set()
    found = []
    for unit in units:
        if unit in already:
            continue
        for sentence in _SENTENCE_SPLIT.split(unit):
            sentence = sentence.strip()
            # Lead-ins peel off one by one ("“…?” — What is known of X [S1]: …"); one may be the sentence's own clause
            # ("… in two ways: …"), so every reading is compared.
            peeled = [sentence]
            while len(peeled) < 4 and _LEAD_IN.match(peeled[-1]):
                peeled.append(_LEAD_IN.sub("", peeled[-1], count=1).strip())
            readings = {reading for reading in peeled
                        if len(_URL_IN_TEXT.sub("", reading)) >= REPEAT_SENTENCE_MIN_CHARS
                        and not (folded_question and reading in folded_question)}
            if readings & seen:
                found.append(sentence)
            seen |= readings
    return found


def _paragraphs(markdown: str) -> list[str]:
    """Blank-line separated blocks, split further into list items, without list markers; folded."""
    units = []
    for block in re.split(r"\n\s*\n", markdown):
        lines = block.strip().split("\n")
        items: list[str] = []
        for line in lines:
            if _LIST_MARKER.match(line) or not items:
                items.append(line)
            else:
                items[-1] += " " + line
        for item in items:
            # A bold lead-in ("**S2 · FeatSharp**", "**Model.**") stays: it is the subject of what follows.
            text = _LIST_MARKER.sub("", item).strip()
            if text and not text.startswith(("#", "|", "---")):
                units.append(fold(text))
    return units
