"""Grounding enforced on model answers: question-only names, tool claims, and part-by-part offline replacement."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.llm.draft import AnswerDraft, DraftStatement, answer_from_draft
from agent.llm.enforce import PARTS, Problem, claims_restoration, question_only_terms, replace_failing_parts
from knowledge.parser import default_bundle

INJECTIONS = yaml.safe_load((Path(__file__).parent / "fixtures" / "injection_questions.yaml").read_text())


def _bundle(question: str):
    return default_bundle().model_copy(update={"question": question})


def _answer(text: str, bundle):
    statement = DraftStatement(text=text, source_ids=["S1"])
    draft = AnswerDraft(task=statement, explanation=[statement], workflow_input=statement,
                        workflow_model=statement, workflow_output=statement, limitations=[statement])
    return answer_from_draft(draft, bundle, backend="local", restoration=None)


@pytest.mark.parametrize("case", INJECTIONS, ids=lambda case: case["name"])
def test_every_injected_name_and_link_is_a_question_only_term(case):
    terms = {term.lower() for term in question_only_terms(_bundle(case["question"]))}
    first_word = case["name"].split()[0].lower()
    assert first_word in terms or case["name"].lower() in terms
    assert any(case["link"].lower().startswith(term) or term.startswith(case["link"].lower()) for term in terms)


def test_ordinary_question_words_and_supplied_names_are_not_question_only_terms():
    bundle = default_bundle()
    assert question_only_terms(bundle) == set()
    bundle = _bundle("Can Deblur-MIMO-UNet-RealBlur or FeatSharp fix my JPEG? Even the HDR shots look soft.")
    assert question_only_terms(bundle) == set()


@pytest.mark.parametrize(
    "text",
    ["I have restored your image.", "We deblurred the photo for you.", "The image has been sharpened.",
     "Here is your restored photo.", "The restored image is attached below."],
)
def test_restoration_claims_are_recognised(text):
    assert claims_restoration(text)


@pytest.mark.parametrize(
    "text",
    ["MIMO-UNet restores blurred photographs.", "A restored image keeps the input size.",
     "The model would deblur the frame."],
)
def test_descriptions_of_what_a_model_does_are_not_claims(text):
    assert not claims_restoration(text)


def test_failing_parts_are_replaced_and_listed_others_kept():
    bundle = default_bundle()
    answer = _answer("MIMO-UNet removes blur.", bundle)
    offline = _answer("Offline composer text.", bundle)
    problems = [Problem("task", "url", "https://x.example"), Problem("limitations", "tool-claim", "I restored")]
    fixed = replace_failing_parts(answer, problems, offline)
    assert fixed.task == offline.task and fixed.limitations == offline.limitations
    assert fixed.explanation == answer.explanation and fixed.workflow == answer.workflow
    assert fixed.replaced_parts == ["task", "limitations"]
    assert replace_failing_parts(answer, [], offline) is answer
    assert set(PARTS) == {"task", "explanation", "workflow", "references", "limitations"}


def test_uncited_and_repeated_sentences_are_problems_and_empty_parts_take_the_offline_ones():
    from agent.composer import compose_offline
    from agent.llm.enforce import find_problems

    bundle = default_bundle()
    cited = DraftStatement(text="MIMO-UNet removes camera blur.", source_ids=["S1"])
    uncited = DraftStatement(text="Your AI cannot make images look real.", source_ids=[])
    limitation = DraftStatement(text="Shadows are not covered by the sources.", source_ids=[])
    draft = AnswerDraft(task=cited, explanation=[], workflow_input=uncited, workflow_model=cited,
                        workflow_output=DraftStatement(text="A sharper photograph.", source_ids=["S1"]),
                        limitations=[limitation])
    answer = answer_from_draft(draft, bundle, backend="local", restoration=None)
    problems = find_problems(answer, bundle, None)
    assert Problem("workflow", "uncited", uncited.text) in problems
    assert Problem("workflow", "repeated", cited.text) in problems  # the model step repeats the task
    assert not [problem for problem in problems if problem.part in ("task", "limitations")]  # a limitation may cite nothing
    offline = compose_offline(bundle)
    fixed = replace_failing_parts(answer, problems, offline)
    # the empty explanation (and the references without notes) come from the offline answer, flagged like failures
    assert fixed.replaced_parts == ["explanation", "workflow", "references"]
    assert fixed.explanation == offline.explanation and fixed.task == answer.task
