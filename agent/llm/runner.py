"""The LangChain agent behind the ``openai`` and ``local`` backends: draft, verify, one repair round, then enforce.

Two ways to reach a draft, chosen by the capability setting:
- ``tool-loop`` (capable models): a LangChain ``create_agent`` loop with ``restore_image`` and ``read_source``,
  ending in a structured answer.
- ``forced`` (small models): code decides and runs the restoration, then one grammar-constrained structured
  call, because small models call tools only when forced and never see tool results in llama.cpp's formats.
Either way, references and the restoration are attached by code, the grounding verifier runs on the answer,
problems get one repair round naming them, and whatever still fails is replaced by the offline composer's part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from agent.answer import GroundedAnswer, Restoration
from agent.backends.base import AnswerRequest
from agent.llm.draft import AnswerDraft, answer_from_draft
from agent.llm.enforce import PARTS, Problem, find_problems, replace_failing_parts
from agent.llm.prompts import render_question_prompt, render_repair_prompt, render_system_prompt
from agent.llm.structured import DraftError, StructuredMethod, request_draft

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger("cnaps")


class ModelCallFailed(Exception):
    """A call to the chat model failed (server down, timeout, HTTP error); carries the restoration already done."""

    def __init__(self, cause: Exception, restoration: Restoration | None, restored: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.restoration = restoration
        self.restored = restored


@dataclass
class Attempt:
    """One draft attempt: the answer built from it (None when no valid draft came back) and what is wrong with it."""

    answer: GroundedAnswer | None
    problems: list[Problem]
    error: str | None
    raw: str


class GroundedAgent:
    """Answers a request with a chat model, and returns only what survives the grounding checks.

    Args:
        model: any LangChain chat model (ChatOpenAI against OpenAI, vLLM, Ollama or the embedded llama.cpp server).
        backend_name: recorded in the answer's ``backend`` field.
        mode: ``tool-loop`` or ``forced`` (see the module docstring).
        structured_method: how the structured answer is requested (see agent.llm.structured).
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        backend_name: str,
        mode: Literal["tool-loop", "forced"],
        structured_method: StructuredMethod,
    ) -> None:
        self.model = model
        self.backend_name = backend_name
        self.mode = mode
        self.structured_method = structured_method

    def answer(self, request: AnswerRequest) -> GroundedAnswer:
        """A verified GroundedAnswer: the model's parts where they pass, the offline composer's where they do not."""
        from agent.composer import compose_offline
        from agent.grounding import apply_verdict
        from agent.restoration_step import restore_for_answer
        from langchain_core.messages import HumanMessage

        restoration = restore_for_answer(request) if self.mode == "forced" else None
        try:
            if self.mode == "tool-loop":
                messages, attempt, restoration = self._tool_loop(request)
            else:
                messages = self._opening(request, restoration, tools=[])
                attempt = self._attempt(messages, request, restoration)
            if attempt.error is not None or attempt.problems:
                _log_attempt("first", attempt)
                repair = HumanMessage(render_repair_prompt(attempt.raw, attempt.problems, attempt.error))
                attempt = self._attempt([*messages, repair], request, restoration)
                _log_attempt("repaired", attempt)
        except Exception as error:
            if not _is_model_failure(error):
                raise
            raise ModelCallFailed(error, restoration, restored=self.mode == "forced") from error
        offline = compose_offline(request.bundle, restoration, image=request.image)
        if attempt.answer is None:
            final = offline.model_copy(update={"backend": self.backend_name, "replaced_parts": list(PARTS)})
        else:
            final = replace_failing_parts(attempt.answer, attempt.problems, offline)
        return apply_verdict(final, request.bundle)

    def _tool_loop(self, request: AnswerRequest) -> tuple[list[BaseMessage], Attempt, Restoration | None]:
        from langchain.agents import create_agent
        from langchain.agents.structured_output import ToolStrategy
        from langgraph.errors import GraphRecursionError

        from agent.llm.tools import make_agent_tools, restoration_from_messages
        from agent.restoration_step import output_folder, planned_preset, restore_for_answer

        out_dir = output_folder(request)
        # Offered only when the bundle's recommended model is a MIMO-UNet: the tool restores nothing else.
        can_restore = request.image is not None and planned_preset(request) is not None
        tools = make_agent_tools(request.bundle, out_dir, with_restore=can_restore, device=request.device,
                                 bf16=request.bf16)
        messages = self._opening(request, None, tools=[tool.name for tool in tools])
        loop = create_agent(
            self.model, tools, system_prompt=messages[0].content, response_format=ToolStrategy(AnswerDraft)
        )
        try:
            state = loop.invoke({"messages": messages[1:]}, {"recursion_limit": 12})
        except GraphRecursionError:
            state = {"messages": [], "structured_response": None}
        restoration = restoration_from_messages(state["messages"], request.image)
        if restoration is None and request.image is not None:
            # The model skipped the tool: code still restores, and the model's text never saw it, so it cannot claim it.
            restoration = restore_for_answer(replace(request, out_dir=out_dir))
        draft = state.get("structured_response")
        if draft is None:
            failure = Attempt(None, [], "the tool loop ended without a structured answer", _last_text(state))
            return messages, failure, restoration
        answer = answer_from_draft(draft, request.bundle, backend=self.backend_name, restoration=restoration)
        problems = find_problems(answer, request.bundle, restoration)
        return messages, Attempt(answer, problems, None, draft.model_dump_json()), restoration

    def _opening(self, request: AnswerRequest, restoration: Restoration | None, tools: list[str]) -> list[BaseMessage]:
        from langchain_core.messages import HumanMessage, SystemMessage

        system = render_system_prompt(request.bundle, mode=self.mode, tools=tools)
        question = render_question_prompt(
            request.bundle, image=request.image, restoration=restoration, tools=tools
        )
        return [SystemMessage(system), HumanMessage(question)]

    def _attempt(
        self, messages: list[BaseMessage], request: AnswerRequest, restoration: Restoration | None
    ) -> Attempt:
        try:
            draft = request_draft(self.model, messages, request.bundle, self.structured_method)
        except DraftError as error:
            return Attempt(None, [], str(error), "")
        answer = answer_from_draft(draft, request.bundle, backend=self.backend_name, restoration=restoration)
        return Attempt(answer, find_problems(answer, request.bundle, restoration), None, draft.model_dump_json())


def _log_attempt(which: str, attempt: Attempt) -> None:
    found = attempt.error or "; ".join(f"{p.part}: {p.kind} {p.value!r}" for p in attempt.problems) or "none"
    log.info("%s draft problems: %s", which, found)


def _is_model_failure(error: Exception) -> bool:
    import openai

    return isinstance(error, openai.OpenAIError)


def _last_text(state: dict) -> str:
    messages = state.get("messages") or []
    return str(messages[-1].content)[:2000] if messages else ""
