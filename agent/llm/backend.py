"""What the ``openai`` and ``local`` backends share: settings, building the agent, and the offline fallback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from agent.answer import GroundedAnswer, Restoration
from agent.backends.base import AnswerRequest
from agent.errors import BackendError
from agent.settings import LLMSettings, load_settings

if TYPE_CHECKING:
    from agent.llm.runner import GroundedAgent

FALLBACKS = (None, "none", "offline")
log = logging.getLogger("cnaps")


class LLMBackend:
    """A backend that answers with a language model through the grounded agent.

    Args:
        fallback: ``"offline"`` to answer with the offline composer (flagged ``fallback_used``) when the model
            cannot be reached or is misconfigured; None raises BackendError instead.
        settings: ready settings; otherwise read from the environment with ``overrides`` (LLMSettings field names).
    """

    name = "llm"
    embedded = False

    def __init__(self, *, fallback: str | None = None, settings: LLMSettings | None = None, **overrides: object) -> None:
        if fallback not in FALLBACKS:
            raise BackendError(f"unknown fallback {fallback!r}; the only fallback is 'offline'")
        self.fallback = fallback if fallback != "none" else None
        self.settings = settings.model_copy(update=overrides) if settings is not None else load_settings(**overrides)

    def answer(self, request: AnswerRequest) -> GroundedAnswer:
        """A verified answer from the model, or the flagged offline answer when the model fails and fallback allows."""
        from agent.llm.chat_model import translate_error
        from agent.llm.runner import ModelCallFailed

        try:
            settings = self.connection_settings()
            agent = self.build_agent(settings)
        except BackendError as error:
            return self._fall_back(error, request, None, restored=False)
        try:
            return agent.answer(request)
        except ModelCallFailed as failure:
            error = translate_error(failure.cause, settings) or BackendError(str(failure.cause))
            return self._fall_back(error, request, failure.restoration, restored=failure.restored)

    def connection_settings(self) -> LLMSettings:
        """The settings to reach the model with (the local backend fills in its own server's address)."""
        return self.settings

    def build_agent(self, settings: LLMSettings) -> GroundedAgent:
        """The grounded agent over the chat model ``settings`` describe; BackendError when it cannot be configured."""
        from agent.llm.chat_model import make_chat_model
        from agent.llm.runner import GroundedAgent

        return GroundedAgent(
            make_chat_model(settings),
            backend_name=self.name,
            mode=settings.resolved_mode(embedded=self.embedded),
            structured_method=settings.resolved_structured_output(embedded=self.embedded),
        )

    def _fall_back(
        self, error: BackendError, request: AnswerRequest, restoration: Restoration | None, *, restored: bool
    ) -> GroundedAnswer:
        if self.fallback != "offline":
            raise error
        log.warning("%s backend failed (%s); answering offline instead", self.name, error)
        return offline_fallback_answer(request, restoration, restored=restored)


def offline_fallback_answer(
    request: AnswerRequest, restoration: Restoration | None = None, *, restored: bool = False
) -> GroundedAnswer:
    """The offline composer's answer, flagged ``fallback_used``; restores first unless that already happened."""
    from agent.composer import compose_offline
    from agent.grounding import apply_verdict
    from agent.restoration_step import restore_for_answer

    if not restored:
        restoration = restore_for_answer(request)
    answer = compose_offline(request.bundle, restoration, image=request.image)
    return apply_verdict(answer.model_copy(update={"fallback_used": True}), request.bundle)
