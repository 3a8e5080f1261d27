"""No cnaps-* folder outlives the code that made it: the test modules that make temporary folders (web job
stores, report and warm-up scratch, restorations) leave a private temp folder as they found it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Modules whose code under test calls tempfile.mkdtemp / TemporaryDirectory (their browser and slow tests are
#: left out here: they take minutes, and the servers they start are the same code).
MODULES = ("tests/test_web_store.py", "tests/test_web_answer.py", "tests/test_restoration_step.py",
           "tests/test_report.py", "tests/test_langchain_tool.py", "tests/test_api.py", "tests/test_chat.py")


def test_the_code_under_test_makes_its_temporary_folders_with_the_cnaps_prefix() -> None:
    """Guards the check below: a temporary folder with another name would escape it."""
    import re

    made = []
    for path in [*ROOT.glob("agent/**/*.py"), *ROOT.glob("tools/**/*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.search(r"mkdtemp\(|TemporaryDirectory\(|NamedTemporaryFile\(", line):
                made.append((path.relative_to(ROOT), line.strip()))
    assert made, "the scan found no temporary folders at all"
    for path, line in made:
        assert 'prefix="cnaps-' in line, f"{path}: {line}"


@pytest.mark.slow
def test_the_test_modules_leave_no_cnaps_folder_in_the_temp_folder(tmp_path: Path) -> None:
    private_temp = tmp_path / "tmp"
    private_temp.mkdir()
    environment = {**os.environ, "TMPDIR": str(private_temp), "CNAPS_RANKER": "lexical"}
    done = subprocess.run([sys.executable, "-m", "pytest", *MODULES, "-q", "-p", "no:cacheprovider",
                           "-m", "not browser and not slow", "--basetemp", str(tmp_path / "basetemp")],
                          capture_output=True, text=True, env=environment, cwd=ROOT, timeout=1200)
    ran = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert " passed" in ran, ran  # the modules really ran (failures are their own tests' business)
    leftovers = sorted(path.name for path in private_temp.glob("cnaps-*"))
    assert leftovers == [], f"left in the temp folder: {leftovers}"
