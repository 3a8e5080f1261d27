"""Running the evaluation: answer every labelled bundle of a folder in-process, check each answer, score the metrics.

A bundle that cannot be read, whose labels are wrong, or whose answering fails is a failure of every metric it has
cases in (and a bundle error); it never stops the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agent.evaluation.checks import (Check, check_allowlist, check_fidelity, check_grounded_flag, check_language,
                                     check_off_topic, check_primary, check_sub_questions, check_task,
                                     check_uncovered, repeated_paragraphs)
from agent.evaluation.labels import (BundleLabels, EvalCase, check_against_bundle, find_cases, load_labels,
                                     resolve_primary)
from agent.evaluation.metrics import METRICS, THRESHOLDS_FILE, MetricScore, load_thresholds, score
from agent.evaluation.text import clip


@dataclass
class BundleResult:
    """One bundle's answer and its checks per metric (an empty list: the metric has no case for this bundle)."""

    name: str
    checks: dict[str, list[Check]] = field(default_factory=dict)
    error: str | None = None
    #: the GroundedAnswer, for writing it out; None when answering failed
    answer: object | None = None


@dataclass
class EvalReport:
    """Every metric's score and every bundle's result."""

    scores: list[MetricScore]
    results: list[BundleResult]

    @property
    def ok(self) -> bool:
        """Whether every metric meets its thresholds."""
        return all(metric.ok for metric in self.scores)

    def to_json(self) -> str:
        """The report as JSON: per metric its value, cases, thresholds and failing bundles with reasons."""
        payload = {
            "ok": self.ok,
            "bundles": len(self.results),
            "metrics": {metric.metric: {
                "label": metric.label, "value": metric.value, "cases": metric.cases, "min": metric.minimum,
                "max": metric.maximum, "ok": metric.ok,
                "failures": [{"bundle": failure.bundle, "reason": failure.reason} for failure in metric.failures],
            } for metric in self.scores},
        }
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def evaluate_folder(folder: Path, engine, thresholds: Path | None = None) -> EvalReport:
    """Answer and check every labelled bundle of ``folder`` with ``engine`` (a backend), then score the metrics.

    Args:
        thresholds: the thresholds file (default: ``folder/thresholds.yaml`` when it exists; without one, only a
            bundle error fails the run).
    """
    folder = Path(folder)
    path = thresholds if thresholds is not None else folder / THRESHOLDS_FILE
    bounds = load_thresholds(path) if thresholds is not None or path.is_file() else {}
    # A bundle that cannot be evaluated fails the run whatever the thresholds file says, unless it says otherwise.
    bounds.setdefault("bundle_errors", {"max": 0.0})
    results = [evaluate_case(case, engine) for case in find_cases(folder)]
    return EvalReport(score_results(results, bounds), results)


def score_results(results: list[BundleResult], bounds: dict[str, dict[str, float]]) -> list[MetricScore]:
    """One MetricScore per metric, in METRICS order."""
    scores = []
    for metric in METRICS:
        if metric == "bundle_errors":
            cases = [(result.name, result.error is None, result.error or "") for result in results]
        else:
            cases = [(result.name, check.passed, check.reason)
                     for result in results for check in result.checks.get(metric, [])]
        scores.append(score(metric, cases, bounds.get(metric)))
    return scores


def evaluate_case(case: EvalCase, engine) -> BundleResult:
    """Answer one bundle and run every check on the answer; any failure becomes the result's error."""
    from agent.errors import USER_ERRORS

    if case.problem is not None:
        return _failed(case.name, None, case.problem)
    labels = None
    try:
        labels = load_labels(case.labels_path)
        bundle = _load_bundle(case.bundle_path)
        check_against_bundle(labels, bundle)
        names = {source.id: source.name for source in bundle.sources}
        expected_primary = resolve_primary(labels.primary_model, names) if labels.primary_model else None
        answer = _answer(engine, bundle)
        return _checked(case.name, labels, bundle, answer, expected_primary, names)
    except USER_ERRORS as error:
        return _failed(case.name, labels, str(error))
    except Exception as error:  # noqa: BLE001  (one bundle's failure must not lose the others)
        return _failed(case.name, labels, f"{type(error).__name__}: {clip(str(error), 120)}")


def _load_bundle(path: Path):
    from knowledge.parser import load_bundle

    return load_bundle(path)


def _answer(engine, bundle):
    from agent.backends.base import AnswerRequest

    return engine.answer(AnswerRequest(bundle=bundle))


def _checked(name: str, labels: BundleLabels, bundle, answer, expected_primary: str | None,
             names: dict[str, str]) -> BundleResult:
    from agent.rendering import render_json, render_markdown

    markdown = render_markdown(answer)
    data = json.loads(render_json(answer))
    off_topic = check_off_topic(data, labels)
    allowlist = check_allowlist(data, markdown, bundle, labels)
    repeats = repeated_paragraphs(markdown, bundle.question)
    checks = {
        "task_accuracy": [check_task(data, labels)] if labels.task else [],
        "primary_accuracy": [check_primary(data, expected_primary, names)] if expected_primary else [],
        "allowlist_precision": [allowlist],
        "fidelity": [check_fidelity(markdown, bundle)],
        "grounded_agreement": [check_grounded_flag(data, allowlist)],
        "uncovered_recall": check_uncovered(data, labels),
        "sub_question_rate": check_sub_questions(data, labels),
        "off_topic_recall": [off_topic] if labels.off_topic else [],
        "false_off_topic": [] if labels.off_topic else [off_topic],
        "language_accuracy": [check_language(data, labels)],
        "repeated_paragraphs": [Check(False, f"repeated: '{clip(text, 60)}'") for text in repeats],
    }
    return BundleResult(name, checks, answer=answer)


def _failed(name: str, labels: BundleLabels | None, reason: str) -> BundleResult:
    """A bundle that could not be evaluated: a failed case in every metric it would have had cases in."""
    failed = [Check(False, f"error: {reason}")]
    checks = {"allowlist_precision": failed, "fidelity": failed, "grounded_agreement": failed,
              "language_accuracy": failed}
    if labels is None or labels.task:
        checks["task_accuracy"] = failed
    if labels is None or labels.primary_model:
        checks["primary_accuracy"] = failed
    if labels is not None:
        checks["uncovered_recall"] = failed * len(labels.uncovered)
        checks["sub_question_rate"] = failed * len(labels.sub_questions)
        checks["off_topic_recall" if labels.off_topic else "false_off_topic"] = failed
    return BundleResult(name, checks, error=reason)
