"""Every interface says the same thing about a restoration: restored, returned unchanged (and why) or kept on request.

The CLI text and ``--json`` of restore, eval-restore, ``cnaps ask``, the chat's progress line and reply, the API's
fields, the report and the answer text all word one outcome record (``tools.outcome``, ``prompts/_restoration.j2``);
their counts add up; they name the weights that ran wherever training data is mentioned; and when the shipped
weights hand a photo back unchanged they point to the official weights (never after official weights ran).

The verdict is forced where a test needs one outcome whatever the acceptance check's calibration: the real
check runs, then its ``accepted`` is set by the input's size (``forced_gate``).
"""

from __future__ import annotations

import dataclasses
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
SHARP_CROP = FIXTURES / "sharp" / "crop_kodim21.png"  # 160x160
BLURRY = FIXTURES / "web_blurry_kodim23_128x96.png"  # 128x96
SHARP_REFERENCE = FIXTURES / "web_sharp_kodim23_128x96.png"
#: Tiny weights that barely change an image: their output is never clearly sharper.
WEAK_WEIGHTS = str(FIXTURES / "tiny_mimo_unet.safetensors")
NOT_APPLIED = "the restoration did not improve this photo, so it was not applied"
DOWNLOAD = "cnaps weights download official-gopro"
LITE_TRAINING = "trained on CPUs on synthetic blur made from sharp photographs"
REASONS = {"improved": "sharper: blur effect 0.550 → 0.400, without ringing or added noise",
           "not_improved": "no clear sharpness gain: blur effect 0.480 → 0.470",
           "not_blurred": "the photo does not look blurred (blur effect 0.300, sharp) and the network's output was "
                          "not clearly better: no clear sharpness gain: blur effect 0.300 → 0.290"}


def _restoration(verdict: str, applied: bool, preset: str = "cnaps-lite") -> Restoration:
    return Restoration(input_path="/in/photo.jpg", output_path="/out/photo_restored.jpg", preset=preset,
                       seconds=1.5, sharpness_before=3.4, sharpness_after=2.6, applied=applied, verdict=verdict,
                       verdict_reason=REASONS[verdict], blur_before={"not_blurred": 0.30}.get(verdict, 0.48),
                       blur_after=0.40 if verdict == "improved" else 0.47)


CASES = {"restored": ("improved", True), "unchanged": ("not_improved", False), "not_blurred": ("not_blurred", False),
         "kept": ("not_improved", True)}


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, GroundedAnswer]:
    bundle = load_bundle(SEED)
    with pytest.MonkeyPatch.context() as patch:  # the advice written into the answers: no official weights here
        patch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path_factory.mktemp("no-weights")))
        return {case: compose_offline(bundle, _restoration(*CASES[case]), image=Path("photo.jpg")) for case in CASES}


@pytest.fixture
def no_official_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path / "no-weights"))


@pytest.fixture
def forced_gate(monkeypatch):
    """``forced_gate(*sizes)``: the real acceptance check, its verdict forced to accept exactly the inputs of these
    (height, width) sizes, so that a test gets the outcome it needs whatever the check's calibration."""
    import tools.quality as quality

    real = quality.assess_restoration

    def install(*accepted_sizes: tuple[int, int]) -> None:
        def forced(before, after, *args, **kwargs):
            verdict = real(before, after, *args, **kwargs)
            accepted = tuple(before.shape[:2]) in accepted_sizes
            if accepted and verdict.accepted:
                return verdict
            # a refusal always carries the test's reason, so the tests can follow it through every interface
            reason = ("sharper (accepted by the test)" if accepted
                      else "no clear sharpness gain (refused by the test)")
            return dataclasses.replace(verdict, accepted=accepted, reason=reason)

        monkeypatch.setattr(quality, "assess_restoration", forced)

    return install


def _output_step(answer: GroundedAnswer) -> str:
    return next(step.text for step in answer.workflow if step.stage == "output")


def _model_step(answer: GroundedAnswer) -> str:
    return next(step.text for step in answer.workflow if step.stage == "model")


# The record itself.

