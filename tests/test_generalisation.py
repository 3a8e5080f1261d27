"""Answers that hold up on bundles nobody here has seen (issue 10 follow-up): a question pointing at the supplied
models or about a picture is never off-topic, a homonym alone does not make a question on-topic, a model beats its
own paper as primary, figures answer how-fast and how-large in any language, an effect no source serves is declined,
each fact is said once, and a chat follow-up is read with the question before it."""

from __future__ import annotations

import pytest

from agent.composer import compose_offline
from agent.evaluation.checks import repeated_paragraphs
from agent.ranking import make_ranker, multilingual_available
from agent.rendering import render_markdown
from knowledge.parser import default_bundle, parse_bundle_text

pytestmark = pytest.mark.skipif(not multilingual_available(), reason="the multilingual encoder is a dependency")

HEAD = ('A user has asked the following question:\n"{question}"\n\n### Recommended AI Models:\n{recommended}\n'
        '### Related Papers:\n{related}\n')
LAMA = "Model: big-lama\nPaper: https://arxiv.org/abs/2109.07161\nGitHub: https://github.com/advimman/lama\n"
LAMA_PAPER = ("Model: Resolution-robust Large Mask Inpainting with Fourier Convolutions\n"
              "Paper: https://arxiv.org/abs/2109.07161\nGitHub: https://github.com/advimman/lama\n"
              "Summary: LaMa fills large missing regions of an image given a mask of what to remove. Fast Fourier "
              "convolutions give it an image-wide receptive field, so it can fill holes covering up to 40% of the image "
              "with plausible texture.\n")
ZERO_DCE = "Model: Zero-DCE++\nPaper: https://arxiv.org/abs/2103.00860\n"
ZERO_DCE_PAPER = ("Model: Learning to Enhance Low-Light Image via Zero-Reference Deep Curve Estimation\n"
                  "Paper: https://arxiv.org/abs/2103.00860\n"
                  "Summary: Zero-DCE++ brightens low-light images by estimating pixel-wise curves with a tiny network "
                  "trained without reference images. It has only 10K parameters.\n")
NAFNET = ("Model: NAFNet-SIDD-width64\nPaper: https://arxiv.org/abs/2204.04676\n"
          "Summary: NAFNet is a simple baseline for image restoration. For image denoising it reaches 40.30 dB PSNR on "
          "the SIDD benchmark of real smartphone noise.\n")
SAM = "Model: SAM\nPaper: https://arxiv.org/abs/2304.02643\n"
SAM_PAPER = ("Model: Segment Anything\nPaper: https://arxiv.org/abs/2304.02643\n"
             "Summary: The Segment Anything Model returns a segmentation mask for any object given a prompt such as a "
             "point or a box. It was trained on over 1 billion masks.\n")
MODNET = "Model: MODNet\nGitHub: https://github.com/ZHKKKe/MODNet\n"
MODNET_PAPER = ("Model: MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition\n"
                "GitHub: https://github.com/ZHKKKe/MODNet\n"
                "Summary: MODNet is a lightweight network for real-time portrait matting without a trimap. It runs at "
                "67 frames per second on a GTX 1080Ti GPU.\n")


def answer(question: str, recommended: str, related: str = "", previous: str = ""):
    bundle = parse_bundle_text(HEAD.format(question=question, recommended=recommended, related=related))
    if previous:
        bundle = bundle.model_copy(update={"previous_question": previous})
    result = compose_offline(bundle, ranker=make_ranker("multilingual"))
    assert result.grounded, result.violations
    return result


@pytest.mark.parametrize("question", [
    "Kann ich mit diesem Modell einen Passanten aus meinem Foto entfernen?",
    "Est-ce que ce modèle peut effacer mon ex de la photo de vacances ?",
    "dá pra usar esse modelo pra tirar o fio de luz da foto?",
    "这个模型能把照片里的路人去掉吗？",
    "how do i get rid of the photobomber in the back of my selfie",
])
def test_a_question_pointing_at_the_models_or_at_a_picture_is_never_off_topic(question: str) -> None:
    result = answer(question, LAMA, LAMA_PAPER)
    assert not result.off_topic and result.primary_source_id == "S1" and "inpainting" in result.task_name


def test_a_colloquial_typo_filled_low_light_question_reaches_the_task() -> None:
    result = answer("pics from the bonfire last nite r basically pitch black can any of these fix that",
                    ZERO_DCE, ZERO_DCE_PAPER)
    assert not result.off_topic and "low-light" in result.task_name and result.primary_source_id == "S1"


