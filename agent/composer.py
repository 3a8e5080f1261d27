"""The offline answer: deterministic, no language model; every sentence rendered from a template and verified."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.answer import GroundedAnswer, Reference, Restoration, Statement, WorkflowStep
from agent.coverage import AspectCoverage, find_aspects, plan_coverage
from agent.grounding import apply_verdict, find_violations_in_text
from agent.prompting import render_sentence
from agent.ranking import Ranker, make_ranker
from agent.subquestions import SubQuestionContext, answer_sub_questions
from agent.summaries import best_sentence, describing_sentences
from agent.understanding import Understanding, needs_context, understand
from knowledge.bundle import QuestionBundle
from knowledge.catalog import SourceProfile, paper_twins, profile_bundle

#: Languages the answer templates are written in; a question in another language is answered in English.
ANSWER_LANGUAGES = ("en",)


@dataclass
class _Analysis:
    """Everything the statements are built from: the sources, how they rank, and what the question asks."""

    bundle: QuestionBundle
    profiles: list[SourceProfile]
    scores: dict[str, float]
    plan: list[AspectCoverage]
    outside_names: int
    mode: str
    #: related papers that are a recommended model's own paper (the bundle gives both the same link)
    twins: dict[str, SourceProfile]
    understanding: Understanding
    ranker: Ranker

    @property
    def primary(self) -> SourceProfile:
        """The source the workflow runs: the relevant one, else (off-topic) the first supplied."""
        return self.understanding.primary or self.profiles[0]

    @property
    def recommended(self) -> list[SourceProfile]:
        """The recommended models that bear on the question, the primary first (all of them when none does)."""
        relevant = [profile for profile in self.understanding.relevant if profile.source.role == "recommended"]
        return relevant if self.understanding.primary is not None and relevant else (
            [self.primary] if self.understanding.primary is not None else [])

    @property
    def unrelated_recommended(self) -> list[SourceProfile]:
        """Recommended models that do not bear on the question."""
        relevant = {profile.id for profile in self.understanding.relevant}
        return [profile for profile in self.profiles
                if profile.source.role == "recommended" and profile.id not in relevant]

    @property
    def all_ids(self) -> list[str]:
        return [profile.id for profile in self.profiles]

    def covered_by(self, profile: SourceProfile) -> list[AspectCoverage]:
        return [coverage for coverage in self.plan if any(c.profile is profile for c in coverage.covers)]

    def paper_of(self, profile: SourceProfile) -> SourceProfile | None:
        """The related paper with a summary that is ``profile``'s own paper, if the bundle supplies one."""
        return next((other for other in self.profiles if self.twins.get(other.id) is profile
                     and other.source.summary), None)

    def uncovered(self) -> list[AspectCoverage]:
        return [coverage for coverage in self.plan if not coverage.covered]


def compose_offline(
    bundle: QuestionBundle,
    restoration: Restoration | None = None,
    *,
    image: Path | None = None,
    ranker: Ranker | None = None,
) -> GroundedAnswer:
    """Answer ``bundle`` from its sources alone, deterministically, and run the grounding verifier.

    Args:
        restoration: what the restoration tool really did; the workflow reports it, and nothing else is claimed.
        image: the user's image when one was given, so an image that was not restored is said to be so.
        ranker: how sources are ranked against the question (default: make_ranker(), from $CNAPS_RANKER).
    """
    analysis = analyse(bundle, ranker or make_ranker())
    understanding = analysis.understanding
    off_topic = understanding.off_topic
    language = understanding.language
    context = SubQuestionContext(bundle, understanding, analysis.profiles, analysis.ranker, analysis.twins)
    sub_questions = answer_sub_questions(context)
    explanation = [] if off_topic else _not_said_again(_unique(_explanation(analysis, restoration)), sub_questions)
    answer = GroundedAnswer(
        question=bundle.question,
        language=language,
        answer_language=language if language in ANSWER_LANGUAGES else "en",
        off_topic=off_topic,
        task_name=understanding.task.label if understanding.task is not None else None,
        primary_source_id=understanding.primary.id if understanding.primary is not None else None,
        task=_task(analysis),
        explanation=explanation,
        workflow=[] if off_topic else _workflow(analysis, restoration, image),
        references=_references(analysis),
        limitations=_unique(_limitations(analysis, restoration, image)),
        sub_questions=sub_questions,
        uncovered_aspects=_uncovered_aspects(analysis),
        restoration=restoration,
        backend="offline",
    )
    return apply_verdict(answer, bundle)


