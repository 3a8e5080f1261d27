"""Reading question bundles: CNAPS-style text documents, or the same bundle as YAML or JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from knowledge.bundle import QuestionBundle, Source
from knowledge.errors import BundleError
from knowledge.limits import (MAX_FILE_BYTES, MAX_LINK_CHARS, MAX_NAME_CHARS, MAX_QUESTION_CHARS, MAX_SUMMARY_CHARS,
                              check_file_size, check_item_count, check_json_depth, check_size, check_source_count,
                              check_text_field, check_yaml_events)

QUESTION_INTRO = re.compile(r"^\s*a user has asked the following question\s*:?\s*(?P<rest>.*)$", re.IGNORECASE)
SECTION = re.compile(r"^\s*#{1,6}\s*(?P<title>recommended ai models?|related papers?)\s*:?\s*$", re.IGNORECASE)
ANSWER_LINE = re.compile(r"^\s*answer\s*:\s*$", re.IGNORECASE)
# "Model: X", "- Model: X", "1. Model: X", "**Model:** X" and "**Model**: X" are all the same line.
KEY_LINE = re.compile(r"^\s*(?:[-*+]\s+|\d{1,2}[.)]\s+)?(?:\*\*|__)?(?P<key>[A-Za-z][A-Za-z -]{0,20}?)(?:\*\*|__)?"
                      r"\s*:\s*(?:\*\*|__)?\s*(?P<value>.*)$")
OPENING_QUOTES = '"“«„'
CLOSING_QUOTES = '"”»“'
# Key names as written in documents -> the field they fill ("link" goes to code, paper or page by its host).
KEYS = {"model": "name", "name": "name", "title": "name", "paper": "paper", "arxiv": "paper", "pdf": "paper",
        "paper link": "paper", "paper url": "paper", "arxiv link": "paper",
        "github": "code", "code": "code", "gitlab": "code", "repository": "code", "repo": "code",
        "source code": "code", "code link": "code",
        "project": "page", "project page": "page", "website": "page", "homepage": "page", "hugging face": "page",
        "huggingface": "page", "model card": "page", "weights": "page", "pretrained weights": "page",
        "pre trained weights": "page", "checkpoint": "page", "demo": "page",
        "link": "link", "url": "link",
        "summary": "summary", "abstract": "summary", "description": "summary"}
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
MARKDOWN_LINK = re.compile(r"^\[[^\]]*\]\((?P<url>[^)\s]+)\)$")
#: Other "Key: value" lines of an entry (Authors:, Venue:, Year:) are supplied facts: kept with its summary.
NOTE_KEY = re.compile(r"^[A-Za-z][A-Za-z -]{0,20}$")
STRUCTURED_SUFFIXES = {".yaml", ".yml", ".json"}
#: Files of many bundles, one JSON object per line.
MULTI_SUFFIXES = {".jsonl", ".ndjson"}
#: Fields of a JSON/YAML item that may hold a whole CNAPS document instead of the structured form.
DOCUMENT_FIELDS = ("prompt", "text", "input", "document", "content", "instruction", "question")
# [ \t]*, not \s*: \s* would run across every following blank line from every line start (quadratic; 100 s for
# 100 000 blank lines).
DOCUMENT_INTRO = re.compile(r"^[ \t]*a user has asked the following question", re.IGNORECASE | re.MULTILINE)
# Blank or comment lines, then "question:" at a line start: one line per repetition, so it cannot backtrack.
YAML_QUESTION_FIRST = re.compile(r"^(?:[ \t]*(?:#[^\n]*)?\n)*question[ \t]*:")
PREAMBLE = re.compile(r"^\s*(?:you are an ai scientist\b.*|-{3,}|={3,}|\*{3,}|#{1,6}\s*(?:question|bundle|item)\b.*)$",
                      re.IGNORECASE)
DEFAULT_BUNDLE = "default_bundle.txt"
#: Keys of a YAML/JSON bundle that list each role's sources (compared as _field_key gives them).
ROLE_KEYS = {"recommended": ("recommended", "recommended models", "recommended ai models", "models"),
             "related": ("related", "related papers", "papers")}
#: Keys of one structured source -> the field they fill; "link"/"url" go to code, paper or page by host.
ENTRY_KEYS = {**KEYS, "page": "page"}
#: A link inside a source written as text; brackets and quotes end it ("Name (https://...)").
LINK_IN_TEXT = re.compile(r"https?://[^\s<>()\[\]\"']+")
EMPTY_BRACKETS = re.compile(r"\(\s*\)|<\s*>|\[\s*\]\(\s*\)")


@dataclass
class _Entry:
    """One Model: block while it is being read."""

    line: int
    fields: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def parse_bundle_text(text: str, origin: str = "<text>") -> QuestionBundle:
    """Parse one bundle from text: a CNAPS-style document, or a YAML/JSON mapping with a ``question`` key.

    Args:
        origin: the file name (or a label) put at the front of every error message.
    """
    check_size(text, origin)
    text = _normalise(text)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _parse_json(text, origin)
    if YAML_QUESTION_FIRST.match(text):
        return _parse_yaml(text, origin)
    return _parse_cnaps(text, origin)


@dataclass
class BundleItem:
    """One bundle of a file, or the error that kept it from being read; ``label`` is None for a one-bundle file."""

    label: str | None
    bundle: QuestionBundle | None = None
    error: BundleError | None = None


def load_bundle(path: Path) -> QuestionBundle:
    """Read a one-bundle file (CNAPS text, ``.yaml``/``.yml`` or ``.json``), raising BundleError when it cannot."""
    items = load_bundle_items(path)
    if len(items) > 1:
        raise BundleError(f"{path}: holds {len(items)} bundles; answer them all with: cnaps batch {path} --out DIR")
    if items[0].error is not None:
        raise items[0].error
    return items[0].bundle


def load_bundle_items(path: Path) -> list[BundleItem]:
    """Every bundle of a file: one, or several from a JSON Lines file (``.jsonl``), a JSON or YAML list, or a text
    file with several CNAPS documents one after another. A broken item is returned with its error, so the others
    can still be answered; a file that cannot be read at all raises BundleError."""
    path = Path(path)
    text = _read_text(path)
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix in MULTI_SUFFIXES:
        return _json_lines(_normalise(text), origin)
    structured = suffix in STRUCTURED_SUFFIXES or text.lstrip().startswith(("{", "["))
    if structured and not _may_be_list(text):
        check_size(text, origin)  # one bundle: refused by its size before it is parsed
    if structured:
        load = _load_yaml if suffix in {".yaml", ".yml"} else _load_json
        data = load(_normalise(text), origin)
        if isinstance(data, list):
            if not data:
                raise BundleError(f"{origin}: expected at least one bundle in the list, found an empty list")
            check_item_count(len(data), origin)
            return [_item(_item_label(entry, index, len(data)), lambda entry=entry, index=index:
                          _bundle_from_item(entry, f"{origin}: item {index + 1}")) for index, entry in enumerate(data)]
        return [BundleItem(None, _bundle_from_item(data, origin))]
    documents = _split_documents(_normalise(text), origin)
    if len(documents) == 1:
        return [BundleItem(None, parse_bundle_text(text, origin))]
    width = len(str(len(documents)))
    return [_item(f"{index + 1:0{width}d}", lambda document=document: _parse_cnaps(document, origin))
            for index, document in enumerate(documents)]


def _may_be_list(text: str) -> bool:
    """Whether a JSON or YAML text starts like a list (of many bundles) rather than one bundle's mapping."""
    first = next((line.strip() for line in text.split("\n", 200) if line.strip() and not line.lstrip().startswith("#")),
                 "")
    return first.startswith(("[", "- ")) or first == "-"


