"""User-supplied text is data, never markup: escaping for the Markdown outputs (answer.md, API and chat Markdown).

Every value a Markdown template inserts passes through ``escape_markdown`` (the Jinja environment's ``finalize``),
so a question, name or summary cannot open a link, a heading, an HTML tag, a table cell or a formula. Bare links
and e-mail addresses in such text are shown as code, which no Markdown renderer turns into a link. Text that is
already Markdown written by us (a supplied link as ``<url>``) is wrapped in ``MarkdownSafe`` and passes unchanged.
"""

from __future__ import annotations

import re


class MarkdownSafe(str):
    """Markdown written by cnaps-agent itself (not user text), inserted by the templates as it is."""


# A citation such as [S1] or [S1, S2] stays readable: it is not a link unless ( or [ follows it (or, at the start
# of a line, a colon: that is caught by _LEADING).
_CITATION = re.compile(r"\[S\d+(?:\s*,\s*S\d+)*\](?![(\[])")
# Each alternative starts only where a run of its characters starts, so a long "a.a.a..." is scanned once, not once
# per position (quadratic: 5 s for 20 000 characters).
_LINKISH = re.compile(r"(?:(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>`]*|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
                      re.IGNORECASE)
# Punctuation after a link is the sentence's, not the link's.
_TRAILING = ".,;:!?'\")]}”’»"
# Characters that open inline markup anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]<>&|~$])")
# Characters that open block markup at the start of a line: headings, quotes, lists, rules, setext underlines.
_LEADING = re.compile(r"^(?:[#>+=\[-]|\d+[.)](?:\s|$))")


def escape_markdown(value: object) -> str:
    """``value`` as Markdown text that renders as exactly that text: one line, no markup, links shown as code."""
    if isinstance(value, MarkdownSafe):
        return value
    text = " ".join(str(value).split())
    pieces: list[str] = []
    position = 0
    for match in _LINKISH.finditer(text):
        link = match.group(0).rstrip(_TRAILING)
        if not link:
            continue
        pieces.append(_escape_plain(text[position:match.start()], at_start=not pieces and position == 0))
        pieces.append(code_span(link))
        position = match.start() + len(link)
    pieces.append(_escape_plain(text[position:], at_start=not pieces))
    return "".join(pieces)


def without_links(value: object) -> str:
    """The user's own words with every link in them replaced by "(link removed)": a question may not bring an
    address into an answer, not even as text (the answer's only links are the bundle's)."""
    return _LINKISH.sub(lambda match: "(link removed)" + match.group(0)[len(match.group(0).rstrip(_TRAILING)):],
                        str(value))


def code_span(value: object) -> MarkdownSafe:
    """``value`` as a Markdown code span, fenced with more backticks than it contains (no escape works inside)."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return MarkdownSafe(f"{fence}{padding}{text}{padding}{fence}")


def markdown_link(url: str) -> MarkdownSafe:
    """A supplied link as a Markdown autolink ``<url>``, with the characters that would end it percent-encoded."""
    return MarkdownSafe("<" + str(url).replace("<", "%3C").replace(">", "%3E").replace(" ", "%20") + ">")


def _escape_plain(text: str, at_start: bool) -> str:
    kept = _CITATION.split(text)
    citations = _CITATION.findall(text)
    escaped = [_INLINE.sub(r"\\\1", part) for part in kept]
    out = escaped[0]
    for citation, part in zip(citations, escaped[1:]):
        out += citation + part
    if at_start and _LEADING.match(out):
        out = _escape_leading(out)
    return out


def _escape_leading(text: str) -> str:
    """Escape the character that would make a line a heading, quote, list item or rule."""
    number = re.match(r"^\d+(?=[.)])", text)
    if number:
        return f"{number.group(0)}\\{text[number.end():]}"
    return "\\" + text
