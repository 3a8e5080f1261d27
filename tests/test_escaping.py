"""Markdown escaping keeps user text inert without littering our own numbers and macros with backslashes."""

from agent.escaping import escape_markdown
from agent.prompting import render_template


def test_list_markers_are_escaped_but_decimal_numbers_are_not():
    assert escape_markdown("1. item") == "1\\. item"
    assert escape_markdown("3) item") == "3\\) item"
    assert escape_markdown("8.62 s") == "8.62 s"
    assert escape_markdown("0.59 → 0.46") == "0.59 → 0.46"


def test_the_restoration_table_is_escaped_once():
    from agent.answer import GroundedAnswer, Restoration, Statement

    run = Restoration(input_path="a.png", output_path="a_restored.png", preset="cnaps-lite", seconds=8.62,
                      sharpness_before=1.2, sharpness_after=16.0, applied=True, verdict="improved",
                      blur_before=0.59, blur_after=0.46, verdict_reason="a | b")
    answer = GroundedAnswer(question="q", task=Statement(text="t"), workflow=[], references=[], restoration=run)
    text = render_template("answer.md.j2", answer=answer)
    assert "(blur effect 0.59 → 0.46)" in text
    assert "| 8.62 s |" in text
    assert "\\\\" not in text