def _item(label: str, parse) -> BundleItem:
    try:
        return BundleItem(label, parse())
    except BundleError as error:
        return BundleItem(label, error=error)


def _item_label(entry: object, index: int, count: int) -> str:
    """An item's own id (sanitised) when it has one, else its 1-based number."""
    if isinstance(entry, dict) and isinstance(entry.get("id"), (str, int)) and str(entry["id"]).strip():
        label = re.sub(r"[^\w.-]+", "_", str(entry["id"]).strip()).strip("._")
        if label:
            return label
    return f"{index + 1:0{len(str(count))}d}"


def _json_lines(text: str, origin: str) -> list[BundleItem]:
    all_lines = text.split("\n")
    lines = [(number, line) for number, line in enumerate(all_lines, 1) if line.strip()]
    if not lines:
        raise BundleError(f"{origin}: expected one JSON bundle per line, found an empty file")
    check_item_count(len(lines), origin)
    items = []
    for number, line in lines:
        try:
            entry = _load_json(line, f"{origin}:{number}", line_numbers=False)
        except BundleError as error:
            items.append(BundleItem(str(number), error=error))
            continue
        label = _item_label(entry, number - 1, len(all_lines))
        items.append(_item(label, lambda entry=entry, number=number: _bundle_from_item(entry, f"{origin}:{number}")))
    return items