def analyse(bundle: QuestionBundle, ranker: Ranker | None = None) -> _Analysis:
    """How the question reads against the bundle: the sources, the tasks asked, which sources bear on it."""
    ranker = ranker or make_ranker()
    matches = find_aspects(bundle.question)
    profiles = profile_bundle(bundle, wanted={task for match in matches for task in match.aspect.needs})
    documents = [_ranking_text(profile) for profile in profiles]
    scores = dict(zip((profile.id for profile in profiles), ranker.scores(bundle.question, documents)))
    understanding = understand(bundle.question, profiles, matches, ranker, scores)
    if bundle.previous_question.strip() and needs_context(bundle.question, understanding):
        understanding = _with_context(bundle, understanding, ranker)
        profiles = profile_bundle(bundle, wanted={item.task.id for item in understanding.asked})
        scores = dict(zip((profile.id for profile in profiles),
                          ranker.scores(bundle.question, [_ranking_text(profile) for profile in profiles])))
    if understanding.primary is not None:
        profiles = [understanding.primary if profile.id == understanding.primary.id else profile
                    for profile in profiles]
    relevant = {profile.id for profile in understanding.relevant}
    plan = plan_coverage(matches, profiles)
    # A question asking for something outside imaging ("a poem about a blurry sunset") uses image words as its
    # topic: they are neither covered nor declared outside the sources.
    topic_only = bool(understanding.asked) and all(item.task.scope == "other" for item in understanding.asked)
    plan = [coverage for coverage in plan if not (topic_only and coverage.covers)]
    for coverage in plan:
        # Only a source that bears on the question explains part of it: a related deblurring paper's card does not
        # explain why a super-resolution model's result looks real.
        coverage.covers = [cover for cover in coverage.covers if cover.profile.id in relevant]
    outside = {violation.value for violation in find_violations_in_text(bundle.question, bundle)}
    if understanding.off_topic:
        mode = "off_topic"
    elif understanding.primary.source.role == "related":
        mode = "related"
    else:
        mode = "normal"
    return _Analysis(bundle, profiles, scores, plan, len(outside), mode, paper_twins(profiles), understanding, ranker)


def _with_context(bundle: QuestionBundle, alone: Understanding, ranker: Ranker) -> Understanding:
    """The reading of a follow-up together with the conversation's previous question (in the follow-up's language):
    "and how long does it take?" is about what the previous question asked."""
    from dataclasses import replace

    combined = f"{bundle.previous_question.strip()}\n{bundle.question}"
    matches = find_aspects(combined)
    profiles = profile_bundle(bundle, wanted={task for match in matches for task in match.aspect.needs})
    scores = dict(zip((profile.id for profile in profiles),
                      ranker.scores(combined, [_ranking_text(profile) for profile in profiles])))
    return replace(understand(combined, profiles, matches, ranker, scores), language=alone.language)


