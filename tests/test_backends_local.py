"""The embedded model for real: a llama-cpp-python server on 127.0.0.1 with SmolLM2, driven through the openai
client, ChatOpenAI and the local backend (tool calls executed, structured answers parsed, injections refused)."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest
import yaml

from agent.answer import GroundedAnswer
from agent.backends.base import AnswerRequest
from agent.backends.local import LocalBackend
from agent.errors import BackendError
from agent.llm.draft import AnswerDraft
from agent.llm.enforce import find_problems
from agent.llm.local_server import SERVED_MODEL_ALIAS, LocalModelServer
from agent.llm.prompts import render_question_prompt, render_system_prompt
from agent.llm.structured import parse_draft, request_draft
from agent.llm.tools import READ_SOURCE, make_read_source_tool
from knowledge.parser import default_bundle, load_bundle

pytestmark = pytest.mark.llm
FIXTURES = Path(__file__).parent / "fixtures"
INJECTIONS = yaml.safe_load((FIXTURES / "injection_questions.yaml").read_text())


@pytest.fixture(scope="module")
def llama_server():
    """The real llama-cpp-python OpenAI-compatible server with the embedded SmolLM2 GGUF, on a free local port."""
    with LocalModelServer(threads=1) as server:
        yield server


LLM_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CNAPS_MODEL", "CNAPS_AGENT_MODE", "CNAPS_STRUCTURED_OUTPUT",
                 "CNAPS_LOCAL_MODEL", "CNAPS_MAX_TOKENS")


def _clear_llm_env(monkeypatch, folder: Path) -> None:
    """The defaults, whatever the developer's shell or .env file sets."""
    for name in LLM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(folder)