def test_one_outcome_from_applied_and_verdict_for_every_record_kind():
    from tools.evaluation import PairScore
    from tools.outcome import restoration_outcome
    from tools.restore import RestorationMeasures

    table = {(True, "improved"): "restored", (False, "not_improved"): "unchanged",
             (False, "not_blurred"): "unchanged", (True, "not_improved"): "kept", (True, "not_blurred"): "kept"}
    for (applied, verdict), outcome in table.items():
        assert restoration_outcome(applied, verdict) == outcome
        measures = RestorationMeasures(preset="cnaps-lite", seconds=1.0, sharpness_before=3.0, sharpness_after=5.0,
                                       applied=applied, verdict=verdict)
        assert measures.outcome == outcome
        assert measures.sharpness_handed_back == (5.0 if applied else 3.0)
        assert PairScore(name="a.png", psnr_input=1, psnr_output=1, ssim_input=1, ssim_output=1, seconds=1,
                         applied=applied, verdict=verdict).outcome == outcome
    record = json.loads(_restoration("not_improved", False).model_dump_json())  # the body of the API's answers
    assert record["outcome"] == "unchanged" and record["sharpness_handed_back"] == 3.4
    assert record["outcome_reason"].startswith("returned unchanged: the network's output was not clearly better")
    assert LITE_TRAINING in record["trained_on"]
    # A record read back from JSON (answer.json, a report section) gives the same outcome.
    assert Restoration.model_validate(record).outcome == "unchanged"


def test_the_outcome_line_words_each_outcome(answers):
    lines = {case: answers[case].restoration.outcome_reason for case in CASES}
    assert lines["restored"].startswith("restored: the acceptance check found the output clearly sharper")
    assert lines["unchanged"] == f"returned unchanged: the network's output was not clearly better than the photo " \
                                 f"({REASONS['not_improved']})"
    assert lines["not_blurred"] == f"returned unchanged: {REASONS['not_blurred']}"
    assert lines["kept"].startswith("kept on request: the network's output is handed back only because it was asked")


# What would help.

def test_the_advice_points_to_the_official_weights_only_when_the_shipped_ones_did_not_restore(no_official_weights):
    advice = _restoration("not_improved", False).advice
    assert DOWNLOAD in advice and "--weights official-gopro" in advice and "31.73 dB" in advice
    assert "where the machine has internet" in advice and "about 1 dB" in advice
    assert _restoration("improved", True).advice == ""
    assert DOWNLOAD in _restoration("not_blurred", False).advice and _restoration("not_improved", True).advice
    assert _restoration("not_improved", False, preset="official-gopro").advice == ""  # official weights ran
    assert _restoration("not_improved", False, preset="MIMO-UNetPlus.pkl").advice == ""  # the official file by path
    assert _restoration("not_improved", False, preset="my-own.safetensors").advice == ""  # the user's own weights


def test_installed_official_weights_are_offered_without_a_download(tmp_path, monkeypatch):
    (tmp_path / "MIMO-UNet.pkl").write_bytes(b"stand-in")
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path))
    advice = _restoration("not_improved", False).advice
    assert "installed here" in advice and "--weights official-gopro" in advice and DOWNLOAD not in advice


# The answer.

def test_the_answer_says_what_was_handed_back_and_never_calls_it_deblurred(answers, no_official_weights):
    unchanged, not_blurred, kept = (_output_step(answers[case]) for case in ("unchanged", "not_blurred", "kept"))
    assert NOT_APPLIED in unchanged and "photo_restored.jpg is your photo, unchanged" in unchanged
    assert "did not look blurred" in not_blurred and "not deblurred" in not_blurred
    assert "only because you asked for it" in kept and "should not be taken as a deblurred version" in kept
    assert "deblurred" not in unchanged.lower()
    assert "clearly sharper" in _output_step(answers["restored"])
    for case in ("unchanged", "not_blurred", "kept"):
        assert DOWNLOAD in _output_step(answers[case])
        assert "restored your image" not in _model_step(answers[case])
    assert DOWNLOAD not in render_markdown(answers["restored"])
    assert "the result was not clearly better than your photo" in _model_step(answers["unchanged"])
    assert all(answer.grounded for answer in answers.values()), {c: a.violations for c, a in answers.items()}
    assert all(len(step.text) <= 1200 for answer in answers.values() for step in answer.workflow)


def test_the_answer_names_the_weights_that_ran_where_it_speaks_of_training_data(answers):
    # The seed bundle recommends Deblur-MIMO-UNet-RealBlur; the shipped weights ran instead.
    restored = answers["restored"]
    model = _model_step(restored)
    assert "In this run the cnaps-lite weights (" in model and LITE_TRAINING in model and "restored your image" in model
    how = " ".join(statement.text for statement in restored.explanation)
    assert "The RealBlur in this model's name marks weights trained on" in how
    assert "In this run, though, the cnaps-lite weights" in how and "not the weights this name refers to" in how
    official = compose_offline(load_bundle(SEED), _restoration("improved", True, "official-plus-realblur"),
                               image=Path("photo.jpg"))
    assert "In this run, though" not in " ".join(statement.text for statement in official.explanation)
    assert "official-plus-realblur weights (the larger official checkpoint, trained on RealBlur" in _model_step(official)
    assert official.grounded


