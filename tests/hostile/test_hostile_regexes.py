"""No regular expression of the agent, the knowledge layer or the tools backtracks catastrophically: every
module-level pattern scans long hostile texts (runs of dots, hyphens, spaces, newlines, brackets) in linear time."""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal
import time

import pytest

PACKAGES = ("agent", "knowledge", "tools")
#: Texts of 10 000 characters shaped to make a badly nested or unanchored pattern retry from every position.
TEXTS = ["a." * 5000, "a-" * 5000, "aB-" * 3333, "1." * 5000, "a" * 10_000, " " * 10_000, "\n" * 10_000,
         "\t\n" * 5000, "[" * 10_000, "[a](" * 2500, "/a" * 5000, "a@" * 5000, "**" * 5000, "S1, " * 2500,
         "ab " * 3333, "A-a " * 2500, "http://" + "a." * 4996, "a " * 4999 + "x:", "a." * 4998 + "png"]
SECONDS = 0.5


def module_patterns() -> dict[str, re.Pattern[str]]:
    patterns = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            try:
                module = importlib.import_module(info.name)
            except Exception:  # noqa: BLE001  a module whose optional dependency is missing here
                continue
            patterns.update({f"{info.name}.{name}": value for name, value in vars(module).items()
                             if isinstance(value, re.Pattern) and isinstance(value.pattern, str)})
    return patterns


class TooSlow(Exception):
    pass


def _alarm(*_):
    raise TooSlow


def test_every_module_pattern_scans_hostile_text_in_linear_time(hostile):
    patterns = module_patterns()
    assert len(patterns) > 40
    slow = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for name, pattern in sorted(patterns.items()):
            for text in TEXTS:
                with hostile.case():
                    started = time.perf_counter()
                    signal.setitimer(signal.ITIMER_REAL, 10 * SECONDS)  # a real hang is cut off, and reported
                    try:
                        for _ in pattern.finditer(text):
                            pass
                    except TooSlow:
                        pass
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                    if time.perf_counter() - started > SECONDS:
                        slow.append(f"{name} on {text[:8]!r}…: {time.perf_counter() - started:.2f} s")
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert not slow, slow
