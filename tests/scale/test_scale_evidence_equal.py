"""The DuckDB engine returns the pandas engine's evidence: same cells, columns, dtypes and values.

Counts (rows, distinct units, units with a measure, negative and positive units)
and the top contributors must be equal exactly; sums (totals, weighted moments,
absolute totals) to 1e-12 relative to the sum of absolute row values of the
cell (DuckDB adds in another order). Inputs exercise missing measures, missing
dimension values, units with rows in several cells and several rows in one
cell, negative values, weights (some zero), empty cells from public code lists,
margins, differencing-only margins, absolute contributions and k of 0-3.

With whole-number measures every sum is exact in floating point, so there the
two engines must agree bit for bit on every column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

from kit.core.evidence import build_evidence
from kit.engine import EngineOptions
from kit.evidence_duckdb import evidence_from_arrays

OPTIONS = EngineOptions(progress=False, threads=2)
COUNT_COLUMNS = ("n_records", "n_missing", "n_units", "n_units_any", "n_negative_units", "n_positive_units")
SUM_COLUMNS = ("total", "abs_total", "sum_w", "sum_wx", "sum_wx2", "sum_w2")


@st.composite
def cases(draw: st.DrawFn, whole: bool) -> dict:
    n = draw(st.integers(1, 200))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n_dims = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(n_dims)]
    # codes only from the first part of each code list: the rest are empty cells
    codes = [rng.integers(0, max(1, s - draw(st.integers(0, s - 1))), n) for s in sizes]
    n_units = draw(st.sampled_from([1, 4, 30, 500]))
    unit = rng.integers(0, n_units, n)
    x: np.ndarray | None = None
    if draw(st.booleans()):
        x = rng.normal(draw(st.sampled_from([-30.0, 0.0, 100.0])), 50.0, n)
        x = np.round(x) if whole else x * 10.0 ** draw(st.integers(-3, 6))
        x[rng.random(n) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    w = None
    if draw(st.booleans()):
        w = np.round(rng.uniform(0, 4, n)) if whole else rng.uniform(0, 4, n)
        w[rng.random(n) < 0.1] = 0.0
    return {
        "codes": codes, "sizes": sizes, "unit": unit, "n_units": n_units, "x": x, "w": w,
        "margins": draw(st.booleans()),
        "differencing": draw(st.sampled_from([None, 1, 3, 10])),
        "top_k": draw(st.integers(0, 3)),
        "absolute": draw(st.booleans()),
        "contributions": draw(st.booleans()),
    }


def _both(case: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    labels = [[f"c{i}" for i in range(s)] for s in case["sizes"]]
    dims = [f"D{i}" for i in range(len(case["sizes"]))]
    kwargs = {"margins": case["margins"], "differencing_min_units": case["differencing"], "top_k": case["top_k"],
              "absolute": case["absolute"], "contributions": case["contributions"]}
    args = (case["codes"], labels, dims, case["unit"], case["n_units"], case["x"], case["w"])
    ref = build_evidence(*args, **kwargs)
    got = evidence_from_arrays(*args, **kwargs, options=OPTIONS)
    assert got.dims == ref.dims and got.top_k == ref.top_k and got.n_input_units == ref.n_input_units
    return ref.cells, got.cells


@settings(max_examples=60, deadline=None)
@given(case=cases(whole=True))
def test_whole_numbers_equal_bit_for_bit(case: dict) -> None:
    ref, got = _both(case)
    pd.testing.assert_frame_equal(ref, got, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(case=cases(whole=False))
def test_real_numbers_counts_exact_sums_relative(case: dict) -> None:
    ref, got = _both(case)
    assert list(ref.columns) == list(got.columns)
    assert (ref.dtypes == got.dtypes).all()
    other = [c for c in ref.columns if c not in SUM_COLUMNS and not c.startswith("top_")]
    pd.testing.assert_frame_equal(ref[other], got[other], check_exact=True)
    for c in COUNT_COLUMNS:
        assert np.array_equal(ref[c].to_numpy(), got[c].to_numpy()), c
    # a cell's rows summed in another order: within 1e-12 of the sum of the absolute terms of the cell
    scale = _cell_abs_scale(case, ref)
    for c in (*SUM_COLUMNS, *(f"top_{i + 1}" for i in range(case["top_k"]))):
        a, b = ref[c].to_numpy(dtype=float), got[c].to_numpy(dtype=float)
        assert np.all(np.abs(a - b) <= 1e-12 * scale), c


def _cell_abs_scale(case: dict, ref: pd.DataFrame) -> np.ndarray:
    """Per evidence row, the sum over its cell's rows of |x| + x² + |w| + w² + |w x| + |w x²| (independent)."""
    x = np.nan_to_num(case["x"]) if case["x"] is not None else np.zeros(len(case["unit"]))
    w = case["w"] if case["w"] is not None else np.ones(len(case["unit"]))
    v = np.abs(x) + x * x + np.abs(w) + w * w + np.abs(w * x) + np.abs(w * x * x)
    dims = [f"D{i}" for i in range(len(case["sizes"]))]
    frame = pd.DataFrame({d: [f"c{i}" for i in c] for d, c in zip(dims, case["codes"])})
    out = np.zeros(len(ref))
    for j, row in enumerate(ref[dims].itertuples(index=False)):
        mask = np.ones(len(frame), dtype=bool)
        for d, value in zip(dims, row):
            if value != "Total":
                mask &= (frame[d] == value).to_numpy()
        out[j] = v[mask].sum()
    return out


def test_units_across_cells_and_repeated_rows() -> None:
    """A hand-built case: the reference values are worked out by hand, and both engines give them."""
    codes = [np.array([0, 0, 0, 1, 1, 1])]
    unit = np.array([7, 7, 8, 7, 9, 9])
    x = np.array([5.0, -2.0, 4.0, 1.0, -6.0, np.nan])
    for engine in ("pandas", "duckdb"):
        kwargs = {"margins": True, "differencing_min_units": None, "top_k": 2, "absolute": False,
                  "contributions": True}
        args = (codes, [["a", "b", "c"]], ["D"], unit, 10, x, None)
        ev = (build_evidence(*args, **kwargs) if engine == "pandas"
              else evidence_from_arrays(*args, **kwargs, options=OPTIONS))
        cells = ev.cells.set_index("D")
        # cell a: unit 7 contributes 5 - 2 = 3, unit 8 contributes 4
        assert cells.loc["a", ["n_units", "n_records"]].tolist() == [2, 3]
        assert cells.loc["a", ["top_1", "top_2", "total"]].tolist() == [4.0, 3.0, 7.0]
        # cell b: unit 7 contributes 1, unit 9 contributes -6 (its second row is missing)
        assert cells.loc["b", ["n_units", "n_missing", "n_negative_units"]].tolist() == [2, 1, 1]
        assert cells.loc["b", ["top_1", "top_2"]].tolist() == [1.0, -6.0]
        # cell c: empty, from the code list
        assert cells.loc["c", ["n_units", "n_records", "top_1"]].tolist() == [0, 0, 0.0]
        # total: unit 7 contributes 3 + 1 = 4, 8 gives 4, 9 gives -6
        assert cells.loc["Total", ["n_units", "n_units_any", "top_1", "top_2", "abs_total"]].tolist() == [
            3, 3, 4.0, 4.0, 14.0]