def test_the_markdown_table_names_the_outcome_the_weights_and_the_sharpness_handed_back(answers):
    markdown = render_markdown(answers["unchanged"])
    assert "| Outcome | returned unchanged: " in markdown and "| Image handed back |" in markdown
    assert f"| Weights preset | cnaps-lite (small weights shipped with cnaps-agent, {LITE_TRAINING}) |" in markdown
    assert "| Sharpness (no-reference, input → image handed back) | 3.4 → 3.4 (the network's output, not handed " \
           "back: 2.6) |" in markdown
    assert "| What would help |" not in markdown  # the Output step says it already
    assert "| Outcome | restored: " in render_markdown(answers["restored"])
    assert "| Outcome | kept on request: " in render_markdown(answers["kept"])
    assert "→ 2.6 |" in render_markdown(answers["kept"])  # kept: the network's output is what was handed back
    # An answer whose workflow a language model wrote still carries the advice, in the table.
    written = answers["unchanged"].model_copy(update={"workflow": []})
    assert "| What would help | If the photo is blurred" in render_markdown(written)


def test_a_model_may_not_claim_a_restoration_that_was_not_applied(answers):
    from agent.llm.enforce import find_problems

    bundle = load_bundle(SEED)
    claim = answers["unchanged"].model_copy(deep=True)
    claim.task.text = "We deblurred your photo with MIMO-UNet."
    kinds = {problem.kind for problem in find_problems(claim, bundle, claim.restoration)}
    assert "tool-claim" in kinds
    applied = claim.model_copy(update={"restoration": _restoration("improved", True)})
    assert "tool-claim" not in {problem.kind for problem in find_problems(applied, bundle, applied.restoration)}


def test_the_model_prompt_tells_it_the_outcome_and_the_weights_that_ran():
    from agent.llm.prompts import render_question_prompt

    text = render_question_prompt(load_bundle(SEED), image=Path("photo.jpg"),
                                  restoration=_restoration("not_improved", False))
    assert "it was not applied" in text and "Do not say the image was restored" in text
    assert LITE_TRAINING in text and "credit the run with no other training data" in text


# The chat.

def test_the_chat_status_says_each_outcome(answers, no_official_weights):
    status = {case: render_template("chat_status.md.j2", answer=answers[case], image_given=True) for case in CASES}
    assert "**Returned unchanged:**" in status["unchanged"] and "Nothing here was deblurred" in status["unchanged"]
    assert "no clear sharpness gain" in status["unchanged"] and "**Restored**" not in status["unchanged"]
    assert f"`{DOWNLOAD}`" in status["unchanged"]  # shown as code
    assert "**Returned unchanged:**" in status["not_blurred"] and "does not look blurred" in status["not_blurred"]
    assert "**Kept on request:**" in status["kept"] and DOWNLOAD in status["kept"]
    assert "**Restored** with the `cnaps-lite` weights" in status["restored"] and DOWNLOAD not in status["restored"]


def test_the_chat_progress_line_says_the_outcome_once_the_check_has_decided():
    from agent.web.chat import page_text

    def line(stage, outcome=None):
        return page_text("chat_progress.txt.j2", stage=stage, tiles_done=1, tiles_total=1, image_given=True,
                         outcome=outcome)

    assert line("composing") == "Ran the network on the image (1/1 tiles); composing the answer"
    assert line("finished", "restored") == "Restored the image (1/1 tiles) and composed the answer"
    assert "the photo is returned unchanged" in line("finished", "unchanged")
    assert "Restored" not in line("finished", "unchanged") and "Restored" not in line("finished", "kept")
    assert "kept only on request" in line("finished", "kept")


