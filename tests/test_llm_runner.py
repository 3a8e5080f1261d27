"""The grounded agent's control flow, with a scripted chat model standing in for a capable remote model:
the free tool loop (real read_source and real restoration), the repair round, and part replacement."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage

from agent.backends.base import AnswerRequest
from agent.llm.runner import GroundedAgent
from agent.llm.tools import READ_SOURCE, RESTORE_IMAGE
from knowledge.parser import default_bundle

FIXTURES = Path(__file__).parent / "fixtures"
EVIL_LINK = "https://evil.example/superres"


class ScriptedModel(FakeMessagesListChatModel):
    """Replies with the scripted messages in order and records every conversation it was shown."""

    seen: list = []

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def _call(name: str, args: dict, call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def _statement(text: str, ids=("S1",)) -> dict:
    return {"text": text, "source_ids": list(ids)}


def _draft(task_text: str) -> dict:
    return {
        "task": _statement(task_text),
        "explanation": [_statement("MIMO-UNet reads the photograph at three sizes and predicts a correction.")],
        "workflow_input": _statement("A blurred photograph."),
        "workflow_model": _statement("Deblur-MIMO-UNet-RealBlur removes the blur, coarse to fine."),
        "workflow_output": _statement("A sharper photograph of the same size."),
        "reference_notes": [{"source_id": "S2", "relevance": "It sharpens feature maps, not photographs."}],
        "limitations": [_statement("The sources do not cover shadows or brightness.")],
    }


def _agent(responses, method="function-calling") -> tuple[GroundedAgent, ScriptedModel]:
    model = ScriptedModel(responses=responses, seen=[])
    return GroundedAgent(model, backend_name="openai", mode="tool-loop", structured_method=method), model


@pytest.mark.slow
def test_tool_loop_runs_the_tools_and_code_attaches_the_restoration(tmp_path):
    image = tmp_path / "blurry.png"
    shutil.copy(FIXTURES / "web_blurry_kodim23_128x96.png", image)
    agent, model = _agent([
        _call(READ_SOURCE, {"id": "S1"}, "c1"),
        _call(RESTORE_IMAGE, {"image_path": str(image)}, "c2"),
        _call("AnswerDraft", _draft("Removing camera blur from a photograph."), "c3"),
    ])
    answer = agent.answer(AnswerRequest(bundle=default_bundle(), image=image, out_dir=tmp_path / "out"))
    assert answer.grounded is True and answer.replaced_parts == [] and answer.backend == "openai"
    assert answer.task.text == "Removing camera blur from a photograph."
    assert answer.restoration is not None and Path(answer.restoration.input_path) == image
    assert Path(answer.restoration.output_path).is_file()
    # the model saw the real results of both tools before it answered
    results = {m.name: m.content for m in model.seen[-1] if isinstance(m, ToolMessage)}
    assert results[READ_SOURCE].startswith("[S1] Deblur-MIMO-UNet-RealBlur")
    assert Path(answer.restoration.output_path).name in results[RESTORE_IMAGE]


def test_a_false_claim_and_a_foreign_link_get_one_repair_round_then_the_offline_part(tmp_path):
    from agent.composer import compose_offline

    bad_task = f"I have restored your image with SuperRes from {EVIL_LINK}."
    agent, model = _agent([
        _call("AnswerDraft", _draft(bad_task), "c1"),
        _call("AnswerDraft", _draft("I have restored your image."), "c2"),  # the repair fixes the link only
    ])
    bundle = default_bundle()
    answer = agent.answer(AnswerRequest(bundle=bundle))
    assert len(model.seen) == 2  # the loop's answer, then exactly one repair round
    repair_turn = model.seen[1][-1].content
    assert EVIL_LINK in repair_turn and "no restoration ran" in repair_turn
    assert answer.replaced_parts == ["task"]
    assert answer.task == compose_offline(bundle).task
    assert answer.explanation[0].text.startswith("MIMO-UNet reads")  # the parts that passed are the model's
    assert answer.grounded is True and answer.restoration is None
    assert "restored your image" not in answer.model_dump_json()


def test_no_valid_draft_at_all_gives_the_offline_answer_flagged_in_every_part():
    from agent.llm.enforce import PARTS

    agent, _ = _agent([AIMessage(content="I cannot answer in JSON, sorry.")])
    answer = agent.answer(AnswerRequest(bundle=default_bundle()))
    assert answer.replaced_parts == list(PARTS) and answer.grounded is True and answer.backend == "openai"
