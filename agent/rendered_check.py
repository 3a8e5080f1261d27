"""The verifier on the final rendered text: what a reader of answer.md, the API's or the chat's Markdown would see.

The parts of an answer are verified one by one (agent/grounding.py); this check renders the whole answer to
Markdown as the outputs do, and runs the verifier on the visible text, then parses the Markdown as a renderer
would and refuses any link that is not a supplied one, any image and any raw HTML. Whatever the templates or
their escaping get wrong shows up here, and the answer is marked not grounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from agent.answer import GroundedAnswer, Violation
from knowledge.bundle import QuestionBundle

WHERE = "rendered answer"
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def rendered_violations(answer: GroundedAnswer, bundle: QuestionBundle) -> list[Violation]:
    """Violations in ``answer`` as rendered to Markdown (the user's own question left out, as in verify_answer)."""
    from agent.grounding import find_violations_in_text
    from agent.rendering import render_markdown

    # No verdict yet: the footer must not speak of citations ([S1], [S2], ...) the bundle may not have.
    # The parts of the question quoted beside their answers are the user's words too.
    asked = [item.model_copy(update={"question": "…"}) for item in answer.sub_questions]
    shown = answer.model_copy(update={"question": "", "sub_questions": asked, "grounded": False, "violations": []})
    markdown = render_markdown(shown)
    found = find_violations_in_text(visible_text(markdown), bundle, where=WHERE)
    return found + list(markup_violations(markdown, bundle))


def visible_text(markdown: str) -> str:
    """``markdown`` with its backslash escapes resolved: the characters a reader sees."""
    return _ESCAPE.sub(r"\1", markdown)


def markup_violations(markdown: str, bundle: QuestionBundle, where: str = WHERE) -> Iterator[Violation]:
    """Every link to an unsupplied address, every image and every raw HTML tag that ``markdown`` renders to."""
    parser = _parser()
    allowed = {parser.normalizeLink(link) for link in bundle.allowed_links()}
    for token in _walk(parser.parse(markdown)):
        if token.type in ("html_block", "html_inline"):
            yield Violation(kind="markup", value=_clip(token.content), where=where)
        elif token.type == "image":
            yield Violation(kind="markup", value=_clip(f"image {token.attrGet('src')}"), where=where)
        elif token.type == "link_open" and token.attrGet("href") not in allowed:
            yield Violation(kind="url", value=_clip(str(token.attrGet("href"))), where=where)


@cache
def _parser():
    from markdown_it import MarkdownIt

    # HTML on, as in renderers that pass it through (Gradio's Markdown does): a tag that survives escaping shows.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _walk(tokens) -> Iterator:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _clip(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
