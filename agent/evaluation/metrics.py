"""Scores of an evaluation run: one per metric, from every bundle's checks, compared with the repo's thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.errors import EvaluationError

#: metric id -> (what the table calls it, whether it is a rate of passed checks or a count of bad things)
METRICS: dict[str, tuple[str, str]] = {
    "task_accuracy": ("task accuracy", "rate"),
    "primary_accuracy": ("primary-model accuracy", "rate"),
    "allowlist_precision": ("allowlist precision", "rate"),
    "fidelity": ("quote and figure fidelity", "rate"),
    "grounded_agreement": ("grounded flag agrees with allowlist", "rate"),
    "uncovered_recall": ("uncovered-aspect recall", "rate"),
    "sub_question_rate": ("sub-question answer-or-decline rate", "rate"),
    "off_topic_recall": ("off-topic detection (recall)", "rate"),
    "false_off_topic": ("false off-topic (on-topic bundles)", "rate"),
    "language_accuracy": ("language accuracy", "rate"),
    "repeated_paragraphs": ("repeated paragraphs", "count"),
    "bundle_errors": ("bundle errors", "count"),
}
THRESHOLDS_FILE = "thresholds.yaml"


@dataclass
class Failure:
    """A bundle that failed one case of a metric, and why."""

    bundle: str
    reason: str


@dataclass
class MetricScore:
    """One metric over the whole folder.

    value is the share of passed cases (rates; for false_off_topic the share of flagged cases) or the count
    (counts); None when no bundle has a case for it. ``minimum``/``maximum`` come from the thresholds file.
    """

    metric: str
    value: float | None
    cases: int
    failures: list[Failure] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None

    @property
    def label(self) -> str:
        """The metric's name as people read it."""
        return METRICS[self.metric][0]

    @property
    def is_count(self) -> bool:
        """Whether the value counts bad things (repeats, errors) rather than being a rate."""
        return METRICS[self.metric][1] == "count"

    @property
    def ok(self) -> bool:
        """Whether the score meets its thresholds (a metric without cases or thresholds always does)."""
        if self.value is None:
            return True
        return not ((self.minimum is not None and self.value < self.minimum)
                    or (self.maximum is not None and self.value > self.maximum))

    def threshold_text(self) -> str:
        """The threshold as ``>= x`` / ``<= x``, or empty when the metric is only reported."""
        parts = [f">= {self.minimum:g}" if self.minimum is not None else "",
                 f"<= {self.maximum:g}" if self.maximum is not None else ""]
        return " and ".join(part for part in parts if part)


def load_thresholds(path: Path) -> dict[str, dict[str, float]]:
    """Read ``metric: {min: x}`` / ``{max: x}`` lines; EvaluationError for an unknown metric or a malformed line."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise EvaluationError(f"{path}: cannot be read as YAML ({type(error).__name__})") from None
    if not isinstance(data, dict):
        raise EvaluationError(f"{path}: expected a mapping of metric: {{min: x}} or {{max: x}}")
    thresholds = {}
    for metric, bounds in data.items():
        if metric not in METRICS:
            raise EvaluationError(f"{path}: unknown metric {metric!r}; known: {', '.join(METRICS)}")
        if not isinstance(bounds, dict) or not bounds or set(bounds) - {"min", "max"} or not all(
                isinstance(value, (int, float)) and not isinstance(value, bool) for value in bounds.values()):
            raise EvaluationError(f"{path}: {metric}: expected {{min: number}} and/or {{max: number}}")
        thresholds[metric] = {key: float(value) for key, value in bounds.items()}
    return thresholds


def score(metric: str, cases: list[tuple[str, bool, str]], bounds: dict[str, float] | None = None) -> MetricScore:
    """Score one metric from (bundle, passed, reason) cases; a count metric counts the failed cases.

    false_off_topic is a rate of failed cases (lower is better); the other rates are the share of passed cases.
    """
    bounds = bounds or {}
    failures = [Failure(bundle, reason) for bundle, passed, reason in cases if not passed]
    kind = METRICS[metric][1]
    if kind == "count":
        value: float | None = float(len(failures))
    elif not cases:
        value = None
    elif metric == "false_off_topic":
        value = len(failures) / len(cases)
    else:
        value = (len(cases) - len(failures)) / len(cases)
    return MetricScore(metric, value, len(cases), failures, bounds.get("min"), bounds.get("max"))
