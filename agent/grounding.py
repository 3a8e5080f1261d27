"""The grounding verifier: any link, arXiv id, DOI, repository or model/paper name the bundle did not supply is a violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache

from agent.answer import GroundedAnswer, Violation
from knowledge.bundle import QuestionBundle
from knowledge.vocabulary import grounding_terms

_URL = re.compile(r"https?://[^\s<>\"'`)\]}]+", re.IGNORECASE)
_BARE_LINK = re.compile(
    r"(?<![\w@/.-])(?:www\.)?(?:[a-z0-9-]+\.)+(?:com|org|io|net|ai|dev|edu|gov|co|me|info|app)\b(?:/[^\s<>\"'`)\]}]*)?",
    re.IGNORECASE,
)
_GITHUB_REPO = re.compile(r"github\.com/([\w.-]+/[\w-]+(?:\.[\w-]+)*)", re.IGNORECASE)
# arXiv identifiers are YYMM.NNNNN; the month check keeps ordinary decimals such as 1234.5678 out.
_ARXIV = re.compile(r"(?<![\w.])(?:arxiv:\s*)?(\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?(?![\w.]*\w)", re.IGNORECASE)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
_PATH = re.compile(r"(?:~|\.{1,2})?(?:[/\\][^\s/\\]+)+")
# From the start of a run only, and bounded: "[\w.-]+" from every position of "a.a.a..." was quadratic (over 20 s).
_FILE_NAME = re.compile(r"(?<![\w.-])[\w.-]{1,255}\.(?:png|jpe?g|tiff?|bmp|webp|gif|safetensors|pt|pth|pkl|json|md|txt|ya?ml)\b", re.IGNORECASE)
# Cheap searches that say whether the costly patterns above can match at all; most answer texts hold none.
_TRIGGERS = {
    _BARE_LINK: re.compile(r"\.(?:com|org|io|net|ai|dev|edu|gov|co|me|info|app)\b", re.IGNORECASE),
    _FILE_NAME: re.compile(r"\.(?:png|jpe?g|tiff?|bmp|webp|gif|safetensors|pt|pth|pkl|json|md|txt|ya?ml)\b", re.IGNORECASE),
    _ARXIV: re.compile(r"\d{4}\.\d{4}"),
}
_TOKEN = re.compile(r"[A-Za-z][\w+]*(?:-[\w+]+)*")
# Only words with an inner capital or a hyphen can look like model names; the rest are skipped inside the regex.
_CANDIDATE = re.compile(r"(?<![\w+-])[A-Za-z][a-z0-9_+]*[A-Z][\w+]*(?:-[\w+]+)*|(?<![\w+-])[A-Za-z][\w+]*(?:-[\w+]+)+")
_WORD_RUN = re.compile(r"[\w+]+(?:-[\w+]+)*")
_CITATION = re.compile(r"\[(S\d+(?:\s*,\s*S\d+)*)\]")
_TRAILING = ".,;:!?'\""
_NAME_SUFFIXES = ("-based", "-like", "-style", "-type", "'s", "s")


def find_violations_in_text(text: str, bundle: QuestionBundle, where: str = "text") -> list[Violation]:
    """Every link, arXiv id, DOI, GitHub repository or model/paper name in ``text`` that ``bundle`` does not supply.

    Args:
        where: the part of the answer the text comes from, copied into each violation.
    """
    return _unique(_violations(text, _Allowed.of(bundle), where))


def _violations(text: str, allowed: _Allowed, where: str) -> list[Violation]:
    found: list[Violation] = []
    text = _check_links(text, allowed, where, found)
    for match in _DOI.finditer(text):
        doi = match.group(0).rstrip(_TRAILING)
        if doi.lower() not in allowed.text:
            found.append(Violation(kind="doi", value=doi, where=where))
    text = _DOI.sub(" ", text)
    for match in _matches(_ARXIV, text):
        if match.group(1) not in allowed.text:
            found.append(Violation(kind="arxiv", value=match.group(1), where=where))
    text = _blank(_FILE_NAME, _PATH.sub(" ", _blank(_ARXIV, text)))
    found += [Violation(kind="name", value=name, where=where)
              for name in _unsupplied_names(_without_question_quotes(text, allowed), allowed)]
    found += [Violation(kind="citation", value=ref, where=where)
              for ref in _cited_ids(text) if ref not in allowed.ids]
    return found


def verify_answer(answer: GroundedAnswer, bundle: QuestionBundle) -> list[Violation]:
    """Every violation in every part of ``answer`` (the user's own question is not checked), plus bad references."""
    allowed = _Allowed.of(bundle)
    found: list[Violation] = []
    for where, text, source_ids in _answer_parts(answer):
        found += _violations(text, allowed, where)
        found += [Violation(kind="citation", value=ref, where=where) for ref in source_ids if ref not in allowed.ids]
    for index, reference in enumerate(answer.references):
        found += _check_reference(reference, bundle, f"references[{index}]")
    return _unique(found)


def apply_verdict(answer: GroundedAnswer, bundle: QuestionBundle) -> GroundedAnswer:
    """A copy of ``answer`` with ``violations`` set by the verifier and ``grounded`` true only when there are none."""
    from agent.rendered_check import rendered_violations

    violations = verify_answer(answer, bundle)
    # The final rendered text too; what the parts already reported is not listed twice.
    seen = {(violation.kind, violation.value) for violation in violations}
    violations += [found for found in rendered_violations(answer, bundle) if (found.kind, found.value) not in seen]
    return answer.model_copy(update={"violations": _unique(violations), "grounded": not violations})


class _Allowed:
    """What one bundle supplies, normalised for look-ups."""

    def __init__(self, bundle: QuestionBundle) -> None:
        supplied = bundle.supplied_text()
        self.question = " ".join(bundle.question.lower().split())
        self.text = supplied.lower()
        self.ids = {source.id for source in bundle.sources}
        self.links = {_normal_link(link) for link in [*bundle.allowed_links(), *_URL.findall(supplied)]}
        self.repositories = {repo.lower().removesuffix(".git") for repo in _GITHUB_REPO.findall(supplied)}
        self.families = [token.lower() for token in set(_TOKEN.findall(supplied))
                         if len(token) >= 4 and _looks_like_name(token)]

    @staticmethod
    @lru_cache(maxsize=64)
    def _cached(bundle_json: str) -> _Allowed:
        return _Allowed(QuestionBundle.model_validate_json(bundle_json))

    @classmethod
    def of(cls, bundle: QuestionBundle) -> _Allowed:
        return cls._cached(bundle.model_dump_json())


_QUOTED = re.compile(r"“([^”]{1,200})”")


def _without_question_quotes(text: str, allowed: _Allowed) -> str:
    """``text`` without the user's own words quoted back to them (“LiDAR scans”): a word of the question, quoted as
    such, is not a name the answer introduces. Links in quotes were already checked."""
    if "“" not in text:
        return text
    return _QUOTED.sub(lambda match: " " if " ".join(match.group(1).lower().split()) in allowed.question
                       else match.group(0), text)


def _check_links(text: str, allowed: _Allowed, where: str, found: list[Violation]) -> str:
    """Record unsupplied links and return ``text`` with every link blanked out for the later checks."""
    for pattern in (_URL, _BARE_LINK):
        for match in _matches(pattern, text):
            link = match.group(0).rstrip(_TRAILING)
            if _normal_link(link) in allowed.links:
                continue
            repository = _GITHUB_REPO.search(link)
            if repository and repository.group(1).lower().removesuffix(".git") not in allowed.repositories:
                found.append(Violation(kind="github", value=repository.group(1), where=where))
            else:
                found.append(Violation(kind="url", value=link, where=where))
        text = _blank(pattern, text)
    return text


def _matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    trigger = _TRIGGERS.get(pattern)
    if trigger is not None and not trigger.search(text):
        return iter(())
    return pattern.finditer(text)


def _blank(pattern: re.Pattern[str], text: str) -> str:
    """``text`` with every match of ``pattern`` replaced by a space (skipped when its trigger finds nothing)."""
    trigger = _TRIGGERS.get(pattern)
    if trigger is not None and not trigger.search(text):
        return text
    return pattern.sub(" ", text)


def _normal_link(link: str) -> str:
    link = link.strip().rstrip(_TRAILING).lower()
    link = re.sub(r"^https?://", "", link)
    return link.removeprefix("www.").rstrip("/")


def _unsupplied_names(text: str, allowed: _Allowed) -> Iterator[str]:
    words = set(_WORD_RUN.findall(text))
    for name, first_word, pattern in _outside_names():
        # The set look-up rules out almost every name before any regex runs.
        if first_word in words and name.lower() not in allowed.text and pattern.search(text):
            yield name
    generic = _generic_terms()
    for match in _CANDIDATE.finditer(text):
        token = match.group(0)
        if _looks_like_name(token) and not _is_supplied(token, allowed, generic):
            yield token


@cache
def _outside_names() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    """Each watched outside name with its first word and a case-sensitive whole-word pattern."""
    return tuple((name, _WORD_RUN.findall(name)[0], re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])"))
                 for name in grounding_terms().outside_names)


