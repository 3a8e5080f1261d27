"""Hostile bundles against the parser and the CLI: each is refused with a one-line BundleError in well under a
second, before anything is expanded; the good bundles beside them in a batch are still answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_inputs import HOSTILE_BUNDLES, cnaps_document, write_bundle

from knowledge.errors import BundleError
from knowledge.limits import MAX_SOURCES, BundleLimitError
from knowledge.parser import load_bundle, load_bundle_items, parse_bundle_text

SEED = Path(__file__).parents[1] / "fixtures" / "bundles" / "seed.txt"


def cnaps(*args) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize("name", sorted(HOSTILE_BUNDLES))
def test_each_hostile_bundle_is_refused_quickly_with_one_line(hostile, tmp_path, name):
    path = write_bundle(tmp_path, name)
    hostile.watch(path)
    with hostile.case():
        started = time.perf_counter()
        with pytest.raises(BundleError) as refused:
            load_bundle(path)
        assert time.perf_counter() - started < 1.0
        message = str(refused.value)
        assert "\n" not in message and len(message) < 400 and message.startswith(str(path))


@pytest.mark.parametrize("name", ["alias_bomb", "python_tag", "nested_json", "nested_yaml", "million_sources_json"])
def test_the_same_text_pasted_is_refused_too(hostile, name):
    with hostile.case():
        with pytest.raises(BundleError):
            parse_bundle_text(HOSTILE_BUNDLES[name][1], "pasted")


def test_python_tags_are_never_constructed(hostile, tmp_path):
    marker = tmp_path / "pwned"
    text = f'question: !!python/object/apply:os.system ["touch {marker}"]\nrecommended: [{{name: X}}]\n'
    with hostile.case():
        with pytest.raises(BundleLimitError, match="tag"):
            parse_bundle_text(text, "tagged")
        assert not marker.exists()


def test_limits_say_what_to_do_and_which_status(hostile):
    with hostile.case():
        with pytest.raises(BundleLimitError) as many:
            parse_bundle_text(HOSTILE_BUNDLES["thousand_sources_json"][1], "many")
        assert many.value.status == 413 and f"the limit is {MAX_SOURCES}" in str(many.value)
    with hostile.case():
        with pytest.raises(BundleLimitError) as bomb:
            parse_bundle_text(HOSTILE_BUNDLES["alias_bomb"][1], "bomb")
        assert bomb.value.status == 422 and "write each value out" in str(bomb.value)


def test_a_bundle_at_the_source_limit_still_parses():
    blocks = "".join(f"Model: Model-{index}\nGitHub: https://github.com/x/m{index}\n" for index in range(MAX_SOURCES))
    bundle = parse_bundle_text(cnaps_document("Which model deblurs my photo?", "### Recommended AI Models:\n" + blocks))
    assert len(bundle.sources) == MAX_SOURCES


def test_a_list_file_keeps_its_good_items_beside_hostile_ones(hostile, tmp_path):
    good = {"question": "How do I remove camera shake?", "recommended": [{"name": "MIMO-UNet"}]}
    lines = [json.dumps(good), HOSTILE_BUNDLES["nested_jsonl"][1].strip(), json.dumps(good),
             json.dumps({"question": "q", "recommended": [{"name": "X"}] * 1000})]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    hostile.watch(path)
    with hostile.case():
        items = load_bundle_items(path)
        assert [item.error is None for item in items] == [True, False, True, False]
        assert all(isinstance(item.error, BundleLimitError) for item in items if item.error)


@pytest.mark.parametrize("name", ["alias_bomb", "nested_json", "million_sources_json", "python_tag"])
def test_cnaps_ask_prints_one_line_and_exits_1(hostile, tmp_path, name):
    path = write_bundle(tmp_path, name)
    hostile.watch(path)
    with hostile.case():
        done = cnaps("ask", "--bundle", path)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.strip().startswith("error: ") and len(done.stderr.strip().splitlines()) == 1


def test_cnaps_batch_answers_the_good_bundles_beside_every_hostile_one(hostile, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("alias_bomb", "nested_json", "nested_yaml", "python_tag", "thousand_sources_cnaps"):
        write_bundle(inputs, name)
    (inputs / "good_seed.txt").write_bytes(SEED.read_bytes())
    (inputs / "good_other.yaml").write_text(
        "question: How do I remove camera shake?\nrecommended:\n  - name: MIMO-UNet\n"
        "    github: https://github.com/chosj95/MIMO-UNet\n", encoding="utf-8")
    hostile.watch(inputs)
    with hostile.case():
        done = cnaps("batch", inputs, "--out", tmp_path / "out", "--json")
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert (tmp_path / "out" / "good_seed" / "answer.md").is_file()
        assert (tmp_path / "out" / "good_other" / "answer.md").is_file()


@pytest.mark.parametrize("name", ["alias_bomb", "nested_yaml", "python_tag", "thousand_sources_json"])
def test_the_chat_refuses_a_hostile_bundle_document_before_starting_a_job(hostile, tmp_path, name):
    from agent.web.chat import ChatSession, Turn

    path = write_bundle(tmp_path, name)
    hostile.watch(path)
    session = ChatSession(tmp_path / "chat")
    try:
        with hostile.case():
            started = time.perf_counter()
            with pytest.raises(BundleError):
                session.start(Turn(question="", image=None, bundle_document=path), "offline")
            assert time.perf_counter() - started < 1.0 and session.board.pool.stats().running == 0
    finally:
        session.close()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_bundle_path_that_never_ends_is_refused_without_reading(hostile, device):
    if not Path(device).exists():
        pytest.skip(f"{device} is not on this system")
    with hostile.case():
        started = time.perf_counter()
        with pytest.raises(BundleError, match="not a regular file"):
            load_bundle(Path(device))
        assert time.perf_counter() - started < 1.0
