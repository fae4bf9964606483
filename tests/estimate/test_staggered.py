"""Staggered adoption against the hand worksheet and against 2x2 regressions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import kit
from kit.errors import SpecError
from kit.estimate import staggered

MEANS = {"E": [10, 11, 16, 18], "F": [20, 22, 23, 29], "N": [5, 6, 8, 9]}


def worksheet_panel() -> pd.DataFrame:
    rows = []
    for a, means in MEANS.items():
        for k, m in enumerate(means):
            for i, dev in enumerate((-1, 0, 1)):
                rows.append((f"{a}{i}", a, 2010 + k, float(m + dev)))
    return pd.DataFrame(rows, columns=["PNR", "area", "year", "y"])


def _est(res):
    c = kit.clear(res)
    return {r.term: r.values[0] for r in c.rows}


def test_worksheet_not_yet():
    s = kit.Session("dst", unit="PNR")
    est = _est(staggered(s, worksheet_panel(), "y", "area", "year", first_treated={"E": 2012, "F": 2013}))
    expected = {
        "ATT(2012,2012)": 3.5,
        "ATT(2012,2013)": 4,
        "ATT(2012,2010)": 0.5,
        "ATT(2013,2013)": 5,
        "ATT(2013,2011)": 1,
        "ATT(2013,2010)": 0,
        "theta(e=0)": 4.25,
        "theta(e=1)": 4,
        "overall (e >= 0)": 4.125,
    }
    for k, v in expected.items():
        assert est[k] == pytest.approx(v, abs=1e-12), k


def test_worksheet_never():
    s = kit.Session("dst", unit="PNR")
    est = _est(
        staggered(
            s, worksheet_panel(), "y", "area", "year", first_treated={"E": 2012, "F": 2013}, control="never"
        )
    )
    assert est["ATT(2012,2012)"] == pytest.approx(3)
    assert est["ATT(2012,2013)"] == pytest.approx(4)
    assert est["ATT(2012,2010)"] == pytest.approx(0)


def test_each_att_is_a_2x2_regression(panel):
    df = panel(n_groups=6, n_periods=5, treated=(0, 1), effect=0.1, binary=False)
    first = {"G0": 2012, "G1": 2013, "G2": 2014}
    s = kit.Session("dst", unit="PNR")
    est = _est(staggered(s, df, "y", "area", "year", first_treated=first))
    start = {f"G{g}": first.get(f"G{g}", np.inf) for g in range(6)}
    for g in (2012, 2013, 2014):
        for t in range(2010, 2015):
            if t == g - 1:
                continue
            ctrl = [a for a, s0 in start.items() if s0 > max(t, g - 1) and s0 != g]
            coh = [a for a, s0 in start.items() if s0 == g]
            d = df[df.area.isin(ctrl + coh) & df.year.isin([g - 1, t])].copy()
            d["treat"] = d.area.isin(coh).astype(float)
            d["post"] = (d.year == t).astype(float)
            b = smf.ols("y ~ treat * post", d).fit().params["treat:post"]
            assert est[f"ATT({g},{t})"] == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_binary_in_pp_and_suppression(panel):
    df = panel(n_groups=5, n_periods=4, treated=(0,), effect=0.1)
    df = df[~((df.area == "G0") & (df.year == 2013) & ~df.PNR.isin(["0-0", "0-1"]))]
    s = kit.Session("dst", unit="PNR")
    c = kit.clear(staggered(s, df, "y", "area", "year", first_treated={"G0": 2012}))
    rows = {r.term: r for r in c.rows}
    assert rows["ATT(2012,2013)"].suppressed
    assert not rows["ATT(2012,2012)"].suppressed
    assert any("percentage points" in n for n in c.notes)


def test_missing_base_period():
    s = kit.Session("dst", unit="PNR")
    with pytest.raises(SpecError, match="base period"):
        staggered(s, worksheet_panel(), "y", "area", "year", first_treated={"E": 2010})
