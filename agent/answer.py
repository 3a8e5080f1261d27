"""The answer contract every backend fills: a grounded, three-part answer whose statements cite source ids."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field


class Statement(BaseModel):
    """One sentence or short paragraph of the answer and the ids of the supplied sources it rests on."""

    text: str = Field(min_length=1, max_length=2000)
    source_ids: list[str] = Field(default_factory=list, max_length=12)


class WorkflowStep(BaseModel):
    """One step of input -> model -> output."""

    stage: Literal["input", "model", "output"]
    text: str = Field(min_length=1, max_length=1200)
    source_ids: list[str] = Field(default_factory=list, max_length=12)


class Reference(BaseModel):
    """A supplied source as cited by the answer; name and links are copied from the bundle, never generated."""

    source_id: str
    name: str
    role: Literal["recommended", "related"]
    links: list[str] = Field(default_factory=list)
    relevance: str = Field(default="", max_length=1200)


class Restoration(BaseModel):
    """What the restoration tool really did; attached by code after the tool ran, never by a model."""

    input_path: str
    output_path: str
    preset: str
    seconds: float
    sharpness_before: float
    sharpness_after: float
    psnr: float | None = None
    ssim: float | None = None
    notes: list[str] = Field(default_factory=list)
    applied: bool = Field(default=True, description="True when the output file holds the network's result (restored, "
                                                   "or kept on request); False when the input was handed back "
                                                   "unchanged")
    verdict: Literal["improved", "not_improved", "not_blurred"] = Field(
        default="improved", description="what the acceptance check found: improved: clearly sharper, applied; "
                                        "not_improved: the output was not clearly better; not_blurred: the output "
                                        "was not clearly better and the photo does not look blurred")
    verdict_reason: str = Field(default="", description="the measurement behind the verdict")
    blur_before: float | None = Field(default=None, description="blur effect of the input, 0 sharp .. 1 blurred")
    blur_after: float | None = Field(default=None, description="blur effect of the network's output")

    # Derived from the fields above on every read, so no copy of a record can disagree with its own verdict; they
    # reach the API's answers and answer.json.
    @computed_field(description="restored: the network's output, accepted by the acceptance check; unchanged: the "
                                "photo handed back as it was; kept: the output handed back on request although the "
                                "check did not accept it")
    @property
    def outcome(self) -> Literal["restored", "unchanged", "kept"]:
        from agent.restoration_outcome import outcome_of

        return outcome_of(self)

    @computed_field(description="the outcome and its reason in one line, as every interface words it")
    @property
    def outcome_reason(self) -> str:
        from agent.restoration_outcome import outcome_line

        return outcome_line(self)

    @computed_field(description="what the weights that ran are and were trained on (empty for a weights file of "
                                "the user's)")
    @property
    def trained_on(self) -> str:
        from agent.restoration_outcome import trained_on

        return trained_on(self.preset)

    @computed_field(description="what would help when the photo was not restored: stronger weights, how to get "
                                "them and what they gain; empty when it was restored or official weights ran")
    @property
    def advice(self) -> str:
        from agent.restoration_outcome import full_strength_advice

        return full_strength_advice(self)

    @computed_field(description="the sharpness of the image handed back (the input's when unchanged)")
    @property
    def sharpness_handed_back(self) -> float:
        return self.sharpness_after if self.applied else self.sharpness_before


class Violation(BaseModel):
    """A grounding violation: something in the answer that the bundle did not supply."""

    kind: Literal["url", "arxiv", "doi", "github", "name", "citation", "markup"]
    value: str
    where: str


class SubAnswer(BaseModel):
    """One thing the question asks, and its answer from the supplied sentences, or that the sources do not say."""

    question: str
    kind: Literal["how", "which", "order", "how_much", "will", "why", "what", "other"]
    status: Literal["answered", "not_given"]
    text: str = Field(min_length=1, max_length=2000)
    source_ids: list[str] = Field(default_factory=list, max_length=12)


class GroundedAnswer(BaseModel):
    """The three-part answer: task, workflow, references; plus limitations and the grounding verdict.

    ``off_topic`` is true when no supplied source bears on the question; then ``task_name`` and
    ``primary_source_id`` are None and no tool ran. ``uncovered_aspects`` are the parts of the question no source
    covers, in the question's own words.
    """

    question: str
    language: str = "en"
    answer_language: str = "en"
    off_topic: bool = False
    task_name: str | None = None
    primary_source_id: str | None = None
    task: Statement
    explanation: list[Statement] = Field(default_factory=list)
    workflow: list[WorkflowStep]
    references: list[Reference]
    limitations: list[Statement] = Field(default_factory=list)
    sub_questions: list[SubAnswer] = Field(default_factory=list)
    uncovered_aspects: list[str] = Field(default_factory=list)
    restoration: Restoration | None = None
    backend: str = "offline"
    fallback_used: bool = False
    replaced_parts: list[str] = Field(default_factory=list)
    grounded: bool = False
    violations: list[Violation] = Field(default_factory=list)