def _bundle_from_item(data: object, origin: str) -> QuestionBundle:
    """A bundle from a mapping: the structured form, or a CNAPS document in a text field (``prompt``, ``text``...)."""
    if isinstance(data, dict):
        for key in DOCUMENT_FIELDS:
            value = data.get(key)
            if isinstance(value, str) and DOCUMENT_INTRO.search(value):
                check_size(value, f"{origin} ({key})")
                return _parse_cnaps(_normalise(value), f"{origin} ({key})")
    return _bundle_from_mapping(data, origin)


def _split_documents(text: str, origin: str) -> list[str]:
    """Several CNAPS documents in one text, each padded with blank lines so error line numbers stay the file's."""
    lines = text.split("\n")
    intros = [index for index, line in enumerate(lines) if QUESTION_INTRO.match(line)]
    if len(intros) < 2:
        check_size(text, origin)
        return [text]
    check_item_count(len(intros), origin)
    starts = []
    for position, intro in enumerate(intros):
        start = intro
        floor = intros[position - 1] + 1 if position else 0
        # A document's preamble ("You are an AI scientist.") and separators (---) belong to the document after them.
        while start > floor and (not lines[start - 1].strip() or PREAMBLE.match(lines[start - 1])):
            start -= 1
        starts.append(0 if position == 0 else start)
    ends = starts[1:] + [len(lines)]
    return ["\n" * start + "\n".join(lines[start:end]) for start, end in zip(starts, ends)]


def _read_text(path: Path) -> str:
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # /dev/zero, a FIFO: reading never ends
            raise BundleError(f"{path}: is not a regular file; give the path of a bundle file")
        check_file_size(path.stat().st_size, str(path))
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)  # the size on disk can change between stat and read
        check_file_size(len(raw), str(path))
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file; give the path of a CNAPS question (.txt, .yaml or .json)") from None
    except IsADirectoryError:
        raise BundleError(f"{path}: is a folder; give one bundle file (cnaps batch takes folders)") from None
    except OSError as error:
        raise BundleError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise BundleError(f"{path}:{line}: expected UTF-8 text") from None


def default_bundle() -> QuestionBundle:
    """The seed question with its four sources (MIMO-UNet, FeatSharp, Mask2Alpha, PU-Ray), shipped with the package."""
    text = resources.files("knowledge").joinpath(DEFAULT_BUNDLE).read_text(encoding="utf-8")
    return parse_bundle_text(text, f"knowledge/{DEFAULT_BUNDLE}")


def _normalise(text: str) -> str:
    # CRLF and lone CR line ends, a byte-order mark and non-breaking spaces all occur in pasted documents.
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")


def _fail(origin: str, line: int, message: str) -> BundleError:
    return BundleError(f"{origin}:{line}: {message}")


# --- CNAPS text ---------------------------------------------------------------------------------------------------