@pytest.mark.slow
def test_a_chat_turn_whose_output_was_refused_says_so_everywhere(tmp_path, forced_gate, no_official_weights):
    from agent.web.chat import ChatSession, final_messages, read_turn

    forced_gate()  # nothing accepted
    session = ChatSession(tmp_path / "chat")
    try:
        turn = read_turn({"text": "", "files": [str(BLURRY)]}, [])
        seen = list(session.follow(session.start(turn, "offline")))
        final = seen[-1]
        assert final.status == "done" and final.progress.tiles_done == final.progress.tiles_total >= 1
        run = final.answer.restoration
        assert (run.outcome, run.applied) == ("unchanged", False)
        assert Path(run.output_path).read_bytes() == BLURRY.read_bytes()
        reply, slider = final_messages(final, turn)
    finally:
        session.close()
    progress = reply[0].content
    assert "Ran the network (1/1 tiles), but its output was not clearly better" in progress
    assert "Restored the image" not in progress
    text = "\n".join(part for part in reply if isinstance(part, str))
    assert "**Returned unchanged:**" in text and "refused by the test" in text and DOWNLOAD in text
    assert not any(isinstance(part, dict) for part in reply) and slider is None  # no image offered as a result


# The API.

@pytest.mark.slow
def test_the_api_fields_carry_the_outcome_its_reason_and_the_advice(tmp_path, forced_gate, no_official_weights):
    from fastapi.testclient import TestClient

    from agent.web.api import ApiConfig, create_app
    from agent.web.limits import UploadLimits

    config = ApiConfig(workers=1, queue_size=4, work_root=tmp_path / "api",
                       limits=UploadLimits(max_image_pixels=200_000, max_request_bytes=2_000_000))
    with TestClient(create_app(config)) as client:
        def ask() -> dict:
            response = client.post("/v1/answers", data={"backend": "offline", "question": load_bundle(SEED).question},
                                   files={"image": ("photo.png", BLURRY.read_bytes(), "image/png")})
            assert response.status_code == 200, response.text
            return response.json()

        forced_gate()  # nothing accepted
        body = ask()
        run = body["answer"]["restoration"]
        assert (run["outcome"], run["applied"]) == ("unchanged", False)
        assert run["outcome_reason"].startswith("returned unchanged: ") and "refused by the test" in run["outcome_reason"]
        assert DOWNLOAD in run["advice"] and LITE_TRAINING in run["trained_on"]
        assert run["sharpness_handed_back"] == run["sharpness_before"] != run["sharpness_after"]
        assert client.get(body["restored_image_url"]).content == BLURRY.read_bytes()  # the photo as it was sent
        forced_gate((96, 128))  # this image accepted
        run = ask()["answer"]["restoration"]
        assert (run["outcome"], run["applied"], run["advice"]) == ("restored", True, "")
        assert run["sharpness_handed_back"] == run["sharpness_after"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        restoration = next(value for key, value in schema.items() if key.startswith("Restoration"))
        assert {"outcome", "outcome_reason", "advice", "trained_on"} <= set(restoration["properties"])


# The report.

def test_the_report_shows_the_sharpness_handed_back_and_flags_a_worse_psnr(answers):
    from agent.report import embed_image

    picture = embed_image(SHARP_CROP)
    worse = ReportSection(number=1, bundle_name="seed.txt", question="q", answer=answers["unchanged"],
                          psnr_before=25.11, psnr_after=24.95, before=picture, after=picture)
    better = ReportSection(number=2, bundle_name="seed.txt", question="q", answer=answers["restored"],
                           psnr_before=25.11, psnr_after=26.40, before=picture, after=picture)
    html = render_report_html(Report(generated_at="now", backend="offline", sections=[worse, better]))
    assert html.count('<span class="bad worse">25.11 → 24.95 (worse than the input)</span>') == 2  # summary + section
    assert "25.11 → 26.40" in html and "26.40 (worse" not in html
    assert "returned unchanged: the network's output was not clearly better" in html
    assert "After (the photo returned unchanged: the output was not applied)" in html
    # Summary: the outcome, and the sharpness of what was handed back (the photo's own when unchanged).
    assert '<td><span class="bad">returned unchanged</span></td>\n<td>3.4 → 3.4</td>' in html
    assert "<td>restored</td>\n<td>3.4 → 2.6</td>" in html
    assert "<th>Sharpness (before → image handed back)</th><td>3.40 → 3.40 (the network's output, not handed " \
           "back: 2.60)</td>" in html
    assert f"<th>Weights that ran</th><td>cnaps-lite (small weights shipped with cnaps-agent, {LITE_TRAINING})" in html


@pytest.mark.slow
def test_a_built_report_of_a_refused_output_says_so_and_credits_the_weights_that_ran(forced_gate,
                                                                                     no_official_weights):
    from agent.report import ReportJob, build_report

    forced_gate()  # nothing accepted
    report = build_report([ReportJob(bundle=SEED, image=BLURRY, reference=SHARP_REFERENCE)], "offline")
    section = report.sections[0]
    assert section.error is None and section.answer.restoration.outcome == "unchanged"
    assert section.psnr_after == pytest.approx(section.psnr_before)  # the photo itself was handed back
    html = render_report_html(report)
    assert "returned unchanged" in html and DOWNLOAD in html
    assert "In this run, though, the cnaps-lite weights" in html  # after the RealBlur training fact
    run = section.answer.restoration
    assert f"{run.sharpness_before:.2f} → {run.sharpness_before:.2f} (the network" in html


# The CLI: restore (text and --json), eval-restore and ask.

def _cnaps(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "COLUMNS": "300"}  # wide enough that table cells do not wrap
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *args], capture_output=True,
                          text=True, timeout=600, env=env)


