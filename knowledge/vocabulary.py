"""The vocabulary the agent reasons with, loaded from YAML data: vision tasks, question aspects, grounding terms."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from typing import Literal

from pydantic import BaseModel, Field


class Task(BaseModel):
    """A vision task a source can serve, with the cue words that reveal it in a name or summary."""

    id: str
    label: str
    family: str
    definition: str
    cues: list[str]
    symptom_cues: list[str] = Field(default_factory=list)
    input: str
    output: str
    #: requests a user with this task might write, compared with a question by meaning
    examples: list[str] = Field(default_factory=list)
    #: "other" for tasks outside imaging (sound, writing): a question asking for one is about it, whatever image
    #: words it also uses ("a poem about a blurry sunset")
    scope: Literal["image", "other"] = "image"

    def hits(self, text: str, symptoms: bool = True) -> int:
        """How many times this task's cues (and, if ``symptoms``, its symptom cues) occur in ``text``.

        Cues are word beginnings: "denois" hits "denoising".
        """
        cues = tuple(self.cues) + (tuple(self.symptom_cues) if symptoms else ())
        return sum(len(pattern.findall(text)) for pattern in compiled(cues, whole_words=False))


class Aspect(BaseModel):
    """Something a question asks for (sharpness, lighting, realism...), the tasks that cover it and its cue words."""

    id: str
    action: str
    needs: list[str] = Field(default_factory=list)
    yields_to: list[str] = Field(default_factory=list)
    cues: list[str]

    def phrases(self, question: str) -> list[tuple[int, int]]:
        """The (start, end) spans of ``question`` that this aspect's cues match."""
        return [match.span() for pattern in compiled(tuple(self.cues)) for match in pattern.finditer(question)]


class GroundingTerms(BaseModel):
    """Names the verifier watches for, and name-shaped words that are ordinary vocabulary."""

    outside_names: list[str]
    generic_terms: list[str]


_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: A letter or digit of a word written with spaces: CJK characters do not join a Latin word.
_WORD_CHAR = r"[^\W\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"


@cache
def compiled(cues: tuple[str, ...], whole_words: bool = True) -> tuple[re.Pattern[str], ...]:
    """Case-insensitive patterns for ``cues``, each starting at a word start and, if ``whole_words``, ending at a word end."""
    end = rf"(?!{_WORD_CHAR})" if whole_words else ""
    # Chinese and Japanese write no spaces between words, so their cues match anywhere, and a Latin cue may touch
    # them ("JPEGのブロックノイズ").
    return tuple(re.compile(cue if _CJK.match(cue) else rf"(?<!{_WORD_CHAR})(?:{cue}){end}", re.IGNORECASE)
                 for cue in cues)


@cache
def load_data(name: str) -> dict:
    """The parsed YAML data file ``name`` shipped in the knowledge package."""
    import yaml

    return yaml.safe_load(resources.files("knowledge").joinpath(name).read_text(encoding="utf-8"))


@cache
def tasks() -> dict[str, Task]:
    """Every known task by id, in file order (specific tasks before the generic ones they resemble)."""
    return {entry["id"]: Task(**entry) for entry in load_data("tasks.yaml")["tasks"]}


@cache
def aspects() -> tuple[Aspect, ...]:
    """Every question aspect, in file order."""
    return tuple(Aspect(**entry) for entry in load_data("aspects.yaml")["aspects"])


@cache
def grounding_terms() -> GroundingTerms:
    """The verifier's watch list of outside names and its list of generic technical terms."""
    return GroundingTerms(**load_data("grounding_terms.yaml"))
