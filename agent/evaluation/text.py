"""Text helpers of the evaluation harness: comparable text, keyword search and number-aware matching."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """``text`` made comparable: NFKC (full-width digits and letters become ASCII), case-folded, one space per run."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def unmark(text: str) -> str:
    """``text`` without the code spans and backslash escapes a Markdown rendering adds (links become `<code>`)."""
    return re.sub(r"\\(?=[\\`*_{}\[\]()#+\-.!<>|])", "", text).replace("`", "")


def contains(text: str, wanted: str) -> bool:
    """Whether ``wanted`` occurs in ``text`` (folded); a number at either end of ``wanted`` must not continue a number
    in ``text``, so "1.2 dB" is not found in "31.2 dB" nor "12" in "125"."""
    needle = fold(wanted)
    if not needle:
        return False
    pattern = re.escape(needle)
    if needle[0].isdigit():
        pattern = r"(?<![\d.,])" + pattern
    if needle[-1].isdigit():
        pattern += r"(?![\d]|[.,]\d)"
    return re.search(pattern, fold(text)) is not None


def contains_any(text: str, keywords: list[str]) -> bool:
    """Whether any of ``keywords`` occurs in ``text`` (see contains)."""
    return any(contains(text, keyword) for keyword in keywords)


def clip(text: str, width: int = 70) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"
