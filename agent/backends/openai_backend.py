"""The ``openai`` backend: the grounded agent over any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp)."""

from __future__ import annotations

from agent.llm.backend import LLMBackend


class OpenAIBackend(LLMBackend):
    """Answers through ChatOpenAI with OPENAI_API_KEY / OPENAI_BASE_URL / CNAPS_MODEL (see agent.settings).

    Args:
        fallback: ``"offline"`` answers with the flagged offline composer when the endpoint fails.
        overrides: LLMSettings fields (model, base_url, api_key, timeout_s, agent_mode, ...) over the environment.
    """

    name = "openai"
    embedded = False
