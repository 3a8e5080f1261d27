"""Configuration of the language-model backends, read from the environment (and a `.env` file) with pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

AgentMode = Literal["auto", "tool-loop", "forced"]
"""How much the model is trusted with tools.

``tool-loop``: a capable model runs a free LangChain tool-calling loop and ends with a structured answer.
``forced``: for small models, which call tools only under ``tool_choice`` and never see tool results in
llama.cpp's chat formats; code decides and runs the restoration, then makes one JSON-constrained call. ``auto``: ``forced`` for the embedded model, ``tool-loop`` otherwise.
"""

StructuredOutput = Literal["auto", "json-object-schema", "json-schema", "function-calling"]
"""How the structured answer is requested: llama.cpp's json_object+schema, OpenAI's json_schema, or a tool call;
``auto`` means json-object-schema for the embedded model and json-schema otherwise."""


class LLMSettings(BaseSettings):
    """Everything the ``openai`` and ``local`` backends read from the environment; constructor arguments win."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    backend: str = Field("offline", validation_alias="CNAPS_BACKEND")
    api_key: str | None = Field(None, validation_alias="OPENAI_API_KEY")
    base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    model: str = Field("gpt-4o-mini", validation_alias="CNAPS_MODEL")
    timeout_s: float = Field(120.0, gt=0, validation_alias="CNAPS_TIMEOUT")
    max_retries: int = Field(1, ge=0, le=10, validation_alias="CNAPS_MAX_RETRIES")
    temperature: float = Field(0.0, ge=0, le=2, validation_alias="CNAPS_TEMPERATURE")
    max_tokens: int = Field(900, ge=64, le=8192, validation_alias="CNAPS_MAX_TOKENS")
    agent_mode: AgentMode = Field("auto", validation_alias="CNAPS_AGENT_MODE")
    structured_output: StructuredOutput = Field("auto", validation_alias="CNAPS_STRUCTURED_OUTPUT")
    local_model_path: Path | None = Field(None, validation_alias="CNAPS_LOCAL_MODEL")
    local_threads: int = Field(1, ge=1, le=64, validation_alias="CNAPS_LOCAL_THREADS")
    local_context: int = Field(4096, ge=512, le=32768, validation_alias="CNAPS_LOCAL_CONTEXT")
    local_start_timeout_s: float = Field(60.0, gt=0, validation_alias="CNAPS_LOCAL_START_TIMEOUT")

    def resolved_mode(self, *, embedded: bool) -> Literal["tool-loop", "forced"]:
        """The agent mode to run: ``auto`` means forced for the embedded small model, a tool loop otherwise."""
        if self.agent_mode == "auto":
            return "forced" if embedded else "tool-loop"
        return self.agent_mode

    def resolved_structured_output(self, *, embedded: bool) -> str:
        """The structured-output dialect to use: ``auto`` means llama.cpp's for the embedded model, OpenAI's otherwise."""
        if self.structured_output == "auto":
            return "json-object-schema" if embedded else "json-schema"
        return self.structured_output


def load_settings(**overrides: object) -> LLMSettings:
    """Settings from the environment with ``overrides`` (field names; None values ignored) applied on top.

    Raises BackendError for an override that is not a setting, so a typo never passes silently.
    """
    from agent.errors import BackendError

    unknown = sorted(set(overrides) - set(LLMSettings.model_fields))
    if unknown:
        raise BackendError(f"unknown backend option(s) {', '.join(unknown)}; known: {', '.join(LLMSettings.model_fields)}")
    try:
        return LLMSettings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:3])
        raise BackendError(f"invalid backend setting ({details}); fix the CNAPS_*/OPENAI_* variable") from None
