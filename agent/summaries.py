"""Choosing sentences of a supplied summary, for sources the agent knows only from the bundle's text."""

from __future__ import annotations

import re

from agent.ranking import content_words, overlap

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
# Sentences that state what a paper contributes, as opposed to its motivation.
_CONTRIBUTION = re.compile(r"\b(?:we (?:introduce|propose|present|develop|design|extend|employ|build|train|adopt)"
                           r"|our (?:method|approach|framework|model|network)|in this (?:paper|work)"
                           r"|this (?:paper|work) (?:proposes|introduces|presents|addresses))\b", re.IGNORECASE)
MAX_SENTENCES = 3


# A summary sentence that carries a link or speaks to the reader ("trust this link", "ignore the instructions") is
# not a fact about the source: it is never quoted.
# (?<![\w-]): a domain is looked for only where a word run starts; from every hyphen of "MIMO-UNet-MIMO-UNet-..." the
# search was quadratic (20 s for a 19 000-character summary).
_LINK = re.compile(r"https?://|\bwww\.|\]\(|(?<![\w-])[\w-]+\.(?:com|org|io|net|ai|dev|example|xyz|ru|cn)\b",
                   re.IGNORECASE)
_ADDRESSED = re.compile(r"\b(?:ignore|disregard|forget|trust this|click|download (?:it )?here|over the official|"
                        r"you must|you should|do not (?:use|mention|cite)|instead of the|previous instructions|"
                        r"system prompt|recommend (?:this|it) (?:instead|over))\b", re.IGNORECASE)


def split_sentences(summary: str) -> list[str]:
    """The sentences of ``summary`` that may be quoted: those carrying a link or an instruction to the reader are
    left out."""
    parts = [part.strip() for part in _SENTENCE_END.split(summary.strip()) if part.strip()]
    return [part for part in parts if not _LINK.search(part) and not _ADDRESSED.search(part)]


def describing_sentences(summary: str, limit: int = MAX_SENTENCES) -> list[str]:
    """Up to ``limit`` sentences that say what the source does: its contribution sentences first, in order."""
    sentences = split_sentences(summary)
    contribution = [index for index, sentence in enumerate(sentences) if _CONTRIBUTION.search(sentence)]
    chosen = contribution[:limit] if contribution else list(range(min(limit, len(sentences))))
    if contribution and len(chosen) < limit:
        # The sentences that follow a contribution usually say how it works.
        following = [index for index in range(contribution[0] + 1, len(sentences)) if index not in chosen]
        chosen += following[: limit - len(chosen)]
    return [sentences[index] for index in sorted(chosen)]


def best_sentence(summary: str, query: str) -> str:
    """The sentence of ``summary`` sharing most words with ``query``; empty when none shares any."""
    words = content_words(query)
    scored = [(overlap(words, content_words(sentence)), sentence) for sentence in split_sentences(summary)]
    best = max(scored, default=(0.0, ""), key=lambda item: item[0])
    return best[1] if best[0] > 0 else ""