def _parse_cnaps(text: str, origin: str) -> QuestionBundle:
    lines = text.split("\n")
    question, after_question = _read_question(lines, origin)
    check_text_field(question, "question", origin, MAX_QUESTION_CHARS)
    sections: dict[str, list[_Entry]] = {}
    index = after_question
    current: str | None = None
    while index < len(lines):
        line = lines[index]
        if ANSWER_LINE.match(line):
            break
        heading = SECTION.match(line)
        if heading:
            current = "recommended" if heading["title"].lower().startswith("recommended") else "related"
            if current in sections:
                raise _fail(origin, index + 1, f"a second '{line.strip()}' heading; expected each section once")
            sections[current] = []
        elif current is not None:
            _read_section_line(lines, index, sections[current], origin)
        elif _is_model_line(line):
            raise _fail(origin, index + 1, "expected a '### Recommended AI Models:' heading before the first "
                                           "'Model:' line")
        index += 1
    last_line = len(text.rstrip().split("\n"))
    if "recommended" not in sections:
        raise _fail(origin, last_line, "expected a '### Recommended AI Models:' section after the question")
    if not sections["recommended"]:
        raise _fail(origin, last_line, "expected at least one 'Model:' line under '### Recommended AI Models:'")
    return _build_bundle(question, sections["recommended"], sections.get("related", []), origin)


def _read_question(lines: list[str], origin: str) -> tuple[str, int]:
    """The quoted question after the intro line, and the index of the first line after it."""
    for index, line in enumerate(lines):
        intro = QUESTION_INTRO.match(line)
        if not intro:
            continue
        start = index if intro["rest"].strip() else _next_non_blank(lines, index + 1)
        if start is None:
            raise _fail(origin, index + 1, "expected the question in quotes after this line, found the end of the file")
        first = intro["rest"].strip() if start == index else lines[start].strip()
        if not first or first[0] not in OPENING_QUOTES:
            raise _fail(origin, start + 1, "expected the question in double quotes, e.g. \"How can I ...?\"")
        return _read_quoted(lines, start, first, origin)
    raise _fail(origin, 1, "expected a line 'A user has asked the following question:' followed by the quoted question")


def _read_quoted(lines: list[str], start: int, first: str, origin: str) -> tuple[str, int]:
    """Collect the quoted question, which may run over several lines until its closing quote."""
    parts = [first[1:]]
    end = start
    while not parts[-1].rstrip() or parts[-1].rstrip()[-1] not in CLOSING_QUOTES:
        end += 1
        if end >= len(lines) or not lines[end].strip() or SECTION.match(lines[end]):
            raise _fail(origin, start + 1, "expected a closing quote at the end of the question")
        parts.append(lines[end].strip())
    question = " ".join(part.strip() for part in parts)[:-1].strip()
    if not question:
        raise _fail(origin, start + 1, "expected a question between the quotes, found an empty one")
    return question, end + 1


def _next_non_blank(lines: list[str], start: int) -> int | None:
    return next((index for index in range(start, len(lines)) if lines[index].strip()), None)


def _read_section_line(lines: list[str], index: int, entries: list[_Entry], origin: str) -> None:
    """Add one line of a section to its entries: a new Model:, a field of the current one, or summary text."""
    line = lines[index]
    if not line.strip():
        return
    key_match = KEY_LINE.match(line)
    key = KEYS.get(_key_name(key_match["key"])) if key_match else None
    if key is None:
        if entries and _last_field(entries[-1]) == "summary":
            entries[-1].fields["summary"] += " " + line.strip()
            return
        if entries and key_match and key_match["value"].strip() and NOTE_KEY.match(key_match["key"].strip()):
            _add_note(entries[-1], index, key_match["key"].strip(), key_match["value"].strip(), origin)
            return
        raise _fail(origin, index + 1, "expected a 'Model:', 'Paper:', 'GitHub:' or 'Summary:' line, "
                                       f"found {_clip(line)!r}")
    value = key_match["value"].strip()
    if key == "name":
        value = value.strip("*_` ")  # "Model: **Some-Net**" names Some-Net
    elif key != "summary":
        value = _link_value(value)
    if key == "name":
        if not value:
            raise _fail(origin, index + 1, "expected a model or paper name after 'Model:'")
        check_source_count(len(entries) + 1, f"{origin}:{index + 1}")
        entries.append(_Entry(line=index + 1))
    elif not entries:
        raise _fail(origin, index + 1, f"expected a 'Model:' line before this '{key_match['key'].strip()}:' line")
    entry = entries[-1]
    if key == "link":
        key = _link_field(value, entry.fields)
    if key in entry.fields:
        raise _fail(origin, index + 1, f"a second '{key_match['key'].strip()}:' line for the same model; "
                                       "expected a new 'Model:' line first")
    entry.fields[key] = value
    entry.lines[key] = index + 1


