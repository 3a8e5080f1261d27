"""The acceptance check's learned score: fitting it (calibration only, needs scikit-learn) and evaluating it (numpy).

No single no-reference measure tells a real restoration from a plausible-looking worse output: the sharp original
of a strongly blurred photo overshoots the blurred photo's local range as an unsharp mask does, recovered fine
texture looks like grain in the blurred photo's flat regions, and a network's wrong tone change looks like
nothing at all. The check therefore combines the measures of ``tools.quality.restoration_measures`` in a small
gradient-boosted model (scikit-learn's ``HistGradientBoostingClassifier``, 200 trees of depth 3) fitted on
candidates of known quality (``tools.gate_calibration``). Each measure that names an artefact (halo overshoot,
flat-region grain, whiteness of the change, level and low-frequency shift, their share of the change) is
constrained to count only *against* acceptance, and the blur-effect gain only *for* it, so an output with more of
an artefact is never judged better for it.

The fitted trees are stored as plain JSON (``tools/gate_model.json``) and evaluated here with numpy: scikit-learn
is needed only to refit (``python benchmarks/gate_rates.py --fit``).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("gate_model.json")

#: The model's inputs, derived from ``restoration_measures`` (see ``features``).
FEATURES = ("gain", "overshoot", "log_flat_noise", "level_shift", "low_shift", "detail_loss", "log_detail_gain",
            "structure", "whiteness", "log_change", "blur_before", "level_ratio", "low_ratio")
#: +1: may only raise the score; -1: may only lower it; 0: either.
MONOTONIC = (1, -1, -1, -1, -1, 0, 0, 0, -1, 0, 0, -1, -1)


def features(measures: dict[str, float]) -> list[float]:
    """The model's inputs for one input/output pair."""
    change = measures["change"] + 1e-5
    return [measures["gain"], measures["overshoot"], math.log(max(measures["flat_noise"], 1e-6)),
            measures["level_shift"], measures["low_shift"], measures["detail_loss"],
            math.log(max(measures["detail_gain"], 1e-3)), measures["structure"], measures["whiteness"],
            math.log(change), measures["blur_before"], measures["level_shift"] / change,
            measures["low_shift"] / change]


@lru_cache(maxsize=2)
def load_model(path: str = str(MODEL_PATH)) -> dict:
    """The stored model: baseline, trees (flat node lists), decision threshold and vetoes."""
    return json.loads(Path(path).read_text())


def score(measures: dict[str, float], model: dict | None = None) -> float:
    """The model's log-odds that the output is a real improvement (higher is better)."""
    model = model or load_model()
    values = features(measures)
    total = model["baseline"]
    for tree in model["trees"]:
        node = tree[0]
        while not node[0]:  # [is_leaf, value, feature, threshold, left, right]
            node = tree[node[4] if values[node[2]] <= node[3] else node[5]]
        total += node[1]
    return total


def fit(rows: list, weights: dict[str, float] | None = None, seed: int = 0):
    """Fit the model on calibration candidates (``tools.gate_calibration.Candidate``); returns the classifier.

    Positives: the sharp originals and candidates that gain at least 0.25 dB; negatives: candidates worse than
    their input by more than 0.05 dB (the band between is left out). ``weights``: per-kind weight of the negatives
    (default 4, and 400 for the network's own worse outputs, the errors a user would see).
    """
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    weights = {"network": 400.0, **(weights or {})}
    table = np.array([features(row.measures) for row in rows])
    change = np.array([row.change for row in rows])
    kinds = np.array([row.kind for row in rows])
    positive = (change >= 0.25) | (kinds == "sharp")
    negative = change < -0.05
    used = positive | negative
    sample_weight = np.where(negative, [weights.get(kind, 4.0) for kind in kinds], 1.0)
    classifier = HistGradientBoostingClassifier(max_iter=200, max_depth=3, learning_rate=0.1, l2_regularization=1.0,
                                                monotonic_cst=list(MONOTONIC), early_stopping=False,
                                                random_state=seed)
    classifier.fit(table[used], positive[used].astype(int), sample_weight=sample_weight[used])
    return classifier


def cross_validated_scores(rows: list, folds: int = 5, seed: int = 0):
    """Each candidate's score from a model fitted without its pair (for choosing the threshold honestly)."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    scores = np.zeros(len(rows))
    pairs = np.array([row.pair for row in rows])
    for train, test in GroupKFold(folds).split(np.zeros(len(rows)), groups=pairs):
        classifier = fit([rows[i] for i in train], seed=seed)
        scores[test] = classifier.decision_function(np.array([features(rows[i].measures) for i in test]))
    return scores


def export(classifier, threshold: float, max_level_ratio: float, notes: dict) -> dict:
    """The classifier as the JSON model ``score`` evaluates (nodes: is_leaf, value, feature, threshold, left, right)."""
    trees = []
    for (predictor,) in classifier._predictors:
        trees.append([[int(node["is_leaf"]), round(float(node["value"]), 6), int(node["feature_idx"]),
                       float(node["num_threshold"]), int(node["left"]), int(node["right"])]
                      for node in predictor.nodes])
    return {"features": list(FEATURES), "monotonic": list(MONOTONIC),
            "baseline": float(classifier._baseline_prediction.ravel()[0]), "threshold": round(float(threshold), 4),
            "max_level_ratio": max_level_ratio, "notes": notes, "trees": trees}
