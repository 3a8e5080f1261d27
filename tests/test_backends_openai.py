"""The openai backend's failure modes: a missing key and a dead endpoint are clear errors, or the flagged offline answer."""

from __future__ import annotations

import pytest

from agent.backends import get_backend
from agent.backends.base import AnswerRequest
from agent.errors import BackendError
from agent.llm.chat_model import KEYLESS_SERVER_KEY, make_chat_model
from agent.llm.local_server import free_local_port
from agent.settings import load_settings
from knowledge.parser import default_bundle


@pytest.fixture
def no_openai_env(monkeypatch, tmp_path):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CNAPS_MODEL", "CNAPS_AGENT_MODE", "CNAPS_STRUCTURED_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_local_port()}/v1"  # nothing listens there


def test_missing_key_is_a_clear_error(no_openai_env):
    backend = get_backend("openai")
    with pytest.raises(BackendError, match="OPENAI_API_KEY is not set"):
        backend.answer(AnswerRequest(bundle=default_bundle()))


def test_dead_endpoint_is_a_clear_error(no_openai_env):
    url = _dead_url()
    backend = get_backend("openai", base_url=url, max_retries=0, timeout_s=5)
    with pytest.raises(BackendError, match=f"cannot reach the model server at {url}.*--fallback offline"):
        backend.answer(AnswerRequest(bundle=default_bundle()))


def test_settings_reach_the_chat_model(no_openai_env, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("CNAPS_MODEL", "llama3.2")
    model = make_chat_model(load_settings(timeout_s=7, max_retries=0))
    assert (model.model_name, model.openai_api_base, model.request_timeout, model.max_retries) == (
        "llama3.2", "http://127.0.0.1:11434/v1", 7.0, 0)
    assert model.openai_api_key.get_secret_value() == KEYLESS_SERVER_KEY  # Ollama/vLLM need no key


@pytest.mark.parametrize("options", [{}, {"max_retries": 0}], ids=["missing-key", "dead-endpoint"])
def test_fallback_offline_gives_the_flagged_offline_answer(no_openai_env, options):
    from agent.composer import compose_offline

    if options:
        options = {**options, "base_url": _dead_url()}
    bundle = default_bundle()
    answer = get_backend("openai", fallback="offline", **options).answer(AnswerRequest(bundle=bundle))
    offline = compose_offline(bundle)
    assert answer.fallback_used is True and answer.grounded is True and answer.violations == []
    assert (answer.task, answer.workflow, answer.references) == (offline.task, offline.workflow, offline.references)


def test_unknown_fallback_and_unknown_option_are_rejected(no_openai_env):
    with pytest.raises(BackendError, match="fallback"):
        get_backend("openai", fallback="gpt")
    with pytest.raises(BackendError, match="unknown backend option"):
        get_backend("openai", temprature=0.3)
