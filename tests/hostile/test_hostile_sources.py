"""Bundles with as many sources as the limits allow are answered, and the embedding cache never drops a vector that
the current ranking still needs (it raised KeyError with more than ~511 sources)."""

from __future__ import annotations

import numpy as np
import pytest
from hostile_inputs import cnaps_document

from agent.backends import get_backend
from agent.backends.base import AnswerRequest
from agent.ranking import _CachedEncoder
from knowledge.limits import MAX_SOURCES
from knowledge.parser import parse_bundle_text

TASKS = ["image deblurring", "denoising", "super-resolution upscaling", "low-light enhancement", "image matting",
         "inpainting", "colorization", "JPEG artifact removal"]
QUESTION = "My photo is blurry, noisy, dark and small; how do I deblur, denoise, brighten and upscale it?"


class CountingEncoder(_CachedEncoder):
    """The real cache around a stand-in encoder: one fixed unit vector per text, no model to load."""

    _cache_size = 512

    def _encode(self, texts: list[str]) -> list:
        vectors = []
        for text in texts:
            vector = np.random.default_rng(abs(hash(text)) % 2**32).normal(size=8)
            vectors.append(vector / np.linalg.norm(vector))
        return vectors


def test_ranking_more_texts_than_the_cache_holds(hostile):
    encoder = CountingEncoder()
    documents = [f"source number {index}" for index in range(1500)]
    with hostile.case():
        scores = encoder.scores("which deblurs?", documents)
        assert len(scores) == 1500 and all(-1.0 <= score <= 1.0 for score in scores)
        assert encoder.scores("which deblurs?", documents[:3]) == scores[:3]  # cached or not, the same scores


def bundle_text(recommended: int, related: int) -> str:
    blocks = ["### Recommended AI Models:"]
    blocks += [f"Model: Rec-Net-{index}\nGitHub: https://github.com/x/r{index}\n"
               f"Summary: A network for {TASKS[index % len(TASKS)]} of photographs." for index in range(recommended)]
    blocks += ["", "### Related Papers:"]
    blocks += [f"Model: Paper on {TASKS[index % len(TASKS)]} {index}\nPaper: https://example.org/p{index}.pdf\n"
               f"Summary: A method for {TASKS[index % len(TASKS)]}." for index in range(related)]
    return cnaps_document(QUESTION, "\n".join(blocks) + "\n")


@pytest.mark.parametrize("recommended, related", [(13, 0), (MAX_SOURCES, 0), (1, MAX_SOURCES - 1), (100, 100)])
def test_a_bundle_at_the_source_limit_is_answered(hostile, recommended, related):
    bundle = parse_bundle_text(bundle_text(recommended, related), "many")
    with hostile.case():
        answer = get_backend("offline").answer(AnswerRequest(bundle=bundle, image=None, out_dir=None))
        assert len(answer.references) == recommended + related
        assert answer.grounded, answer.violations


@pytest.mark.parametrize("summary", ["MIMO-UNet-" * 1900, "a." * 9000, "a-b " * 4500])
def test_reading_a_long_hostile_summary_takes_linear_time(hostile, summary):
    import time

    from agent.summaries import split_sentences

    with hostile.case():
        started = time.perf_counter()
        split_sentences(summary)
        assert time.perf_counter() - started < 0.5  # the link pattern once took 20 s on the first one


@pytest.mark.parametrize("text", ["a." * 10_000 + "png", "a-" * 10_000 + ".jpg", "Ab-" * 6_000 + " x.json"])
def test_the_verifier_reads_a_long_hostile_text_in_linear_time(hostile, text):
    import time

    from agent.grounding import find_violations_in_text
    from knowledge.parser import default_bundle

    with hostile.case():
        started = time.perf_counter()
        find_violations_in_text(text, default_bundle())
        assert time.perf_counter() - started < 0.5  # the file-name pattern once took over 20 s on the first


@pytest.mark.parametrize("question", [" " * 3990 + "x?", "a" * 3990 + " than b?", "a-" * 1995 + " or how?"])
def test_splitting_a_long_hostile_question_takes_linear_time(hostile, question):
    import time

    from agent.subquestions import split_question

    with hostile.case():
        started = time.perf_counter()
        split_question(question)
        assert time.perf_counter() - started < 0.5


def test_naming_the_task_of_a_long_hostile_summary_takes_linear_time(hostile):
    import time

    from knowledge.bundle import Source
    from knowledge.catalog import title_tasks

    source = Source(id="S1", role="recommended", name="X", summary="a-" * 9_999)
    with hostile.case():
        started = time.perf_counter()
        title_tasks(source)
        assert time.perf_counter() - started < 0.5  # the task-phrase pattern once took 4.7 s
