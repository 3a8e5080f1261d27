"""Splitting a question into what it asks (how, which, in what order, how much, will it ...) and answering each
part from supplied sentences, with citations, or saying that the supplied sources do not say."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.answer import SubAnswer
from agent.coverage import find_aspects
from agent.prompting import render_sentence
from agent.quantities import Quantity, find_quantities, unit_asked
from agent.ranking import Ranker
from agent.summaries import split_sentences
from agent.understanding import Understanding
from knowledge.bundle import QuestionBundle
from knowledge.catalog import SourceProfile

MAX_SUB_QUESTIONS = 6
_SENTENCE_END = re.compile(r"(?<=[?？!！。])\s*|(?<=[^\d\s][.])\s+")
# "..., and which one should I use?": a second question joined to the first.
_JOINED = re.compile(r"(?:,\s*|\s+)(?:and|or|y|o|et|ou|und|oder|e)\s+(?=(?:how|which|what|why|will|would|can|could|"
                     r"does|do|is|should|in what|c[oó]mo|cu[aá]l|qu[eé]|por qu[eé]|comment|quel|pourquoi|wie|welche|"
                     r"warum|was|qual|por que)\b)", re.IGNORECASE)
_KINDS = (
    ("how_much", r"\bhow (?:much|many|big|fast|long)\b|\bby how\b|cu[aá]nt[oa]s?|combien|wie (?:viel|stark|gro(?:ß|ss)|"
                 r"schnell)|\bquant[oa]s?\b|多少|几|どのくらい|どれくらい|どれだけ|\bdB\b|percent|%"),
    ("order", r"\b(?:what|which) order\b|\bin order\b.*\b(?:run|apply|use)|\bfirst\b.*\bor\b|before or after|\borden\b|"
              r"\bordre\b|reihenfolge|\bordem\b|顺序|先后|順番|順序"),
    ("why", r"\bwhy\b|por ?qu[eé]\b|pourquoi|warum|wieso|perch[eé]|为什么|为何|なぜ|どうして"),
    ("which", r"\bwhich\b|\bwhat (?:model|method|tool|network|paper|one)s?\b|cu[aá]l(?:es)?\b|qu[eé] modelo|\bquel(?:le)?s?\b|"
              r"welche[rsnm]?\b|\bqua(?:l|is)\b|哪|どの|どれ"),
    ("will", r"^\s*(?:will|would|can|could|does|do|is|are|should|won't|wouldn't)\s+(?:it|this|that|the|they|my|these|"
             r"i|we|you)\b"),
    ("how", r"\bhow\b|c[oó]mo\b|\bcomment\b|\bwie\b|如何|怎么|怎样|怎麼|どうやって|どう(?:すれば|したら)|方法"),
    ("will", r"\b(?:will|would) (?:it|this|that|the)\b|\bva a\b|podr[aá]|\bpuede\b|est-ce que|va-t-il|peut-il|\bwird\b|"
             r"\bkann\b|\bvai\b|\bpode\b|会不会|能不能|吗|嗎|ますか|でしょうか"),
    ("what", r"\bwhat\b|\bqu[eé]\b|\bquoi\b|\bwas\b|o que|什么|什麼|何"),
)
_KIND_PATTERNS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KINDS)
_QUESTION_MARK = re.compile(r"[?？]\s*$|[吗嗎か]\s*[。.]?$")
_ORDER_WORDS = re.compile(r"\b(?:first|then|before|after|followed by|prior to|subsequently)\b", re.IGNORECASE)


def split_question(question: str) -> list[tuple[str, str]]:
    """The parts of ``question`` that ask something, each with its kind (how, which, order, how_much, will, why,
    what, other); a question with no asking sentence is one part."""
    sentences = [part.strip() for part in _SENTENCE_END.split(question.strip()) if part and part.strip()]
    asking = [sentence for sentence in sentences if _QUESTION_MARK.search(sentence) or _kind(sentence) != "other"]
    parts = [piece.strip(" ,;") for sentence in asking for piece in _JOINED.split(sentence) if piece.strip(" ,;")]
    if not parts:
        parts = [sentences[-1] if sentences else question.strip()]
    return [(part, _kind(part)) for part in parts[:MAX_SUB_QUESTIONS]]


def _kind(text: str) -> str:
    return next((kind for kind, pattern in _KIND_PATTERNS if pattern.search(text)), "other")


@dataclass(frozen=True)
class _Sentence:
    """A supplied sentence (or card fact) and the id of the source it comes from."""

    text: str
    source_id: str


@dataclass
class SubQuestionContext:
    """What the sub-answers are drawn from."""

    bundle: QuestionBundle
    understanding: Understanding
    profiles: list[SourceProfile]
    ranker: Ranker
    #: related papers that are a recommended model's own paper: related id -> model profile
    twins: dict[str, SourceProfile]


def answer_sub_questions(context: SubQuestionContext) -> list[SubAnswer]:
    """Each part of the question, answered from supplied sentences with citations, or declined."""
    return [_answer(part, kind, context) for part, kind in split_question(context.bundle.question)]


def _answer(part: str, kind: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    if understanding.off_topic:
        return _declined(part, kind, "off_topic", [])
    if kind == "how_much":
        return _how_much(part, context)
    if kind == "which":
        return _which(part, context)
    if kind == "order":
        return _order(part, context)
    if kind == "will":
        return _will(part, context)
    primary = understanding.primary
    pool = _sentences(context, [primary, *_twin_papers(primary, context)]) if kind in ("how", "why") else \
        _sentences(context, understanding.relevant)
    best = _best(part, pool, context.ranker)
    if best is not None and (kind in ("how", "why") or best[1] >= context.ranker.sentence_floor):
        return _answered(part, kind, "quote", [best[0].source_id], sentence=best[0].text, profile=primary)
    if kind in ("what", "other"):
        return _answered(part, kind, "task", [primary.id], profile=primary, task=understanding.task)
    return _declined(part, kind, kind, [primary.id], profile=primary)


def _which(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    serving = [profile for profile in understanding.relevant
               if profile.source.role == "recommended" and profile.id not in context.twins]
    chosen = serving or [understanding.primary]
    return _answered(part, "which", "which", [profile.id for profile in chosen], profiles=chosen,
                     task=understanding.task)


def _order(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    pool = [sentence for sentence in _sentences(context, understanding.relevant) if _ORDER_WORDS.search(sentence.text)]
    best = _best(part, pool, context.ranker)
    if best is not None and best[1] >= context.ranker.sentence_floor:
        return _answered(part, "order", "quote", [best[0].source_id], sentence=best[0].text,
                         profile=understanding.primary)
    steps = [profile for profile in understanding.relevant if profile.id not in context.twins]
    return _declined(part, "order", "order", [profile.id for profile in steps], profiles=steps)


def _will(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    primary = understanding.primary
    needing = [match for match in find_aspects(part) if match.aspect.needs]
    if needing:
        match = needing[0]
        covering = [profile for profile in understanding.relevant
                    if any(task.id in match.aspect.needs for task in profile.tasks)]
        if not covering:
            # Nothing supplied says so: the sources are silent, which is not the same as saying it cannot.
            return _declined(part, "will", "will_action", [primary.id], profile=primary, action=match.aspect.action)
        best = _best(part, _sentences(context, covering), context.ranker)
        cover = covering[0]
        task = next(task for task in cover.tasks if task.id in match.aspect.needs)
        return _answered(part, "will", "will_yes", [cover.id], profile=cover, task=task, action=match.aspect.action,
                         sentence=best[0].text if best else "")
    best = _best(part, _sentences(context, understanding.relevant), context.ranker)
    if best is not None and best[1] >= context.ranker.sentence_floor:
        return _answered(part, "will", "quote", [best[0].source_id], sentence=best[0].text, profile=primary)
    return _declined(part, "will", "will", [primary.id], profile=primary)


def _how_much(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    unit = unit_asked(part)
    named = [profile for profile in context.profiles if _named_in(part, profile)]
    outside = _outside_names(part, context.bundle)
    figures = {profile.id: find_quantities(profile.source.summary or "", unit) for profile in context.profiles}
    if len(named) + len(outside) >= 2:
        first, second = (named + [None, None])[:2]
        first_figure = figures[first.id][0] if first is not None and figures[first.id] else None
        second_figure = figures[second.id][0] if second is not None and figures[second.id] else None
        if first_figure and second_figure and first_figure.unit == second_figure.unit:
            difference = round(abs(first_figure.value - second_figure.value), 4)
            return _answered(part, "how_much", "difference", [first.id, second.id], first=first, second=second,
                             first_figure=first_figure, second_figure=second_figure, difference=difference)
        return _declined(part, "how_much", "difference_missing", [p.id for p in named], first=first, second=second,
                         first_figure=first_figure, second_figure=second_figure)
    pool = named or understanding.relevant
    quoted = [(profile, quantity) for profile in pool for quantity in figures[profile.id]]
    if quoted:
        sentences = [_Sentence(quantity.sentence, profile.id) for profile, quantity in quoted]
        best = _best(part, sentences, context.ranker)
        return _answered(part, "how_much", "figure", [best[0].source_id], sentence=best[0].text,
                         profile=understanding.primary)
    return _declined(part, "how_much", "figure_missing", [profile.id for profile in pool], profiles=pool)


def _named_in(part: str, profile: SourceProfile) -> bool:
    lowered = part.lower()
    names = {profile.name.lower(), profile.source.name.lower(), re.split(r"[_:(]", profile.source.name)[0].lower()}
    return any(len(name) >= 3 and re.search(rf"(?<![\w-]){re.escape(name.strip())}(?![\w-])", lowered)
               for name in names if name.strip())


def _outside_names(part: str, bundle: QuestionBundle) -> list[str]:
    from agent.grounding import find_violations_in_text

    return [violation.value for violation in find_violations_in_text(part, bundle) if violation.kind == "name"]


def _twin_papers(profile: SourceProfile, context: SubQuestionContext) -> list[SourceProfile]:
    return [other for other in context.profiles if context.twins.get(other.id) is profile]


def _sentences(context: SubQuestionContext, profiles: list[SourceProfile]) -> list[_Sentence]:
    """Every supplied sentence of ``profiles`` (their summaries) and their cards' facts, once each."""
    found: dict[str, _Sentence] = {}
    for profile in profiles:
        texts = split_sentences(profile.source.summary or "")
        if profile.card:
            texts += [*profile.card.how, *profile.card.addresses.values(),
                      *profile.card.facts_for_name(profile.source.name)]
        for text in texts:
            found.setdefault(" ".join(text.split()), _Sentence(" ".join(text.split()), profile.id))
    return list(found.values())


def _best(part: str, pool: list[_Sentence], ranker: Ranker) -> tuple[_Sentence, float] | None:
    if not pool:
        return None
    scores = ranker.matrix([part], [sentence.text for sentence in pool])[0]
    index = max(range(len(pool)), key=lambda i: (scores[i], -i))
    return pool[index], scores[index]


def _answered(part: str, kind: str, case: str, ids: list[str], **values) -> SubAnswer:
    return SubAnswer(question=part, kind=kind, status="answered", source_ids=list(dict.fromkeys(ids)),
                     text=_render(case, ids=ids, **values))


def _declined(part: str, kind: str, case: str, ids: list[str], **values) -> SubAnswer:
    return SubAnswer(question=part, kind=kind, status="not_given", source_ids=list(dict.fromkeys(ids)),
                     text=_render("declined_" + case, ids=ids, **values))


def _render(case: str, **values) -> str:
    defaults = {"profile": None, "profiles": [], "task": None, "sentence": "", "action": "", "first": None,
                "second": None, "first_figure": None, "second_figure": None, "difference": None}
    return render_sentence("answer_sub_question.j2", case=case, **(defaults | values))


__all__ = ["Quantity", "SubQuestionContext", "answer_sub_questions", "split_question"]