@pytest.fixture(scope="module")
def local_backend(llama_server, tmp_path_factory):
    """The local backend with default settings over the module's server (which it does not stop)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clear_llm_env(monkeypatch, tmp_path_factory.mktemp("settings"))
        with LocalBackend(server=llama_server) as backend:
            yield backend


@pytest.fixture
def no_llm_env(monkeypatch, tmp_path):
    _clear_llm_env(monkeypatch, tmp_path)


def _opening(bundle) -> list[dict]:
    return [
        {"role": "system", "content": render_system_prompt(bundle, mode="forced", tools=[])},
        {"role": "user", "content": render_question_prompt(bundle, image=None, restoration=None)},
    ]


def _chat_model(server):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=SERVED_MODEL_ALIAS, base_url=server.base_url, api_key="not-needed",
                      temperature=0, max_tokens=700, timeout=120, max_retries=0)


def _shown_text(answer) -> str:
    """Everything a reader sees of an answer except the echoed question (whole, and split into its parts)."""
    shown = answer.model_dump(mode="json", exclude={"question"})
    for part in shown.get("sub_questions", []):
        part.pop("question")
    return json.dumps(shown).lower()


def test_server_listens_only_on_localhost_and_stops(no_llm_env):
    server = LocalModelServer(threads=1)
    base_url = server.start()
    try:
        assert base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as response:
            assert SERVED_MODEL_ALIAS in response.read().decode()
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass


def test_openai_client_makes_a_tool_call_that_is_executed(llama_server):
    from langchain_core.utils.function_calling import convert_to_openai_tool
    from openai import OpenAI

    bundle = default_bundle()
    tool = make_read_source_tool(bundle)
    client = OpenAI(base_url=llama_server.base_url, api_key="not-needed")
    reply = client.chat.completions.create(
        model=SERVED_MODEL_ALIAS,
        messages=[*_opening(bundle), {"role": "user", "content": "Read the card of the recommended model."}],
        tools=[convert_to_openai_tool(tool)],
        tool_choice={"type": "function", "function": {"name": READ_SOURCE}},
        temperature=0,
        max_tokens=60,
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == READ_SOURCE
    arguments = json.loads(call.function.arguments)
    card = tool.invoke(arguments)
    source = bundle.source(arguments["id"])
    assert card.startswith(f"[{source.id}] {source.name}")


def test_chat_openai_makes_a_tool_call_that_is_executed(llama_server):
    from langchain_core.messages import HumanMessage, SystemMessage

    bundle = default_bundle()
    tool = make_read_source_tool(bundle)
    opening = _opening(bundle)
    model = _chat_model(llama_server).bind_tools([tool], tool_choice=READ_SOURCE)
    reply = model.invoke([SystemMessage(opening[0]["content"]), HumanMessage("Read source S2.")])
    assert [call["name"] for call in reply.tool_calls] == [READ_SOURCE]
    result = tool.invoke(reply.tool_calls[0])  # a ToolCall in, a ToolMessage out, as in an agent loop
    assert result.tool_call_id == reply.tool_calls[0]["id"]
    assert result.content.startswith(f"[{reply.tool_calls[0]['args']['id']}] ")


def test_openai_client_structured_answer_parses(llama_server):
    from openai import OpenAI

    from agent.llm.draft import draft_json_schema

    bundle = default_bundle()
    client = OpenAI(base_url=llama_server.base_url, api_key="not-needed")
    reply = client.chat.completions.create(
        model=SERVED_MODEL_ALIAS,
        messages=_opening(bundle),
        response_format={"type": "json_object", "schema": draft_json_schema(bundle)},
        temperature=0,
        max_tokens=700,
    )
    draft = parse_draft(reply.choices[0].message.content)
    cited = {sid for item in [draft.task, *draft.explanation, draft.workflow_model] for sid in item.source_ids}
    assert cited <= {"S1", "S2", "S3", "S4"}


def test_chat_openai_structured_answer_parses(llama_server):
    from langchain_core.messages import HumanMessage, SystemMessage

    bundle = default_bundle()
    opening = _opening(bundle)
    messages = [SystemMessage(opening[0]["content"]), HumanMessage(opening[1]["content"])]
    draft = request_draft(_chat_model(llama_server), messages, bundle, "json-object-schema")
    assert isinstance(draft, AnswerDraft) and draft.task.text.strip()


@pytest.mark.parametrize("case", INJECTIONS, ids=lambda case: case["name"])
def test_injected_recommendation_never_reaches_the_answer(local_backend, case):
    bundle = default_bundle().model_copy(update={"question": case["question"]})
    answer = local_backend.answer(AnswerRequest(bundle=bundle))
    shown = _shown_text(answer)
    assert answer.grounded is True and answer.violations == []
    assert case["name"].lower() not in shown
    assert case["link"].lower() not in shown
    assert all(link in bundle.allowed_links() for reference in answer.references for link in reference.links)
    assert answer.backend == "local"


def test_missing_model_file_is_a_clear_error_or_the_offline_fallback(no_llm_env, tmp_path):
    missing = tmp_path / "absent.gguf"
    request = AnswerRequest(bundle=default_bundle())
    with pytest.raises(BackendError, match="does not exist.*CNAPS_LOCAL_MODEL"):
        LocalBackend(local_model_path=missing).answer(request)
    answer = LocalBackend(local_model_path=missing, fallback="offline").answer(request)
    assert answer.fallback_used is True and answer.grounded is True


def test_cnaps_ask_local_runs_offline_end_to_end_with_the_restored_image(no_llm_env, tmp_path):
    import subprocess
    import sys

    from agent.composer import compose_offline

    root = Path(__file__).resolve().parents[1]
    image = FIXTURES / "web_blurry_kodim23_128x96.png"
    out = tmp_path / "answer"
    # Proxies pointed nowhere: the answer must not need the network at all.
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cnaps"), "ask", "--backend", "local", "--bundle", str(FIXTURES / "bundles" / "seed.txt"),
         "--image", str(image), "--out", str(out), "--format", "json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = GroundedAnswer.model_validate_json(done.stdout)
    assert answer.backend == "local" and answer.grounded is True and answer.violations == []
    assert answer.fallback_used is False and answer.restoration is not None
    restored = Path(answer.restoration.output_path)
    assert restored.is_file() and restored.parent == out
    assert GroundedAnswer.model_validate_json((out / "answer.json").read_text()) == answer
    # what the model wrote is kept only where it passes every check; the rest is the offline composer's, flagged
    bundle = load_bundle(FIXTURES / "bundles" / "seed.txt")
    offline = compose_offline(bundle, answer.restoration, image=image)
    assert [p for p in find_problems(answer, bundle, answer.restoration) if p.part not in answer.replaced_parts] == []
    for part in answer.replaced_parts:
        assert getattr(answer, part) == getattr(offline, part)
    assert {ref.source_id: ref.links for ref in answer.references} == {src.id: src.links.all() for src in bundle.sources}
    if answer.replaced_parts:
        assert "replaced" in (out / "answer.md").read_text()
