"""Renderings of a GroundedAnswer: Markdown (from a template) for people, JSON for programs."""

from __future__ import annotations

from urllib.parse import urlparse

from agent.answer import GroundedAnswer
from agent.prompting import render_template

MARKDOWN_TEMPLATE = "answer.md.j2"
CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
PAGE_HOSTS = ("huggingface.co", "github.io", "gitlab.io", "paperswithcode.com")


def render_markdown(answer: GroundedAnswer) -> str:
    """The answer as a Markdown document: task, how it works, workflow, references with links, limitations."""
    from agent.escaping import markdown_link

    # Supplied links are the only Markdown links in an answer; every other value is escaped by the template.
    links = [[(_link_label(url), markdown_link(url)) for url in reference.links] for reference in answer.references]
    return render_template(MARKDOWN_TEMPLATE, answer=answer, links=links)


def render_json(answer: GroundedAnswer) -> str:
    """The answer as indented JSON, exactly the GroundedAnswer model."""
    return answer.model_dump_json(indent=2) + "\n"


def _link_label(url: str) -> str:
    host = (urlparse(url).hostname or "").removeprefix("www.")
    if host in CODE_HOSTS:
        return "Code"
    return "Page" if host.endswith(PAGE_HOSTS) else "Paper"
