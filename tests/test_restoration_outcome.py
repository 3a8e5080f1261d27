"""Every interface says plainly when a restoration was not applied, and none calls an unimproved image deblurred:
answer text and Markdown, the language-model checks, the chat status, the report, and the CLI (restore and ask)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.answer import GroundedAnswer, Restoration
from agent.composer import compose_offline
from agent.prompting import render_template
from agent.rendering import render_markdown
from agent.report import Report, ReportSection, render_report_html
from knowledge.parser import load_bundle

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "bundles" / "seed.txt"
SHARP_CROP = FIXTURES / "sharp" / "crop_kodim21.png"
NOT_APPLIED = "the restoration did not improve this photo, so it was not applied"


def _restoration(verdict: str, applied: bool) -> Restoration:
    return Restoration(input_path="/in/photo.jpg", output_path="/out/photo_restored.jpg", preset="cnaps-lite",
                       seconds=1.5, sharpness_before=3.4, sharpness_after=2.6, applied=applied, verdict=verdict,
                       verdict_reason="no clear sharpness gain: blur effect 0.480 → 0.470" if verdict != "improved"
                       else "sharper: blur effect 0.550 → 0.400, without ringing or added noise",
                       blur_before=0.48 if verdict != "improved" else 0.55,
                       blur_after=0.47 if verdict != "improved" else 0.40)


@pytest.fixture(scope="module")
def answers() -> dict[str, GroundedAnswer]:
    bundle = load_bundle(SEED)
    return {verdict: compose_offline(bundle, _restoration(verdict, verdict == "improved"), image=Path("photo.jpg"))
            for verdict in ("improved", "not_improved", "not_blurred")}


def _output_step(answer: GroundedAnswer) -> str:
    return next(step.text for step in answer.workflow if step.stage == "output")


def test_the_answer_says_an_unimproved_photo_was_not_applied_and_never_deblurred(answers):
    not_improved, not_blurred = _output_step(answers["not_improved"]), _output_step(answers["not_blurred"])
    assert NOT_APPLIED in not_improved and "photo_restored.jpg is your photo, unchanged" in not_improved
    assert "did not look blurred" in not_blurred and "so it was not deblurred" in not_blurred
    model_step = next(step.text for step in answers["not_improved"].workflow if step.stage == "model")
    assert "In this run it restored your image" not in model_step and "not clearly better" in model_step
    assert "deblurred" not in not_improved.lower()
    assert "In this run it restored your image" in render_markdown(answers["improved"])
    assert "clearly sharper" in _output_step(answers["improved"])
    assert all(answer.grounded for answer in answers.values())


def test_the_markdown_table_names_the_outcome(answers):
    markdown = render_markdown(answers["not_improved"])
    assert "| Outcome | not applied: " in markdown and "| Image handed back |" in markdown
    assert "| Outcome | applied: " in render_markdown(answers["improved"])


def test_a_model_may_not_claim_a_restoration_that_was_not_applied(answers):
    from agent.llm.enforce import find_problems

    bundle = load_bundle(SEED)
    claim = answers["not_improved"].model_copy(deep=True)
    claim.task.text = "We deblurred your photo with MIMO-UNet."
    kinds = {problem.kind for problem in find_problems(claim, bundle, claim.restoration)}
    assert "tool-claim" in kinds
    applied = claim.model_copy(update={"restoration": _restoration("improved", True)})
    assert "tool-claim" not in {problem.kind for problem in find_problems(applied, bundle, applied.restoration)}


def test_the_model_prompt_tells_it_the_photo_was_not_restored():
    from agent.llm.prompts import render_question_prompt

    text = render_question_prompt(load_bundle(SEED), image=Path("photo.jpg"),
                                  restoration=_restoration("not_improved", False))
    assert "it was not applied" in text and "Do not say the image was restored" in text


def test_the_chat_status_says_not_applied(answers):
    status = render_template("chat_status.md.j2", answer=answers["not_improved"], image_given=True)
    assert "Not applied" in status and "Restored with preset" not in status


def test_the_report_flags_a_worse_psnr_in_red(answers):
    from agent.report import embed_image

    picture = embed_image(SHARP_CROP)
    worse = ReportSection(number=1, bundle_name="seed.txt", question="q", answer=answers["not_improved"],
                          psnr_before=25.11, psnr_after=24.95, before=picture, after=picture)
    better = ReportSection(number=2, bundle_name="seed.txt", question="q", answer=answers["improved"],
                           psnr_before=25.11, psnr_after=26.40, before=picture, after=picture)
    html = render_report_html(Report(generated_at="now", backend="offline", sections=[worse, better]))
    assert html.count('<span class="bad worse">25.11 → 24.95 (worse than the input)</span>') == 2  # summary + section
    assert "25.11 → 26.40" in html and "26.40 (worse" not in html
    assert "not applied: the restoration did not improve this photo" in html
    assert "After (the photo unchanged: not applied)" in html


def _cnaps(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "COLUMNS": "300"}  # wide enough that table cells do not wrap
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args], capture_output=True,
                          text=True, timeout=600, env=env)


def test_cli_restore_says_a_sharp_photo_was_returned_unchanged(tmp_path):
    done = _cnaps("restore", str(SHARP_CROP), "--out", str(tmp_path / "json"), "--json")
    record = json.loads(done.stdout)["images"][0]
    assert done.returncode == 0 and (record["applied"], record["verdict"]) == (False, "not_blurred")
    table = _cnaps("restore", str(SHARP_CROP), "--out", str(tmp_path / "table"))
    assert "not restored: the photo does not look blurred, so it is returned unchanged" in table.stdout
    assert "1 processed (0 restored, 1 returned unchanged)" in table.stdout


@pytest.mark.slow
def test_cli_ask_says_a_sharp_photo_was_not_deblurred(tmp_path):
    done = _cnaps("ask", "--bundle", str(SEED), "--image", str(SHARP_CROP), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "restoration not restored: the photo does not look blurred" in done.stderr
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["restoration"]["applied"] is False and answer["restoration"]["verdict"] == "not_blurred"
    assert "so it was not deblurred" in done.stdout


def test_eval_restore_scores_what_is_handed_back_unless_asked_for_the_network(tmp_path):
    import shutil

    blurry, sharp = tmp_path / "blurry", tmp_path / "sharp"
    for folder in (blurry, sharp):  # a sharp photo as its own "blurry" input: nothing to restore
        folder.mkdir()
        shutil.copy(SHARP_CROP, folder / "photo.png")
    handed_back = json.loads(_cnaps("eval-restore", str(blurry), str(sharp), "--json").stdout)["images"][0]
    assert handed_back["applied"] is False and handed_back["ssim_output"] == 1.0
    network = json.loads(_cnaps("eval-restore", str(blurry), str(sharp), "--json", "--keep-output").stdout)
    assert network["images"][0]["applied"] is True and network["images"][0]["ssim_output"] < 1.0


def test_the_api_answer_json_carries_the_outcome(answers):
    restoration = json.loads(answers["not_improved"].model_dump_json())["restoration"]  # the body of /v1/answers
    assert (restoration["applied"], restoration["verdict"]) == (False, "not_improved")
    assert restoration["blur_before"] == 0.48 and restoration["blur_after"] == 0.47 and restoration["verdict_reason"]


def test_the_langchain_tool_reports_the_outcome_to_the_model(tmp_path):
    from agent.llm.tools import _restoration_from_result
    from tools.langchain_tool import make_restore_tool

    result = make_restore_tool(tmp_path).invoke({"image_path": str(SHARP_CROP)})
    assert (result["applied"], result["verdict"]) == (False, "not_blurred")
    restoration = _restoration_from_result(json.dumps(result), {"image_path": str(SHARP_CROP)})
    assert restoration is not None and not restoration.applied and restoration.verdict == "not_blurred"
