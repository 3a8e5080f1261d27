"""User text is data, never markup: hostile names, questions and summaries produce no link, heading, image or HTML in
answer.md, the chat Markdown or the HTML report, and an answer is grounded only when its rendered text is clean."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hostile_inputs import MARKUP_NAMES, MARKUP_QUESTION, cnaps_document, markup_bundle_text
from markdown_it import MarkdownIt

from agent.backends import get_backend
from agent.backends.base import AnswerRequest
from agent.escaping import escape_markdown
from agent.grounding import apply_verdict
from agent.rendered_check import visible_text
from agent.rendering import render_markdown
from knowledge.errors import BundleError
from knowledge.parser import parse_bundle_text

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED = FIXTURES / "bundles" / "seed.txt"
MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
OUR_HEADINGS = {"Answer", "Task", "Your questions", "How it works", "Workflow", "What the restoration run did",
                "References", "Limitations", "What the sources do not cover"}


def _tokens(markdown: str):
    for token in MARKDOWN.parse(markdown):
        yield token
        yield from token.children or ()


def markup_found(markdown: str, allowed_links: set[str], allowed_html=re.compile(r"$^")) -> list[str]:
    """Every link to an unsupplied address, image, raw HTML tag and heading of user text that ``markdown`` renders."""
    allowed = {MARKDOWN.normalizeLink(link) for link in allowed_links}
    found = []
    tokens = list(MARKDOWN.parse(markdown))
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and tokens[index + 1].content not in OUR_HEADINGS:
            found.append(f"heading {tokens[index + 1].content!r}")
    for token in _tokens(markdown):
        if token.type in ("html_inline", "html_block") and not allowed_html.fullmatch(token.content.strip()):
            found.append(f"html {token.content!r}")
        elif token.type == "image":
            found.append(f"image {token.attrGet('src')!r}")
        elif token.type == "link_open" and token.attrGet("href") not in allowed and \
                not str(token.attrGet("href")).startswith("#"):
            found.append(f"link {token.attrGet('href')!r}")
    return found


def answer(bundle, image=None, out_dir=None):
    return get_backend("offline").answer(AnswerRequest(bundle=bundle, image=image, out_dir=out_dir))


@pytest.fixture(scope="module")
def markup_answer():
    bundle = parse_bundle_text(markup_bundle_text(), "markup")
    return bundle, answer(bundle)


def test_escaped_text_renders_as_exactly_that_text(hostile):
    for text in [*MARKUP_NAMES, MARKUP_QUESTION.replace("\n", " "), "a\\b", "**", "[S1] and [S1](x)", "1) x"]:
        with hostile.case():
            escaped = escape_markdown(text)
            assert not markup_found(f"Text: {escaped}\n\n{escaped}\n", set())
            rendered = MARKDOWN.renderInline(escaped)
            assert "<" not in rendered.replace("&lt;", "").replace("<code>", "").replace("</code>", "")


@pytest.mark.parametrize("text", ["a." * 10_000, "a-" * 10_000, "a+" * 10_000, "x@" * 10_000])
def test_escaping_a_long_value_takes_linear_time(hostile, text):
    import time

    with hostile.case():
        started = time.perf_counter()
        escape_markdown(text)
        assert time.perf_counter() - started < 0.5  # the link pattern once took 5 s on 20 000 characters


def test_answer_md_of_a_markup_bundle_has_no_markup_of_the_users(hostile, markup_answer):
    bundle, result = markup_answer
    with hostile.case():
        markdown = render_markdown(result)
        assert not markup_found(markdown, bundle.allowed_links())
        # The question's link is not even shown as text: the answer's only addresses are the bundle's.
        assert "<script>" not in markdown and "weights.exe" not in markdown and "(link removed)" in markdown
        # Every name is still shown, as text.
        shown = visible_text(markdown)
        assert all(" ".join(name.split()) in shown for name in MARKUP_NAMES[:3])


def test_the_chat_markdown_and_status_have_no_markup_of_the_users(hostile, markup_answer):
    from agent.prompting import render_template
    from agent.web.chat import chat_markdown

    bundle, result = markup_answer
    with hostile.case():
        markdown = chat_markdown(result, anchor="a1")
        # The chat adds its own anchors for citations; nothing else may be HTML.
        ours = re.compile(r'<a id="a1-S\d+">|</a>')
        assert not markup_found(markdown.replace("#### ", "## "), bundle.allowed_links(), ours)
        status = render_template("chat_status.md.j2", answer=result, image_given=False)
        assert not markup_found(status, set())


def test_the_html_report_has_no_tag_or_link_of_the_users(hostile, markup_answer, tmp_path):
    from agent.report import Report, ReportSection, render_report_html

    bundle, result = markup_answer
    with hostile.case():
        html = render_report_html(Report(generated_at="now", backend="offline", sections=[
            ReportSection(number=1, bundle_name="<script>x</script>.txt", question=bundle.question, answer=result)]))
        tags, links = _html_tags_and_links(html)
        assert not {"script", "iframe", "object", "embed"} & tags
        assert all(link.startswith("#") or link in bundle.allowed_links() for link in links), links
        assert "javascript:" not in " ".join(links) and "weights.exe" not in html


def test_grounded_is_false_when_the_rendered_text_holds_an_unsupplied_link(hostile):
    bundle = parse_bundle_text(SEED.read_text(encoding="utf-8"), "seed")
    honest = answer(bundle)
    assert honest.grounded
    with hostile.case():
        # A statement that slipped a link past the parts' checks is caught on the rendered text.
        sneaky = honest.model_copy(update={"references": [
            honest.references[0].model_copy(update={"relevance": "Get it at www.evil-weights.com today."}),
            *honest.references[1:]]})
        verdict = apply_verdict(sneaky, bundle)
        assert not verdict.grounded and any("evil-weights" in violation.value for violation in verdict.violations)
        assert "Not grounded" in render_markdown(verdict)


@pytest.mark.parametrize("name", ["Fast-Net https://evil.example/weights.exe", "Fast-Net (www.evil.example)",
                                  "Net ftp://evil.example/x"])
def test_a_name_that_holds_a_link_is_refused(hostile, name):
    with hostile.case():
        with pytest.raises(BundleError, match="must not hold a link"):
            parse_bundle_text(cnaps_document("How do I deblur?", f"### Recommended AI Models:\nModel: {name}\n"))


def test_the_weights_note_names_no_unsupplied_source_and_no_server_folder(hostile, tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_WEIGHTS_DIR", str(tmp_path / "no-weights-here"))
    bundle = parse_bundle_text(cnaps_document(
        "How do I remove the camera shake blur from my photo?",
        "### Recommended AI Models:\nModel: MIMO-UNet\nPaper: https://example.org/mimo.pdf\n"
        "Summary: A multi-scale network for single image deblurring.\n"), "mimo without github")
    image = FIXTURES / "web_blurry_kodim23_128x96.png"
    hostile.watch(image)
    with hostile.case():
        result = answer(bundle, image=image, out_dir=tmp_path / "out")
        assert result.restoration is not None
        text = render_markdown(result) + result.model_dump_json()
        assert "chosj95" not in text and "MIMO-UNet+" not in text and "no-weights-here" not in text
        assert str(Path.home()) not in text.replace(str(tmp_path), "")
        assert result.grounded, result.violations


def _html_tags_and_links(html: str) -> tuple[set[str], list[str]]:
    class Collector(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.links = set(), []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.links += [value for name, value in attrs if name in ("href", "src") and value
                           and not value.startswith("data:image/")]
            assert not any(name.startswith("on") for name, _ in attrs), (tag, attrs)

    collector = Collector()
    collector.feed(html)
    return collector.tags, collector.links
