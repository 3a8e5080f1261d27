"""The acceptance rule's error rates pinned on 12 fixed-seed pairs from the fixture crops.

The pairs are the fixture's three sharp crops, four times each, degraded in turn by the realistic pipeline's
shake, object motion and defocus, by uniform kernels, or not at all, and restored with the shipped default
weights. A change to the rule, the degradations or the default weights moves these numbers: update them on
purpose, with the full figures from ``benchmarks/acceptance_rates.py`` in MODEL_CARD.md.
"""

from pathlib import Path

import pytest

from tools.acceptance_rates import measure_pairs, rates

SHARP = sorted((Path(__file__).parent / "fixtures" / "sharp").glob("*.png"))


@pytest.fixture(scope="module")
def outcomes():
    return measure_pairs(SHARP * 4, seed=14, crop=160)


@pytest.mark.slow
def test_rates_on_the_fixture_pairs(outcomes):
    summary = rates(outcomes)
    assert (summary.pairs, summary.lowered, summary.raised) == (12, 2, 10)  # only the two sharp inputs are made worse
    assert summary.false_accepts == 0  # no output that lowered PSNR is handed back
    assert summary.false_rejects == 8  # conservative: most small gains are not applied
    assert summary.worst_kept > 3.5 and summary.mean_change_checked > 0.9


@pytest.mark.slow
def test_sharp_inputs_are_never_restored(outcomes):
    sharp = [outcome for outcome in outcomes if outcome.kind == "sharp"]
    assert len(sharp) == 2 and not any(outcome.blurred or outcome.applied for outcome in sharp)