def _key_name(key: str) -> str:
    return " ".join(key.replace("-", " ").lower().split())


def _link_value(value: str) -> str:
    """A supplied URL without Markdown dressing: ``<url>`` and ``[text](url)`` both give ``url``."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        return value[1:-1].strip()
    link = MARKDOWN_LINK.match(value)
    return link["url"] if link else value


def _link_field(url: str, taken) -> str:
    """Where an unlabelled link goes: code hosts to code, otherwise the paper, then other page, whichever is free
    (``taken``: the fields already filled)."""
    host = re.sub(r"^https?://(?:www\.)?", "", url).split("/")[0].lower()
    if host in CODE_HOSTS and "code" not in taken:
        return "code"
    return next((field_name for field_name in ("paper", "page") if field_name not in taken), "page")


def _add_note(entry: _Entry, index: int, key: str, value: str, origin: str) -> None:
    """Keep an extra supplied fact (``Authors: ...``) with the entry's summary, where the answer may quote it."""
    if re.match(r"^<?https?://", value):
        raise _fail(origin, index + 1, f"unknown link field '{key}:'; label links 'Paper:', 'GitHub:' or 'Project:'")
    note = f"{key}: {value.rstrip('.')}."
    entry.fields["notes"] = f"{entry.fields['notes']} {note}" if "notes" in entry.fields else note
    entry.lines.setdefault("notes", index + 1)


def _is_model_line(line: str) -> bool:
    key_match = KEY_LINE.match(line)
    return bool(key_match) and KEYS.get(_key_name(key_match["key"])) == "name"


def _last_field(entry: _Entry) -> str:
    return max(entry.lines, key=entry.lines.__getitem__)


def _clip(line: str, width: int = 60) -> str:
    line = line.strip()
    return line if len(line) <= width else line[: width - 1] + "…"


def _build_bundle(question: str, recommended: list[_Entry], related: list[_Entry], origin: str) -> QuestionBundle:
    sources: dict[str, list[Source]] = {"recommended": [], "related": []}
    number = 0
    for role, entries in (("recommended", recommended), ("related", related)):
        for entry in entries:
            number += 1
            sources[role].append(_source_from_entry(entry, f"S{number}", role, origin))
    return QuestionBundle(question=question, **sources)


def _source_from_entry(entry: _Entry, source_id: str, role: str, origin: str) -> Source:
    links = {key: entry.fields[key] for key in ("paper", "code", "page") if entry.fields.get(key)}
    summary = " ".join(part for part in (entry.fields.get("summary"), entry.fields.get("notes")) if part)
    try:
        return Source(id=source_id, role=role, name=entry.fields["name"], links=links, summary=summary or None)
    except ValidationError as error:
        problem = error.errors()[0]
        field_name = str(problem["loc"][-1]) if problem["loc"] else "name"
        line = entry.lines.get(field_name, entry.line)
        label = {"paper": "Paper:", "code": "GitHub:", "page": "Project:"}.get(field_name, field_name)
        raise _fail(origin, line, f"expected an http(s) URL after '{label}'"
                    if field_name in {"paper", "code", "page"} else _message(problem)) from None


# --- YAML and JSON ------------------------------------------------------------------------------------------------


def _parse_json(text: str, origin: str) -> QuestionBundle:
    return _bundle_from_mapping(_load_json(text, origin), origin)


def _parse_yaml(text: str, origin: str) -> QuestionBundle:
    return _bundle_from_mapping(_load_yaml(text, origin), origin)


