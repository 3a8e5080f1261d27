"""The grounding verifier on planted violations, and on what the bundle does supply."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.answer import GroundedAnswer, Reference, Statement, WorkflowStep
from agent.grounding import apply_verdict, find_violations_in_text, verify_answer
from knowledge.parser import load_bundle

SEED = load_bundle(Path(__file__).parent / "fixtures" / "bundles" / "seed.txt")


def kinds(text: str) -> list[tuple[str, str]]:
    return [(violation.kind, violation.value) for violation in find_violations_in_text(text, SEED)]


def test_supplied_links_names_and_ids_pass() -> None:
    text = ("Deblur-MIMO-UNet-RealBlur and MIMO-UNet+ [S1] (https://github.com/chosj95/MIMO-UNet/), "
            "FeatSharp at arXiv:2502.16025 and http://arxiv.org/pdf/2502.16025v1.pdf, PU-Ray [S4], Mask2Alpha, "
            "CLIP and RADIO from the summary, a ViT-based U-Net, RGB, PSNR, L1, /tmp/out/IMG_1234.JPG and "
            "photo_Restored.png; sharpness went from 1203.4 to 1876.2.")
    assert kinds(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("See https://example.com/deblur for more.", ("url", "https://example.com/deblur")),
    ("Download it from huggingface.co/some/model today.", ("url", "huggingface.co/some/model")),
    ("The code is at https://github.com/xinntao/Real-ESRGAN.", ("github", "xinntao/Real-ESRGAN")),
    ("As shown in arXiv:2107.10833, it works.", ("arxiv", "2107.10833")),
    ("See 2204.04676v2 for details.", ("arxiv", "2204.04676")),
    ("Published as 10.1109/CVPR46437.2021.00460.", ("doi", "10.1109/CVPR46437.2021.00460")),
    ("Restormer would do better here.", ("name", "Restormer")),
    ("Try Stable Diffusion instead.", ("name", "Stable Diffusion")),
    ("SwinIR is another choice.", ("name", "SwinIR")),
    ("GPT-4o says so.", ("name", "GPT-4o")),
    ("As [S7] shows.", ("citation", "S7")),
])
def test_planted_violations_are_found(text: str, expected: tuple[str, str]) -> None:
    assert expected in kinds(text)


def test_a_link_to_another_page_of_a_supplied_site_is_still_a_violation() -> None:
    assert ("url", "https://github.com/chosj95/MIMO-UNet/blob/main/README.md") in kinds(
        "Read https://github.com/chosj95/MIMO-UNet/blob/main/README.md first.")


def _answer(**changes) -> GroundedAnswer:
    source = SEED.source("S1")
    parts = dict(
        question=SEED.question,
        task=Statement(text="Deblurring with Deblur-MIMO-UNet-RealBlur [S1].", source_ids=["S1"]),
        workflow=[WorkflowStep(stage="input", text="A blurred photo.", source_ids=["S1"]),
                  WorkflowStep(stage="model", text="MIMO-UNet [S1] removes the blur.", source_ids=["S1"]),
                  WorkflowStep(stage="output", text="A sharp photo.", source_ids=["S1"])],
        references=[Reference(source_id="S1", name=source.name, role="recommended", links=source.links.all())],
    )
    parts.update(changes)
    return GroundedAnswer(**parts)


def test_clean_answer_is_grounded() -> None:
    verdict = apply_verdict(_answer(), SEED)
    assert verdict.grounded and verdict.violations == []


def test_violations_anywhere_in_the_answer_are_reported_with_their_place() -> None:
    answer = _answer(
        explanation=[Statement(text="Real-ESRGAN also helps.", source_ids=["S1"])],
        limitations=[Statement(text="Nothing else.", source_ids=["S9"])],
        workflow=[WorkflowStep(stage="input", text="A photo.", source_ids=["S1"]),
                  WorkflowStep(stage="model", text="See https://example.org/x.", source_ids=["S1"]),
                  WorkflowStep(stage="output", text="Cited as 2305.12345.", source_ids=["S1"])],
    )
    found = {(v.kind, v.value, v.where) for v in verify_answer(answer, SEED)}
    assert found == {("name", "Real-ESRGAN", "explanation[0]"), ("citation", "S9", "limitations[0]"),
                     ("url", "https://example.org/x", "workflow[1]"), ("arxiv", "2305.12345", "workflow[2]")}
    assert not apply_verdict(answer, SEED).grounded


def test_reference_links_and_names_must_be_the_bundles() -> None:
    answer = _answer(references=[
        Reference(source_id="S1", name="MIMO-UNet", role="recommended",
                  links=["https://github.com/chosj95/MIMO-UNet", "https://example.com/weights"]),
        Reference(source_id="S2", name=SEED.source("S2").name, role="related",
                  links=["https://github.com/chosj95/MIMO-UNet"]),
        Reference(source_id="S8", name="Ghost", role="related"),
    ])
    found = {(v.kind, v.value, v.where) for v in verify_answer(answer, SEED)}
    assert found == {("name", "MIMO-UNet", "references[0].name"),
                     ("url", "https://example.com/weights", "references[0].links"),
                     ("url", "https://github.com/chosj95/MIMO-UNet", "references[1].links"),
                     ("citation", "S8", "references[2]")}


def test_the_users_question_is_not_checked() -> None:
    bundle = SEED.model_copy(update={"question": "Is Real-ESRGAN at https://example.com better?"})
    assert apply_verdict(_answer(question=bundle.question), bundle).grounded


def test_the_users_own_words_quoted_back_are_not_unsupplied_names() -> None:
    # A false "Not grounded" on a correct answer: the question's "LiDAR", quoted as the user's words.
    from agent.grounding import find_violations_in_text
    from knowledge.parser import default_bundle

    bundle = default_bundle().model_copy(update={"question": "My LiDAR scans are sparse, how do I densify them?"})
    assert find_violations_in_text("It speaks to what you ask about (“LiDAR scans”).", bundle) == []
    # Unquoted, or quoted but not the user's words, it is still a name the answer introduces.
    assert [v.value for v in find_violations_in_text("LiDAR scans are supported.", bundle)] == ["LiDAR"]
    assert [v.value for v in find_violations_in_text("Use “SwinIR” instead.", bundle)] == ["SwinIR"]