def _unique(statements: list[Statement]) -> list[Statement]:
    """Each statement once: a fact said twice reads as padding."""
    seen: set[str] = set()
    kept = []
    for statement in statements:
        key = " ".join(statement.text.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(statement)
    return kept


#: A sentence of the explanation at least this long that a sub-answer already says is referred back to, not repeated.
SAID_SENTENCE_MIN_CHARS = 60
def _sentences_outside_quotes(text: str) -> list[str]:
    """``text`` split into sentences, never inside a “quotation” (a quote of several supplied sentences stays whole)."""
    sentences, start, depth = [], 0, 0
    for match in re.finditer(r"[\u201c\u201d]|(?<=[.!?])\s+(?=[A-Z\u201c\"(])", text):
        token = match.group(0)
        if token == "\u201c":
            depth += 1
        elif token == "\u201d":
            depth = max(0, depth - 1)
        elif depth == 0:
            sentences.append(text[start:match.start()])
            start = match.end()
    sentences.append(text[start:])
    return [sentence for sentence in sentences if sentence]


def _not_said_again(statements: list[Statement], sub_answers: list) -> list[Statement]:
    """The explanation without the sentences a sub-answer already says (each fact once): a statement that loses
    some ends with a line referring back to the answers to the user's questions; one left with nothing is dropped."""
    said = " ".join(" ".join(answer.text.split()) for answer in sub_answers)
    kept = []
    for statement in statements:
        sentences = _sentences_outside_quotes(" ".join(statement.text.split()))
        fresh = [sentence for sentence in sentences
                 if len(sentence) < SAID_SENTENCE_MIN_CHARS or sentence not in said]
        if len(fresh) == len(sentences):
            kept.append(statement)
        elif any(len(sentence) >= SAID_SENTENCE_MIN_CHARS for sentence in fresh) or len(fresh) > 1:
            text = " ".join([*fresh, render_sentence("answer_refer_back.j2")])
            kept.append(statement.model_copy(update={"text": text}))
    return kept


def _silent(analysis: _Analysis) -> SourceProfile | None:
    """The primary source when the bundle says nothing about what it does (only a name and links), else None."""
    primary = analysis.understanding.primary
    return primary if primary is not None and not primary.tasks and not primary.source.summary else None


def _uncovered_aspects(analysis: _Analysis) -> list[str]:
    """The question's own words for each part that no source bearing on it covers."""
    phrases = [phrase for coverage in analysis.uncovered() for phrase in coverage.match.phrases]
    # A part asked in words no cue list knows (another language, unusual phrasing) is quoted as its clause.
    phrases += [item.words for item in _unserved_uncued(analysis)]
    return list(dict.fromkeys(phrases))


def _unserved_uncued(analysis: _Analysis) -> list:
    """Tasks asked by meaning alone that no source bearing on the question serves, and no cue phrase declared."""
    cued = {task_id for coverage in analysis.plan for task_id in coverage.match.aspect.needs}
    # A clause whose cue phrases were already read says what it asks through them.
    return [item for item in analysis.understanding.unserved()
            if item.task.id not in cued and item.words and not find_aspects(item.words)]


def _ranking_text(profile: SourceProfile) -> str:
    parts = [profile.source.name, profile.source.summary or ""]
    if profile.card:
        parts.append(profile.card.serves)
    elif profile.task:
        parts.append(profile.task.definition)
    return ". ".join(part for part in parts if part)


def _task(analysis: _Analysis) -> Statement:
    primary = analysis.primary
    others = analysis.unrelated_recommended if analysis.mode == "related" else []
    text = render_sentence("answer_task.j2", mode=analysis.mode, primary=primary,
                           covered=analysis.covered_by(primary), uncovered=analysis.uncovered(),
                           catalog=analysis.profiles, others=others, silent=_silent(analysis) is not None)
    ids = analysis.all_ids if analysis.mode == "off_topic" else [primary.id, *(other.id for other in others)]
    return Statement(text=text, source_ids=ids)


def _explanation(analysis: _Analysis, restoration: Restoration | None = None) -> list[Statement]:
    realism_by_primary = any(c.match.aspect.id == "realism" for c in analysis.covered_by(analysis.primary))
    statements = []
    for profile in _explained(analysis):
        # Name-dependent facts (trained on real blur...) belong with realism when the question asks about it.
        extra = [] if profile is analysis.primary and realism_by_primary else _name_facts(profile, restoration)
        paper = None if profile.card or profile.source.summary else analysis.paper_of(profile)
        described_by = paper or profile
        text = render_sentence("answer_how.j2", profile=profile, extra=extra, paper=paper,
                               sentences=describing_sentences(described_by.source.summary or ""),
                               show_limits=profile is analysis.primary)
        statements.append(Statement(text=text, source_ids=[profile.id] + ([paper.id] if paper else [])))
    for coverage in analysis.plan:
        for cover in sorted(coverage.covers, key=lambda c: _order(analysis, c.profile)):
            extra = _name_facts(cover.profile, restoration) if coverage.match.aspect.id == "realism" else []
            summary = cover.profile.source.summary or ""
            sentence = best_sentence(summary, " ".join(coverage.match.phrases))
            described = cover.profile.source.role == "recommended" or cover.profile.id in analysis.twins
            if cover.fact is None and described and (not sentence or sentence in describing_sentences(summary)):
                continue  # its how-it-works statement already quoted everything the bundle says about it
            text = render_sentence("answer_aspect.j2", coverage=coverage, cover=cover, sentence=sentence, extra=extra)
            statements.append(Statement(text=text, source_ids=[cover.profile.id]))
    return statements


def _explained(analysis: _Analysis) -> list[SourceProfile]:
    """The sources "How it works" describes: the recommended models bearing on the question, else the primary."""
    return analysis.recommended if analysis.mode == "normal" else [analysis.primary]


def _name_facts(profile: SourceProfile, restoration: Restoration | None = None) -> list[str]:
    """The card's facts that hold for this source's name (e.g. weights trained on RealBlur); when other weights ran
    on the user's image, followed by which ones did, so the answer does not credit the run with that training."""
    facts = profile.card.facts_for_name(profile.source.name) if profile.card else []
    if facts and restoration is not None and not _ran_weights_of(profile, restoration):
        facts = [*facts, render_sentence("answer_weights_ran.j2", restoration=restoration)]
    return facts


def _ran_weights_of(profile: SourceProfile, restoration: Restoration) -> bool:
    """Whether the weights that ran are the ones ``profile``'s name refers to (its official preset)."""
    from tools.presets import preset_for_model_name, preset_named

    ran = preset_named(restoration.preset)
    return ran is not None and ran.name == preset_for_model_name(profile.source.name)


def _order(analysis: _Analysis, profile: SourceProfile) -> tuple[int, float, int]:
    """Recommended before related, then the better-ranked first, then document order."""
    return (profile.source.role != "recommended", -analysis.scores[profile.id], analysis.profiles.index(profile))


#: The model step names at most this many models, within WorkflowStep's text limit.
MAX_MODEL_STEPS = 4
MODEL_STEP_CHARS = 1200


def _workflow(analysis: _Analysis, restoration: Restoration | None, image: Path | None) -> list[WorkflowStep]:
    primary = analysis.primary
    image_name = image.name if image is not None else ""
    model_texts = [render_sentence("answer_workflow_model.j2", profile=primary, optional=False, serves=[],
                                   restoration=restoration)]
    model_ids = [primary.id]
    for profile in sorted(analysis.profiles, key=lambda p: _order(analysis, p)):
        serves = [c.match.aspect.action for c in analysis.covered_by(profile)]
        if profile is primary or not serves or analysis.mode == "off_topic" or profile.id in analysis.twins:
            continue  # a recommended model's own paper is not another step
        text = render_sentence("answer_workflow_model.j2", profile=profile, optional=True, serves=serves,
                               restoration=None)
        if len(model_ids) >= MAX_MODEL_STEPS or len(" ".join([*model_texts, text])) > MODEL_STEP_CHARS:
            break  # many similar models (a bundle of 200): the best-ranked few make the step; references list all
        model_texts.append(text)
        model_ids.append(profile.id)
    return [
        WorkflowStep(stage="input", source_ids=[primary.id], text=render_sentence(
            "answer_workflow_input.j2", profile=primary, restoration=restoration, image_name=image_name)),
        WorkflowStep(stage="model", source_ids=model_ids, text=" ".join(model_texts)),
        WorkflowStep(stage="output", source_ids=[primary.id], text=render_sentence(
            "answer_workflow_output.j2", profile=primary, restoration=restoration,
            output_name=Path(restoration.output_path).name if restoration else "")),
    ]


def _references(analysis: _Analysis) -> list[Reference]:
    references = []
    explained = {profile.id for profile in _explained(analysis)} if analysis.mode != "off_topic" else set()
    said_covers: set[tuple[str, ...]] = set()
    for profile in sorted(analysis.profiles, key=lambda p: (_order(analysis, p)[0], not analysis.covered_by(p),
                                                            *_order(analysis, p)[1:])):
        covers = [coverage.match.aspect.action for coverage in analysis.covered_by(profile)]
        # A gap of an uncovered aspect is said under the limitations; the reference does not say it again.
        gap = next((g.reason for c in analysis.plan if c.covered for g in c.gaps if g.profile is profile), "")
        relevance = render_sentence("answer_reference.j2", profile=profile, primary=profile is analysis.primary,
                                    covers=covers, gap=gap, paper_of=analysis.twins.get(profile.id),
                                    described=profile.id in explained, same_covers=tuple(covers) in said_covers,
                                    off_topic=analysis.mode == "off_topic",
                                    bears=any(other.id == profile.id for other in analysis.understanding.relevant))
        if covers and profile is not analysis.primary and profile.id not in analysis.twins:
            said_covers.add(tuple(covers))  # this reference said "it covers ..."
        # Name and links are copied from the bundle, never written.
        references.append(Reference(source_id=profile.id, name=profile.source.name, role=profile.source.role,
                                    links=profile.source.links.all(), relevance=relevance))
    return references


def _limitations(analysis: _Analysis, restoration: Restoration | None, image: Path | None) -> list[Statement]:
    statements = []
    said: set[str] = set()  # sources whose reason for not covering an aspect is already given: each fact once
    for coverage in analysis.uncovered():
        reasons = {gap.profile.id for gap in coverage.gaps}
        statements.append(Statement(text=render_sentence("answer_limitation_aspect.j2", coverage=coverage,
                                                         silent=_silent(analysis), said=sorted(said & reasons)),
                                    source_ids=coverage.source_ids() or analysis.all_ids))
        said |= reasons
    for item in _unserved_uncued(analysis):
        statements.append(Statement(text=render_sentence("answer_limitation_task.j2", words=item.words,
                                                         task=item.task), source_ids=analysis.all_ids))
    if analysis.outside_names:
        statements.append(Statement(text=render_sentence("answer_limitation_outside.j2", count=analysis.outside_names),
                                    source_ids=analysis.all_ids))
    if image is not None and restoration is None:
        from tools.presets import choose_preset

        primary = analysis.understanding.primary
        runnable = primary is not None and choose_preset(primary.source.name) is not None
        statements.append(Statement(
            text=render_sentence("answer_limitation_unrestored.j2", image_name=image.name, primary=primary,
                                 runnable=runnable),
            source_ids=[primary.id] if primary is not None else analysis.all_ids))
    return statements
