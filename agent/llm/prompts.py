"""Every text the agent sends to a model, rendered from the `prompts/agent_*.j2` templates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.answer import Restoration
from agent.llm.enforce import Problem
from knowledge.bundle import QuestionBundle, Source


def _source_view(source: Source, *, full: bool = False) -> dict[str, Any]:
    """A source as the templates see it; ``full`` adds the card's per-aspect notes (what read_source returns)."""
    from knowledge.cards import card_for

    card = card_for(source)
    view: dict[str, Any] = {
        "id": source.id, "role": source.role, "name": source.name, "summary": source.summary or "", "card": None,
    }
    if card is not None:
        view["card"] = {
            "serves": card.serves, "how": card.how, "inputs": card.inputs, "outputs": card.outputs,
            "does_not": card.does_not, "facts": card.facts_for_name(source.name),
            "addresses": card.addresses if full else {}, "gaps": card.gaps if full else {},
        }
    return view


def _render(name: str, **variables: Any) -> str:
    from agent.prompting import render_template

    return render_template(name, **variables).strip()


def render_system_prompt(bundle: QuestionBundle, *, mode: str, tools: list[str]) -> str:
    """The system prompt: the rules, and only the bundle's sources, each with its id and card."""
    return _render(
        "agent_system.j2", sources=[_source_view(source) for source in bundle.sources], mode=mode, tools=tools
    )


def render_question_prompt(
    bundle: QuestionBundle,
    *,
    image: Path | None,
    restoration: Restoration | None,
    tools: Sequence[str] = (),
) -> str:
    """The user turn: the question, the attached image, and what the restoration really did (or how to run it).

    Args:
        tools: the tools the model is offered (tool-loop mode); restore_image among them asks the model to use it.
    """
    return _render(
        "agent_question.j2",
        question=bundle.question,
        image=str(image) if image is not None else "",
        restoration=restoration.model_dump(mode="json") if restoration is not None else None,
        can_restore="restore_image" in tools,
    )


def render_repair_prompt(previous: str, problems: list[Problem], error: str | None) -> str:
    """The one repair turn: the previous answer and every problem found in it, part by part."""
    return _render(
        "agent_repair.j2",
        previous=previous,
        problems=[{"part": p.part, "kind": p.kind, "value": p.value} for p in problems],
        error=error or "",
    )


def render_source_card(source: Source) -> str:
    """What ``read_source(id)`` returns: one supplied source's card."""
    return _render("agent_source.j2", source=_source_view(source, full=True), full=True)


def render_tool_description(tool_name: str) -> str:
    """The description a model reads for one of the agent's own tools."""
    return _render(f"agent_tool_{tool_name}.j2")
