"""The answer's restoration step runs only when it applies, and reports exactly what ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backends.base import AnswerRequest
from agent.restoration_step import restore_for_answer
from knowledge.bundle import QuestionBundle, Source

FIXTURES = Path(__file__).parent / "fixtures"
IMAGE = FIXTURES / "web_blurry_kodim23_128x96.png"
TINY = str(FIXTURES / "tiny_mimo_unet.safetensors")


def _bundle(model_name: str) -> QuestionBundle:
    return QuestionBundle(question="Why is my photo blurry?",
                          recommended=[Source(id="S1", role="recommended", name=model_name)])


@pytest.fixture(autouse=True)
def no_official_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path / "weights"))


def test_mimo_bundle_with_image_restores_with_the_default_and_says_why(tmp_path):
    restoration = restore_for_answer(AnswerRequest(bundle=_bundle("Deblur-MIMO-UNet-RealBlur"), image=IMAGE,
                                                   out_dir=tmp_path / "out"))
    assert restoration.preset == "cnaps-lite"
    assert Path(restoration.output_path).is_file() and restoration.seconds > 0
    assert any("official-plus-realblur" in note for note in restoration.notes)


def test_explicit_preset_wins(tmp_path):
    restoration = restore_for_answer(AnswerRequest(bundle=_bundle("FeatSharp"), image=IMAGE, preset=TINY,
                                                   out_dir=tmp_path))
    assert restoration.preset == "tiny_mimo_unet.safetensors" and restoration.notes == []


def test_nothing_runs_without_image_or_mimo_model(tmp_path):
    assert restore_for_answer(AnswerRequest(bundle=_bundle("Deblur-MIMO-UNet-RealBlur"))) is None
    assert restore_for_answer(AnswerRequest(bundle=_bundle("FeatSharp"), image=IMAGE, out_dir=tmp_path)) is None
    assert not any(tmp_path.iterdir())
