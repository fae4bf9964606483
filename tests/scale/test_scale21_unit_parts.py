"""The DuckDB evidence split into unit parts equals the pandas evidence (issue 21, speed at scale).

Large inputs are aggregated one part of the units at a time (``kit.evidence_duckdb.unit_parts``)
and the parts' cell statistics are added, the top contributions merged. Forcing
tiny parts (``EngineOptions(part_rows=...)``) on random data must give the pandas
engine's evidence: counts and top contributions exactly, sums to 1e-12 of the
cell's absolute terms. Integer units are split by id ranges, text units (lazy
tables) by hash; a lazy table's salted population print, merged
over parts, must still match the one rebuilt at release.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.core.evidence import build_evidence
from kit.engine import EngineOptions
from kit.evidence_duckdb import evidence_from_arrays

SUMS = ("total", "abs_total", "sum_w", "sum_wx", "sum_wx2", "sum_w2")


@st.composite
def cases(draw: st.DrawFn) -> dict:
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    sizes = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 2)))]
    codes = [rng.integers(0, s, n) for s in sizes]
    n_units = draw(st.sampled_from([1, 3, 40, 400]))
    unit = rng.integers(0, n_units, n)  # unit codes, as the session hands them to both engines
    x = None
    if draw(st.booleans()):
        x = rng.normal(draw(st.sampled_from([-20.0, 0.0, 50.0])), 40.0, n)
        whole = draw(st.booleans())
        x = np.round(x) if whole else x * 10.0 ** draw(st.integers(-2, 5))
        x[rng.random(n) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    w = None
    if draw(st.booleans()):
        w = rng.uniform(0, 3, n)
        w[rng.random(n) < 0.1] = 0.0
    return {"codes": codes, "sizes": sizes, "unit": unit, "n_units": n_units, "x": x, "w": w,
            "margins": draw(st.booleans()), "differencing": draw(st.sampled_from([None, 2, 10])),
            "top_k": draw(st.integers(0, 3)), "absolute": draw(st.booleans()),
            "contributions": draw(st.booleans()), "part_rows": draw(st.sampled_from([1, 7, 50]))}


def _scale(case: dict, cells: pd.DataFrame, dims: list[str]) -> np.ndarray:
    """Per evidence row, the sum of the absolute terms of its rows (independent of both engines)."""
    x = np.nan_to_num(case["x"]) if case["x"] is not None else np.zeros(len(case["unit"]))
    w = case["w"] if case["w"] is not None else np.ones(len(case["unit"]))
    v = np.abs(x) + x * x + np.abs(w) + w * w + np.abs(w * x) + np.abs(w * x * x)
    frame = pd.DataFrame({d: [f"c{i}" for i in c] for d, c in zip(dims, case["codes"])})
    out = np.zeros(len(cells))
    for j, row in enumerate(cells[dims].itertuples(index=False)):
        mask = np.ones(len(frame), dtype=bool)
        for d, value in zip(dims, row):
            if value != "Total":
                mask &= (frame[d] == value).to_numpy()
        out[j] = v[mask].sum()
    return out


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_parts_equal_the_pandas_evidence(case: dict) -> None:
    labels = [[f"c{i}" for i in range(s)] for s in case["sizes"]]
    dims = [f"D{i}" for i in range(len(case["sizes"]))]
    kwargs = {"margins": case["margins"], "differencing_min_units": case["differencing"], "top_k": case["top_k"],
              "absolute": case["absolute"], "contributions": case["contributions"]}
    args = (case["codes"], labels, dims, case["unit"], case["n_units"], case["x"], case["w"])
    ref = build_evidence(*args, **kwargs).cells
    options = EngineOptions(progress=False, threads=2, part_rows=case["part_rows"])
    got = evidence_from_arrays(*args, **kwargs, options=options).cells
    assert list(ref.columns) == list(got.columns)
    assert (ref.dtypes == got.dtypes).all()
    exact = [c for c in ref.columns if c not in SUMS and not c.startswith("top_")]
    pd.testing.assert_frame_equal(ref[exact], got[exact], check_exact=True)
    scale = _scale(case, ref, dims)
    for c in (*SUMS, *(f"top_{i + 1}" for i in range(case["top_k"]))):
        a, b = ref[c].to_numpy(dtype=float), got[c].to_numpy(dtype=float)
        assert np.all(np.abs(a - b) <= 1e-12 * scale), c


def test_top_contributions_merge_across_parts_with_padding() -> None:
    """Worked by hand: a cell whose only unit is negative keeps [-5, 0] however the units are split."""
    codes = [np.array([0, 1, 1, 1])]
    unit = np.array([1, 2, 3, 4])
    x = np.array([-5.0, 3.0, 9.0, -1.0])
    kwargs = {"margins": True, "differencing_min_units": None, "top_k": 2, "absolute": False,
              "contributions": True}
    for part_rows in (1, 2, 100):
        ev = evidence_from_arrays(codes, [["a", "b"]], ["D"], unit, 4, x, None, **kwargs,
                                  options=EngineOptions(progress=False, part_rows=part_rows))
        cells = ev.cells.set_index("D")
        assert cells.loc["a", ["top_1", "top_2"]].tolist() == [-5.0, 0.0]
        assert cells.loc["b", ["top_1", "top_2", "n_negative_units", "n_positive_units"]].tolist() == [9.0, 3.0, 1,
                                                                                                       2]
        assert cells.loc["Total", ["top_1", "top_2", "n_units", "abs_total"]].tolist() == [9.0, 3.0, 4, 18.0]


@pytest.mark.parametrize("unit_kind", ["int", "text"])
def test_lazy_table_in_parts_equals_pandas_and_its_print_checks_out(tmp_path: Path, unit_kind: str) -> None:
    rng = np.random.default_rng(21)
    n = 4_000
    ids = rng.integers(0, 700, n)
    df = pd.DataFrame({"PNR": ids + 10**9 if unit_kind == "int" else [f"p{i}" for i in ids],
                       "KOM": rng.integers(0, 6, n), "YEAR": rng.integers(2010, 2013, n),
                       "INC": np.round(rng.normal(100, 80, n))})
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    options = EngineOptions(progress=False, threads=2, part_rows=500)  # 8 parts
    spec = {"rows": "KOM", "cols": "YEAR", "stat": "sum", "measure": "INC", "margins": True}
    got = kit.Session(rules="dst", unit="PNR", engine_options=options).table(path, **spec)
    ref = kit.Session(rules="dst", unit="PNR").table(df, engine="pandas", **spec)
    pd.testing.assert_frame_equal(ref.evidence.cells, got.evidence.cells, check_exact=True)
    # the populations are rebuilt in one pass and checked against the print merged over the parts
    assert got.unit_populations is not None and ref.unit_populations is not None
    assert np.array_equal(got.unit_populations.cells.sizes(), ref.unit_populations.cells.sizes())
