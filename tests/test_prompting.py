"""Template rendering: strict about missing variables, sandboxed, and every answer template renders."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from agent import prompting
from agent.prompting import render_sentence, render_template, template_names


def test_answer_templates_ship_with_the_package() -> None:
    names = template_names()
    for name in ("answer.md.j2", "answer_task.j2", "answer_how.j2", "answer_aspect.j2", "answer_reference.j2",
                 "answer_workflow_input.j2", "answer_workflow_model.j2", "answer_workflow_output.j2",
                 "answer_limitation_aspect.j2", "answer_limitation_outside.j2",
                 "answer_limitation_unrestored.j2", "answer_sub_question.j2", "answer_language_note.j2"):
        assert name in names


def test_a_missing_variable_fails_loudly() -> None:
    with pytest.raises(UndefinedError):
        render_template("answer_limitation_outside.j2")


def test_render_sentence_collapses_template_layout() -> None:
    text = render_sentence("answer_limitation_outside.j2", count=2)
    assert "\n" not in text and "  " not in text
    assert text.startswith("You ask about models or links that the supplied sources do not include.")


def test_templates_cannot_reach_python_internals() -> None:
    environment = prompting._environment()
    with pytest.raises(SecurityError):
        environment.from_string("{{ x.__class__.__mro__[1].__subclasses__() }}").render(x="")


def test_unknown_template_is_an_error() -> None:
    from jinja2.exceptions import TemplateNotFound

    with pytest.raises(TemplateNotFound):
        render_template("../agent/composer.py")
