"""The answering path the web faces share: one backend per process, server paths hidden, a warm-up that never raises."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.errors import BackendError
from agent.web.answer import answer_bundle, resolve_bundle, shared_backend, warm_up, without_server_paths

BLURRY = Path(__file__).parent / "fixtures" / "web_blurry_kodim23_128x96.png"


def test_each_backend_is_built_once_per_process_and_a_self_hosted_model_answers_one_request_at_a_time():
    offline, offline_lock = shared_backend("offline")
    assert shared_backend("offline")[0] is offline and offline_lock is None
    local, local_lock = shared_backend("local")  # built only: its model server starts on the first answer
    assert shared_backend("local") == (local, local_lock) and local_lock is not None
    with pytest.raises(BackendError, match="unknown backend 'gpt-99'"):
        shared_backend("gpt-99")


def test_server_paths_become_file_names_everywhere_in_the_answer(tmp_path):
    answer = answer_bundle(resolve_bundle(None, None), BLURRY, "offline", tmp_path / "job" / "out")
    output = Path(answer.restoration.output_path)
    assert str(tmp_path) in answer.model_dump_json()  # the composer writes where the image went
    public = without_server_paths(answer, {output: "restored.png", BLURRY: BLURRY.name})
    assert str(tmp_path) not in public.model_dump_json() and str(BLURRY.parent) not in public.model_dump_json()
    assert public.restoration.output_path == "restored.png" and public.restoration.input_path == BLURRY.name
    assert any("restored.png" in step.text for step in public.workflow)
    assert public.model_copy(update={"restoration": None, "workflow": []}) == \
        answer.model_copy(update={"restoration": None, "workflow": []})


def test_a_failing_warm_up_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="agent.web.answer"):
        warm_up("gpt-99")
    assert "warm-up with the gpt-99 backend failed: unknown backend 'gpt-99'" in caplog.text
