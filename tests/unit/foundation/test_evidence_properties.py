"""Per-unit evidence against an independent pandas computation, on random rows.

The evidence code takes shortcuts (32-bit pair keys, rows as contributions where a
unit has one row in a cell, a hashed bitmap to find the rows of repeated pairs,
``ufunc.at`` maxima); these properties check every statistic against a plain
pandas groupby over (cell, unit) on inputs that exercise each path: many or no
repeated pairs, negative and missing values, absolute contributions, k of 1-4
and unit ranges too wide for 32-bit keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.core.evidence import build_evidence


@st.composite
def rows(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    sizes = [draw(st.integers(1, 5)), draw(st.integers(1, 4))]
    n_units = draw(st.sampled_from([1, 3, 20, 200, 2**33]))
    used = rng.choice(min(n_units, 10**6), size=min(n_units, 40), replace=False)
    if n_units > 10**6:
        used = used * (n_units // 10**6)  # a wide range: forces 64-bit pair keys
    x = rng.normal(draw(st.sampled_from([-5.0, 0.0, 50.0])), 20.0, n).round(draw(st.sampled_from([0, 3])))
    x[rng.random(n) < draw(st.sampled_from([0.0, 0.2]))] = np.nan
    return {
        "codes": [rng.integers(0, s, n) for s in sizes],
        "sizes": sizes,
        "unit": rng.choice(used, n),
        "n_units": n_units,
        "x": x,
        "top_k": draw(st.integers(0, 4)),
        "absolute": draw(st.booleans()),
    }


@settings(max_examples=150, deadline=None)
@given(case=rows())
def test_unit_statistics_equal_pandas(case: dict) -> None:
    sizes = case["sizes"]
    labels = [[str(i) for i in range(s)] for s in sizes]
    ev = build_evidence(case["codes"], labels, ["A", "B"], case["unit"], case["n_units"], case["x"], None,
                        margins=False, differencing_min_units=None, top_k=case["top_k"],
                        absolute=case["absolute"], contributions=True)
    cells = ev.cells.set_index(["A", "B"])
    df = pd.DataFrame({"A": case["codes"][0].astype(str), "B": case["codes"][1].astype(str),
                       "u": case["unit"], "x": case["x"]})
    any_units = df.groupby(["A", "B"])["u"].nunique()
    per_unit = df.dropna(subset=["x"]).groupby(["A", "B", "u"])["x"].sum()
    for key in cells.index:
        row = cells.loc[key]
        assert row["n_units_any"] == any_units.get(key, 0)
        contrib = per_unit.loc[key].to_numpy() if key in per_unit.index.droplevel(2) else np.empty(0)
        assert row["n_units"] == len(contrib)
        assert row["abs_total"] == pytest.approx(np.abs(contrib).sum(), abs=1e-6)
        assert row["n_negative_units"] == int((contrib < 0).sum())
        assert row["n_positive_units"] == int((contrib > 0).sum())
        score = np.abs(contrib) if case["absolute"] else contrib
        expected = [*sorted(score.tolist(), reverse=True), *[0.0] * case["top_k"]][:case["top_k"]]
        for i, value in enumerate(expected):
            assert row[f"top_{i + 1}"] == pytest.approx(value, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 400), n_cells=st.integers(1, 30), n_units=st.integers(1, 50), seed=st.integers(0, 2**31 - 1))
def test_two_thread_sort_equals_numpy_sort(n: int, n_cells: int, n_units: int, seed: int) -> None:
    """The partition-then-two-thread sort (large tables) returns exactly ``np.sort``."""
    import kit.core.evidence as ev

    rng = np.random.default_rng(seed)
    cell = rng.integers(0, n_cells, n)
    key, _ = ev._pair_keys(cell, rng.integers(0, n_units, n), n_units, n_cells)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ev, "PARALLEL_SORT_ROWS", 1)
        mp.setattr(ev, "_usable_cores", lambda: 2)
        got = ev._sorted_keys(key)
    assert got.dtype == key.dtype
    assert np.array_equal(got, np.sort(key))
