"""Red team 6: an event-study covariate held by one person-period row.

With area and year fixed effects and one effect dummy per treated area × period, the treated cell
(T, 2013) is saturated. A covariate ``d`` that is 1 only on one person's 2013 row fits that row
exactly, which is the same as dropping it, so the 2013 effect with ``d`` minus the effect without
is ``mean_all - mean_rest`` of the cell. With the cell's mean and count (an ordinary mean and count
table, both published) the attacker gets ``y_i = n mean_all - (n - 1) mean_rest`` exactly.
The registry sees two event studies over the same units and has nothing to compare.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import kit
from kit.errors import DisclosureError, SpecError
from kit.estimate import event_study

SECRET = 987654.25


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [
        (f"{a}{i}", a, t, float(rng.normal(300, 50)), 0.0)
        for a in ("T", "C1", "C2", "C3")
        for i in range(10)
        for t in range(2009, 2014)
    ]
    df = pd.DataFrame(rows, columns=["PNR", "area", "year", "y", "d"])
    her = (df.PNR == "T0") & (df.year == 2013)
    df.loc[her, "y"] = SECRET
    df.loc[her, "d"] = 1.0  # e.g. an age band or status only she has, in that year
    return df


def _cell(frame: pd.DataFrame, col: str) -> float:
    row = frame[(frame.area == "T") & (frame.year.astype(str) == "2013")]
    return float(row[col].iloc[0])


def test_covariate_of_one_row_does_not_give_her_value() -> None:
    df = _data()
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    kw = dict(outcome="y", group="area", period="year", treated={"T": 2012},
              comparison=["C1", "C2", "C3"], base_period=2011, permutations=0, flag_by="cluster")
    mean_t = kit.clear(s.table(df, rows=["area", "year"], stat="mean", measure="y", name="m")).to_frame()
    count_t = kit.clear(s.table(df, rows=["area", "year"], stat="count", name="c")).to_frame()
    e0 = kit.clear(event_study(s, df, name="e0", **kw)).to_frame()  # type: ignore[arg-type]
    try:
        e1 = kit.clear(event_study(s, df, covariates=["d"], name="e1", **kw)).to_frame()  # type: ignore[arg-type]
    except (DisclosureError, SpecError):
        return
    pick = e0[e0.year.astype(str) == "2013"]
    b0 = float(pick["estimate"].iloc[0])
    raw = e1[e1.year.astype(str) == "2013"]["estimate"].iloc[0]
    if raw is None or np.isnan(float(raw)):
        return  # the effect is suppressed: nothing to difference
    b1 = float(raw)
    mean_all, n = _cell(mean_t, "estimate"), _cell(count_t, "value")
    mean_rest = mean_all - (b0 - b1)
    recovered = n * mean_all - (n - 1) * mean_rest
    assert abs(recovered - SECRET) > 1e-3 * SECRET
