"""Attacks on quantiles, histograms, key columns as row keys and event-study subgroups (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import SpecError
from kit.estimate import decomposition, event_study, histogram, safe_quantiles


@pytest.fixture
def s() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")


def test_quantiles_plus_mean_do_not_give_min_and_max(s):
    # 4 values; p25 and p75 are means of 3-unit windows; with the mean table: min = 4 mean - 3 q75
    vals = np.array([10.0, 20.0, 35.0, 1000.0])
    df = pd.DataFrame({"PNR": range(4), "inc": vals})
    c = kit.clear(safe_quantiles(s, df, "inc", probs=(0.25, 0.75)))
    q = {r.key("quantile"): r.values[0] for r in c.rows if not r.suppressed}
    mean = vals.mean()  # public through a mean table of the same cell
    recovered = []
    if "0.75" in q:
        recovered.append(4 * mean - 3 * q["0.75"])
    if "0.25" in q:
        recovered.append(4 * mean - 3 * q["0.25"])
    assert not any(np.isclose(r, v) for r in recovered for v in vals)


@pytest.mark.parametrize("n", range(3, 13))
def test_no_quantile_and_total_combination_isolates_a_value(s, n):
    # the attacker solves for each sorted value from the released window means, their sizes
    # (the kit's window rule is public) and the total: a value is recovered when e_i is in the span
    rng = np.random.default_rng(n)
    vals = np.sort(rng.normal(100, 20, n).round(1))
    df = pd.DataFrame({"PNR": range(n), "inc": vals})
    probs = (0.1, 0.25, 0.5, 0.75, 0.9)
    res = safe_quantiles(s, df, "inc", probs=probs)
    c = kit.clear(res)
    rows_a, rhs = [np.ones(n)], [vals.sum()]
    for r, p in zip(c.rows, probs, strict=True):
        if r.suppressed:
            continue
        lo, hi = _window(vals, p, 3)  # the attacker replays the documented rule
        v = np.zeros(n)
        v[lo:hi] = 1.0 / (hi - lo)
        rows_a.append(v)
        rhs.append(r.values[0])
    a = np.vstack(rows_a)
    rank = np.linalg.matrix_rank(a)
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1
        assert np.linalg.matrix_rank(np.vstack([a, e])) > rank, f"value {i} is determined"


def _window(v: np.ndarray, p: float, k: int) -> tuple[int, int]:
    """The documented window rule (docs/estimates.md), distinct values, one unit per row."""
    n = len(v)
    lo = int(min(max(np.floor(p * (n - 1) - (k - 1) / 2 + 0.5), 0), max(n - k, 0)))
    hi = min(lo + k, n)
    left = True
    while lo > 0 or hi < n:
        m = v[lo:hi].mean()
        if not np.any(np.isclose(v, m, rtol=1e-9, atol=0)):
            break
        if (left and lo > 0) or hi >= n:
            lo -= 1
        else:
            hi += 1
        left = not left
    return lo, hi


def test_histogram_edges_cannot_be_shifted(s):
    # edges 50 vs 51: 15/15 vs 16/14 put one unit in [50, 51)
    x = np.r_[np.linspace(10, 49, 15), 50.5, np.linspace(52, 90, 14)]
    df = pd.DataFrame({"PNR": range(30), "x": x})
    a = kit.clear(histogram(s, df, "x", bins=[0, 50, 100]))
    with pytest.raises(SpecError, match="grid"):
        histogram(s, df, "x", bins=[0, 51, 102])
    assert [r.values[0] for r in a.rows] == [15.0, 15.0]


@pytest.mark.parametrize("bins", ["0,10,20", [0, "10", 20], [0, float("nan"), 20], [0, 10, 5], [0, 3, 6], [0]])
def test_odd_bins_are_a_spec_error(s, bins):
    df = pd.DataFrame({"PNR": range(10), "x": np.arange(10.0)})
    with pytest.raises(SpecError):
        histogram(s, df, "x", bins=bins)


def test_quantiles_by_key_column_refused(s):
    df = pd.DataFrame({"PNR": range(30), "CVRNR": np.repeat([11111111, 22222222, 33333333], 10),
                       "inc": np.arange(30.0)})
    with pytest.raises(SpecError, match="key column"):
        safe_quantiles(s, df, "inc", probs=(0.5,), by="CVRNR")


def _panel(rng: np.random.Generator, group_col: str) -> pd.DataFrame:
    rows = []
    areas = ["T", "C1", "C2", "C3"]
    for a in areas:
        for i in range(30):
            for y in (2010, 2011, 2012):
                rows.append((f"{a}{i}", a, y, float(rng.random() < 0.5), "old" if i >= 2 else "new"))
    return pd.DataFrame(rows, columns=["PNR", group_col, "year", "emp", "cohort"])


def test_event_study_group_key_refused(s):
    df = _panel(np.random.default_rng(0), "ARBNR")
    with pytest.raises(SpecError, match="key column"):
        event_study(s, df, "emp", group="ARBNR", period="year", treated={"T": 2012},
                    comparison=["C1", "C2", "C3"], base_period=2011, permutations=0)


def test_decomposition_group_key_refused(s):
    df = _panel(np.random.default_rng(0), "BOPIKOM")
    with pytest.raises(SpecError, match="key column"):
        decomposition(s, df, "emp", group="BOPIKOM", period="year", base=2010, target=2012)


def test_event_study_subgroup_of_two_refused(s):
    # subgroup 'new' holds 2 persons per area: 'all' - 'old' effects plus the comparison rates would
    # give their change exactly; refused before anything is estimated
    df = _panel(np.random.default_rng(1), "area")
    with pytest.raises(SpecError, match="subgroup"):
        event_study(s, df, "emp", group="area", period="year", treated={"T": 2012},
                    comparison=["C1", "C2", "C3"], base_period=2011, subgroup="cohort", permutations=0)
