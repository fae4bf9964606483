"""Property tests: what clear() lets through never rests on too few units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit


@st.composite
def microdata(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 120))
    n_persons = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "PNR": rng.integers(0, n_persons, n),
        "A": rng.integers(0, draw(st.integers(1, 4)), n).astype(str),
        "B": rng.integers(0, draw(st.integers(1, 3)), n).astype(str),
        "x": rng.gamma(1.0, 100.0, n),
        "y": rng.integers(0, 2, n),
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=microdata(), rules=st.sampled_from(["dst", "sacro", "sds"]),
       stat=st.sampled_from(["count", "sum", "mean", "rate"]))
def test_no_released_cell_has_too_few_units(df: pd.DataFrame, rules: str, stat: str) -> None:
    session = kit.Session(rules, unit="PNR")
    measure = {"count": None, "sum": "x", "mean": "x", "rate": "y"}[stat]
    table = session.table(df, rows="A", cols="B", stat=stat, measure=measure)
    cleared = kit.clear(table)
    truth = df.groupby(["A", "B"])["PNR"].nunique()
    minimum = session.rules.min_units()
    for row in cleared.rows:
        units = int(truth.get(tuple(row.keys), 0))
        if not row.suppressed and units > 0:
            assert units >= minimum
        if 0 < units < minimum:
            assert row.suppressed
    # every suppressed cell has a reason
    for status, reasons, published in zip(table.assessment.statuses, table.assessment.reasons,
                                          table.assessment.published):
        if published and status.suppressed:
            assert reasons


@settings(max_examples=40, deadline=None)
@given(df=microdata())
def test_counts_equal_independent_nunique(df: pd.DataFrame) -> None:
    table = kit.Session("dst").table(df, rows="A", cols="B")
    frame = table.status_frame().set_index(["A", "B"])["n_units"]
    truth = df.groupby(["A", "B"])["PNR"].nunique()
    for key, value in truth.items():
        assert frame.loc[key] == value
    assert int(frame.sum()) == int(truth.sum())


@settings(max_examples=40, deadline=None)
@given(df=microdata(), rules=st.sampled_from(["dst", "sacro"]), unit_type=st.sampled_from(["person", "enterprise"]))
def test_magnitude_evidence_equals_independent_groupby(df: pd.DataFrame, rules: str, unit_type: str) -> None:
    """Units, totals and the largest per-unit contributions against plain pandas."""
    table = kit.Session(rules, unit="PNR", unit_type=unit_type).table(
        df, rows="A", cols="B", stat="sum", measure="x")
    cells = table.evidence.cells
    inner = cells[~cells["is_margin"]].set_index(["A", "B"])
    per_unit = df.groupby(["A", "B", "PNR"])["x"].sum()
    for key, group in per_unit.groupby(level=[0, 1]):
        row = inner.loc[key]
        assert row["n_units"] == len(group)
        assert row["total"] == pytest.approx(group.sum())
        if "top_1" in inner.columns:
            top = [*sorted(group.tolist(), reverse=True), 0.0, 0.0]
            assert row["top_1"] == pytest.approx(top[0])
            assert row["top_2"] == pytest.approx(top[1])
