"""The model-facing draft: a bounded schema restricted to the bundle's ids, and references copied from the bundle."""

from __future__ import annotations

import pytest

from agent.llm.draft import AnswerDraft, DraftReferenceNote, DraftStatement, answer_from_draft, draft_json_schema
from agent.llm.structured import DraftError, parse_draft
from knowledge.parser import default_bundle


def _walk(node, path="$"):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _draft(**changes) -> AnswerDraft:
    statement = DraftStatement(text="Removing blur from a photo.", source_ids=["S1"])
    fields = dict(
        task=statement, explanation=[statement], workflow_input=statement, workflow_model=statement,
        workflow_output=statement, reference_notes=[DraftReferenceNote(source_id="S2", relevance="Sharper features.")],
        limitations=[],
    )
    return AnswerDraft(**{**fields, **changes})


def test_every_string_and_list_in_the_schema_is_bounded():
    # A grammar-constrained small model writes until max_tokens through any unbounded string or list.
    schema = draft_json_schema(default_bundle())
    for path, node in _walk(schema):
        if isinstance(node, dict) and node.get("type") == "string" and "enum" not in node:
            assert "maxLength" in node, path
        if isinstance(node, dict) and node.get("type") == "array":
            assert "maxItems" in node, path


def test_schema_allows_only_the_bundles_source_ids():
    bundle = default_bundle()
    schema = draft_json_schema(bundle)
    ids = [source.id for source in bundle.sources]
    assert ids == ["S1", "S2", "S3", "S4"]
    assert schema["$defs"]["DraftStatement"]["properties"]["source_ids"]["items"]["enum"] == ids
    assert schema["$defs"]["DraftReferenceNote"]["properties"]["source_id"]["enum"] == ids
    # the model class itself is untouched, so the next bundle gets its own ids
    assert "enum" not in str(AnswerDraft.model_json_schema())


def test_references_names_and_links_come_from_the_bundle_not_the_draft():
    bundle = default_bundle()
    answer = answer_from_draft(_draft(), bundle, backend="local", restoration=None)
    assert [r.source_id for r in answer.references] == ["S1", "S2", "S3", "S4"]
    for reference, source in zip(answer.references, bundle.sources):
        assert (reference.name, reference.links, reference.role) == (source.name, source.links.all(), source.role)
    assert answer.references[1].relevance == "Sharper features."
    assert [step.stage for step in answer.workflow] == ["input", "model", "output"]
    assert answer.backend == "local" and answer.restoration is None and answer.grounded is False


def test_parse_draft_names_what_is_wrong():
    with pytest.raises(DraftError, match="not valid JSON"):
        parse_draft('{"task": ')
    with pytest.raises(DraftError, match="workflow_input"):
        parse_draft('{"task": {"text": "x", "source_ids": []}}')
    good = _draft().model_dump_json()
    assert parse_draft(good) == _draft()