def _invoke(*args: str):
    """The real CLI in this process (so that ``forced_gate`` holds), its stdout and stderr apart."""
    from typer.testing import CliRunner

    from agent.cli import app, commands  # noqa: F401  (commands registers every command on app)

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


@pytest.fixture
def three_images(tmp_path) -> list[str]:
    import shutil

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    sharp = tmp_path / "sharp.png"
    shutil.copy(SHARP_CROP, sharp)
    return [str(BLURRY), str(sharp), str(broken)]


def test_cli_restore_counts_add_up_and_text_and_json_agree(tmp_path, forced_gate, three_images,
                                                           no_official_weights):
    forced_gate((96, 128))  # the blurry fixture is accepted, the sharp crop refused; the third file is broken
    done = _invoke("restore", *three_images, "--out", str(tmp_path / "json"), "--json")
    assert done.exit_code == 1, done.output  # one failed
    summary = json.loads(done.stdout)
    assert [record["status"] for record in summary["images"]] == ["restored", "unchanged", "failed"]
    assert {key: summary[key] for key in ("processed", "restored", "unchanged", "kept", "skipped", "failed")} == \
           {"processed": 3, "restored": 1, "unchanged": 1, "kept": 0, "skipped": 0, "failed": 1}
    restored, unchanged = summary["images"][:2]
    assert restored["applied"] and not unchanged["applied"]
    assert restored["outcome_reason"].startswith("restored: ")
    assert unchanged["outcome_reason"].startswith("returned unchanged: ")
    assert unchanged["sharpness_handed_back"] == unchanged["sharpness_before"]
    assert Path(unchanged["output"]).read_bytes() == SHARP_CROP.read_bytes()
    assert DOWNLOAD in summary["advice"]

    text = _invoke("restore", *three_images, "--out", str(tmp_path / "text")).stdout
    assert "3 processed: 1 restored, 1 returned unchanged, 1 failed; 0 skipped" in text
    assert unchanged["outcome_reason"] in " ".join(text.split())
    assert DOWNLOAD in text

    kept = json.loads(_invoke("restore", *three_images[:2], "--out", str(tmp_path / "kept"), "--json",
                              "--keep-output").stdout)
    assert [record["status"] for record in kept["images"]] == ["restored", "kept"]
    assert (kept["processed"], kept["restored"], kept["kept"], kept["unchanged"]) == (2, 1, 1, 0)
    assert kept["images"][1]["outcome_reason"].startswith("kept on request: ")
    assert Path(kept["images"][1]["output"]).read_bytes() != SHARP_CROP.read_bytes()


def test_cli_restore_of_all_restored_images_has_no_advice(tmp_path, forced_gate):
    forced_gate((96, 128))
    summary = json.loads(_invoke("restore", str(BLURRY), "--out", str(tmp_path), "--json").stdout)
    assert (summary["processed"], summary["restored"], summary["advice"]) == (1, 1, None)
    skipped = json.loads(_invoke("restore", str(BLURRY), "--out", str(tmp_path), "--json").stdout)  # a re-run
    assert (skipped["processed"], skipped["skipped"], skipped["restored"]) == (0, 1, 0)


def test_the_real_cli_says_weak_weights_returned_the_photo_unchanged(tmp_path):
    # In its own process, unpatched: weights that barely change an image are never accepted.
    done = _cnaps("restore", str(BLURRY), "--out", str(tmp_path / "json"), "--json", "--weights", WEAK_WEIGHTS)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    record = summary["images"][0]
    assert (record["status"], record["applied"]) == ("unchanged", False)
    assert (summary["processed"], summary["restored"], summary["unchanged"]) == (1, 0, 1)
    assert summary["advice"] is None  # a weights file of the user's: no advice about the shipped ones
    table = _cnaps("restore", str(BLURRY), "--out", str(tmp_path / "table"), "--weights", WEAK_WEIGHTS)
    assert "returned unchanged: the network's output was not clearly better than the photo" in table.stdout
    assert "1 processed: 0 restored, 1 returned unchanged, 0 failed; 0 skipped" in table.stdout


