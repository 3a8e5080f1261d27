"""The LLM backends' settings: environment names, overrides, validation and the capability choice."""

from __future__ import annotations

import pytest

from agent.errors import BackendError
from agent.settings import load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CNAPS_MODEL", "CNAPS_TIMEOUT", "CNAPS_MAX_RETRIES",
                 "CNAPS_BACKEND", "CNAPS_AGENT_MODE", "CNAPS_STRUCTURED_OUTPUT", "CNAPS_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_reads_the_documented_environment_variables(clean_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("CNAPS_MODEL", "qwen2.5:7b")
    monkeypatch.setenv("CNAPS_TIMEOUT", "7.5")
    monkeypatch.setenv("CNAPS_MAX_RETRIES", "3")
    settings = load_settings()
    assert (settings.api_key, settings.base_url, settings.model) == ("sk-test", "http://127.0.0.1:11434/v1", "qwen2.5:7b")
    assert (settings.timeout_s, settings.max_retries) == (7.5, 3)


def test_overrides_win_and_none_overrides_are_ignored(clean_env, monkeypatch):
    monkeypatch.setenv("CNAPS_MODEL", "from-env")
    assert load_settings(model="from-cli").model == "from-cli"
    assert load_settings(model=None).model == "from-env"


def test_dotenv_file_is_read(clean_env, tmp_path):
    (tmp_path / ".env").write_text("CNAPS_MODEL=from-dotenv\n")
    assert load_settings().model == "from-dotenv"


def test_unknown_override_is_a_backend_error(clean_env):
    with pytest.raises(BackendError, match="unknown backend option.*modle"):
        load_settings(modle="gpt")


def test_invalid_environment_value_is_a_backend_error(clean_env, monkeypatch):
    monkeypatch.setenv("CNAPS_TIMEOUT", "soon")
    with pytest.raises(BackendError, match="CNAPS_TIMEOUT"):
        load_settings()


@pytest.mark.parametrize(
    ("mode", "embedded", "expected"),
    [("auto", True, "forced"), ("auto", False, "tool-loop"), ("forced", False, "forced"), ("tool-loop", True, "tool-loop")],
)
def test_capability_setting_picks_the_agent_mode(clean_env, mode, embedded, expected):
    assert load_settings(agent_mode=mode).resolved_mode(embedded=embedded) == expected


def test_structured_output_auto_uses_llama_cpp_dialect_only_for_the_embedded_model(clean_env):
    settings = load_settings()
    assert settings.resolved_structured_output(embedded=True) == "json-object-schema"
    assert settings.resolved_structured_output(embedded=False) == "json-schema"
