"""Ranking sources against a question."""

from __future__ import annotations

import pytest

from agent.ranking import LexicalRanker, content_words, make_ranker

DOCUMENTS = ["Deblurring photographs blurred by camera shake",
             "Upsampling point clouds from lidar scans",
             "Image matting for hair and fur"]


def test_lexical_ranker_prefers_shared_words() -> None:
    scores = LexicalRanker().scores("My photograph is blurred from camera shake", DOCUMENTS)
    assert scores[0] > max(scores[1:]) and scores[0] > 0
    assert LexicalRanker().scores("sourdough bread recipe", DOCUMENTS) == [0.0, 0.0, 0.0]


def test_content_words_drop_stop_words_and_stem() -> None:
    assert content_words("The images were blurred and the corners dimmed") == {"imag", "blurr", "corner", "dimm"}


def test_ranker_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNAPS_RANKER", "lexical")
    assert make_ranker().name == "lexical"
    assert make_ranker("LEXICAL").name == "lexical"


@pytest.mark.slow
def test_embedding_ranker_separates_related_from_unrelated() -> None:
    ranker = make_ranker("embedding")
    assert ranker.name == "embedding"
    related = ranker.scores("my photo is blurry because my hand shook", DOCUMENTS)
    assert related[0] == max(related) and related[0] > ranker.relevance_floor
    unrelated = ranker.scores("What is a good sourdough bread recipe?", DOCUMENTS)
    assert max(unrelated) < ranker.relevance_floor
