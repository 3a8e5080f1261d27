"""The README cannot drift: its marked examples run (docs/readme_examples.py) and print what it shows, in shape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_examples", ROOT / "docs" / "readme_examples.py")
examples = importlib.util.module_from_spec(_spec)
sys.modules["readme_examples"] = examples  # dataclasses look their module up while the class is made
_spec.loader.exec_module(examples)

FENCE = "```"


def _readme(tmp_path: Path, *blocks: str) -> Path:
    text = "\n\n".join(f"<!-- readme-example -->\n{FENCE}console\n{block}\n{FENCE}" for block in blocks)
    path = tmp_path / "README.md"
    path.write_text("# Title\n\n" + text + "\n\nplain text\n", encoding="utf-8")
    return path


def test_blocks_are_examples_only_when_marked() -> None:
    readme = (f"<!-- readme-example session=api background -->\n{FENCE}console\n$ cnaps serve --port 8765\n"
              f"INFO: up\n{FENCE}\n\n{FENCE}console\n$ not run\n{FENCE}\n")
    [example] = examples.find_examples(readme)
    assert (example.session, example.background, example.line) == ("api", True, 2)  # the opening fence
    assert [(step.command, step.shown) for step in example.steps()] == [("cnaps serve --port 8765", ["INFO: up"])]


def test_steps_join_continued_commands_and_read_the_exit_status() -> None:
    example = examples.Example(line=1, language="console", body=[
        "$ cnaps restore a.png \\", "      --out b/", "wrote b/a.png", "$ cnaps restore a.png --out .",
        "error: would overwrite", "(exit status 1)"])
    first, second = example.steps()
    assert first.command == "cnaps restore a.png \\\n      --out b/" and first.shown == ["wrote b/a.png"]
    assert (second.status, second.shown) == (1, ["error: would overwrite"])


def test_shapes_allow_other_numbers_ids_and_widths_but_not_other_words() -> None:
    shown = ["┏━━━┳━━┓", "│ crop_kodim05.png │ 17.92 -> 23.31 │", "...", "4 answered, 0 failed"]
    printed = ["┏━━━━━━┳━━━━┓", "│ crop_kodim08.png   │ 18.00 -> 18.5   │", "│ more │ rows │", "",
               "3 answered, 1 failed"]
    assert examples.lines_differ(shown, printed) is None
    assert examples.lines_differ(shown, [*printed[:-1], "3 answered, 1 exploded"]) is not None
    one, other = "988f1fa34041863e9fd8e8aca05f2f32", "55d89c7911d7174ff12a19ff533d72c7"
    assert examples.lines_differ([f"id {one}"], [f"id {other}"]) is None
    assert examples.lines_differ([f'{{"id":"{one}","answer":{{"question":"I want to...'],
                                 [f'{{"id":"{other}","answer":{{"question":"I want to up"}}}}']) is None
    assert examples.lines_differ(["one line"], ["one line", "and another"]) is not None


def test_json_shows_only_keys_the_real_json_has_with_values_of_their_kind() -> None:
    shown = examples.parse_shown_json('{"id": "x", "answer": {...}, "restoration": {"seconds": 1.5}, '
                                      '"list": [{"a": 1}, [...]]}')
    real = {"id": "abc", "answer": {"any": "thing"}, "restoration": {"seconds": 30, "more": True},
            "list": [{"a": 2, "b": 3}, {"c": 4}], "extra": None}
    assert examples.json_differs(shown, real) is None
    assert "sharpness" in examples.json_differs({"restoration": {"sharpness": 1.2}}, real)
    assert examples.json_differs({"id": 1}, real) is not None
    assert examples.json_differs({"restoration": {"more": 1}}, real) is not None  # a bool is not a number


def test_a_changed_example_fails_and_an_unchanged_one_passes(tmp_path: Path) -> None:
    good = _readme(tmp_path, "$ echo answered 42\nanswered 7", "$ false\n(exit status 1)",
                   '$ printf \'{"a": 1, "b": [2]}\'\n{"a": 5}')
    assert examples.check_readme(good) == (3, [])
    count, problems = examples.check_readme(_readme(tmp_path, "$ echo answered 42\nskipped 7", "$ false"))
    assert count == 2 and len(problems) == 2
    assert "output changed shape" in problems[0] and "exit status 1, the README shows 0" in problems[1]


def test_a_session_keeps_files_variables_and_json_files_between_blocks(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"<!-- readme-example session=s -->\n{FENCE}console\n$ Q=\"two words\"\n"
        f"$ printf '{{\"q\": \"%s\", \"n\": 3}}' \"$Q\" > answer.json\n$ cat answer.json\n"
        f'{{"q": "two words"}}\n{FENCE}\n\n'
        f"<!-- readme-example session=s file=answer.json -->\n{FENCE}json\n{{\"q\": \"...\", \"n\": 1}}\n{FENCE}\n\n"
        f"<!-- readme-example session=s file=answer.json -->\n{FENCE}json\n{{\"sharpness\": 1.2}}\n{FENCE}\n",
        encoding="utf-8")
    count, problems = examples.check_readme(readme)
    assert count == 3 and len(problems) == 1 and "$.sharpness" in problems[0]


@pytest.mark.slow
def test_the_readme_examples_still_run_and_match() -> None:
    count, problems = examples.check_readme(ROOT / "README.md")
    assert count >= 8, "the README lost its checked examples"
    assert problems == [], "\n".join(problems)


def test_the_json_marker_examples_parse() -> None:
    """Every JSON shown in a marked block is JSON once its placeholders are read (a typo fails here, fast)."""
    for example in examples.find_examples((ROOT / "README.md").read_text(encoding="utf-8")):
        if example.language == "json":
            examples.parse_shown_json("\n".join(example.body))
        for step in example.steps():
            if "--json" in step.command or "--format json" in step.command:
                assert isinstance(examples.parse_shown_json("\n".join(step.shown)), dict), step.command
