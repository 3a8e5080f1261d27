"""Splitting a question into what it asks (how, which, in what order, how much, will it ...) and answering each
part from supplied sentences, with citations, or saying that the supplied sources do not say."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.answer import SubAnswer
from agent.coverage import find_aspects
from agent.prompting import render_sentence
from agent.quantities import Quantity, answers_unit, find_quantities, sentence_quantities, unit_asked
from agent.ranking import Ranker, content_words, overlap
from agent.summaries import describing_sentences, split_sentences
from agent.understanding import Understanding
from knowledge.bundle import QuestionBundle
from knowledge.catalog import SourceProfile

MAX_SUB_QUESTIONS = 6
_SENTENCE_END = re.compile(r"(?<=[?？!！。])\s*|(?<=[^\d\s][.])\s+")
# "..., and which one should I use?": a second question joined to the first.
# Bounded spaces and names (\s{1,20}, {0,60}): unbounded runs were quadratic on long hostile questions (1-2 s).
_JOINED = re.compile(r"(?:,\s{0,20}|\s{1,20})(?:and|or|y|o|et|ou|und|oder|e)\s+(?=(?:how|which|what|why|will|would|can|could|"
                     r"does|do|is|should|in what|by how|c[oó]mo|cu[aá]l|cu[aá]nt[oa]s?|qu[eé]|por qu[eé]|comment|quel|"
                     r"combien|pourquoi|faut-il|est-ce|peut-on|wie|welche|warum|was|um wie|muss|soll|kann|qual|quanto|"
                     r"por que|debo|devo|se puede|pode)\b)", re.IGNORECASE)
# "What is this for?", "what am I trying to do": a what-question the task statement answers.
_ASKS_TASK = re.compile(r"\b(?:task|do|does|doing|for|purpose|trying|use|useful)\b|任务|用途|タスク|tarea|sirve|t[âa]che|"
                        r"aufgabe|wof[üu]r|tarefa|serve", re.IGNORECASE)
_LETTER = re.compile(r"[^\W_]", re.UNICODE)
# A sentence asks something when it ends with a question mark or opens like a question or a request.
_ASKING_START = re.compile(r"^\s*(?:(?:also|and|so|ok|okay|but|plus|then|et|y|und|e|aussi|también|auch|também)[,\s]+)?"
                           r"(?:¿|how|what|which|why|when|where|who|will|would|can|could|does|do|is|are|should|"
                           r"explain|tell me|describe|help|c[oó]mo|qu[eé]|cu[aá]l|comment|quel|pourquoi|wie|was|welche|"
                           r"warum|como|qual|o que)\b", re.IGNORECASE)
_KINDS = (
    ("how_much", r"\bhow (?:much|many|big|large|fast|long|quick(?:ly)?)\b|\bby how\b|\bwhat size\b|quelle taille|"
                 r"qu[eé] tan (?:r[aá]pido|grande)|qu[eé] tama[ñn]o|que tamanho|qu[ãa]o (?:r[aá]pido|grande)|"
                 r"\b(?:à )?quelle vitesse|wie gro(?:ß|ss)|多大|多快|どのくらいの大きさ|どれくらい速|"
                 r"cu[aá]nt[oa]s?|combien|wie (?:viele?|stark|gro(?:ß|ss)|"
                 r"schnell|lange)|\bquant[oa]s?\b|多少|几|多久|どのくらい|どれくらい|どれだけ|何倍|何秒|\bdB\b|percent|%"),
    ("order", r"\b(?:what|which) order\b|\bin order\b.*\b(?:run|apply|use)|\bfirst\b.*\bor\b|before or after|\borden\b|"
              r"\bordre\b|reihenfolge|\bordem\b|顺序|先后|順番|順序|先.{0,8}还是|还是先|どちらを先|先に|d'abord|"
              r"\bprimero\b.*\bo\b|\bzuerst\b|\bprimeiro\b.*\bou\b"),
    ("why", r"\bwhy\b|por ?qu[eé]\b|pourquoi|warum|wieso|perch[eé]|为什么|为何|なぜ|どうして"),
    ("which", r"\bwhich\b|\bwhat (?:model|method|tool|network|paper|one)s?\b|cu[aá]l(?:es)?\b|qu[eé] modelo|\bquel(?:le)?s?\b|"
              r"welche[rsnm]?\b|\bqua(?:l|is)\b|哪|どの|どれ"),
    ("how", r"\bhow\b|c[oó]mo\b|\bcomment\b|\bwie\b|如何|怎么|怎样|怎麼|どうやって|どう(?:すれば|したら)|方法"),
    ("will", r"^\s*(?:(?:also|and|so|ok|okay|but|plus|then)[,\s]+)?(?:will|would|can|could|does|do|is|are|should|"
             r"won't|wouldn't)\b"),
    ("will", r"\b(?:will|would) (?:it|this|that|the)\b|\bva a\b|podr[aá]|\bpuede\b|est-ce que|va-t-il|peut-il|\bwird\b|"
             r"\bkann\b|\bvai\b|\bpode\b|会不会|能不能|吗|嗎|ますか|でしょうか"),
    ("what", r"\bwhat\b|\bqu[eé]\b|\bquoi\b|\bwas\b|o que|什么|什麼|何"),
)
_KIND_PATTERNS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KINDS)
_QUESTION_MARK = re.compile(r"[?？]\s*$|[吗嗎か]\s*[。.]?$")
_NAME_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9_+.-]*[A-Za-z0-9_+](?![A-Za-z0-9_-])")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_ORDER_WORDS = re.compile(r"\b(?:first|then|before|after|followed by|prior to|subsequently)\b", re.IGNORECASE)


def split_question(question: str) -> list[tuple[str, str]]:
    """The parts of ``question`` that ask something, each with its kind (how, which, order, how_much, will, why,
    what, other); a question with no asking sentence is one part."""
    sentences = [part.strip() for part in _SENTENCE_END.split(question.strip()) if part and _LETTER.search(part)]
    asking = [sentence for sentence in sentences if _QUESTION_MARK.search(sentence) or _ASKING_START.search(sentence)]
    parts = [piece.strip(" ,;") for sentence in asking for piece in _JOINED.split(sentence)
             if _LETTER.search(piece)]
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
    #: True for a sentence of the bundle (quoted as such), False for a fact of the project's card on the source
    supplied: bool = True


@dataclass
class SubQuestionContext:
    """What the sub-answers are drawn from."""

    bundle: QuestionBundle
    understanding: Understanding
    profiles: list[SourceProfile]
    ranker: Ranker
    #: related papers that are a recommended model's own paper: related id -> model profile
    twins: dict[str, SourceProfile]
    #: sentences an earlier part's answer already quotes: another part is answered with another one (each fact once)
    used: set[str] = field(default_factory=set)


def answer_sub_questions(context: SubQuestionContext) -> list[SubAnswer]:
    """Each part of the question, answered from supplied sentences with citations, or declined."""
    answers = []
    for part, kind in split_question(context.bundle.question):
        answer = _answer(part, kind, context)
        text = " ".join(answer.text.split())
        context.used |= {sentence.text for sentence in _sentences(context, context.profiles, fresh=False)
                         if len(sentence.text) >= USED_MIN_CHARS and sentence.text in text}
        answers.append(answer)
    return answers


#: A quoted sentence at least this long is not quoted again by a later part.
USED_MIN_CHARS = 60


def _answer(part: str, kind: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    if understanding.off_topic:
        return _declined(part, kind, "off_topic", [])
    unserved = _unserved_effect(part, kind, context)
    if unserved is not None:
        return unserved
    if kind == "how_much":
        return _how_much(part, context)
    if kind == "which":
        return _which(part, context)
    if kind == "order":
        return _order(part, context)
    if kind == "will":
        return _will(part, context)
    primary = understanding.primary
    if kind in ("how", "why"):
        pool, preferred = _mechanism(kind, context)
        best = _best(_query(part, context), pool, context.ranker, preferred)
    else:
        best = _best(_query(part, context), _sentences(context, understanding.relevant), context.ranker)
    if best is not None and (kind in ("how", "why") or best[1] >= context.ranker.sentence_floor):
        return _answered(part, kind, "quote", [best[0].source_id], sentence=best[0].text, profile=primary,
                         supplied=best[0].supplied)
    if kind == "other" or (kind == "what" and _ASKS_TASK.search(part)):
        return _answered(part, kind, "task", [primary.id], profile=primary, task=understanding.task)
    return _declined(part, kind, kind, [primary.id], profile=primary)


def _mechanism(kind: str, context: SubQuestionContext) -> tuple[list[_Sentence], set[str]]:
    """The sentences a how/why part is answered from (the primary's and its paper's), and those preferred: what the
    source does and how (contribution sentences, its card's mechanism) before what motivates it. A how-question is
    answered from the preferred ones alone when there are any."""
    primary = context.understanding.primary
    described = [primary, *_twin_papers(primary, context)]
    pool = _sentences(context, described)
    preferred = {" ".join(text.split()) for profile in described
                 for text in (*describing_sentences(profile.source.summary or ""),
                              *((*profile.card.how, *profile.card.addresses.values()) if profile.card else ()))}
    if kind == "how" and any(sentence.text in preferred for sentence in pool):
        pool = [sentence for sentence in pool if sentence.text in preferred]
    return pool, preferred


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
    best = _best([part], pool, context.ranker)
    if best is not None and best[1] >= context.ranker.sentence_floor:
        return _answered(part, "order", "quote", [best[0].source_id], sentence=best[0].text,
                         profile=understanding.primary, supplied=best[0].supplied)
    steps = [profile for profile in understanding.relevant if profile.id not in context.twins]
    return _declined(part, "order", "order", [profile.id for profile in steps], profiles=steps)


def _will(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    primary = understanding.primary
    supplied = context.bundle.supplied_text().lower()
    if any(name.lower() not in supplied for name in _model_names(part)):
        # "Should I use <a model the bundle does not supply>?": not for the sources to say; it is not named back.
        task = understanding.task
        return _declined(part, "will", "will_outside", [primary.id], profile=primary, task=task)
    wanted = _wanted_tasks(part, context)
    if wanted:
        task_ids, action = wanted
        covering = [profile for profile in understanding.relevant
                    if any(task.id in task_ids for task in profile.tasks)]
        covering.sort(key=lambda profile: profile is not primary)
        if not covering:
            # Nothing supplied says so: the sources are silent, which is not the same as saying it cannot.
            return _declined(part, "will", "will_action", [primary.id], profile=primary, action=action)
        cover = covering[0]
        best = _best(_query(part, context), _sentences(context, [cover, *_twin_papers(cover, context)]),
                     context.ranker)
        task = next(task for task in cover.tasks if task.id in task_ids)
        values = dict(profile=cover, primary=primary, task=task, action=action, sentence=best[0].text if best else "",
                      sentence_id=best[0].source_id if best else cover.id, supplied=best[0].supplied if best else True)
        if cover is primary:
            return _answered(part, "will", "will_yes", [cover.id, values["sentence_id"]], **values)
        # "Will it ...?" asks about the model the answer rests on: another source doing it is not a yes.
        return _declined(part, "will", "will_other", [primary.id, cover.id], **values)
    best = _best(_query(part, context), _sentences(context, understanding.relevant), context.ranker)
    if best is not None and best[1] >= context.ranker.sentence_floor:
        return _answered(part, "will", "quote", [best[0].source_id], sentence=best[0].text, profile=primary,
                         supplied=best[0].supplied)
    return _declined(part, "will", "will", [primary.id], profile=primary)


def _unserved_effect(part: str, kind: str, context: SubQuestionContext) -> SubAnswer | None:
    """A part asking for an effect ("does it also fix blurry faces?", "¿y quita las rayas de lluvia?") that no source
    bearing on the question serves, declined; None otherwise. A loosely related sentence does not answer it."""
    if kind not in ("other", "what", "how", "why"):
        return None  # will-questions weigh this themselves; numbers, order and which are about something else
    wanted = _wanted_tasks(part, context)
    understanding = context.understanding
    if wanted is None or (understanding.task is not None and understanding.task.id in wanted[0]):
        return None
    if any(task.id in wanted[0] for profile in understanding.relevant for task in profile.tasks):
        return None
    primary = understanding.primary
    return _declined(part, kind, "will_action", [primary.id], profile=primary, action=wanted[1])


def _wanted_tasks(part: str, context: SubQuestionContext) -> tuple[set[str], str] | None:
    """The task ids an effect asked about would need, and the effect in words: from the part's cue phrases, else
    from its meaning (another language), else None."""
    from agent.understanding import asked_tasks

    needing = [match for match in find_aspects(part) if match.aspect.needs]
    if needing:
        # "Can it remove both without knowing the noise level?": the effect the model answers for comes first.
        served = {task.id for task in context.understanding.primary.tasks}
        needing.sort(key=lambda match: not served & set(match.aspect.needs))
        return set(needing[0].aspect.needs), needing[0].aspect.action
    asked = asked_tasks(part, [], context.ranker) if context.ranker.multilingual else []
    if asked:
        return {asked[0].task.id}, asked[0].task.label
    return None


def _how_much(part: str, context: SubQuestionContext) -> SubAnswer:
    understanding = context.understanding
    unit = unit_asked(part)
    compared = _compared_names(part)
    if len(compared) == 2:
        figures = [_figure_for(name, part, context, unit) for name in compared]
        if all(figures) and figures[0][0].unit == figures[1][0].unit:
            (first, first_id), (second, second_id) = figures
            difference = round(abs(first.value - second.value), 4)
            return _answered(part, "how_much", "difference", [first_id, second_id], first_name=compared[0],
                             second_name=compared[1], first_figure=first, second_figure=second,
                             first_id=first_id, second_id=second_id, difference=difference)
        supplied = context.bundle.supplied_text().lower()
        # A name the bundle does not supply is not repeated: the verifier would rightly refuse it.
        names = [name if name.lower() in supplied else "" for name in compared]
        ids = [figure[1] for figure in figures if figure]
        return _declined(part, "how_much", "difference_missing", ids or [understanding.primary.id],
                         first_name=names[0], second_name=names[1],
                         first_figure=figures[0][0] if figures[0] else None, first_id=figures[0][1] if figures[0] else "",
                         second_figure=figures[1][0] if figures[1] else None,
                         second_id=figures[1][1] if figures[1] else "")
    named = [profile for profile in context.profiles if _named_in(part, profile)]
    # A named model's figures are often in its own paper's summary ("SAM" and "Segment Anything").
    named += [paper for profile in named for paper in _twin_papers(profile, context) if paper not in named]
    pool = named or understanding.relevant
    quoted = [_Sentence(quantity.sentence, profile.id) for profile in pool
              for quantity in find_quantities(profile.source.summary or "", unit)]
    best = _best(_query(part, context), list({item.text: item for item in quoted}.values()), context.ranker)
    # A figure in the unit asked answers; any other figure only when its sentence is about what is asked.
    if best is not None and (unit is not None or best[1] >= context.ranker.sentence_floor):
        return _answered(part, "how_much", "figure", [best[0].source_id], sentence=best[0].text,
                         profile=understanding.primary)
    return _declined(part, "how_much", "figure_missing", [profile.id for profile in pool], profiles=pool)


# "X than Y", "X vs Y", "X als Y", "X比Y": the two things a difference question compares.
_COMPARED = re.compile(r"([A-Za-z][\w+.-]{0,60}[\w+])\s*(?:than|vs\.?|versus|compared (?:to|with)|over|als|que|que el|"
                       r"que la|par rapport à|do que|比|和|与|より|と)\s*(?:the\s+|el\s+|la\s+|le\s+|o\s+)?"
                       r"([A-Za-z][\w+.-]{0,60}[\w+])", re.IGNORECASE)


def _compared_names(part: str) -> list[str]:
    """The two model names a number question compares, when it compares two ("How many dB better is X than Y")."""
    match = _COMPARED.search(part)
    if match and all(_model_names(name) or name[:1].isupper() for name in match.groups()):
        return [match.group(1), match.group(2)]
    names = list(dict.fromkeys(_model_names(part)))
    return names[:2] if len(names) >= 2 and re.search(r"\b(?:better|worse|more|less|faster|slower|than|besser|"
                                                       r"mejor|meilleur|melhor)\b|比|より", part, re.IGNORECASE) else []


def _figure_for(name: str, part: str, context: SubQuestionContext, unit: str | None) -> tuple[Quantity, str] | None:
    """The supplied figure for ``name``: the first one after it in a summary sentence that mentions it (the sentence
    sharing most words with the question first), with the id of the source whose summary says it."""
    mention = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w+]|-\w)", re.IGNORECASE)
    asked = content_words(part)
    candidates = []
    for profile in context.profiles:
        sentences = split_sentences(profile.source.summary or "")
        # The source is about it: its name says so, or its summary opens with it ("It reaches 32.66 dB" then counts).
        subject = bool(mention.search(profile.source.name) or (sentences and mention.search(sentences[0])))
        for sentence in sentences:
            found = mention.search(sentence)
            start = found.end() if found else (0 if subject else None)
            if start is None:
                continue
            after = [quantity for quantity in sentence_quantities(sentence)
                     if quantity.position >= start and answers_unit(quantity.unit, unit)]
            if after:
                candidates.append((not subject, -overlap(asked, content_words(sentence)),
                                   after[0].position - start, after[0], profile.id))
    if not candidates:
        return None
    best = min(candidates, key=lambda item: item[:3])
    return best[3], best[4]


def _named_in(part: str, profile: SourceProfile) -> bool:
    lowered = part.lower()
    names = {profile.name.lower(), profile.source.name.lower(), re.split(r"[_:(]", profile.source.name)[0].lower()}
    return any(len(name) >= 3 and re.search(rf"(?<![\w-]){re.escape(name.strip())}(?![\w-])", lowered)
               for name in names if name.strip())


def _model_names(part: str) -> list[str]:
    """Words of ``part`` shaped like model names (RealESRGAN_x4plus, ESRGAN, GPT-4): capitals with more capitals,
    digits, hyphens or underscores; not ordinary technical words (JPEG, RGB) nor short acronyms (HDR, ISO)."""
    from knowledge.vocabulary import grounding_terms

    generic = {term.lower() for term in grounding_terms().generic_terms}
    return [token for token in _NAME_TOKEN.findall(part)
            if (sum(char.isupper() for char in token) >= 2 or any(char.isdigit() for char in token))
            and token.lower() not in generic and not (token.isalpha() and token.isupper() and len(token) <= 5)]


def _twin_papers(profile: SourceProfile, context: SubQuestionContext) -> list[SourceProfile]:
    return [other for other in context.profiles if context.twins.get(other.id) is profile]


def _sentences(context: SubQuestionContext, profiles: list[SourceProfile], fresh: bool = True) -> list[_Sentence]:
    """Every supplied sentence of ``profiles`` (their summaries) and their cards' facts, once each; when ``fresh``,
    without those an earlier part already quotes (unless nothing else is left)."""
    found: dict[str, _Sentence] = {}
    for profile in profiles:
        texts = split_sentences(profile.source.summary or "")
        facts = [*profile.card.how, *profile.card.addresses.values(),
                 *profile.card.facts_for_name(profile.source.name)] if profile.card else []
        for text, supplied in [*((text, True) for text in texts), *((fact, False) for fact in facts)]:
            text = " ".join(text.split())
            found.setdefault(text, _Sentence(text, profile.id, supplied))
    sentences = list(found.values())
    unused = [sentence for sentence in sentences if sentence.text not in context.used]
    return unused if fresh and unused else sentences


def _query(part: str, context: SubQuestionContext) -> list[str]:
    """What a part is compared with sentences by: the part, and also the sentence before it and the part when it is
    short ("Can it be removed?" means little without what "it" is)."""
    if len(part.split()) >= 6 and not _CJK.search(part):
        return [part]
    question = context.bundle.question
    before = question[: question.find(part)] if part in question else ""
    previous = [sentence for sentence in _SENTENCE_END.split(before) if sentence.strip()]
    return [part, f"{previous[-1].strip()} {part}"] if previous else [part]


#: How much a sentence that says what a source does is preferred over one that only motivates it.
DESCRIBING_BONUS = 0.05


def _best(queries: list[str], pool: list[_Sentence], ranker: Ranker,
          preferred: set[str] = frozenset()) -> tuple[_Sentence, float] | None:
    """The sentence of ``pool`` closest to any of ``queries`` (the readings of one part), and its score."""
    if not pool:
        return None
    rows = ranker.matrix(queries, [sentence.text for sentence in pool])
    scores = [max(row[index] for row in rows) + (DESCRIBING_BONUS if sentence.text in preferred else 0.0)
              for index, sentence in enumerate(pool)]
    index = max(range(len(pool)), key=lambda i: (scores[i], -i))
    return pool[index], scores[index]


def _answered(part: str, kind: str, case: str, ids: list[str], **values) -> SubAnswer:
    return SubAnswer(question=part, kind=kind, status="answered", source_ids=list(dict.fromkeys(ids)),
                     text=_render(case, ids=ids, **values))


def _declined(part: str, kind: str, case: str, ids: list[str], **values) -> SubAnswer:
    return SubAnswer(question=part, kind=kind, status="not_given", source_ids=list(dict.fromkeys(ids)),
                     text=_render("declined_" + case, ids=ids, **values))


def _render(case: str, **values) -> str:
    defaults = {"profile": None, "profiles": [], "task": None, "sentence": "", "action": "", "first_name": "",
                "second_name": "", "first_figure": None, "second_figure": None, "first_id": "", "second_id": "",
                "difference": None, "primary": None, "sentence_id": "", "supplied": True}
    return render_sentence("answer_sub_question.j2", case=case, **(defaults | values))


__all__ = ["SubQuestionContext", "answer_sub_questions", "split_question"]
