"""Typed question bundles: a user's question plus the supplied models and papers it may be answered from."""

from __future__ import annotations

from typing import Literal

import re

from pydantic import BaseModel, Field, HttpUrl, field_validator

from knowledge.limits import MAX_NAME_CHARS, MAX_SUMMARY_CHARS

# A link inside a name would reach every output as if the bundle had supplied it as a source link.
_LINK_IN_NAME = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://|\bwww\.", re.IGNORECASE)


class SourceLinks(BaseModel):
    """Links supplied for one source; only these may ever be shown for it."""

    paper: HttpUrl | None = None
    code: HttpUrl | None = None
    #: Any other supplied page: a project page, a model card, a demo.
    page: HttpUrl | None = None

    def all(self) -> list[str]:
        """The supplied links as strings: paper, code, then other page."""
        return [str(url) for url in (self.paper, self.code, self.page) if url is not None]


class Source(BaseModel):
    """One supplied model or paper, with a stable id (S1, S2, ... in document order)."""

    id: str = Field(pattern=r"^S[1-9][0-9]*$")
    role: Literal["recommended", "related"]
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    links: SourceLinks = Field(default_factory=SourceLinks)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY_CHARS)

    @field_validator("name", "summary")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        link = _LINK_IN_NAME.search(value)
        if link:
            raise ValueError(f"a name must not hold a link (found {link.group(0)!r}); put links on their own "
                             "'Paper:', 'GitHub:' or 'Project:' line")
        return " ".join(value.split())  # one line: a line break in a name could start a heading in Markdown


class QuestionBundle(BaseModel):
    """A CNAPS-style question: the question, the recommended models and the related papers."""

    #: The parser and every face refuse longer questions (knowledge/limits.py); the model does not, so a copy with a
    #: question replaced is never refused later by a re-validation deep inside the answering.
    question: str = Field(min_length=1)
    recommended: list[Source] = Field(default_factory=list)
    related: list[Source] = Field(default_factory=list)
    #: The conversation's previous question (a chat follow-up), read with this one when this one alone says too
    #: little ("and how long does it take?"); not part of the bundle's content, so never dumped.
    previous_question: str = Field(default="", max_length=4000, exclude=True)

    @property
    def sources(self) -> list[Source]:
        """Every supplied source, recommended first."""
        return [*self.recommended, *self.related]

    def source(self, source_id: str) -> Source:
        """The source with ``source_id``; KeyError when the bundle has none."""
        for candidate in self.sources:
            if candidate.id == source_id:
                return candidate
        raise KeyError(source_id)

    def allowed_links(self) -> set[str]:
        """Every link the bundle supplies."""
        return {link for source in self.sources for link in source.links.all()}

    def supplied_text(self) -> str:
        """Everything the sources supply (names, links, summaries), but not the question: what an answer may name."""
        parts = [text for source in self.sources for text in (source.name, *source.links.all(), source.summary) if text]
        return "\n".join(parts)
