"""Run the README's marked examples and check that what they print still has the shape the README shows.

    python docs/readme_examples.py [--readme README.md] [--only TEXT] [--show]

A fenced block is an example when the line before it is an HTML comment such as::

    <!-- readme-example -->                      every `$ command` in the block runs; its output is compared
    <!-- readme-example session=api -->          blocks of one session share a scratch folder and servers
    <!-- readme-example session=api background --> the command keeps running (a server) until the session ends
    <!-- readme-example session=api file=answer.json --> a JSON block compared with that file of the session

Commands run with bash in a scratch folder holding links to the repository's examples/ and tests/, offline
(``CNAPS_BACKEND=offline``), with the virtual environment first on PATH.  A server's ``--port N`` is moved to
a free port, and N is replaced in the session's later commands.  Shapes, not values, are compared: numbers
and 32-digit ids may differ, runs of spaces and table rules are one, a line ``...`` stands for any lines, a line
ending in ``...`` for any line it begins, and ``(exit status N)`` for the exit status (0 when not shown).
JSON blocks must show only keys the real JSON has, with values of the same kind; ``{...}`` and ``[...]`` stand
for any value.  Exit status 1 and a report of every difference when an example no longer runs or matches.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("examples", "tests", "README.md", "MODEL_CARD.md")
MARKER = re.compile(r"^<!--\s*readme-example\b(?P<options>[^>]*)-->\s*$")
FENCE = re.compile(r"^```")
EXIT = re.compile(r"^\(exit status (\d+)\)$")
ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=(\"[^\"]*\"|'[^']*'|\$\(.*\)|\S*)")
ANY_VALUE = "\u2026any\u2026"
COMMAND_SECONDS = 600
SERVER_SECONDS = 180


@dataclass
class Step:
    """One `$ command` of a block and the output the README shows for it."""

    command: str
    shown: list[str] = field(default_factory=list)
    status: int = 0


@dataclass
class Example:
    """One marked block of the README; ``line`` is the line number of its opening fence."""

    line: int
    language: str
    body: list[str]
    session: str | None = None
    background: bool = False
    file: str | None = None

    def steps(self) -> list[Step]:
        """The block's commands with their shown outputs (a `\\` at a line's end continues the command)."""
        steps: list[Step] = []
        continuing = False
        for text in self.body:
            if continuing:
                steps[-1].command += "\n" + text
            elif text.startswith("$ "):
                steps.append(Step(text[2:]))
            elif steps and EXIT.match(text.strip()):
                steps[-1].status = int(EXIT.match(text.strip()).group(1))
            elif steps:
                steps[-1].shown.append(text)
            continuing = bool(steps) and text.endswith("\\") and (text.startswith("$ ") or continuing)
        return steps


def find_examples(readme: str) -> list[Example]:
    """Every fenced block of ``readme`` that follows a readme-example marker."""
    lines = readme.splitlines()
    examples = []
    for number, text in enumerate(lines):
        marker = MARKER.match(text.strip())
        if not marker or number + 1 >= len(lines) or not FENCE.match(lines[number + 1]):
            continue
        end = next(index for index in range(number + 2, len(lines)) if FENCE.match(lines[index]))
        options = dict(re.findall(r"(\w+)=(\S+)", marker.group("options")))
        examples.append(Example(line=number + 2, language=lines[number + 1][3:].strip(), body=lines[number + 2:end],
                                session=options.get("session"), file=options.get("file"),
                                background=" background" in f" {marker.group('options')} "))
    return examples


def normalise(line: str) -> str:
    """A line's shape: ids, numbers, runs of spaces and table rules made alike."""
    line = re.sub(r"\b[0-9a-f]{32}\b", "<id>", line.rstrip())
    line = re.sub(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", "0", line)
    line = re.sub(r"[─━═]+", "─", line)
    return re.sub(r"[ \t]+", " ", line).strip()


def lines_differ(shown: list[str], actual: list[str]) -> str | None:
    """None when ``actual`` has the shape of ``shown`` (blank lines ignored), else what differs first."""
    expected = [normalise(line) for line in shown if line.strip()]
    real = [normalise(line) for line in actual if line.strip()]
    return None if _match(expected, real) else _first_difference(expected, real)


def _match(expected: list[str], real: list[str]) -> bool:
    if not expected:
        return not real
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(_match(rest, real[skip:]) for skip in range(len(real) + 1))
    return bool(real) and _line_matches(head, real[0]) and _match(rest, real[1:])


def _line_matches(expected: str, real: str) -> bool:
    if expected.endswith("...") and expected != "...":
        return real.startswith(expected[:-3].rstrip())
    return expected == real


def _first_difference(expected: list[str], real: list[str]) -> str:
    for index, line in enumerate(expected):
        if line == "...":
            break
        if index >= len(real) or not _line_matches(line, real[index]):
            got = real[index] if index < len(real) else "(no more output)"
            return f"shown line {index + 1}: {line!r}\n    printed: {got!r}"
    return "shown: " + " | ".join(expected) + "\n    printed: " + " | ".join(real)


def json_differs(shown: object, actual: object, where: str = "$") -> str | None:
    """None when every key shown is in ``actual`` with a value of the same kind, else where it is not."""
    if shown == ANY_VALUE:
        return None
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return f"{where}: shown an object, got {type(actual).__name__}"
        for key, value in shown.items():
            if key not in actual:
                return f"{where}.{key}: shown, but the real JSON has no such key"
            problem = json_differs(value, actual[key], f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return f"{where}: shown a list, got {type(actual).__name__}"
        return next((problem for index, (item, real) in enumerate(zip(shown, actual))
                     if (problem := json_differs(item, real, f"{where}[{index}]"))), None)
    kinds = (bool, (int, float), str, type(None))
    for kind in kinds:
        if isinstance(shown, kind) and not (kind is not bool and isinstance(shown, bool)):
            ok = isinstance(actual, kind) and (kind is bool or not isinstance(actual, bool))
            return None if ok else f"{where}: shown {shown!r}, got {actual!r}"
    return f"{where}: cannot compare {shown!r}"


def parse_shown_json(text: str) -> object:
    """The JSON a README block shows, with ``{...}`` and ``[...]`` read as 'any value'."""
    return json.loads(text.replace("{...}", json.dumps(ANY_VALUE)).replace("[...]", json.dumps(ANY_VALUE)))


class Session:
    """A scratch folder with links to the repository's inputs, the servers started in it and their ports."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cnaps-readme-"))
        for name in LINKED:
            (self.folder / name).symlink_to(ROOT / name)
        (self.folder / "tmp").mkdir()
        self.ports: dict[str, str] = {}
        self.servers: list[subprocess.Popen] = []
        venv_bin = str(Path(sys.executable).parent)
        self.environment = {**os.environ, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
                            "CNAPS_BACKEND": "offline", "CNAPS_WEIGHTS_DIR": str(self.folder / "no-weights"),
                            "COLUMNS": "200", "PYTHONUNBUFFERED": "1", "TMPDIR": str(self.folder / "tmp"),
                            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_COLOR": "1", "TERM": "dumb"}

    def command(self, text: str) -> str:
        """``text`` with the README's ports replaced by this session's."""
        for shown, real in self.ports.items():
            text = re.sub(rf"(?<=[:\s]){shown}\b", real, text)
        return text

    def run(self, step: Step) -> tuple[int, list[str]]:
        """Run one command to its end; (exit status, output lines, stdout and stderr together).

        A bare assignment (``Q="..."``) sets a variable for the session's later commands, as in a shell.
        """
        assignment = ASSIGNMENT.fullmatch(step.command)
        script = self.command(step.command)
        if assignment:
            script += f'; printf %s "${assignment.group(1)}"'
        done = subprocess.run(["bash", "-c", f"{{ {script}\n}} 2>&1"], cwd=self.folder, env=self.environment,
                              capture_output=True, text=True, timeout=COMMAND_SECONDS)
        if assignment:
            self.environment[assignment.group(1)] = done.stdout
            return done.returncode, []
        return done.returncode, done.stdout.splitlines()

    def start(self, step: Step) -> list[str]:
        """Start a server (its ``--port`` moved to a free one) and wait until its output has the shown shape."""
        port = re.search(r"--port\s+(\d+)", step.command)
        if port:
            self.ports[port.group(1)] = str(_free_port())
        log = self.folder / f"server-{len(self.servers)}.log"
        with log.open("w") as stream:
            self.servers.append(subprocess.Popen(["bash", "-c", self.command(step.command)],
                                                 cwd=self.folder, env=self.environment, stdout=stream,
                                                 stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + SERVER_SECONDS
        while time.monotonic() < deadline:
            lines = log.read_text(errors="replace").splitlines()
            if lines_differ(["...", *step.shown, "..."], lines) is None:
                _wait_for_port(self.ports.get(port.group(1)) if port else None)
                return lines
            if self.servers[-1].poll() is not None:
                break
            time.sleep(0.5)
        return log.read_text(errors="replace").splitlines()

    def close(self) -> None:
        """Stop the servers (SIGTERM to their process group, so they clean up) and delete the folder."""
        import signal

        for server in self.servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: str | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while port and time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", int(port))) == 0:
                return
        time.sleep(0.3)


def check_example(example: Example, session: Session, show: bool = False) -> list[str]:
    """Run one example in ``session``; the problems found (empty when it still matches the README)."""
    if example.file:
        path = session.folder / example.file
        if not path.is_file():
            return [f"README line {example.line}: {example.file} was not written by the session's commands"]
        real = json.loads(path.read_text(encoding="utf-8"))
        problem = json_differs(parse_shown_json("\n".join(example.body)), real)
        return [f"README line {example.line}: {problem}"] if problem else []
    problems = []
    for step in example.steps():
        shown = step.shown
        if example.background:  # a server logs more around the lines the README shows
            status, lines, shown = step.status, session.start(step), ["...", *step.shown, "..."]
        else:
            status, lines = session.run(step)
        if show:
            print(f"$ {step.command}\n" + "\n".join(lines) + (f"\n(exit status {status})" if status else ""))
        where = f"README line {example.line}, `{step.command.splitlines()[0]}`"
        if status != step.status:
            problems.append(f"{where}: exit status {status}, the README shows {step.status}\n    "
                            + "\n    ".join(lines[-8:]))
        elif (difference := output_differs(shown, lines)) is not None:
            problems.append(f"{where}: output changed shape\n    {difference}")
    return problems


def output_differs(shown: list[str], actual: list[str]) -> str | None:
    """None when a command's output has the shown shape: key by key for JSON, else line by line."""
    shown_json, actual_json = _as_json(shown, parse_shown_json), _as_json(actual, json.loads)
    if shown_json is not None and actual_json is not None:
        return json_differs(shown_json, actual_json)
    return lines_differ(shown, actual)


def _as_json(lines: list[str], parse) -> object | None:
    text = "\n".join(lines).strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return parse(text)
    except ValueError:
        return None


def check_readme(readme: Path, only: str | None = None, show: bool = False) -> tuple[int, list[str]]:
    """Run every marked example of ``readme`` (those whose text holds ``only``); (examples run, problems)."""
    examples = [example for example in find_examples(readme.read_text(encoding="utf-8"))
                if only is None or only in "\n".join(example.body)]
    sessions: dict[str | None, Session] = {}
    problems: list[str] = []
    try:
        for example in examples:
            key = example.session or f"block-{example.line}"
            if key not in sessions:
                sessions[key] = Session()
            problems += check_example(example, sessions[key], show)
            if example.session is None:
                sessions.pop(key).close()
    finally:
        for session in sessions.values():
            session.close()
    return len(examples), problems


def main() -> None:
    """Command line: check the README and exit 1 when an example no longer runs or matches."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--only", help="run only the examples whose text contains this")
    parser.add_argument("--show", action="store_true", help="print what each command really printed")
    arguments = parser.parse_args()
    count, problems = check_readme(arguments.readme, arguments.only, arguments.show)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{count} README examples run, {len(problems)} problems")
    sys.exit(1 if problems or count == 0 else 0)


if __name__ == "__main__":
    main()
