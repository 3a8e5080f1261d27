"""The agent's tools: read_source over the bundle's cards, and the restoration read back from real tool runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from agent.llm.tools import READ_SOURCE, RESTORE_IMAGE, make_agent_tools, make_read_source_tool, restoration_from_messages
from knowledge.parser import default_bundle

FIXTURES = Path(__file__).parent / "fixtures"


def test_read_source_returns_the_card_of_a_supplied_source_only():
    bundle = default_bundle()
    tool = make_read_source_tool(bundle)
    card = tool.invoke({"id": "S1"})
    assert card.startswith("[S1] Deblur-MIMO-UNet-RealBlur")
    assert "RealBlur" in card and "Not covered" in card  # the full card, gaps included
    with pytest.raises(ValueError):
        tool.invoke({"id": "S9"})


def test_restore_tool_is_offered_only_with_an_image(tmp_path):
    names = lambda with_restore: [t.name for t in make_agent_tools(default_bundle(), tmp_path, with_restore)]  # noqa: E731
    assert names(False) == [READ_SOURCE]
    assert names(True) == [READ_SOURCE, RESTORE_IMAGE]


def _run_restore(tmp_path: Path, image: Path, call_id: str = "call-1"):
    tool = make_agent_tools(default_bundle(), tmp_path / "out", with_restore=True)[1]
    call = {"name": RESTORE_IMAGE, "args": {"image_path": str(image)}, "id": call_id, "type": "tool_call"}
    return [AIMessage(content="", tool_calls=[call]), tool.invoke(call)]


@pytest.mark.slow
def test_restoration_is_read_from_what_the_tool_really_did(tmp_path):
    image = tmp_path / "blurry.png"
    shutil.copy(FIXTURES / "web_blurry_kodim23_128x96.png", image)
    messages = _run_restore(tmp_path, image)
    restoration = restoration_from_messages(messages, image)
    assert restoration is not None
    assert Path(restoration.output_path).is_file() and Path(restoration.output_path).parent == tmp_path / "out"
    assert Path(restoration.input_path) == image and restoration.seconds > 0
    # a restoration of some other file is not the user's image being restored
    assert restoration_from_messages(messages, tmp_path / "other.png") is None
    # and once the output is gone, nothing may claim it
    Path(restoration.output_path).unlink()
    assert restoration_from_messages(messages, image) is None


def test_a_failed_restore_call_is_no_restoration(tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    messages = _run_restore(tmp_path, not_an_image)
    assert messages[1].status == "error"
    assert restoration_from_messages(messages, not_an_image) is None
