"""Figures a supplied summary states (32.5 dB, 4x, 12 ms, 30%), so number questions use only the bundle's numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.summaries import split_sentences

# Unit spellings -> one unit name; longer spellings first so "dB" is not read as a bare number.
_UNITS = {
    "dB": r"d[bB]",
    "%": r"%|percent|per cent",
    "x": r"[x×]|times|-fold",
    "ms": r"ms|milliseconds?",
    "s": r"s|sec|seconds?",
    "fps": r"fps|frames per second",
    "M parameters": r"M(?:\s*param(?:eter)?s)?|million param(?:eter)?s",
    "K parameters": r"K\s*param(?:eter)?s|thousand param(?:eter)?s",
    "GFLOPs": r"G(?:FLOP|MAC)s?",
    "count": r"(?:billion|million|thousand)\s+[a-z]+",
}
_NUMBER = r"(?<![\w.-])(\d+(?:[.,]\d+)?)"
# Figures written unit first: "a factor of 4", "an upsampling rate of 4", "x4".
_PREFIXED = re.compile(r"(?:factor|rate|scale|ratio) of\s+(\d+(?:\.\d+)?)|(?<![\w.])[x×](\d+(?:\.\d+)?)(?![\w.])",
                       re.IGNORECASE)
_QUANTITY = re.compile(_NUMBER + r"\s*(" + "|".join(f"(?:{pattern})" for pattern in _UNITS.values()) + r")(?![\w])")
# What a question's words say about the unit it wants.
_ASKED_UNITS = (
    ("dB", re.compile(r"\bdB\b|psnr|decibel", re.IGNORECASE)),
    ("%", re.compile(r"%|percent|por ?ciento|pour ?cent|prozent", re.IGNORECASE)),
    ("x", re.compile(r"\btimes\b|\bfold\b|\bveces\b|\bfois\b|\bmal\b|倍|bigger|larger|multipl|factor|scale|"
                     r"m[aá]s grande|plus grand|gr[öo](?:ß|ss)er|maior|放大|拡大", re.IGNORECASE)),
    ("s", re.compile(r"how long|\bseconds?\b|\btime\b|tarda|tiempo|combien de temps|dur[ée]e|wie lange|dauert|"
                     r"quanto tempo|demora|多久|多长时间|時間|どのくらいかか|"
                     # speed is answered by a time per image or by frames per second
                     r"how (?:fast|quick)|\bspeed|vitesse|schnell|r[aá]pid[oa]|velocidad|velocidade|速い|速度|多快|快吗",
                     re.IGNORECASE)),
    ("ms", re.compile(r"\bms\b|millisecond", re.IGNORECASE)),
    ("fps", re.compile(r"\bfps\b|frames per second", re.IGNORECASE)),
    ("M parameters", re.compile(r"param", re.IGNORECASE)),
    # "how large a hole", "quelle taille": a share of the image or a factor
    ("size", re.compile(r"how (?:large|big)|\bsize\b|taille|tama[ñn]o|tamanho|gr[öo](?:ß|ss)e|大き|尺寸|多大",
                        re.IGNORECASE)),
)


@dataclass(frozen=True)
class Quantity:
    """A number with its unit, as written in one supplied sentence."""

    value: float
    unit: str
    written: str
    sentence: str
    #: where the figure starts in its sentence
    position: int = 0


def find_quantities(summary: str, unit: str | None = None) -> list[Quantity]:
    """Every number with a unit in ``summary``, in order; only those in ``unit`` when it is given."""
    found = []
    for sentence in split_sentences(summary):
        for quantity in sentence_quantities(sentence):
            if answers_unit(quantity.unit, unit):
                found.append(quantity)
    return found


#: Units that answer "how long does it take" and "how fast is it".
TIME_UNITS = ("s", "ms", "fps")
#: Units that answer "how many parameters".
PARAMETER_UNITS = ("M parameters", "K parameters")
#: Units that answer "how large".
SIZE_UNITS = ("%", "x")


def answers_unit(written: str, asked: str | None) -> bool:
    """Whether a figure in unit ``written`` answers a question asking for ``asked`` (None: any figure)."""
    families = {"s": TIME_UNITS, "M parameters": PARAMETER_UNITS, "size": SIZE_UNITS}
    return asked is None or written == asked or written in families.get(asked, ())


def sentence_quantities(sentence: str) -> list[Quantity]:
    """Every figure of one sentence, in the order written."""
    found = [Quantity(float(match.group(1).replace(",", ".")), _unit_name(match.group(2)), match.group(0), sentence,
                      match.start()) for match in _QUANTITY.finditer(sentence)]
    for match in _PREFIXED.finditer(sentence):
        number = match.group(1) or match.group(2)
        found.append(Quantity(float(number), "x", match.group(0), sentence, match.start()))
    return sorted(found, key=lambda quantity: quantity.position)


def unit_asked(question: str) -> str | None:
    """The unit a number question asks about, when its words say ("how many dB", "what percent"), else None."""
    return next((unit for unit, pattern in _ASKED_UNITS if pattern.search(question)), None)


def _unit_name(written: str) -> str:
    for name, pattern in _UNITS.items():
        if re.fullmatch(pattern, written):
            return name
    return written