def _load_json(text: str, origin: str, line_numbers: bool = True) -> object:
    check_json_depth(text, origin)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{origin}:{error.lineno}" if line_numbers else origin
        raise BundleError(f"{where}: expected valid JSON ({error.msg})") from None
    except (ValueError, RecursionError) as error:  # an integer of more than 4300 digits, say
        raise BundleError(f"{origin}: expected valid JSON ({error})") from None


def _load_yaml(text: str, origin: str) -> object:
    import yaml

    try:
        # Aliases, tags and depth are checked on the event stream first, so nothing is expanded before it.
        check_yaml_events(text, origin)
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or "syntax error"
        raise _fail(origin, line, f"expected valid YAML ({problem})") from None
    except (ValueError, RecursionError) as error:
        if isinstance(error, BundleError):
            raise
        raise BundleError(f"{origin}: expected valid YAML ({error})") from None


def _bundle_from_mapping(data: object, origin: str) -> QuestionBundle:
    """Accept the compact form (name/paper/github/summary), QuestionBundle's own JSON (ids, links) and the keys
    people write by hand (``recommended_models``, ``related_papers``, entries as plain "Name https://..." text)."""
    if not isinstance(data, dict) or "question" not in data:
        raise BundleError(f"{origin}: expected a mapping with 'question', 'recommended' (or 'recommended_models') "
                          "and 'related' (or 'related_papers') keys")
    given = {role: _role_entries(data, role, origin) for role in ROLE_KEYS}
    check_source_count(sum(len(entries) for _, entries in given.values()), origin)
    question = check_text_field(data["question"], "question", origin, MAX_QUESTION_CHARS) or ""
    number = 0
    sources: dict[str, list[dict]] = {}
    for role, (key, entries) in given.items():
        sources[role] = []
        for position, entry in enumerate(entries):
            number += 1
            sources[role].append(_source_mapping(entry, f"S{number}", role, f"{origin}: {key}[{position}]"))
    if not sources["recommended"]:
        raise BundleError(f"{origin}: expected at least one model under 'recommended' (or 'recommended_models')")
    try:
        return QuestionBundle(question=question.strip(), **sources)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise BundleError(f"{origin}: {where}: {_message(problem)}") from None


def _field_key(key: object) -> str:
    """A mapping key as compared: ``Recommended Models``, ``recommended-models`` and ``recommended_models`` alike."""
    return _key_name(key.replace("_", " ")) if isinstance(key, str) else ""


def _role_entries(data: dict, role: str, origin: str) -> tuple[str, list]:
    """The key that lists ``role``'s sources, and its entries (one entry written without a list counts as one)."""
    keys = [key for key in data if _field_key(key) in ROLE_KEYS[role]]
    if len(keys) > 1:
        raise BundleError(f"{origin}: both '{keys[0]}' and '{keys[1]}' list {role} sources; give them under one key")
    if not keys:
        return role, []
    value = data[keys[0]]
    if value is None:
        return keys[0], []
    if isinstance(value, (str, dict)):
        return keys[0], [value]
    if not isinstance(value, list):
        raise BundleError(f"{origin}: expected '{keys[0]}' to be a list of models")
    return keys[0], value


def _message(problem: dict) -> str:
    """A pydantic error message without its "Value error, " prefix."""
    return str(problem["msg"]).removeprefix("Value error, ")


