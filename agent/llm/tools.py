"""The agent's tools: ``read_source(id)`` over the bundle's cards, plus the restoration tool, and reading what the tools did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, create_model

from agent.answer import Restoration
from knowledge.bundle import QuestionBundle

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.tools import BaseTool

READ_SOURCE = "read_source"
RESTORE_IMAGE = "restore_image"


def read_source_input(bundle: QuestionBundle) -> type[BaseModel]:
    """read_source's arguments: ``id``, restricted to the bundle's ids so a constrained model cannot invent one."""
    ids = tuple(source.id for source in bundle.sources)
    return create_model("ReadSourceInput", id=(Literal[ids], Field(description="a source id from the list")))


def make_read_source_tool(bundle: QuestionBundle) -> BaseTool:
    """A LangChain tool ``read_source(id)`` returning the card of one supplied source (an unknown id fails validation)."""
    from langchain_core.tools import StructuredTool

    from agent.llm.prompts import render_source_card, render_tool_description

    def read_source(id: str) -> str:  # noqa: A002  (the argument name the model sees)
        return render_source_card(bundle.source(id))

    return StructuredTool.from_function(
        read_source,
        name=READ_SOURCE,
        description=render_tool_description(READ_SOURCE),
        args_schema=read_source_input(bundle),
    )


def make_agent_tools(bundle: QuestionBundle, out_dir: Path, with_restore: bool) -> list[BaseTool]:
    """The tools of one answer: read_source always, restore_image when an image is attached."""
    tools = [make_read_source_tool(bundle)]
    if with_restore:
        from tools.langchain_tool import make_restore_tool

        tools.append(make_restore_tool(out_dir))
    return tools


def restoration_from_messages(messages: list[BaseMessage]) -> Restoration | None:
    """The Restoration of the last successful restore_image call whose output file exists, else None.

    Read from the tool's own result (its artifact or JSON content), never from anything the model wrote.
    """
    from langchain_core.messages import ToolMessage

    for message in reversed(messages):
        if isinstance(message, ToolMessage) and message.name == RESTORE_IMAGE and message.status != "error":
            restoration = _restoration_from_result(message.artifact if message.artifact is not None else message.content)
            if restoration is not None and Path(restoration.output_path).is_file():
                return restoration
    return None


def _restoration_from_result(result: Any) -> Restoration | None:
    import json

    from pydantic import ValidationError

    if isinstance(result, str):
        try:
            result = json.loads(result)
        except json.JSONDecodeError:
            return None
    if hasattr(result, "output_path") and not isinstance(result, dict):
        result = {name: getattr(result, name) for name in Restoration.model_fields if hasattr(result, name)}
    try:
        return Restoration.model_validate(_stringify_paths(result))
    except ValidationError:
        return None


def _stringify_paths(result: Any) -> Any:
    if not isinstance(result, dict):
        return result
    return {key: str(value) if isinstance(value, Path) else value for key, value in result.items()}
