"""restore_image is a real LangChain tool: typed arguments, a real restoration, errors as messages."""

from __future__ import annotations

from pathlib import Path

from tools.langchain_tool import RestoreImageInput, make_restore_tool

FIXTURES = Path(__file__).parent / "fixtures"
TINY = str(FIXTURES / "tiny_mimo_unet.safetensors")


def test_tool_declares_name_and_pydantic_arguments(tmp_path):
    tool = make_restore_tool(tmp_path)
    assert tool.name == "restore_image"
    assert tool.args_schema is RestoreImageInput
    assert set(tool.args) == {"image_path", "preset", "tile"}


def test_tool_restores_and_reports(tmp_path):
    output = make_restore_tool(tmp_path).invoke(
        {"image_path": str(FIXTURES / "web_blurry_kodim23_128x96.png"), "preset": TINY})
    assert Path(output["output_path"]).is_file() and Path(output["output_path"]).parent == tmp_path
    assert output["preset"] == "tiny_mimo_unet.safetensors" and output["seconds"] > 0
    assert output["sharpness_before"] > 0


def test_tool_errors_reach_the_model_as_text(tmp_path):
    output = make_restore_tool(tmp_path).invoke({"image_path": str(tmp_path / "missing.png")})
    assert isinstance(output, str) and "does not exist" in output
