"""Rates, differences, quantiles, histograms, decomposition; coverage by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kit
from kit.core.table import wilson_interval
from kit.errors import DisclosureError
from kit.estimate import decomposition, event_study, histogram, rate_difference, rates, safe_quantiles
from kit.estimate.rates import newcombe_interval


@pytest.fixture
def s() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")


def test_rates_and_suppression(s):
    df = pd.DataFrame({"PNR": range(23), "area": ["a"] * 20 + ["b"] * 3, "emp": [1, 0] * 10 + [1, 1, 1]})
    c = kit.clear(rates(s, df, by="area", outcome="emp"))
    rows = {r.key("area"): r for r in c.rows}
    assert rows["a"].values[0] == 0.5 and rows["a"].values[4] == 20
    assert rows["b"].suppressed  # a rate of 1 discloses every unit's outcome


def test_weighted_rate(s):
    # numerator 4 units (Kish 25/7), complement 5 units: weighted share (2 + 1 + 1 + 1) / (5 + 5) = 0.5
    df = pd.DataFrame({"PNR": range(9), "g": ["a"] * 9, "y": [1, 1, 1, 1, 0, 0, 0, 0, 0],
                       "w": [2, 1, 1, 1, 1, 1, 1, 1, 1.0]})
    c = kit.clear(rates(s, df, by="g", outcome="y", weight="w"))
    assert c.rows[0].values[0] == pytest.approx(0.5)


def test_rate_difference_suppressed_when_a_cell_is(s):
    df = pd.DataFrame(
        {"PNR": range(24), "area": ["a"] * 20 + ["b"] * 2 + ["c"] * 2, "emp": [1, 0] * 10 + [1, 0, 0, 1]}
    )
    c = kit.clear(rate_difference(s, df, "emp", group="area", compare=("a", "b")))
    assert c.rows[0].suppressed


def test_newcombe_coverage():
    rng = np.random.default_rng(0)
    p1, p2, n1, n2 = 0.4, 0.3, 200, 300
    hits = 0
    reps = 2000
    x1 = rng.binomial(n1, p1, reps) / n1
    x2 = rng.binomial(n2, p2, reps) / n2
    for a, b in zip(x1, x2, strict=False):
        lo, hi = newcombe_interval(a, n1, b, n2)
        hits += lo <= p1 - p2 <= hi
    assert 0.93 <= hits / reps <= 0.97


def test_wilson_coverage():
    rng = np.random.default_rng(1)
    n, p = 150, 0.35
    x = rng.binomial(n, p, 4000) / n
    lo, hi = wilson_interval(x, np.full(4000, float(n)))
    assert 0.93 <= np.mean((lo <= p) & (p <= hi)) <= 0.97


def test_event_study_coverage_by_simulation():
    """Pooled effect, 12 treated and 12 comparison groups, group shocks; 95 % intervals cover 92-98 %."""
    s = kit.Session("dst", unit="PNR")
    rng = np.random.default_rng(2)
    g_n, t_n, per = 24, 3, 15
    areas = np.repeat(np.arange(g_n), t_n * per)
    years = np.tile(np.repeat(np.arange(t_n), per), g_n)
    pid = areas * 1000 + np.tile(np.arange(per), g_n * t_n)
    treated = {f"A{g}": 1 for g in range(12)}
    comp = [f"A{g}" for g in range(12, g_n)]
    hits, reps = 0, 200
    for _ in range(reps):
        shock = rng.normal(0, 0.3, (g_n, t_n))
        y = 1.0 + shock[areas, years] + 0.5 * ((areas < 12) & (years >= 1)) + rng.normal(0, 1, len(areas))
        df = pd.DataFrame({"PNR": pid, "area": "A" + pd.Series(areas).astype(str), "year": years, "y": y})
        c = kit.clear(
            event_study(
                s,
                df,
                "y",
                "area",
                "year",
                treated=treated,
                comparison=comp,
                base_period=0,
                pooled=True,
                permutations=0,
            )
        )
        r = c.rows[-1]
        hits += r.values[2] <= 0.5 <= r.values[3]
    assert 0.92 <= hits / reps <= 0.98


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=60, unique=True),
    st.floats(0.01, 0.99),
)
def test_safe_quantile_is_never_one_units_value(values, p):
    s = kit.Session("dst", unit="PNR")
    df = pd.DataFrame({"PNR": range(len(values)), "x": values})
    c = kit.clear(safe_quantiles(s, df, "x", probs=(p,)))
    v = c.rows[0].values[0]
    if v is None:  # suppressed: allowed, never a unit's value
        return
    assert all(abs(v - x) > 1e-9 * max(1.0, abs(v)) for x in values)


def test_quantile_small_group_suppressed(s):
    df = pd.DataFrame({"PNR": range(12), "g": ["a"] * 10 + ["b"] * 2, "x": np.arange(12.0)})
    c = kit.clear(safe_quantiles(s, df, "x", probs=(0.5,), by="g"))
    rows = {r.key("g"): r for r in c.rows}
    assert not rows["a"].suppressed and rows["b"].suppressed


@pytest.mark.parametrize("probs", [("min",), ("max",), (0.0,), (1.0,)])
def test_min_max_refused_under_dst(s, probs):
    df = pd.DataFrame({"PNR": range(10), "x": np.arange(10.0)})
    with pytest.raises(DisclosureError, match="forbids"):
        safe_quantiles(s, df, "x", probs=probs)


def test_histogram_merges_tails_never_drops(s):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(10, 90, 200), [-5.0, 1.0, 95.0, 200.0]])
    df = pd.DataFrame({"PNR": range(len(x)), "x": x})
    res = histogram(s, df, "x", bins=list(range(0, 105, 5)))
    c = kit.clear(res)
    assert sum(r.values[0] for r in c.rows) == len(x)
    assert all(r.values[0] >= 3 for r in c.rows)
    assert c.rows[0].key("bin").startswith("<") and c.rows[-1].key("bin").startswith(">=")
    with pytest.raises(DisclosureError):
        histogram(s, df, "x", bins=10)


def test_decomposition_is_an_identity(s):
    rng = np.random.default_rng(3)
    rows = []
    for a in ("A", "B"):
        for i in range(60):
            if i < 40:
                rows.append((f"{a}{i}", a, 2011, float(rng.random() < 0.4)))
            if i >= 15:
                rows.append((f"{a}{i}", a, 2017, float(rng.random() < 0.55)))
    df = pd.DataFrame(rows, columns=["PNR", "area", "year", "y"])
    c = kit.clear(decomposition(s, df, "y", group="area", period="year", base=2011, target=2017))
    for a in ("A", "B"):
        parts = {r.key("part"): r.values[0] for r in c.rows if r.key("area") == a}
        assert parts["total_change"] == pytest.approx(
            parts["within_stayers"] + parts["in_movers"] + parts["out_movers"], abs=1e-9
        )
        d = df[df.area == a]
        direct = 100 * (d[d.year == 2017].y.mean() - d[d.year == 2011].y.mean())
        assert parts["total_change"] == pytest.approx(direct, abs=1e-9)
