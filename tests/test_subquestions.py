"""Splitting a question into what it asks, and reading figures from summaries."""

from __future__ import annotations

import pytest

from agent.quantities import find_quantities, unit_asked
from agent.subquestions import split_question


@pytest.mark.parametrize("question, expected", [
    ("My photo is blurry. How can I fix it, and which model should I use?",
     [("How can I fix it", "how"), ("which model should I use?", "which")]),
    ("In what order should I run the models, and will it brighten the photo?",
     [("In what order should I run the models", "order"), ("will it brighten the photo?", "will")]),
    ("How many dB better is X-Net than Y-Net? Why does it not look fake?",
     [("How many dB better is X-Net than Y-Net?", "how_much"), ("Why does it not look fake?", "why")]),
    ("Tengo una foto de mi perro que salió movida. ¿Cómo la puedo enfocar y cuánto tarda?",
     [("¿Cómo la puedo enfocar", "how"), ("cuánto tarda?", "how_much")]),
    ("应该先去噪还是先放大？", [("应该先去噪还是先放大？", "order")]),
    ("Explain how to sharpen my photo", [("Explain how to sharpen my photo", "how")]),
])
def test_a_question_splits_into_the_parts_that_ask(question, expected) -> None:
    assert split_question(question) == expected


def test_figures_are_read_with_their_units_and_positions() -> None:
    summary = ("It was trained on SA-1B with over 1 billion masks. It runs at 67 frames per second. "
               "It is trained with an upsampling rate of 4 and reaches 32.5 dB, 2.5x faster.")
    found = [(quantity.value, quantity.unit) for quantity in find_quantities(summary)]
    assert found == [(1.0, "count"), (67.0, "fps"), (4.0, "x"), (32.5, "dB"), (2.5, "x")]
    assert [q.written for q in find_quantities(summary, "dB")] == ["32.5 dB"]
    assert [q.written for q in find_quantities(summary, "s")] == ["67 frames per second"]


def test_the_unit_a_number_question_wants() -> None:
    assert unit_asked("How many dB better is it?") == "dB"
    assert unit_asked("how much bigger does it make them?") == "x"
    assert unit_asked("¿cuánto tiempo tarda por foto?") == "s"
    assert unit_asked("how many masks was it trained on?") is None


def test_a_count_question_is_not_answered_with_an_unrelated_figure() -> None:
    from agent.composer import compose_offline
    from agent.ranking import make_ranker
    from knowledge.parser import load_bundle
    from pathlib import Path

    bundle = load_bundle(Path(__file__).parent / "fixtures" / "bundles" / "numbers_two_deblurrers.txt")
    asked = bundle.model_copy(update={"question": "How many photos do I need to train it?"})
    answer = compose_offline(asked, ranker=make_ranker("multilingual"))
    assert not answer.off_topic
    (part,) = answer.sub_questions
    assert part.kind == "how_much" and part.status == "not_given" and "dB" not in part.text


def test_will_it_about_a_model_the_bundle_does_not_supply_is_declined_without_naming_it() -> None:
    from agent.composer import compose_offline
    from agent.ranking import make_ranker
    from knowledge.parser import default_bundle

    asked = default_bundle().model_copy(update={"question": "Should I use SuperNet-9000 to sharpen my blurry photo?"})
    (part,) = compose_offline(asked, ranker=make_ranker("multilingual")).sub_questions
    assert part.status == "not_given" and "SuperNet" not in part.text and "MIMO-UNet [S1]" in part.text
    # An ordinary technical word is not a model name: a JPEG question is asked of the supplied model.
    asked = default_bundle().model_copy(update={"question": "Can MIMO-UNet remove JPEG blocks?"})
    (part,) = compose_offline(asked, ranker=make_ranker("multilingual")).sub_questions
    assert part.kind == "will" and "model you name" not in part.text


def test_latin_cues_are_read_beside_chinese_and_japanese_text() -> None:
    from agent.coverage import find_aspects

    assert [match.aspect.id for match in find_aspects("JPEGのブロックノイズも消せますか？")] == ["compression", "noise"]
