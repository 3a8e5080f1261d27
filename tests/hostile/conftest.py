"""The hostile-input suite's ledger: every hostile input a test tries is counted, the files it was given are hashed
before and after, and the run ends with ``hostile inputs: N tried, N handled, 0 crashes, 0 inputs modified``."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class Ledger:
    """Totals over the whole run."""

    tried: int = 0
    handled: int = 0
    crashes: int = 0
    modified: list[str] = field(default_factory=list)


LEDGER = Ledger()


class HostileCases:
    """What one test tries: ``case()`` counts one hostile input; ``watch()`` names input files that must not change."""

    def __init__(self) -> None:
        self.tried = 0
        self.failed = 0
        self._digests: dict[Path, str] = {}

    @contextmanager
    def case(self):
        """One hostile input: counted as tried, and as a crash when anything escapes the block."""
        self.tried += 1
        try:
            yield
        except BaseException:
            self.failed += 1
            raise

    def watch(self, *paths: Path) -> None:
        """Remember the content of these files (or every file under these folders) to check after the test."""
        for path in paths:
            for file in _files(Path(path)):
                self._digests[file] = _digest(file)

    def modified(self) -> list[str]:
        """The watched files whose content changed or that disappeared."""
        return [str(path) for path, digest in self._digests.items()
                if not path.is_file() or _digest(path) != digest]


def _files(path: Path) -> list[Path]:
    return sorted(file for file in path.rglob("*") if file.is_file()) if path.is_dir() else [path]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: A hostile input that hangs fails its test (and counts as a crash) instead of stalling the suite.
HANG_SECONDS = 600


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HANG_SECONDS))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_PASSED] = report.passed


_PASSED = pytest.StashKey[bool]()


@pytest.fixture
def hostile(request):
    """The test's HostileCases; at teardown its counts go into the ledger and modified inputs fail the test."""
    cases = HostileCases()
    yield cases
    modified = cases.modified()
    LEDGER.tried += cases.tried
    LEDGER.modified += modified
    if request.node.stash.get(_PASSED, False) and not modified:
        LEDGER.handled += cases.tried
    else:
        LEDGER.crashes += max(cases.failed, 1)
    assert not modified, f"hostile input files were modified: {modified}"


def pytest_terminal_summary(terminalreporter):
    if LEDGER.tried:
        terminalreporter.write_line(f"hostile inputs: {LEDGER.tried} tried, {LEDGER.handled} handled, "
                                    f"{LEDGER.crashes} crashes, {len(LEDGER.modified)} inputs modified")
