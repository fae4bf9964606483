"""Both engines through the session: the same assessment and the same cleared output.

Tables are evaluated three ways: a DataFrame on the pandas engine (the
reference), the same DataFrame on the DuckDB engine, and the same rows as a
Parquet file evaluated lazily (:func:`kit.registers.scan`, never loaded into
pandas). Statuses, reasons and the cleared tables (values, suppression
symbols, notes) must be identical. Measures are whole numbers so that sums are
exact in either order of addition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions
from kit.registers.lazy import scan

OPTIONS = EngineOptions(progress=False, threads=2)
CREATED = "2026-01-01T00:00:00Z"


def _frame(seed: int, n: int, n_units: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "PNR": rng.integers(10**9, 10**9 + n_units, n),
        "KOM": rng.choice(["101", "147", "851", None], n, p=[0.45, 0.3, 0.2, 0.05]),
        "YEAR": rng.integers(2015, 2018, n),
        "INC": np.round(rng.lognormal(6, 1.0, n) * rng.choice([1, -1], n, p=[0.97, 0.03])),
        "W": np.round(rng.uniform(1, 5, n)),
    })
    df.loc[rng.random(n) < 0.05, "INC"] = np.nan
    # a planted small and a planted dominated cell
    small = pd.DataFrame({"PNR": [1, 2], "KOM": ["147", "147"], "YEAR": [2018, 2018], "INC": [5.0, 7.0],
                          "W": [1.0, 1.0]})
    dominated = pd.DataFrame({"PNR": [3, 4, 5, 6], "KOM": ["851"] * 4, "YEAR": [2018] * 4,
                              "INC": [1e6, 10.0, 20.0, 30.0], "W": [1.0] * 4})
    return pd.concat([df, small, dominated], ignore_index=True)


def _tables(df: pd.DataFrame, parquet: Path, **spec: object) -> list[kit.core.table.Table]:
    out = []
    for engine, data in (("pandas", df), ("duckdb", df), ("auto", parquet), ("duckdb", scan(parquet))):
        session = kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS)
        out.append(session.table(data, rows="KOM", cols="YEAR", codes={"YEAR": [2015, 2016, 2017, 2018, 2019]},
                                 engine=engine, **spec))
    return out


def _cleared(table: kit.core.table.Table) -> pd.DataFrame | str:
    try:
        return kit.clear(table).to_frame()
    except kit.errors.KitError as exc:  # a table that does not clear must fail the same way
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("spec", [
    {"stat": "count"},
    {"stat": "count", "margins": True},
    {"stat": "sum", "measure": "INC"},
    {"stat": "sum", "measure": "INC", "margins": True},
    {"stat": "mean", "measure": "INC", "weight": "W"},
    {"stat": "mean", "measure": "INC", "margins": True},
], ids=lambda s: "-".join(str(v) for v in s.values()))
def test_same_assessment_and_cleared_output(tmp_path: Path, spec: dict) -> None:
    df = _frame(7, 4000, 1500)
    parquet = tmp_path / "data.parquet"
    df.to_parquet(parquet)
    tables = _tables(df, parquet, **spec)
    ref = tables[0]
    assert ref.assessment.counts()["PRIMARY"] >= 1  # the planted cells are found
    for other in tables[1:]:
        pd.testing.assert_frame_equal(ref.evidence.cells, other.evidence.cells, check_exact=True)
        assert ref.assessment.statuses == other.assessment.statuses
        assert [list(map(str, r)) for r in ref.assessment.reasons] == [list(map(str, r))
                                                                      for r in other.assessment.reasons]
        a, b = _cleared(ref), _cleared(other)
        if isinstance(a, str):
            assert a == b
        else:
            pd.testing.assert_frame_equal(a, b, check_exact=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 300), n_units=st.sampled_from([1, 5, 60, 400]),
       margins=st.booleans(), stat=st.sampled_from(["count", "sum", "mean"]))
def test_lazy_parquet_equals_dataframe(tmp_path: Path, seed: int, n: int, n_units: int, margins: bool,
                                       stat: str) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"PNR": rng.integers(0, n_units, n).astype(str),
                       "KOM": rng.choice(["101", "147", None], n),
                       "AGE": rng.choice([np.nan, 20.0, 30.5, 40.0], n),
                       "INC": np.round(rng.normal(100, 300, n))})
    df.loc[rng.random(n) < 0.2, "INC"] = np.nan
    parquet = tmp_path / f"d{seed}.parquet"
    df.to_parquet(parquet)
    measure = None if stat == "count" else "INC"
    results = []
    for data in (df, parquet):
        session = kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS)
        results.append(session.table(data, rows="KOM", cols="AGE", stat=stat, measure=measure, margins=margins,
                                     codes={"KOM": ["101", "147", "999"]}))
    pd.testing.assert_frame_equal(results[0].evidence.cells, results[1].evidence.cells, check_exact=True)
    assert results[0].assessment.statuses == results[1].assessment.statuses


def test_session_engine_option_and_unknown_engine() -> None:
    df = _frame(1, 200, 100)
    with pytest.raises(kit.errors.SpecError, match="unknown engine 'spark'"):
        kit.Session(rules="dst", unit="PNR", engine="spark")
    session = kit.Session(rules="dst", unit="PNR", engine="duckdb", engine_options=OPTIONS)
    with pytest.raises(kit.errors.SpecError, match="unknown engine"):
        session.table(df, rows="KOM", engine="polars")
    with pytest.raises(kit.errors.SpecError, match="evaluated in DuckDB, not pandas"):
        session.table(scan_of(df), rows="KOM", engine="pandas")


def scan_of(df: pd.DataFrame) -> kit.registers.Relation:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    df.to_parquet(folder / "d.parquet")
    return scan(folder / "d.parquet")
