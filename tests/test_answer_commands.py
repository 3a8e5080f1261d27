"""`cnaps ask` and `cnaps batch`, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"


def cnaps(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CNAPS_RANKER": "lexical", "CNAPS_BACKEND": "offline", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, env=environment, cwd=cwd, timeout=300)


def test_ask_bundle_as_json() -> None:
    done = cnaps("ask", "--bundle", BUNDLES / "seed.txt", "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["grounded"] is True and "deblurring" in answer["task"]["text"]


def test_ask_question_writes_both_renderings(tmp_path: Path) -> None:
    done = cnaps("ask", "Why does my blurry photo look sharp after deblurring?", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Answer")
    markdown = (tmp_path / "out" / "answer.md").read_text(encoding="utf-8")
    assert markdown == done.stdout
    assert json.loads((tmp_path / "out" / "answer.json").read_text())["question"].startswith("Why does my blurry")
    assert "wrote" in done.stderr


def test_user_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text('A user has asked the following question:\n"Q?"\n\nModel: X\n', encoding="utf-8")
    for args in (("ask", "--bundle", tmp_path / "missing.txt"), ("ask", "--bundle", bad),
                 ("ask", "q", "--backend", "nope")):
        done = cnaps(*args)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert f"{bad}:4: expected a '### Recommended AI Models:' heading" in cnaps("ask", "--bundle", bad).stderr
    usage = cnaps("ask", "q", "--format", "xml")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr and "choose one of md, json" in usage.stderr


def test_batch_answers_good_bundles_reports_bad_ones_and_skips_finished(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("seed.txt", "ex_dashcam_frame.txt"):
        shutil.copy(BUNDLES / name, inputs / name)
    (inputs / "broken.yaml").write_text("question: [unclosed\n", encoding="utf-8")
    out = tmp_path / "out"

    first = cnaps("batch", inputs, "--out", out)
    assert first.returncode == 1
    assert sorted(path.name for path in out.iterdir() if path.is_dir()) == ["ex_dashcam_frame", "seed"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 1} and (out / "manifest.jsonl").is_file()
    assert json.loads((out / "seed" / "answer.json").read_text())["grounded"] is True
    assert "2 answered, 0 skipped, 1 failed" in first.stdout and "broken.yaml" in first.stdout

    (inputs / "broken.yaml").unlink()
    again = cnaps("batch", inputs, "--out", out)
    assert again.returncode == 0 and "0 answered, 2 skipped, 0 failed" in again.stdout
    forced = cnaps("batch", inputs / "seed.txt", "--out", out, "--force")
    assert forced.returncode == 0 and "1 answered, 0 skipped, 0 failed" in forced.stdout


def test_ask_given_a_bundle_file_as_its_question_reads_the_bundle() -> None:
    done = cnaps("ask", BUNDLES / "night_noise_restormer.txt", "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["question"].startswith("My night photo of the city skyline")
    assert "Denoise-Restormer-SIDD" in answer["task"]["text"]
    assert "reading" in done.stderr and "--bundle" in done.stderr


def test_version() -> None:
    from importlib.metadata import version

    done = cnaps("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"cnaps-agent {version('cnaps-agent')}"


def test_batch_answers_every_bundle_of_many_bundle_files(tmp_path: Path) -> None:
    seed_text = (BUNDLES / "seed.txt").read_text(encoding="utf-8")
    dashcam_text = (BUNDLES / "ex_dashcam_frame.txt").read_text(encoding="utf-8")
    structured = json.loads(cnaps("ask", "--bundle", BUNDLES / "spanish_shaky_hand.yaml", "--format", "json").stdout)
    lines = [
        json.dumps({"id": "q-17", "prompt": dashcam_text}),  # a whole CNAPS document in a text field
        "{not json",
        json.dumps({"question": structured["question"],
                    "recommended": [{"name": "Deblur-MIMO-UNet-GoPro", "github": "https://github.com/chosj95/MIMO-UNet"}]}),
    ]
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "dataset.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Two CNAPS documents pasted one after the other in one text file.
    (inputs / "two.txt").write_text(seed_text.rstrip() + "\n\n---\n\n" + dashcam_text, encoding="utf-8")
    out = tmp_path / "out"

    done = cnaps("batch", inputs, "--out", out)
    assert done.returncode == 1, done.stderr
    assert "4 answered, 0 skipped, 1 failed" in done.stdout
    assert sorted(path.name for path in (out / "dataset").iterdir()) == ["3", "q-17"]  # line 2 is not JSON
    dashcam = json.loads((out / "dataset" / "q-17" / "answer.json").read_text())
    assert dashcam["question"].startswith("A frame I grabbed from my dashcam")
    assert json.loads((out / "dataset" / "3" / "answer.json").read_text())["question"].startswith("Mi foto")
    assert json.loads((out / "two" / "1" / "answer.json").read_text())["question"].startswith("Even with harsh")
    assert json.loads((out / "two" / "2" / "answer.json").read_text())["question"] == dashcam["question"]

    one = cnaps("ask", "--bundle", inputs / "two.txt")
    assert one.returncode == 1 and "holds 2 bundles" in one.stderr and "cnaps batch" in one.stderr


def test_summary_folder_of_a_file_whose_name_has_a_hash_is_its_own() -> None:
    from agent.cli.batch import BatchResult, _folder_label

    single = BatchResult(Path("in/a#b.txt"), Path("out/a_b"), "answered", "")
    item = BatchResult(Path("in/set.jsonl#q1"), Path("out/set/q1"), "answered", "", item="q1")
    assert (_folder_label(single), _folder_label(item)) == ("a_b", "set/q1")


def test_ask_with_an_image_writes_cnaps_output_and_leaves_no_temp_folder(tmp_path: Path) -> None:
    image = Path(__file__).parent / "fixtures" / "web_blurry_kodim23_128x96.png"
    private_temp, work = tmp_path / "tmp", tmp_path / "work"
    private_temp.mkdir(), work.mkdir()
    shutil.copy(image, work / image.name)
    environment = {**os.environ, "CNAPS_RANKER": "lexical", "CNAPS_BACKEND": "offline", "TMPDIR": str(private_temp)}
    done = subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", "ask",
                           "How do I remove camera shake from this photo?", "--image", image.name],
                          capture_output=True, text=True, env=environment, cwd=work, timeout=300)
    assert done.returncode == 0, done.stderr
    output = work / "cnaps-output"
    assert sorted(path.name for path in output.iterdir()) == ["answer.json", "answer.md",
                                                              "web_blurry_kodim23_128x96_restored.png"]
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == ("wrote cnaps-output/answer.md, cnaps-output/answer.json, "
                         "cnaps-output/web_blurry_kodim23_128x96_restored.png")
    # The answer's table no longer shows the input and the restored image under one name.
    assert "| Input | `web_blurry_kodim23_128x96.png` |" in done.stdout
    # The row names what was handed back: the restored image, or the photo itself when the check refused the output.
    outcome = json.loads((output / "answer.json").read_text())["restoration"]["outcome"]
    label = "Restored image" if outcome == "restored" else "Image handed back"
    assert f"| {label} | `cnaps-output/web_blurry_kodim23_128x96_restored.png` |" in done.stdout
    assert not list(private_temp.glob("cnaps-*")), list(private_temp.iterdir())


def test_ask_refuses_an_out_folder_whose_answer_file_is_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "answer.json"
    bundle.write_text(json.dumps({"question": "Which model removes motion blur?",
                                  "recommended": [{"name": "Deblur-MIMO-UNet-RealBlur"}]}), encoding="utf-8")
    before = bundle.read_bytes()
    done = cnaps("ask", "--bundle", bundle, "--out", tmp_path)
    assert done.returncode == 1 and done.stderr.startswith("error: writing ") and "would overwrite" in done.stderr
    assert bundle.read_bytes() == before


def test_ask_with_a_missing_file_as_its_question_says_so_and_fails(tmp_path: Path) -> None:
    for argument in ("missing.txt", "bundles/q1", str(tmp_path / "gone.yaml")):
        done = cnaps("ask", argument, cwd=tmp_path)
        assert done.returncode == 1 and done.stdout == "", argument
        assert done.stderr.startswith(f"error: {argument}: no such file") and done.stderr.count("\n") == 1
        assert 'cnaps ask "How can I ...?"' in done.stderr
    folder = cnaps("ask", tmp_path)
    assert folder.returncode == 1 and "is a folder" in folder.stderr
    # A question with a slash, or one naming a file, is still a question.
    for question in ("Can it fix JPEG/PNG blockiness in my scan?", "Is deblur/denoise possible for notes.txt?"):
        done = cnaps("ask", question, "--format", "json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["question"] == question


def test_ask_answers_a_bundle_written_with_natural_keys(tmp_path: Path) -> None:
    bundle = tmp_path / "natural.json"
    bundle.write_text(json.dumps({
        "question": "My photo of a moving bus is blurry. How can I make it sharp?",
        "recommended_models": ["Deblur-MIMO-UNet-GoPro (https://github.com/chosj95/MIMO-UNet)"],
        "related_papers": [{"title": "Rethinking Coarse-to-Fine Approach in Single Image Deblurring",
                            "url": "https://arxiv.org/abs/2108.05054",
                            "summary": "A multi-input multi-output U-Net for fast single image deblurring."}]}),
        encoding="utf-8")
    done = cnaps("ask", bundle, "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["question"].startswith("My photo of a moving bus") and answer["grounded"] is True
    assert "https://github.com/chosj95/MIMO-UNet" in done.stdout and "https://arxiv.org/abs/2108.05054" in done.stdout
