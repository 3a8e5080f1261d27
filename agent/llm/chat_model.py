"""The LangChain chat model for any OpenAI-compatible endpoint, and its failures turned into clear BackendErrors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.errors import BackendError
from agent.settings import LLMSettings

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

OPENAI_DEFAULT_URL = "https://api.openai.com/v1"
# Ollama, vLLM and llama.cpp servers ignore the key, but the OpenAI client refuses to start without one.
KEYLESS_SERVER_KEY = "not-needed"


def make_chat_model(settings: LLMSettings) -> ChatOpenAI:
    """A ChatOpenAI for ``settings`` (model, endpoint, timeout, retries); BackendError when OpenAI itself has no key."""
    from langchain_openai import ChatOpenAI

    api_key = settings.api_key
    if not api_key:
        if settings.base_url is None:
            raise BackendError(
                "OPENAI_API_KEY is not set; export it, or set OPENAI_BASE_URL to a local OpenAI-compatible server, "
                "or use --backend local / --backend offline (or add --fallback offline)"
            )
        api_key = KEYLESS_SERVER_KEY
    return ChatOpenAI(
        model=settings.model,
        api_key=api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
    )


def translate_error(error: Exception, settings: LLMSettings) -> BackendError | None:
    """The BackendError a user should see for an OpenAI-client failure, or None when ``error`` is something else."""
    import openai

    where = settings.base_url or OPENAI_DEFAULT_URL
    if isinstance(error, openai.APITimeoutError):
        return BackendError(
            f"the model server at {where} did not answer within {settings.timeout_s:g} s; "
            "raise CNAPS_TIMEOUT or add --fallback offline"
        )
    if isinstance(error, openai.APIConnectionError):
        return BackendError(
            f"cannot reach the model server at {where}; start it or check OPENAI_BASE_URL, "
            "or add --fallback offline"
        )
    if isinstance(error, openai.AuthenticationError):
        return BackendError(f"the model server at {where} rejected the API key; check OPENAI_API_KEY")
    if isinstance(error, openai.NotFoundError):
        return BackendError(f"the model server at {where} has no model {settings.model!r}; set CNAPS_MODEL")
    if isinstance(error, openai.APIStatusError):
        return BackendError(f"the model server at {where} answered HTTP {error.status_code}: {excerpt(error.message)}")
    return None


def excerpt(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
