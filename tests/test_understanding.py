"""Reading bundles the project has never seen: the task from the sources' own words, relevance before composition,
every sub-question answered or declined, any language (issue 10). Bundles are in tests/fixtures/bundles/."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.answer import GroundedAnswer
from agent.composer import compose_offline
from agent.language import detect_language
from agent.ranking import make_ranker, multilingual_available
from agent.rendering import render_markdown
from knowledge.parser import load_bundle

BUNDLES = Path(__file__).parent / "fixtures" / "bundles"
SEED = load_bundle(BUNDLES / "seed.txt")

pytestmark = pytest.mark.skipif(not multilingual_available(), reason="the multilingual encoder is a dependency")


def answer(bundle_or_name, question: str | None = None) -> GroundedAnswer:
    bundle = load_bundle(BUNDLES / bundle_or_name) if isinstance(bundle_or_name, str) else bundle_or_name
    if question is not None:
        bundle = bundle.model_copy(update={"question": question})
    result = compose_offline(bundle, ranker=make_ranker("multilingual"))
    assert result.grounded, result.violations  # a false "Not grounded" on a correct answer is a bug
    return result


def said(result: GroundedAnswer) -> str:
    """Everything the answer says in its own words (the user's question and its quoted parts left out)."""
    parts = [result.task.text, *(s.text for s in result.explanation), *(s.text for s in result.workflow),
             *(s.text for s in result.limitations), *(r.relevance for r in result.references),
             *(item.text for item in result.sub_questions)]
    return "\n".join(parts)


def sub(result: GroundedAnswer, kind: str):
    return next(item for item in result.sub_questions if item.kind == kind)


def test_an_off_topic_question_names_no_task_and_declines_everything() -> None:
    result = answer(SEED, "How do I get rid of the hiss on my vinyl record?")
    assert result.off_topic and result.task_name is None and result.primary_source_id is None
    assert result.task.text.startswith("None of the supplied sources bears on your question")
    assert result.workflow == [] and result.explanation == []
    assert "deblurring" not in said(result) and "The task here" not in said(result)
    assert [item.status for item in result.sub_questions] == ["not_given"]
    assert "hiss" in result.uncovered_aspects
    assert "Nothing in the question falls outside" not in render_markdown(result)


def test_cutting_out_a_dog_is_matting_from_the_related_paper_not_the_seed_deblurring() -> None:
    result = answer(SEED, "How do I cut out my dog from the background?")
    assert not result.off_topic and result.task_name == "image matting" and result.primary_source_id == "S3"
    assert "image matting" in result.task.text and "Deblur-MIMO-UNet-RealBlur [S1]" in result.task.text
    assert "nothing supplied says it does this" in result.task.text
    assert all("three sizes" not in statement.text for statement in result.explanation)  # no MIMO-UNet explanation


def test_an_unrestored_image_is_explained_by_the_model_the_answer_rests_on(tmp_path: Path) -> None:
    result = compose_offline(SEED.model_copy(update={"question": "How do I cut out my dog from the background?"}),
                             ranker=make_ranker("multilingual"), image=tmp_path / "dog.png")
    unrestored = [item.text for item in result.limitations if "dog.png" in item.text]
    assert unrestored and "rests on Enhancing Image Matting" in unrestored[0]
    assert "cannot run Deblur-MIMO-UNet-RealBlur" not in unrestored[0]  # the tool runs it; it was not asked for
    off = compose_offline(SEED.model_copy(update={"question": "Can you write me a poem?"}),
                          ranker=make_ranker("multilingual"), image=tmp_path / "dog.png")
    assert any("dog.png was not processed" in item.text for item in off.limitations)


def test_no_tool_runs_for_an_off_topic_question_or_a_question_about_another_model(tmp_path: Path) -> None:
    from agent.backends.base import AnswerRequest
    from agent.restoration_step import planned_preset

    image = tmp_path / "photo.png"
    for question in ("How do I get rid of the hiss on my vinyl record?", "How do I cut out my dog from the background?"):
        request = AnswerRequest(bundle=SEED.model_copy(update={"question": question}), image=image)
        assert planned_preset(request) is None
    blurry = AnswerRequest(bundle=SEED.model_copy(update={"question": "My photo is blurry, can you sharpen it?"}),
                           image=image)
    assert planned_preset(blurry) is not None


def test_an_unknown_recommended_model_gets_its_task_from_its_papers_title_and_no_foreign_card_facts() -> None:
    result = answer("sr_realesrgan_paper_twin.txt")
    assert result.task_name == "image super-resolution" and result.primary_source_id == "S1"
    how = result.explanation[0]
    assert how.source_ids == ["S1", "S2"] and "In this work, we extend the powerful ESRGAN" in how.text
    # The related deblurring paper is not the model: its card's "no adversarial term" must not explain a GAN.
    assert "adversarial" not in said(result) and "three sizes" not in said(result)
    workflow = " ".join(step.text for step in result.workflow)
    assert "low-resolution photograph" in workflow and "does not describe" not in workflow
    assert "looking fake" in result.uncovered_aspects


def test_a_model_with_a_one_line_summary_of_an_unknown_task_is_described_from_that_line() -> None:
    result = answer("unknown_reflection_model.txt")
    assert result.task_name == "reflection removal" and result.primary_source_id == "S1"
    assert "GlassClear removes reflections from photos taken through glass" in result.explanation[0].text
    removed = sub(result, "will")
    assert removed.status == "answered" and "removes reflections" in removed.text
    assert sub(result, "which").text.startswith("GlassClear [S1]")
    workflow = " ".join(step.text for step in result.workflow)
    assert "reflection removal" in workflow


def test_a_chinese_question_is_understood_and_answered_in_english_with_a_note() -> None:
    result = answer("zh_shaky_nafnet.txt")
    assert (result.language, result.answer_language) == ("zh", "en")
    assert result.task_name == "image deblurring" and result.primary_source_id == "S1" and not result.off_topic
    brighten = sub(result, "will")
    # The recommended model is not said to brighten; the supplied low-light paper is named for it.
    assert brighten.status == "not_given" and "Learning to See in the Dark [S2]" in brighten.text
    markdown = render_markdown(result)
    assert "本回答使用英文" in markdown and "This answer is in English" in markdown


@pytest.mark.parametrize("question, language, task", [
    ("¿Cómo quito el desenfoque de mi foto movida?", "es", "image deblurring"),
    ("Comment détourer mon chien sur la photo ?", "fr", "image matting"),
    ("Wie kann ich meine Punktwolke verdichten?", "de", "point-cloud upsampling"),
    ("手ぶれした写真をシャープにするには？", "ja", "image deblurring"),
    ("Como deixar a foto tremida nítida?", "pt", "image deblurring"),
])
def test_questions_in_other_languages_find_their_task_in_the_seed_sources(question, language, task) -> None:
    result = answer(SEED, question)
    assert result.language == language and result.task_name == task and not result.off_topic


def test_every_sub_question_is_answered_or_declined_with_what_is_missing() -> None:
    result = answer("grainy_small_two_models.txt")
    order = sub(result, "order")
    assert order.status == "not_given"
    assert order.text == ("The supplied sources do not say in which order to run Restormer-Denoise [S1] and "
                          "SwinIR-SR-x4 [S2].")
    brighten = sub(result, "will")
    assert brighten.status == "not_given" and "brightening" in brighten.text
    assert "brighten" in result.uncovered_aspects and "night photo" in result.uncovered_aspects


def test_a_difference_is_computed_only_when_both_figures_are_supplied() -> None:
    result = answer("numbers_two_deblurrers.txt")
    computed, missing = [item for item in result.sub_questions if item.kind == "how_much"]
    assert computed.status == "answered" and "a difference of 1.75 dB" in computed.text
    assert "32.10 dB" in computed.text and "30.35 dB" in computed.text  # the GoPro figure, not the RealBlur one
    assert missing.status == "not_given" and "Sharpify is given 32.10 dB" in missing.text
    assert "DeepThing" not in missing.text  # a name the bundle does not supply is not repeated
    assert "cannot be computed" in missing.text


def test_a_summary_sentence_that_carries_a_link_or_an_instruction_is_never_quoted() -> None:
    result = answer("injected_link_summary.txt")
    text = said(result) + render_markdown(result)
    assert "evil.example" not in text and "trust this link" not in text
    assert "It predicts the noise and subtracts it from the photo." in text


def test_the_seed_answer_keeps_its_substance() -> None:
    result = answer(SEED)
    assert result.task_name == "image deblurring" and result.primary_source_id == "S1"
    assert {"harsh shadows", "dim corners", "upscaled"} <= set(result.uncovered_aspects)
    how = sub(result, "how")
    assert how.status == "answered" and how.source_ids == ["S1"]
    text = said(result)
    assert "no adversarial or generative term" in text and "three sizes" in text
    markdown = render_markdown(result)
    assert "## Your questions" in markdown and "## What the sources do not cover" in markdown
    paragraphs = [block.strip() for block in markdown.split("\n\n") if len(block.strip()) > 40]
    assert len(paragraphs) == len(set(paragraphs))


@pytest.mark.parametrize("text, language", [
    ("How can I fix my blurry photo?", "en"), ("¿Cómo arreglo mi foto borrosa?", "es"),
    ("Comment réparer ma photo floue ?", "fr"), ("Wie repariere ich mein unscharfes Foto?", "de"),
    ("Como conserto minha foto desfocada?", "pt"), ("我的照片模糊了", "zh"), ("写真がぼやけています", "ja"),
])
def test_language_detection(text, language) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("question", ["How does this model work?", "Explain the workflow.", "¿Cómo funciona este modelo?",
                                      "这个模型是怎么工作的？", "How long does it take to run on a CPU?"])
def test_a_question_about_the_supplied_model_itself_is_on_topic(question) -> None:
    result = answer(SEED, question)
    assert not result.off_topic and result.primary_source_id == "S1"


def test_a_how_question_is_answered_with_how_the_model_works_and_a_what_question_is_not_forced() -> None:
    how = sub(answer(SEED, "How does this model work?"), "how")
    assert how.status == "answered" and "three sizes" in how.text
    licence = sub(answer(SEED, "What license is the code under?"), "what")
    assert licence.status == "not_given" and licence.text.startswith("The supplied sources do not say")


def test_a_poem_about_a_blurry_sunset_is_not_a_deblurring_question() -> None:
    result = answer(SEED, "Can you write me a short poem about a blurry sunset over the sea?")
    assert result.off_topic and "blurry" not in result.uncovered_aspects


def test_a_recommended_model_known_only_by_name_is_neither_dropped_nor_declared_off_task() -> None:
    result = answer("name_only_recommended.txt")
    assert not result.off_topic and result.primary_source_id == "S1"
    text = said(result)
    assert "belong to other tasks" not in text and "serves a different task" not in text
    assert any("do not say whether XYZ-Net [S1] does this" in item.text for item in result.limitations)
