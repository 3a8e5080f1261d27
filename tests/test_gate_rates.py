"""The acceptance check's rates pinned on candidates of known quality made from the three fixture crops.

Each crop gives four seeded pairs (realistic and dynamic degradations) and, for each pair, the candidates of
``tools.gate_calibration`` without the network: the sharp original, two partial restorations, halos, ringing, grain,
smoothing, brightness, colour and a shifted sharp original. The full rates on 669 held-aside pairs come from
``benchmarks/gate_rates.py`` (MODEL_CARD.md, "Acceptance check"); a change to the measures, the model or its
threshold moves these numbers, to be updated on purpose together with the card.
"""

from pathlib import Path

import pytest

from tools.gate_calibration import gate_rates, measure_candidates
from tools.quality import accept_measures

SHARP = sorted((Path(__file__).parent / "fixtures" / "sharp").glob("*.png"))


@pytest.fixture(scope="module")
def candidates():
    rows = measure_candidates(SHARP, seed=21, crop=160, crops_per_photo=4)
    for row in rows:
        row.accepted = accept_measures(row.measures)[0]
    return rows


@pytest.mark.slow
def test_rates_on_the_fixture_candidates(candidates):
    rates = gate_rates(candidates)
    assert (rates.sharp_total, rates.worse_total, rates.gaining_total) == (12, 69, 47)
    assert rates.worse_accepted == 0  # no candidate worse than its input is accepted
    assert rates.sharp_accepted == 10  # the sharp original: 10 of 12 (held-aside: 82.5 %)
    assert rates.gaining_accepted == 33  # gains of 0.25 dB or more: 33 of 47 (held-aside: 60 %)


@pytest.mark.slow
def test_every_artefact_kind_is_refused(candidates):
    for kind in ("unsharp", "ringing", "noise", "smooth", "brightness", "colour"):
        assert not any(row.accepted for row in candidates if row.kind == kind and row.change < -0.05), kind
