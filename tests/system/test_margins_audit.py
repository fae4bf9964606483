"""Tables with margins through the Session: an independent LP attack on the cleared output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import kit


@st.composite
def one_row_per_person(draw: st.DrawFn) -> pd.DataFrame:
    rows, cols = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    counts = rng.choice([0, 1, 2, 3, 5, 8, 13], size=(rows, cols), p=[0.1, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15])
    records = [(f"r{i}", f"c{j}") for i in range(rows) for j in range(cols) for _ in range(counts[i, j])]
    if len(records) < 3:
        records += [("r0", "c0")] * 3
    frame = pd.DataFrame(records, columns=["R", "C"])
    frame.insert(0, "PNR", np.arange(len(frame)))
    return frame


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=one_row_per_person())
def test_no_suppressed_inner_cell_can_be_pinned_down(df: pd.DataFrame) -> None:
    table = kit.Session("dst", unit="PNR").table(df, rows="R", cols="C", margins=True)
    if table.verdict is kit.Verdict.FAIL:  # no protected pattern: the kit must refuse (fail closed)
        with pytest.raises(kit.DisclosureError):
            kit.clear(table)
        return
    cleared = kit.clear(table)
    frame = cleared.to_frame(symbols=False)
    inner = frame[(frame.R != "Total") & (frame.C != "Total")].reset_index(drop=True)
    index = {(r, c): i for i, (r, c) in enumerate(zip(inner.R, inner.C))}
    n = len(inner)
    a_eq, b_eq = [], []
    for _, row in frame.iterrows():
        if pd.isna(row.value):
            continue
        coef = np.zeros(n)
        for (r, c), i in index.items():
            if (row.R in ("Total", r)) and (row.C in ("Total", c)):
                coef[i] = 1
        a_eq.append(coef)
        b_eq.append(row.value)
    truth = df.groupby(["R", "C"]).size()
    for (r, c), i in index.items():
        if not pd.isna(inner.value[i]):
            continue
        value = int(truth.get((r, c), 0))
        objective = np.zeros(n)
        objective[i] = 1
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), method="highs")
        assert low.status == 0  # bounded below by zero
        assert high.status in (0, 3)  # 3: unbounded above (e.g. the grand total suppressed too): safe
        upper = np.inf if high.status == 3 else -high.fun
        if value > 0:
            assert upper - low.fun >= 0.1 * value - 1e-6, "a suppressed cell is (nearly) derivable from published ones"
        assert low.fun <= value + 1e-6 <= upper + 2e-6
