"""Rendering the Jinja templates in ``prompts/``: sandboxed, strict about missing variables, loaded as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources

TEMPLATE_SUFFIX = ".j2"


#: Templates whose output is Markdown shown to people: every value they insert is escaped (agent/escaping.py).
MARKDOWN_SUFFIX = ".md.j2"


@cache
def _environment(markdown: bool = False):
    from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, select_autoescape
    from jinja2.sandbox import SandboxedEnvironment

    class PromptsLoader(BaseLoader):
        """Loads templates from the installed ``prompts`` package, wherever (and however) it is installed."""

        def get_source(self, environment, template):
            resource = resources.files("prompts").joinpath(template)
            if not template.endswith(TEMPLATE_SUFFIX) or not resource.is_file():
                raise TemplateNotFound(template)
            return resource.read_text(encoding="utf-8"), None, lambda: True

    # HTML templates (*.html.j2, the reports) escape what they insert, Markdown ones (*.md.j2) escape Markdown;
    # prompts to a model stay verbatim.
    environment = SandboxedEnvironment(loader=PromptsLoader(), undefined=StrictUndefined,
                                       autoescape=select_autoescape(["html.j2"], default_for_string=False,
                                                                    default=False),
                                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                                       **({"finalize": _markdown_finalize()} if markdown else {}))
    from agent.escaping import MarkdownSafe, code_span, markdown_link, without_links

    environment.filters["without_links"] = without_links  # the user's words quoted in any output
    if markdown:
        # "rendered": the output of one of our own macros, whose inserted values were escaped inside it already
        environment.filters.update(code=code_span, link=markdown_link, rendered=MarkdownSafe)
    return environment


def _markdown_finalize():
    from agent.escaping import escape_markdown

    return escape_markdown


def render_template(name: str, **variables) -> str:
    """Render the template ``prompts/<name>`` with ``variables``; a variable it uses but is not given raises.

    In a Markdown template (``*.md.j2``) every inserted value is user-safe text: it cannot create markup.
    """
    return _environment(name.endswith(MARKDOWN_SUFFIX)).get_template(name).render(**variables)


def render_sentence(name: str, **variables) -> str:
    """Render a template that produces one statement, with its line breaks and indentation collapsed to spaces."""
    return " ".join(render_template(name, **variables).split())


def template_names() -> list[str]:
    """Every template shipped in ``prompts/``."""
    return sorted(entry.name for entry in resources.files("prompts").iterdir()
                  if entry.name.endswith(TEMPLATE_SUFFIX))
