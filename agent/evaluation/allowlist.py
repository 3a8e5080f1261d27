"""Allowlist check of a rendered answer, independent of the composer's own verifier: every link, arXiv id, DOI and
well-known model name must come from the bundle, no label-forbidden string may appear, and no local path."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from agent.evaluation.text import fold
from knowledge.bundle import QuestionBundle

_URL = re.compile(r"https?://[^\s<>\"'`)\]}|]+", re.IGNORECASE)
_BARE_LINK = re.compile(r"(?<![\w@/.-])(?:[a-z0-9-]+\.)+(?:com|org|io|net|ai|dev|edu|gov|co|me|info|app|example|cn|"
                        r"de|fr|jp|uk)\b(?:/[^\s<>\"'`)\]}|]*)?", re.IGNORECASE)
_ARXIV = re.compile(r"(?<![\w.])(\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?(?![\w])")
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>)\]]+")
#: Folders of a machine (home, caches, temporary files) that an answer must never show.
_LOCAL_PATH = re.compile(r"(?:(?<![\w.:/])(?:/home|/root|/tmp|/var|/Users|/private|/opt|/mnt)/|~/|\.cache/|"
                         r"\b[A-Za-z]:\\)")
_TRAILING = ".,;:!?'\"*_>"
MODEL_NAMES = "model_names.yaml"


@cache
def known_model_names() -> tuple[str, ...]:
    """Well-known model and tool names (model_names.yaml beside this module): an answer names them only if supplied."""
    import yaml

    text = resources.files("agent.evaluation").joinpath(MODEL_NAMES).read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["names"])


@cache
def _name_pattern(name: str) -> re.Pattern[str]:
    # Case-sensitive, and not part of a longer name: "ESRGAN" is not found inside "Real-ESRGAN".
    return re.compile(r"(?<![\w+-])" + re.escape(name) + r"(?![\w+]|-\w)")


def supplied_text(bundle: QuestionBundle) -> str:
    """Everything the bundle's sources supply (names, links, summaries), folded: what an answer may repeat."""
    parts = [text for source in bundle.sources
             for text in (source.name, *source.links.all(), source.summary or "") if text]
    return fold("\n".join(parts))


def _supplies(allowed: str, name: str) -> bool:
    """Whether the folded supplied text names ``name`` as a word of its own (inside "Real-ESRGAN" counts for ESRGAN)."""
    return re.search(r"(?<!\w)" + re.escape(fold(name)) + r"(?![\w+])", allowed) is not None


def _link_key(url: str) -> str:
    return fold(url.rstrip(_TRAILING).rstrip("/"))


def allowlist_violations(texts: list[str], bundle: QuestionBundle, forbidden: list[str]) -> list[str]:
    """What in ``texts`` (the answer's rendered parts, the user's question already removed) the bundle does not allow.

    Args:
        forbidden: strings the labels forbid (case-insensitive), even when the bundle itself contains them.
    Returns one short description per violation, without repeats.
    """
    allowed = supplied_text(bundle)
    allowed_links = {_link_key(url) for url in _URL.findall(allowed)}
    found: list[str] = []
    for text in texts:
        for match in _URL.finditer(text):
            if _link_key(match.group(0)) not in allowed_links:
                found.append(f"link {match.group(0).rstrip(_TRAILING)} not supplied")
        rest = _URL.sub(" ", text)
        found += [f"link {link.rstrip(_TRAILING)} not supplied" for link in _BARE_LINK.findall(rest)
                  if fold(link.rstrip(_TRAILING)) not in allowed]
        found += [f"arXiv id {arxiv} not supplied" for arxiv in _ARXIV.findall(rest) if arxiv not in allowed]
        found += [f"DOI {doi.rstrip(_TRAILING)} not supplied" for doi in _DOI.findall(rest)
                  if fold(doi.rstrip(_TRAILING)) not in allowed]
        found += [f"model name {name} not supplied" for name in known_model_names()
                  if _name_pattern(name).search(text) and not _supplies(allowed, name)]
        found += [f"forbidden {word!r}" for word in forbidden if fold(word) in fold(text)]
        found += [f"local path {match.group(0)!r}" for match in _LOCAL_PATH.finditer(rest)]
    return list(dict.fromkeys(found))
