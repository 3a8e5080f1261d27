"""What a language model is allowed to write: a bounded draft that code turns into a GroundedAnswer.

The model never writes names or links of sources: references are built from the bundle, and the model
only adds a short relevance note per source id. Every string and list is bounded because a
grammar-constrained small model otherwise keeps writing until max_tokens.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, Field

from agent.answer import GroundedAnswer, Reference, Restoration, Statement, WorkflowStep
from knowledge.bundle import QuestionBundle


class DraftStatement(BaseModel):
    """One sentence and the ids of the supplied sources it rests on."""

    text: str = Field(min_length=1, max_length=400)
    source_ids: list[str] = Field(default_factory=list, max_length=4)


class DraftReferenceNote(BaseModel):
    """Why one supplied source matters to this question."""

    source_id: str = Field(max_length=4)
    relevance: str = Field(min_length=1, max_length=300)


class AnswerDraft(BaseModel):
    """The model's structured answer: task, explanation, the input -> model -> output workflow, notes, limitations."""

    task: DraftStatement
    explanation: list[DraftStatement] = Field(default_factory=list, max_length=3)
    workflow_input: DraftStatement
    workflow_model: DraftStatement
    workflow_output: DraftStatement
    reference_notes: list[DraftReferenceNote] = Field(default_factory=list, max_length=8)
    limitations: list[DraftStatement] = Field(default_factory=list, max_length=2)


def draft_json_schema(bundle: QuestionBundle) -> dict[str, Any]:
    """The draft's JSON schema with every source-id field restricted to the bundle's ids.

    Sent to grammar-constrained servers, so even a tiny model can only cite ids that exist.
    """
    schema = copy.deepcopy(AnswerDraft.model_json_schema())
    ids = [source.id for source in bundle.sources]
    definitions = schema.get("$defs", {})
    definitions["DraftStatement"]["properties"]["source_ids"]["items"] = {"type": "string", "enum": ids}
    definitions["DraftReferenceNote"]["properties"]["source_id"] = {"type": "string", "enum": ids}
    return schema


def _statement(draft: DraftStatement) -> Statement:
    return Statement(text=draft.text.strip(), source_ids=list(dict.fromkeys(draft.source_ids)))


def references_from_bundle(bundle: QuestionBundle, notes: list[DraftReferenceNote]) -> list[Reference]:
    """Every supplied source as a Reference whose name and links are copied from the bundle; notes add relevance."""
    relevance = {note.source_id: note.relevance.strip() for note in notes}
    return [
        Reference(
            source_id=source.id,
            name=source.name,
            role=source.role,
            links=source.links.all(),
            relevance=relevance.get(source.id, ""),
        )
        for source in bundle.sources
    ]


def answer_from_draft(
    draft: AnswerDraft, bundle: QuestionBundle, *, backend: str, restoration: Restoration | None
) -> GroundedAnswer:
    """The GroundedAnswer a draft describes, with references and restoration attached by code (not yet verified)."""
    steps = (("input", draft.workflow_input), ("model", draft.workflow_model), ("output", draft.workflow_output))
    return GroundedAnswer(
        question=bundle.question,
        task=_statement(draft.task),
        explanation=[_statement(item) for item in draft.explanation],
        workflow=[
            WorkflowStep(stage=stage, text=step.text.strip(), source_ids=_statement(step).source_ids)
            for stage, step in steps
        ],
        references=references_from_bundle(bundle, draft.reference_notes),
        limitations=[_statement(item) for item in draft.limitations],
        restoration=restoration,
        backend=backend,
    )
