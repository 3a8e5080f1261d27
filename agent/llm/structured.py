"""One structured call: messages in, a validated AnswerDraft out, in the dialect the server understands."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from agent.llm.draft import AnswerDraft, draft_json_schema
from knowledge.bundle import QuestionBundle

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

StructuredMethod = Literal["json-object-schema", "json-schema", "function-calling"]
"""``json-object-schema``: llama.cpp's ``{"type": "json_object", "schema": ...}`` (its json_schema type fails
with HTTP 500); ``json-schema``: the standard OpenAI structured output (OpenAI, vLLM, Ollama);
``function-calling``: the draft as a forced tool call."""


DRAFT_TOOL = "AnswerDraft"


class DraftError(ValueError):
    """The model's output was not a valid draft; the message says why and goes into the repair round."""


def request_draft(
    model: BaseChatModel, messages: list[BaseMessage], bundle: QuestionBundle, method: StructuredMethod
) -> AnswerDraft:
    """Ask ``model`` for an AnswerDraft of ``bundle``; DraftError when what comes back does not validate."""
    schema = draft_json_schema(bundle)
    if method == "json-object-schema":
        reply = model.bind(response_format={"type": "json_object", "schema": schema}).invoke(messages)
        return parse_draft(reply.content)
    if method == "function-calling":
        tool = {"type": "function", "function": {"name": DRAFT_TOOL, "parameters": schema}}
        reply = model.bind_tools([tool], tool_choice=DRAFT_TOOL).invoke(messages)
        calls = [call for call in getattr(reply, "tool_calls", []) if call["name"] == DRAFT_TOOL]
        if not calls:
            raise DraftError(f"the answer did not come as a call of {DRAFT_TOOL}")
        return parse_draft(calls[0]["args"])
    runnable = model.with_structured_output({**schema, "title": DRAFT_TOOL}, method="json_schema", include_raw=True)
    result = runnable.invoke(messages)
    if result.get("parsing_error") is not None or result.get("parsed") is None:
        raise DraftError(f"the answer was not valid JSON for the schema: {result.get('parsing_error')}")
    return parse_draft(result["parsed"])


def parse_draft(content: Any) -> AnswerDraft:
    """An AnswerDraft from a model's JSON text (or already-parsed dict); DraftError naming the first problems."""
    try:
        data = json.loads(content) if isinstance(content, str) else content
        return AnswerDraft.model_validate(data)
    except json.JSONDecodeError as error:
        raise DraftError(f"the answer was not valid JSON ({error.msg} at character {error.pos})") from None
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])
        raise DraftError(f"the answer did not match the schema: {details}") from None
