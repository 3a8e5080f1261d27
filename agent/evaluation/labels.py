"""Labels of an evaluation bundle (``NAME.labels.yaml`` beside ``NAME.txt|.yaml|.json|.md``) and finding the pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.errors import EvaluationError

LABELS_SUFFIX = ".labels.yaml"
BUNDLE_SUFFIXES = (".txt", ".yaml", ".yml", ".json", ".md")
#: Files of an evaluation folder that are neither bundles nor labels.
NOT_BUNDLES = {"thresholds.yaml", "readme.md", "readme.txt"}
NOT_GIVEN = "not_given"


class SubQuestionLabel(BaseModel):
    """One sub-question the answer must answer (``expect`` must appear in its text) or decline (``not_given``)."""

    model_config = ConfigDict(extra="forbid")

    about: list[str] = Field(min_length=1)
    expect: str = Field(min_length=1)

    @field_validator("about", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @property
    def declined(self) -> bool:
        """Whether the bundle does not give this answer, so the answer must say so."""
        return self.expect == NOT_GIVEN


class BundleLabels(BaseModel):
    """What a correct answer to one bundle does; the truth about the bundle, not what any composer does today."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(pattern=r"^[a-z]{2}$")
    off_topic: bool = False
    task: list[str] = Field(default_factory=list)
    primary_model: str | None = None
    forbidden: list[str] = Field(default_factory=list)
    #: one entry per aspect: its keyword alternatives (a plain string is one keyword)
    uncovered: list[list[str]] = Field(default_factory=list)
    sub_questions: list[SubQuestionLabel] = Field(default_factory=list)
    notes: str = ""

    @field_validator("uncovered", mode="before")
    @classmethod
    def _aspects(cls, value: object) -> object:
        if isinstance(value, list):
            return [[item] if isinstance(item, str) else item for item in value]
        return value

    @field_validator("task", "forbidden", mode="before")
    @classmethod
    def _string_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    def check_consistent(self) -> None:
        """Raise EvaluationError when the labels contradict themselves (an off-topic bundle with a task)."""
        if self.off_topic and (self.task or self.primary_model):
            raise EvaluationError("off_topic is true, so task must be [] and primary_model null")
        if not self.off_topic and not (self.task and self.primary_model):
            raise EvaluationError("an on-topic bundle needs a task (keywords) and a primary_model")


@dataclass
class EvalCase:
    """One bundle of the folder: its file, its labels file, and why the pair is unusable (None when usable)."""

    name: str
    bundle_path: Path | None
    labels_path: Path | None
    problem: str | None = None


def load_labels(path: Path) -> BundleLabels:
    """Read and check one labels file; EvaluationError with a one-line reason when it is not valid."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise EvaluationError(f"{path.name}: cannot be read as YAML ({type(error).__name__})") from None
    try:
        labels = BundleLabels.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "labels"
        raise EvaluationError(f"{path.name}: {where}: {problem['msg']}") from None
    try:
        labels.check_consistent()
    except EvaluationError as error:
        raise EvaluationError(f"{path.name}: {error}") from None
    return labels


def find_cases(folder: Path) -> list[EvalCase]:
    """Every bundle of ``folder`` (not recursive) paired with its labels; an unpaired file is a case with a problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvaluationError(f"{folder}: no such folder; give a folder of bundles, each with NAME{LABELS_SUFFIX}")
    files = sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
    labels = {path.name[: -len(LABELS_SUFFIX)]: path for path in files if path.name.endswith(LABELS_SUFFIX)}
    bundles: dict[str, list[Path]] = {}
    for path in files:
        if path.name.endswith(LABELS_SUFFIX) or path.name.lower() in NOT_BUNDLES:
            continue
        if path.suffix.lower() in BUNDLE_SUFFIXES:
            bundles.setdefault(path.stem, []).append(path)
    cases = []
    for name in sorted(set(labels) | set(bundles)):
        candidates = bundles.get(name, [])
        label_path = labels.get(name)
        problem = None
        if label_path is None:
            problem = f"no labels: expected {name}{LABELS_SUFFIX} beside {candidates[0].name}"
        elif not candidates:
            problem = f"{label_path.name} has no bundle {name}.txt|.yaml|.json|.md beside it"
        elif len(candidates) > 1:
            problem = f"two bundles share the name {name}: " + ", ".join(path.name for path in candidates)
        cases.append(EvalCase(name, candidates[0] if len(candidates) == 1 else None, label_path, problem))
    if not cases:
        raise EvaluationError(f"{folder}: holds no bundles with labels (NAME.txt beside NAME{LABELS_SUFFIX})")
    return cases


def check_against_bundle(labels: BundleLabels, bundle) -> None:
    """Raise EvaluationError when a label cannot be met by any answer to ``bundle``: a sub-question whose ``about``
    keywords are not in the question, or an expected answer that is neither supplied text nor a supplied dB
    figure or difference."""
    from agent.evaluation.allowlist import supplied_text
    from agent.evaluation.fidelity import is_supplied_figure, supplied_figures
    from agent.evaluation.text import contains, contains_any

    supplied = supplied_text(bundle)
    for number, label in enumerate(labels.sub_questions, 1):
        if not contains_any(bundle.question, label.about):
            raise EvaluationError(f"sub_questions[{number}]: none of {label.about} is in the question")
        if label.declined or contains(supplied, label.expect):
            continue
        try:
            figure = float(label.expect)
        except ValueError:
            figure = None
        if figure is None or not is_supplied_figure(figure, supplied_figures(bundle)):
            raise EvaluationError(f"sub_questions[{number}]: expect {label.expect!r} is not in the bundle's sources "
                                  "nor a difference of two supplied dB figures")


def resolve_primary(name: str, source_names: dict[str, str]) -> str:
    """The id of the one source whose name is ``name`` (case-insensitive) or, failing that, the only one containing it.

    Args:
        source_names: source id -> supplied name.
    Raises EvaluationError when no source or several sources match.
    """
    wanted = " ".join(name.lower().split())
    names = {source_id: " ".join(supplied.lower().split()) for source_id, supplied in source_names.items()}
    exact = [source_id for source_id, supplied in names.items() if supplied == wanted]
    matches = exact or [source_id for source_id, supplied in names.items() if wanted in supplied]
    if len(matches) != 1:
        found = "no" if not matches else f"{len(matches)} ({', '.join(matches)})"
        raise EvaluationError(f"primary_model {name!r} matches {found} supplied source names; it must match one")
    return matches[0]
