"""Source cards: facts about a few known models and papers, attached to a source only when the bundle names it."""

from __future__ import annotations

import re
from functools import cache

from pydantic import BaseModel, Field

from knowledge.bundle import Source
from knowledge.vocabulary import load_data


class NameFact(BaseModel):
    """A fact that holds only for sources whose supplied name matches ``when`` (e.g. weights trained on RealBlur)."""

    when: str
    fact: str


class SourceCard(BaseModel):
    """What we know about one source, in our own words: task, how it works, what it does not do, inputs, outputs.

    ``step`` is what the source does as the model step of a workflow, as a verb phrase ("reads the ...").
    """

    id: str
    short_name: str
    matches: list[str]
    task: str
    step: str
    serves: str
    how: list[str]
    inputs: str
    outputs: str
    does_not: list[str] = Field(default_factory=list)
    addresses: dict[str, str] = Field(default_factory=dict)
    gaps: dict[str, str] = Field(default_factory=dict)
    name_facts: list[NameFact] = Field(default_factory=list)

    def facts_for_name(self, name: str) -> list[str]:
        """The name-dependent facts that apply to a source supplied under ``name``."""
        return [item.fact for item in self.name_facts if re.search(item.when, name, re.IGNORECASE)]


@cache
def all_cards() -> tuple[SourceCard, ...]:
    """Every card shipped in knowledge/source_cards.yaml."""
    return tuple(SourceCard(**entry) for entry in load_data("source_cards.yaml")["cards"])


def card_for(source: Source) -> SourceCard | None:
    """The card of ``source`` when its supplied name or one of its supplied links names a carded model, else None."""
    labels = [source.name, *source.links.all()]
    for card in all_cards():
        # Substring search, not whole words: "2502.16025" must match inside "2502.16025v1.pdf".
        if any(re.search(pattern, label, re.IGNORECASE) for pattern in card.matches for label in labels):
            return card
    return None