def test_eval_restore_says_what_the_check_found_even_with_keep_output(tmp_path, forced_gate, no_official_weights):
    import shutil

    blurry, sharp = tmp_path / "blurry", tmp_path / "sharp"
    for folder in (blurry, sharp):
        folder.mkdir()
    shutil.copy(BLURRY, blurry / "kodim23.png")
    shutil.copy(SHARP_REFERENCE, sharp / "kodim23.png")
    for folder in (blurry, sharp):  # a sharp photo as its own "blurry" input
        shutil.copy(SHARP_CROP, folder / "photo.png")
    forced_gate((96, 128))
    handed_back = json.loads(_invoke("eval-restore", str(blurry), str(sharp), "--json").stdout)
    rows = {row["name"]: row for row in handed_back["images"]}
    assert (rows["kodim23.png"]["outcome"], rows["photo.png"]["outcome"]) == ("restored", "unchanged")
    assert rows["photo.png"]["ssim_output"] == 1.0 and not rows["photo.png"]["applied"]
    assert (handed_back["restored"], handed_back["unchanged"], handed_back["kept"]) == (1, 1, 0)
    assert DOWNLOAD in handed_back["advice"]

    network = json.loads(_invoke("eval-restore", str(blurry), str(sharp), "--json", "--keep-output").stdout)
    rows = {row["name"]: row for row in network["images"]}
    assert (rows["kodim23.png"]["outcome"], rows["photo.png"]["outcome"]) == ("restored", "kept")
    assert rows["photo.png"]["applied"] and rows["photo.png"]["ssim_output"] < 1.0
    assert rows["photo.png"]["outcome_reason"].startswith("kept on request: ")

    text = " ".join(_invoke("eval-restore", str(blurry), str(sharp), "--keep-output").stdout.split())
    assert "kept on request" in text and "1 restored, 0 unchanged, 1 kept" in text and "yes" not in text


@pytest.mark.slow
def test_cli_ask_says_the_photo_was_returned_unchanged_and_what_would_help(tmp_path, forced_gate,
                                                                           no_official_weights):
    forced_gate()  # nothing accepted
    done = _invoke("ask", "--bundle", str(SEED), "--image", str(BLURRY), "--out", str(tmp_path))
    assert done.exit_code == 0, done.output
    answer = json.loads((tmp_path / "answer.json").read_text())
    run = answer["restoration"]
    assert (run["outcome"], run["applied"]) == ("unchanged", False) and answer["grounded"]
    assert f"restoration {run['outcome_reason']}" in done.stderr and run["advice"] in done.stderr
    assert DOWNLOAD in run["advice"] and "so it was not applied" in done.stdout


def test_the_real_cli_ask_names_the_weights_that_ran(tmp_path):
    # In its own process, unpatched: the weak weights' output is never accepted; a weights file of the user's
    # gets no advice about the shipped weights.
    done = _cnaps("ask", "--bundle", str(SEED), "--image", str(BLURRY), "--out", str(tmp_path),
                  "--weights", WEAK_WEIGHTS)
    assert done.returncode == 0, done.stderr
    assert "restoration returned unchanged: the network's output was not clearly better" in done.stderr
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["restoration"]["outcome"] == "unchanged" and answer["restoration"]["advice"] == ""
    model = next(step["text"] for step in answer["workflow"] if step["stage"] == "model")
    assert "In this run the tiny_mimo_unet.safetensors weights ran on your image" in model
    how = " ".join(statement["text"] for statement in answer["explanation"])
    assert "In this run, though, the tiny_mimo_unet.safetensors weights ran on your image" in how


def test_the_langchain_tool_reports_the_outcome_to_the_model(tmp_path):
    from agent.llm.tools import _restoration_from_result
    from tools.langchain_tool import make_restore_tool

    result = make_restore_tool(tmp_path).invoke({"image_path": str(BLURRY), "preset": WEAK_WEIGHTS})
    assert (result["applied"], result["outcome"]) == (False, "unchanged")
    restoration = _restoration_from_result(json.dumps(result), {"image_path": str(BLURRY)})
    assert restoration is not None and restoration.outcome == "unchanged"