@cache
def _generic_terms() -> frozenset[str]:
    return frozenset(term.lower() for term in grounding_terms().generic_terms)


def _looks_like_name(token: str) -> bool:
    """Mixed-case, digit-bearing or hyphenated capitalised words (SwinIR, GPT-4, PU-Ray); not plain acronyms."""
    if len(token) < 3:
        return False
    capitals = sum(char.isupper() for char in token)
    has_detail = any(char.islower() or char.isdigit() or char in "-+" for char in token)
    return capitals >= 2 and has_detail


def _is_supplied(token: str, allowed: _Allowed, generic: set[str]) -> bool:
    lowered = token.lower()
    candidates = {lowered, *(lowered.removesuffix(suffix) for suffix in _NAME_SUFFIXES if lowered.endswith(suffix))}
    if any(candidate in allowed.text or candidate in generic for candidate in candidates):
        return True
    # A variant of a supplied family (MIMO-UNet+ beside a supplied MIMO-UNet) names the same source.
    return any(lowered.startswith(family) for family in allowed.families)


def _cited_ids(text: str) -> Iterator[str]:
    for match in _CITATION.finditer(text):
        yield from (part.strip() for part in match.group(1).split(","))


def _answer_parts(answer: GroundedAnswer) -> Iterator[tuple[str, str, list[str]]]:
    yield "task", answer.task.text, answer.task.source_ids
    for index, statement in enumerate(answer.explanation):
        yield f"explanation[{index}]", statement.text, statement.source_ids
    for index, step in enumerate(answer.workflow):
        yield f"workflow[{index}]", step.text, step.source_ids
    for index, statement in enumerate(answer.limitations):
        yield f"limitations[{index}]", statement.text, statement.source_ids
    for index, reference in enumerate(answer.references):
        yield f"references[{index}].relevance", reference.relevance, []  # its id is checked with its links


def _check_reference(reference, bundle: QuestionBundle, where: str) -> list[Violation]:
    try:
        source = bundle.source(reference.source_id)
    except KeyError:
        return [Violation(kind="citation", value=reference.source_id, where=where)]
    found = []
    if reference.name != source.name:
        found.append(Violation(kind="name", value=reference.name, where=f"{where}.name"))
    supplied = {_normal_link(link) for link in source.links.all()}
    found += [Violation(kind="url", value=link, where=f"{where}.links")
              for link in reference.links if _normal_link(link) not in supplied]
    return found


def _unique(violations: list[Violation]) -> list[Violation]:
    seen: dict[tuple[str, str, str], Violation] = {}
    for violation in violations:
        seen.setdefault((violation.kind, violation.value, violation.where), violation)
    return list(seen.values())