@pytest.mark.parametrize("question, sources", [
    ("Mes voisins font trop de bruit la nuit, que puis-je faire légalement ?", NAFNET),
    ("¿Cómo puedo reducir el ruido del motor de mi coche?", NAFNET),
    ("What's the best way to sharpen my kitchen knives at home?", NAFNET),
    ("How do I remove a red wine stain from my white shirt?", LAMA + "\n" + LAMA_PAPER),
])
def test_a_word_shared_with_a_source_does_not_make_an_everyday_question_on_topic(question: str, sources: str) -> None:
    result = answer(question, sources)
    assert result.off_topic and result.task_name is None and not result.workflow


def test_the_same_word_about_a_photo_stays_on_topic() -> None:
    result = answer("Das Foto vom Konzert ist total verrauscht, hilft eins davon?", NAFNET)
    assert not result.off_topic and "denoising" in result.task_name


def test_a_recommended_model_is_primary_over_its_own_paper() -> None:
    result = answer("How does Segment Anything make a mask of each bird in my photos?", SAM, SAM_PAPER)
    assert result.primary_source_id == "S1"


@pytest.mark.parametrize("question, expected", [
    ("Ich will mein Porträt freistellen. Wie schnell läuft das Modell?", "67"),
    ("ビデオ会議で背景を切り抜きたいです。このモデルはどのくらい速いですか？", "67"),
])
def test_a_speed_figure_answers_how_fast_in_any_language(question: str, expected: str) -> None:
    result = answer(question, MODNET, MODNET_PAPER)
    figure = next(item for item in result.sub_questions if item.kind == "how_much")
    assert figure.status == "answered" and expected in figure.text


def test_size_and_parameter_figures_answer_their_questions() -> None:
    hole = answer("Je veux supprimer un panneau de ma photo. Quelle taille de trou peut-il remplir ?", LAMA, LAMA_PAPER)
    assert any(item.status == "answered" and "40%" in item.text for item in hole.sub_questions)
    count = answer("my night shots are way too dark. how many parameters does this model have?", ZERO_DCE,
                   ZERO_DCE_PAPER)
    assert any(item.status == "answered" and "10K" in item.text for item in count.sub_questions)


def test_an_effect_no_source_serves_is_declined_not_answered_from_a_loose_sentence() -> None:
    result = answer("Mis fotos nocturnas están muy oscuras. ¿Y quita también las rayas de lluvia?", ZERO_DCE,
                    ZERO_DCE_PAPER)
    rain = next(item for item in result.sub_questions if "lluvia" in item.question)
    assert rain.status == "not_given"


def test_the_seed_says_each_long_sentence_once() -> None:
    bundle = default_bundle()
    markdown = render_markdown(compose_offline(bundle, ranker=make_ranker("multilingual")))
    assert markdown.count("Two design choices keep the result faithful") == 1
    assert repeated_paragraphs(markdown, bundle.question) == []


def test_a_follow_up_is_read_with_the_previous_question() -> None:
    seed = default_bundle()
    first = "How do I cut out my dog from the background?"

    def ask(question: str, previous: str = ""):
        bundle = seed.model_copy(update={"question": question, "previous_question": previous})
        return compose_offline(bundle, ranker=make_ranker("multilingual"))

    alone, follow_up = ask("and how long does it take?"), ask("and how long does it take?", first)
    assert alone.primary_source_id == "S1"  # alone, "it" is the recommended deblurring model
    assert not follow_up.off_topic and "matting" in follow_up.task_name  # with the conversation, the dog's cut-out
    assert follow_up.question == "and how long does it take?" and follow_up.language == "en"
    # A follow-up that is plainly about something else stays off-topic; a full question is read alone.
    assert ask("What's the best way to keep my sourdough starter alive?", first).off_topic
    assert "deblurring" in ask("My holiday photo is blurry because my hand shook, can it be fixed?",
                               first).task_name


@pytest.mark.parametrize("question", ["How do I remove noise?", "怎么去除噪点？", "how do I get rid of the shaky blur"])
def test_a_short_image_request_without_a_photo_word_is_not_read_as_an_everyday_question(question: str) -> None:
    sources = ("Model: Deblur-MIMO-UNet-RealBlur\nGitHub: https://github.com/chosj95/MIMO-UNet\n" if "blur" in question
               else NAFNET)
    assert not answer(question, sources).off_topic


def test_a_recommended_model_s_task_close_by_meaning_counts_when_the_best_reading_is_a_neighbour() -> None:
    # Read by meaning alone, "remove the guy" is closest to matting; inpainting, what the model does, also clears
    # the floor, so the question is about it and matting is not declared uncovered.
    result = answer("remove the guy on the left", LAMA, LAMA_PAPER)
    assert not result.off_topic and "inpainting" in result.task_name and not result.uncovered_aspects


def test_a_will_question_about_removing_someone_is_answered_by_the_inpainting_model() -> None:
    result = answer("Kann ich mit diesem Modell das Stromkabel aus meinem Urlaubsfoto wegmachen?", LAMA, LAMA_PAPER)
    part = result.sub_questions[0]
    assert part.kind == "will" and part.status == "answered" and "inpainting" in part.text