def _source_mapping(entry: object, source_id: str, role: str, where: str) -> dict:
    if isinstance(entry, str):
        return _source_from_text(entry, source_id, role, where)
    if not isinstance(entry, dict):
        raise BundleError(f"{where}: expected a mapping with 'name', 'paper', 'github' and 'summary', "
                          "or a line of text such as \"Some-Net https://arxiv.org/abs/...\"")
    fields: dict[str, list[str]] = {}  # field -> the entry's keys that fill it, in the entry's order
    for key in entry:
        target = ENTRY_KEYS.get(_field_key(key))
        if target is not None:
            fields.setdefault(target, []).append(key)
    names = [entry[key] for key in sorted(fields.get("name", []), key=_name_priority) if entry[key]]
    name = check_text_field(names[0] if names else None, "name", where, MAX_NAME_CHARS)
    if not name:
        raise BundleError(f"{where}: expected a 'name' (or 'model' or 'title') for this source")
    given_links = entry.get("links") or {}
    if isinstance(given_links, list):  # "links": ["https://arxiv.org/...", "https://github.com/..."]
        urls = [check_text_field(value, "links", where, MAX_LINK_CHARS) for value in given_links]
        given_links = _links_by_host([_link_value(url) for url in urls if url], {}, where)
    if not isinstance(given_links, dict):
        raise BundleError(f"{where}: expected 'links' to be a mapping such as {{paper: URL, code: URL}}")
    links = {key: check_text_field(value, f"links.{key}", where, MAX_LINK_CHARS) for key, value in given_links.items()}
    for target in ("paper", "code", "page"):
        for key in sorted(fields.get(target, []), key=_link_priority):
            if entry[key]:
                links.setdefault(target, _link_value(check_text_field(entry[key], key, where, MAX_LINK_CHARS)))
    unlabelled = [_link_value(check_text_field(entry[key], key, where, MAX_LINK_CHARS))
                  for key in fields.get("link", []) if entry[key]]
    links = _links_by_host(unlabelled, links, where)
    summaries = [entry[key] for key in sorted(fields.get("summary", []), key=_summary_priority) if entry[key]]
    summary = check_text_field(summaries[0] if summaries else None, "summary", where, MAX_SUMMARY_CHARS)
    # Ids are always renumbered in document order so they stay stable whatever the file said.
    return {"id": source_id, "role": role, "name": name, "links": links, "summary": summary}


def _name_priority(key: str) -> int:
    return _priority(key, ("name", "model", "title"))


def _link_priority(key: str) -> int:
    return _priority(key, ("paper", "arxiv", "pdf", "github", "code", "repository", "project", "website", "page"))


def _summary_priority(key: str) -> int:
    return _priority(key, ("summary", "abstract", "description"))


def _priority(key: str, order: tuple[str, ...]) -> int:
    """Where ``key`` comes in ``order`` (the order the compact form has always read them in); others after."""
    name = _field_key(key)
    return order.index(name) if name in order else len(order)


def _links_by_host(urls: list[str], links: dict, where: str) -> dict:
    """``links`` with each unlabelled URL added where it belongs: a code host to code, else paper, then page."""
    links = dict(links)
    for url in urls:
        if url in links.values():
            continue
        target = _link_field(url, links)
        if target in links:
            raise BundleError(f"{where}: more links than one paper, one code and one page link; label them "
                              "'paper', 'github' and 'project'")
        links[target] = url
    return links


def _source_from_text(text: str, source_id: str, role: str, where: str) -> dict:
    """A source written as one line of text: its name, with its links anywhere in it (``Name (https://...)``,
    ``Name - https://...``, ``[Name](https://...)``)."""
    text = check_text_field(text, "source", where, MAX_NAME_CHARS + 3 * MAX_LINK_CHARS) or ""
    urls = [url.rstrip(".,;:!?") for url in LINK_IN_TEXT.findall(text)]
    for url in urls:
        check_text_field(url, "link", where, MAX_LINK_CHARS)
    name = LINK_IN_TEXT.sub(" ", text)
    name = EMPTY_BRACKETS.sub(" ", name)
    name = " ".join(name.split()).strip(" -\u2013\u2014:|,;")
    bracketed = re.fullmatch(r"\[([^\]]*)\]", name)  # the text of a Markdown link
    name = (bracketed[1] if bracketed else name).strip("*_` ")
    if not name:
        raise BundleError(f"{where}: expected a name for this source, e.g. \"Some-Net https://arxiv.org/abs/...\"")
    name = check_text_field(name, "name", where, MAX_NAME_CHARS)
    return {"id": source_id, "role": role, "name": name, "links": _links_by_host(urls, {}, where), "summary": None}
