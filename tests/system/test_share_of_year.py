"""Issue 25, share-of-year employment: months employed in the synthetic AKM, the planted truth, the outcome.

The recovery over seeds is in tests/system/test_bl_outcomes.py (slow) and at the default seed in
tests/system/test_demo.py; here: the generator's months agree with the November status (read back
from the register files), the truth's accounting adds up, and the analysis computes the outcome
from the panel as documented (docs/aalborg.md, section 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.demo.analysis import AnalysisConfig, prepare_panel
from kit.errors import SchemaError
from synthetic import SynthConfig, generate
from synthetic.months import MONTHS_COLUMN, expected_months, months_employed

pytest.importorskip("pyarrow")

YEARS = (2009, 2013)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("share") / "project"
    config = SynthConfig(persons=60_000, seed=11, years=YEARS, n_comparison=8, n_placebo=2,
                         comparison_size=(800, 1200))
    generate(config, out, progress=False)
    return out


def test_months_agree_with_the_november_status(project: Path) -> None:
    for year in range(YEARS[0], YEARS[1] + 1):
        akm = pd.read_parquet(project / f"akm{year}.parquet")
        ras = pd.read_parquet(project / f"ras{year}.parquet")
        ras = ras[ras["PRIMAER_STATUS_KODE"] == 1]
        both = akm.merge(ras, on="PNR", how="left", validate="one_to_one")
        months = both[MONTHS_COLUMN].to_numpy()
        assert ((months >= 0) & (months <= 12)).all()
        employed = (both["SOC_STATUS_KODE"].between(100, 199) & (both["I_BEFOLKNINGEN_KODE"] == 1)).to_numpy()
        # employed on the last working day of November: at least that month; otherwise not all year
        assert months[employed].min() >= 1
        assert months[~employed].max() <= 10
        # most of the employed worked the whole year, most of the others not at all
        assert (months[employed] == 12).mean() > 0.75
        assert (months[~employed] == 0).mean() > 0.75
        # SOCIO13 says the same (employed 110-139)
        socio_emp = both["SOCIO13"].between(110, 139).to_numpy()
        assert months[socio_emp & employed].min() >= 1


def test_truth_records_the_share_of_year_effect(project: Path) -> None:
    truth = json.loads((project / "truth.json").read_text(encoding="utf-8"))
    assert "employment_share" in truth["outcomes_estimand"]
    for name in truth["treated_areas"]:
        area = truth["areas"][name]
        share = area["outcomes_pp"]["employment_share"]
        channels = area["outcomes_channels_pp"]["employment_share"]
        for year in range(YEARS[0], YEARS[1] + 1):
            if year < area["start"]:
                assert share[str(year)] == 0.0 and str(year) not in channels
            else:
                parts = channels[str(year)]
                assert share[str(year)] == pytest.approx(parts["composition"] + parts["within"], abs=2e-4)
                assert abs(share[str(year)]) < 30  # percentage points of the year
    for name in truth["placebo_areas"]:
        assert set(truth["areas"][name]["outcomes_pp"]["employment_share"].values()) == {0.0}


def test_expected_months_match_the_simulated_months() -> None:
    """The closed form behind the truth's composition part against a large simulation of the draws."""
    n = 400_000
    rng = np.random.default_rng(7)
    prob = rng.uniform(0, 1, n)
    prev = rng.random(n) < 0.5
    now = rng.random(n) < prob
    months = months_employed(prev, now, np.full(n, -1, dtype=np.int64), np.random.default_rng(8))
    for p_mask in (prev, ~prev):
        sim = months[p_mask].mean()
        closed = expected_months(prev[p_mask], prob[p_mask]).mean()
        assert sim == pytest.approx(closed, rel=0.01)


def test_arrivals_work_at_most_the_months_since_arrival() -> None:
    n = 10_000
    rng = np.random.default_rng(3)
    arrival = rng.integers(1, 13, n)
    now = rng.random(n) < 0.6
    months = months_employed(rng.random(n) < 0.5, now, arrival, np.random.default_rng(4))
    late = arrival == 12
    assert (months[late] == 0).all()  # December arrivals are outside RAS
    assert (months[~late] <= 13 - arrival[~late]).all()
    assert (months[~late & now] >= 1).all()


def _panel(months: list[float]) -> pd.DataFrame:
    n = len(months)
    return pd.DataFrame({
        "YEAR": [2011] * n, "PNR": [f"p{i}" for i in range(n)], "ALDER": [30] * n, "KOEN": [1] * n,
        "IE_TYPE": [1] * n, "SOC_STATUS_KODE": [131] * n, "AREA_NAME": ["A"] * n, MONTHS_COLUMN: months,
    })


def test_the_outcome_is_months_over_twelve_in_percent() -> None:
    config = AnalysisConfig(treated=(("A", 2012),), years=(2010, 2013), base_year=2011, target_year=2012,
                            outcomes=("employment_share",))
    frame = prepare_panel(_panel([12, 6, 3, float("nan"), 13]), config)
    got = frame.set_index("PNR")["employment_share"]
    assert got["p0"] == 100.0 and got["p1"] == 50.0 and got["p2"] == 25.0
    assert got["p3"] == 0.0  # no AKM row: not employed, as without a RAS row
    assert np.isnan(got["p4"])  # not a number of months: left out of the outcome


def test_a_panel_without_months_is_refused_by_column_name() -> None:
    config = AnalysisConfig(treated=(("A", 2012),), years=(2010, 2013), base_year=2011, target_year=2012,
                            outcomes=("employment_share",))
    with pytest.raises(SchemaError, match=MONTHS_COLUMN):
        prepare_panel(_panel([12.0]).drop(columns=MONTHS_COLUMN), config)
