"""Limits on question bundles, checked before anything is expanded: size, nesting, YAML aliases and tags, counts.

A bundle is user input. These limits keep a 355-byte YAML alias bomb, a deeply nested JSON document or a
million-source file from costing more than a fraction of a second before it is refused with a one-line error.
"""

from __future__ import annotations

import re
from itertools import accumulate

from knowledge.errors import BundleError

#: Characters of one bundle document (CNAPS text, YAML or JSON).
MAX_BUNDLE_CHARS = 1_000_000
#: Bytes of one bundle file on disk; a file of many bundles (JSON Lines, lists, pasted documents) may be larger.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Bundles in one many-bundle file.
MAX_ITEMS = 10_000
#: Models and papers in one bundle (recommended and related together).
MAX_SOURCES = 200
#: Nesting of lists and mappings in a YAML or JSON bundle (a bundle needs 4).
MAX_DEPTH = 16
#: Characters of each field.
MAX_QUESTION_CHARS = 4000
MAX_NAME_CHARS = 300
MAX_SUMMARY_CHARS = 20_000
MAX_LINK_CHARS = 2000

_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")
# Only the tags of plain data: anything else (!!python/object, custom !tags) is refused, not constructed.
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in
               ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "binary")}


class BundleLimitError(BundleError):
    """A bundle over one of the limits; ``status`` is the HTTP status that says why (413 too large, 422 refused)."""

    def __init__(self, message: str, status: int = 413) -> None:
        super().__init__(message)
        self.status = status


def check_size(text: str, origin: str, limit: int = MAX_BUNDLE_CHARS) -> None:
    """Refuse a document longer than ``limit`` characters."""
    if len(text) > limit:
        raise BundleLimitError(f"{origin}: the bundle is {len(text):,} characters; the limit is {limit:,}")


def check_file_size(size: int, origin: str) -> None:
    """Refuse a bundle file over MAX_FILE_BYTES before it is read."""
    if size > MAX_FILE_BYTES:
        raise BundleLimitError(f"{origin}: the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")


def check_json_depth(text: str, origin: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, counted on the raw text before it is parsed."""
    brackets = _BRACKET.findall(_JSON_STRING.sub("", text))
    deepest = max(accumulate(1 if bracket in "[{" else -1 for bracket in brackets), default=0)
    if deepest > MAX_DEPTH:
        raise BundleLimitError(f"{origin}: the JSON is nested {deepest} levels deep; the limit is {MAX_DEPTH}", 422)


def check_yaml_events(text: str, origin: str) -> None:
    """Refuse YAML with aliases or anchors, tags other than plain data, or nesting deeper than MAX_DEPTH.

    It reads the parser's event stream, which never expands anything, so a "billion laughs" document is
    refused after a few hundred bytes of work.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise BundleLimitError(f"{origin}:{line}: YAML anchors and aliases (&name, *name) are not accepted; "
                                   "write each value out", 422)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _PLAIN_TAGS:
            raise BundleLimitError(f"{origin}:{line}: the YAML tag {tag!r} is not accepted; a bundle is plain "
                                   "text, lists and mappings", 422)
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise BundleLimitError(f"{origin}:{line}: the YAML is nested more than {MAX_DEPTH} levels deep",
                                       422)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def check_source_count(count: int, origin: str) -> None:
    """Refuse a bundle with more than MAX_SOURCES models and papers."""
    if count > MAX_SOURCES:
        raise BundleLimitError(f"{origin}: the bundle has {count:,} sources; the limit is {MAX_SOURCES}")


def check_item_count(count: int, origin: str) -> None:
    """Refuse a many-bundle file with more than MAX_ITEMS bundles."""
    if count > MAX_ITEMS:
        raise BundleLimitError(f"{origin}: the file holds {count:,} bundles; the limit is {MAX_ITEMS:,}; "
                               "split it into several files")


def check_text_field(value: object, field: str, origin: str, limit: int) -> str | None:
    """``value`` when it is text (a number is written out) within ``limit`` characters; None for an empty value.

    A list or mapping where text is expected is refused instead of being turned into a string.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BundleLimitError(f"{origin}: expected '{field}' to be text, found a {type(value).__name__}", 422)
    text = str(value)
    if len(text) > limit:
        raise BundleLimitError(f"{origin}: '{field}' is {len(text):,} characters; the limit is {limit:,}")
    return text
