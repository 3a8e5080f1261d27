"""The backend registry and the offline backend behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.backends import BACKEND_NAMES, get_backend
from agent.backends.base import AnswerRequest
from agent.backends.offline import OfflineBackend
from agent.errors import BackendError
from knowledge.parser import default_bundle, parse_bundle_text


def test_names_and_unknown_backend() -> None:
    assert BACKEND_NAMES == ("offline", "openai", "local")
    with pytest.raises(BackendError, match="unknown backend 'gpt'"):
        get_backend("gpt")


def test_offline_backend_answers_without_an_image() -> None:
    engine = get_backend("offline", ranker="lexical", fallback="offline")
    assert isinstance(engine, OfflineBackend) and engine.name == "offline"
    answer = engine.answer(AnswerRequest(bundle=default_bundle()))
    assert answer.grounded and answer.backend == "offline" and answer.restoration is None


def test_unknown_ranker_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="unknown ranker"):
        OfflineBackend(ranker="bm99")


@pytest.mark.slow  # asks the restoration tool's presets, which imports torch
def test_image_with_a_bundle_no_tool_applies_to_is_not_restored(tmp_path: Path) -> None:
    bundle = parse_bundle_text('A user has asked the following question:\n"Cut out my cat?"\n\n'
                               "### Recommended AI Models:\nModel: Some Matting Net\n"
                               "Paper: https://example.org/matting.pdf\n")
    image = tmp_path / "cat.png"
    image.write_bytes(b"not needed: nothing runs")
    answer = OfflineBackend(ranker="lexical").answer(AnswerRequest(bundle=bundle, image=image, out_dir=tmp_path))
    assert answer.restoration is None
    assert any("cat.png was not restored" in s.text for s in answer.limitations)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cat.png"]
