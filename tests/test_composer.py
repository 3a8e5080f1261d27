"""The offline answer on the seed and on questions and bundles it has never seen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.answer import GroundedAnswer, Restoration
from agent.composer import compose_offline
from agent.ranking import LexicalRanker
from agent.rendering import render_json, render_markdown
from knowledge.cards import all_cards
from knowledge.parser import load_bundle, parse_bundle_text

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
SEED = load_bundle(BUNDLES / "seed.txt")
LEXICAL = LexicalRanker()


def compose(bundle, **options) -> GroundedAnswer:
    return compose_offline(bundle, ranker=LEXICAL, **options)


def statements(answer: GroundedAnswer) -> str:
    """Every sentence the answer says (not the user's own question)."""
    parts = [answer.task.text, *(s.text for s in answer.explanation), *(s.text for s in answer.workflow),
             *(s.text for s in answer.limitations), *(r.relevance for r in answer.references),
             *(s.text for s in answer.sub_questions)]
    return "\n".join(parts)


def test_seed_answer_meets_the_issue() -> None:
    answer = compose(SEED)
    data = json.loads(render_json(answer))
    assert data["grounded"] is True and data["violations"] == []
    assert "deblurring" in data["task"]["text"] and "restoration" in data["task"]["text"]
    model_step = next(step for step in data["workflow"] if step["stage"] == "model")
    assert "MIMO-UNet" in model_step["text"] and model_step["source_ids"][0] == "S1"
    assert [step["stage"] for step in data["workflow"]] == ["input", "model", "output"]
    links = {link for reference in data["references"] for link in reference["links"]}
    assert links == SEED.allowed_links()
    lighting = [s["text"] for s in data["limitations"] if "shadows" in s["text"]]
    assert lighting and "“harsh shadows”" in lighting[0] and "“dim corners”" in lighting[0]
    assert "outside the supplied sources" in lighting[0] and "low-light" in lighting[0]


def test_seed_explains_why_real_blur_training_sharpens_without_inventing() -> None:
    text = statements(compose(SEED))
    assert "three sizes" in text and "residual" in text
    assert "real camera blur" in text and "rather than inventing content" in text
    assert "no adversarial or generative term" in text
    # The upscaling the user mentions is not something any supplied source does to photographs.
    assert "Enlarging the image" in text and "FeatSharp [S2]" in text and "PU-Ray [S4]" in text


def test_every_statement_cites_supplied_sources() -> None:
    answer = compose(SEED)
    ids = {source.id for source in SEED.sources}
    cited = [answer.task, *answer.explanation, *answer.workflow, *answer.limitations]
    assert all(part.source_ids and set(part.source_ids) <= ids for part in cited)


def test_answer_is_deterministic() -> None:
    assert compose(SEED) == compose(SEED)


def test_question_about_a_model_outside_the_bundle() -> None:
    bundle = SEED.model_copy(update={
        "question": "Should I use Real-ESRGAN from https://github.com/xinntao/Real-ESRGAN to sharpen my blurry photo?"})
    answer = compose(bundle)
    assert answer.grounded
    # What the answer says (the user's own words, echoed and quoted beside the sub-answers, are not counted).
    said = statements(answer) + "\n".join(item.text for item in answer.sub_questions)
    assert "Real-ESRGAN" not in said and "xinntao" not in said
    assert any("not include" in s.text and "outside the supplied sources" in s.text for s in answer.limitations)


def test_off_topic_question() -> None:
    bundle = SEED.model_copy(update={"question": "What is a good sourdough bread recipe for beginners?"})
    answer = compose(bundle)
    assert answer.grounded and answer.off_topic
    assert answer.task_name is None and answer.primary_source_id is None and answer.workflow == []
    assert answer.task.text.startswith("None of the supplied sources bears on your question")
    assert "deblurring" not in statements(answer)
    assert all(item.status == "not_given" for item in answer.sub_questions)


NO_CARD = """A user has asked the following question:
"My scanned documents have grainy noise. How can I clean them up?"

### Recommended AI Models:
Model: Quietnet-Denoise
Paper: https://example.org/quietnet.pdf
Summary: Quietnet is a small convolutional network for removing sensor noise from scanned pages. We propose a two-stage design that first estimates a noise map and then removes the noise guided by it. It runs on a CPU in real time.

### Related Papers:
Model: Some Unrelated Matting Study
Paper: https://example.org/matting.pdf
"""


def test_recommended_model_without_a_card_is_described_only_from_the_bundle() -> None:
    bundle = parse_bundle_text(NO_CARD)
    answer = compose(bundle)
    assert answer.grounded
    text = statements(answer)
    assert "image denoising" in answer.task.text and "Quietnet-Denoise [S1]" in answer.task.text
    assert "We propose a two-stage design that first estimates a noise map" in text
    card_sentences = [fact for card in all_cards() for fact in (*card.how, card.serves, card.inputs)]
    assert not any(fact in text for fact in card_sentences)
    assert "MIMO-UNet" not in text and "FeatSharp" not in text


def test_name_only_source_says_how_little_the_bundle_gives() -> None:
    bundle = parse_bundle_text(NO_CARD.replace(
        "Summary: Quietnet is a small convolutional network for removing sensor noise from scanned pages. We propose "
        "a two-stage design that first estimates a noise map and then removes the noise guided by it. It runs on a "
        "CPU in real time.\n", ""))
    answer = compose(bundle)
    assert answer.grounded
    assert "supplies only the name and links of Quietnet-Denoise [S1]" in answer.explanation[0].text


def test_other_tasks_are_answered_for_what_they_are() -> None:
    masks = compose(load_bundle(BUNDLES / "ex_blocky_vit_masks.txt"))
    assert masks.grounded and "feature-map upsampling" in masks.task.text
    # Said once: in the answer to the user's question, and not again under "How it works".
    assert statements(masks).count("patch grid") == 1
    dashcam = compose(load_bundle(BUNDLES / "ex_dashcam_frame.txt"))
    assert dashcam.grounded and any("text recognition" in s.text for s in dashcam.limitations)
    french = compose(load_bundle(BUNDLES / "ex_crlf_french_no_github.txt"))
    assert french.grounded and "“flou”" in french.task.text


def test_restoration_is_reported_exactly_as_it_ran(tmp_path: Path) -> None:
    run = Restoration(input_path=str(tmp_path / "in.png"), output_path=str(tmp_path / "in_restored.png"),
                      preset="cnaps-lite", seconds=2.345, sharpness_before=100.0, sharpness_after=150.0,
                      notes=["official-plus-realblur weights are not installed; used cnaps-lite"])
    answer = compose(SEED, restoration=run, image=tmp_path / "in.png")
    assert answer.grounded and answer.restoration == run
    workflow = " ".join(step.text for step in answer.workflow)
    # Run details (seconds, notes, folders) are in the run table and answer.json, not in the prose; the weights
    # that ran are named where the prose says the run restored the image, so it never credits other training.
    assert "2.35 s" not in workflow and str(tmp_path) not in workflow and "not installed" not in workflow
    assert "In this run the cnaps-lite weights (small weights shipped with cnaps-agent" in workflow
    assert "written as in_restored.png" in workflow and "from 100.0 to 150.0 (+50.0%)" in workflow
    table = render_markdown(answer).split("## What the restoration run did", 1)[1]
    assert "cnaps" in table.split("| Weights preset |")[1].split("\n")[0]
    assert "35 s" in table.split("| Time |")[1].split("\n")[0]
    assert "are not installed" in table
    assert not any("not restored" in s.text for s in answer.limitations)


def test_an_image_that_was_not_restored_is_never_claimed(tmp_path: Path) -> None:
    bundle = parse_bundle_text(NO_CARD)
    answer = compose(bundle, image=tmp_path / "scan.png")
    assert answer.restoration is None
    assert any("scan.png was not restored" in s.text for s in answer.limitations)
    assert "In this run" not in statements(answer)


def test_markdown_reads_as_a_document() -> None:
    markdown = render_markdown(compose(SEED))
    for heading in ("## Task", "## Your questions", "## How it works", "## Workflow", "## References",
                    "## What the sources do not cover"):
        assert heading in markdown
    assert "1. **Input.**" in markdown and "3. **Output.**" in markdown
    assert "- Code: <https://github.com/chosj95/MIMO-UNet>" in markdown
    assert "{{" not in markdown and "None" not in markdown
    assert "Grounded:" in markdown


@pytest.mark.slow
def test_embedding_ranker_gives_the_same_grounded_seed_answer() -> None:
    from agent.ranking import make_ranker

    answer = compose_offline(SEED, ranker=make_ranker("embedding"))
    assert answer.grounded
    assert answer.task == compose(SEED).task and answer.limitations == compose(SEED).limitations


EVERY_ASPECT = ("My blurry, noisy photo with dark shadows and scratches needs upscaling; I also want crisper masks "
                "without retraining the encoder, a cut-out of the hair, a denser point cloud and a readable licence "
                "plate, all without looking fake.")


@pytest.mark.parametrize("card", all_cards(), ids=lambda card: card.id)
def test_card_facts_name_nothing_the_bundle_does_not_supply(card) -> None:
    said = ""
    # Blur yields to masks and point clouds ("crisper masks"), so it gets a question of its own.
    for question in (EVERY_ASPECT, "My blurry photo: can it be sharp?", "Can my blurry photo be sharp without looking fake?"):
        bundle = parse_bundle_text(f'A user has asked the following question:\n"{question}"\n\n'
                                   f"### Recommended AI Models:\nModel: {card.short_name}\n")
        answer = compose(bundle)
        assert answer.grounded, answer.violations
        said += statements(answer)
    assert card.how[0] in said
    assert all(fact in said for fact in card.addresses.values())


def test_a_passing_mention_does_not_make_a_paper_serve_that_task() -> None:
    # "Learning to See in the Dark" is a low-light paper; its summary mentions noise and blur as problems once each.
    answer = compose(load_bundle(BUNDLES / "night_noise_restormer.txt"))
    assert answer.grounded, answer.violations
    said = statements(answer)
    assert "serves image deblurring" not in said
    assert "Learning to See in the Dark [S2] covers brightening" in said and "it serves low-light enhancement" in said
    assert "Denoise-Restormer-SIDD [S1]" in said and "image denoising" in answer.task.text
    # Nothing supplied removes the smearing, and the answer says so instead of inventing a deblurring model.
    assert any("smeared" in item.text and "removing blur" in item.text.lower() for item in answer.limitations)


def test_a_related_paper_with_the_models_link_describes_that_model(tmp_path: Path) -> None:
    # The recommended model comes with links only; its paper (same arXiv link) is supplied as a related paper.
    image = tmp_path / "cat.png"
    image.write_bytes((Path(__file__).parent / "fixtures" / "web_blurry_kodim23_128x96.png").read_bytes())
    answer = compose(load_bundle(BUNDLES / "nafnet_with_its_paper.txt"), image=image)
    assert answer.grounded, answer.violations
    how = answer.explanation[0]
    assert how.source_ids == ["S1", "S2"]
    assert "Deblur-NAFNet-GoPro [S1] serves image deblurring" in how.text
    assert "Nonlinear Activation Free Network" in how.text and "not described" not in how.text
    # Its own paper is not offered as another step of the workflow.
    model_step = next(step for step in answer.workflow if step.stage == "model")
    assert model_step.source_ids == ["S1"] and "Optionally" not in model_step.text
    assert answer.references[1].relevance.startswith("The paper of Deblur-NAFNet-GoPro [S1]")
    # Nothing ran: the image is said to be unrestored, and no output is claimed.
    assert answer.restoration is None
    assert any("cat.png was not restored" in item.text and "rests on Deblur-NAFNet-GoPro [S1]" in item.text
               and "not that model" in item.text for item in answer.limitations)


def test_a_spanish_question_is_understood_and_its_yaml_links_kept() -> None:
    bundle = load_bundle(BUNDLES / "spanish_shaky_hand.yaml")
    assert str(bundle.source("S2").links.page) == "https://github.com/VITA-Group/DeblurGANv2"  # its "project:" link
    answer = compose(bundle)
    assert answer.grounded, answer.violations
    assert "image deblurring" in answer.task.text and "“movida”" in answer.task.text
    related = next(reference for reference in answer.references if reference.source_id == "S2")
    assert "removing blur" in related.relevance
    assert answer.limitations == []  # rendered as "Nothing in the question falls outside the supplied sources."
