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


def make_agent_tools(bundle: QuestionBundle, out_dir: Path, with_restore: bool, device: str | None = None,
                     bf16: bool | None = None) -> list[BaseTool]:
    """The tools of one answer: read_source always, restore_image (on ``device``) when an image is attached."""
    tools = [make_read_source_tool(bundle)]
    if with_restore:
        from tools.langchain_tool import make_restore_tool

        tools.append(make_restore_tool(out_dir, device=device, bf16=bf16))
    return tools


def restoration_from_messages(messages: list[BaseMessage], image: Path | None) -> Restoration | None:
    """The Restoration of the last successful restore_image call on ``image`` whose output file exists, else None.

    Built from the tool's own JSON result and the arguments it really ran with, never from the model's prose;
    a call on any other file than the user's image is not the user's restoration.
    """
    from langchain_core.messages import AIMessage, ToolMessage

    arguments = {call["id"]: call["args"] for m in messages if isinstance(m, AIMessage) for call in m.tool_calls}
    for message in reversed(messages):
        if isinstance(message, ToolMessage) and message.name == RESTORE_IMAGE and message.status != "error":
            restoration = _restoration_from_result(message.content, arguments.get(message.tool_call_id, {}))
            if restoration is not None and _same_file(restoration.input_path, image) and Path(
                restoration.output_path
            ).is_file():
                return restoration
    return None


def _same_file(path: str, image: Path | None) -> bool:
    return image is not None and bool(path) and Path(path).resolve() == Path(image).resolve()


def _restoration_from_result(content: Any, arguments: dict[str, Any]) -> Restoration | None:
    import json

    from pydantic import ValidationError

    try:
        result = json.loads(content) if isinstance(content, str) else content
        return Restoration.model_validate({**result, "input_path": str(arguments.get("image_path", ""))})
    except (json.JSONDecodeError, TypeError, ValidationError):
        return None
