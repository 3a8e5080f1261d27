"""The offline answer: deterministic, no language model; every sentence rendered from a template and verified."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.answer import GroundedAnswer, Reference, Restoration, Statement, WorkflowStep
from agent.coverage import AspectCoverage, find_aspects, plan_coverage
from agent.grounding import apply_verdict, find_violations_in_text
from agent.prompting import render_sentence
from agent.ranking import Ranker, make_ranker
from agent.summaries import best_sentence, describing_sentences
from knowledge.bundle import QuestionBundle
from knowledge.catalog import SourceProfile, paper_twins, profile_bundle


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

    @property
    def primary(self) -> SourceProfile:
        return self.recommended[0]

    @property
    def recommended(self) -> list[SourceProfile]:
        return [profile for profile in self.profiles if profile.source.role == "recommended"]

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
    analysis = _analyse(bundle, ranker or make_ranker())
    answer = GroundedAnswer(
        question=bundle.question,
        task=_task(analysis),
        explanation=_explanation(analysis),
        workflow=_workflow(analysis, restoration, image),
        references=_references(analysis),
        limitations=_limitations(analysis, restoration, image),
        restoration=restoration,
        backend="offline",
    )
    return apply_verdict(answer, bundle)


def _analyse(bundle: QuestionBundle, ranker: Ranker) -> _Analysis:
    matches = find_aspects(bundle.question)
    profiles = profile_bundle(bundle, wanted={task for match in matches for task in match.aspect.needs})
    documents = [_ranking_text(profile) for profile in profiles]
    scores = dict(zip((profile.id for profile in profiles), ranker.scores(bundle.question, documents)))
    plan = plan_coverage(matches, profiles)
    outside = {violation.value for violation in find_violations_in_text(bundle.question, bundle)}
    if not plan and max(scores.values(), default=0.0) < ranker.relevance_floor:
        mode = "off_topic"
    elif plan and not any(coverage.covered for coverage in plan) and any(c.match.aspect.needs for c in plan):
        mode = "mismatch"
    else:
        mode = "normal"
    return _Analysis(bundle, profiles, scores, plan, len(outside), mode, paper_twins(profiles))


def _ranking_text(profile: SourceProfile) -> str:
    parts = [profile.source.name, profile.source.summary or ""]
    if profile.card:
        parts.append(profile.card.serves)
    elif profile.task:
        parts.append(profile.task.definition)
    return ". ".join(part for part in parts if part)


def _task(analysis: _Analysis) -> Statement:
    primary = analysis.primary
    text = render_sentence("answer_task.j2", mode=analysis.mode, primary=primary,
                           covered=analysis.covered_by(primary), uncovered=analysis.uncovered(),
                           catalog=analysis.profiles)
    ids = analysis.all_ids if analysis.mode == "off_topic" else [primary.id]
    return Statement(text=text, source_ids=ids)


def _explanation(analysis: _Analysis) -> list[Statement]:
    realism_by_primary = any(c.match.aspect.id == "realism" for c in analysis.covered_by(analysis.primary))
    statements = []
    for profile in analysis.recommended:
        # Name-dependent facts (trained on real blur...) belong with realism when the question asks about it.
        extra = [] if profile is analysis.primary and realism_by_primary else _name_facts(profile)
        paper = None if profile.card or profile.source.summary else analysis.paper_of(profile)
        described_by = paper or profile
        text = render_sentence("answer_how.j2", profile=profile, extra=extra, paper=paper,
                               sentences=describing_sentences(described_by.source.summary or ""),
                               show_limits=profile is analysis.primary)
        statements.append(Statement(text=text, source_ids=[profile.id] + ([paper.id] if paper else [])))
    if analysis.mode == "off_topic":
        return statements
    for coverage in analysis.plan:
        for cover in sorted(coverage.covers, key=lambda c: _order(analysis, c.profile)):
            extra = _name_facts(cover.profile) if coverage.match.aspect.id == "realism" else []
            summary = cover.profile.source.summary or ""
            sentence = best_sentence(summary, " ".join(coverage.match.phrases))
            described = cover.profile.source.role == "recommended" or cover.profile.id in analysis.twins
            if cover.fact is None and described and (not sentence or sentence in describing_sentences(summary)):
                continue  # its how-it-works statement already quoted everything the bundle says about it
            text = render_sentence("answer_aspect.j2", coverage=coverage, cover=cover, sentence=sentence, extra=extra)
            statements.append(Statement(text=text, source_ids=[cover.profile.id]))
    return statements


def _name_facts(profile: SourceProfile) -> list[str]:
    return profile.card.facts_for_name(profile.source.name) if profile.card else []


def _order(analysis: _Analysis, profile: SourceProfile) -> tuple[int, float, int]:
    """Recommended before related, then the better-ranked first, then document order."""
    return (profile.source.role != "recommended", -analysis.scores[profile.id], analysis.profiles.index(profile))


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
        model_texts.append(render_sentence("answer_workflow_model.j2", profile=profile, optional=True,
                                           serves=serves, restoration=None))
        model_ids.append(profile.id)
    return [
        WorkflowStep(stage="input", source_ids=[primary.id], text=render_sentence(
            "answer_workflow_input.j2", profile=primary, restoration=restoration, image_name=image_name)),
        WorkflowStep(stage="model", source_ids=model_ids, text=" ".join(model_texts)),
        WorkflowStep(stage="output", source_ids=[primary.id], text=render_sentence(
            "answer_workflow_output.j2", profile=primary, restoration=restoration)),
    ]


def _references(analysis: _Analysis) -> list[Reference]:
    references = []
    for profile in sorted(analysis.profiles, key=lambda p: (_order(analysis, p)[0], not analysis.covered_by(p),
                                                            *_order(analysis, p)[1:])):
        covers = [coverage.match.aspect.action for coverage in analysis.covered_by(profile)]
        gap = next((g.reason for c in analysis.plan for g in c.gaps if g.profile is profile), "")
        relevance = render_sentence("answer_reference.j2", profile=profile, primary=profile is analysis.primary,
                                    covers=covers, gap=gap, paper_of=analysis.twins.get(profile.id))
        # Name and links are copied from the bundle, never written.
        references.append(Reference(source_id=profile.id, name=profile.source.name, role=profile.source.role,
                                    links=profile.source.links.all(), relevance=relevance))
    return references


def _limitations(analysis: _Analysis, restoration: Restoration | None, image: Path | None) -> list[Statement]:
    statements = []
    if analysis.mode == "off_topic":
        statements.append(Statement(text=render_sentence("answer_limitation_off_topic.j2"),
                                    source_ids=analysis.all_ids))
    for coverage in analysis.uncovered():
        statements.append(Statement(text=render_sentence("answer_limitation_aspect.j2", coverage=coverage),
                                    source_ids=coverage.source_ids() or analysis.all_ids))
    if analysis.outside_names:
        statements.append(Statement(text=render_sentence("answer_limitation_outside.j2", count=analysis.outside_names),
                                    source_ids=analysis.all_ids))
    if image is not None and restoration is None:
        statements.append(Statement(
            text=render_sentence("answer_limitation_unrestored.j2", image_name=image.name,
                                 profiles=analysis.recommended),
            source_ids=[profile.id for profile in analysis.recommended]))
    return statements
