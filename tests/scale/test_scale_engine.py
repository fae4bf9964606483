"""Engine choice, options, the missing optional package, and spilling under a small memory limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

import kit
from kit.engine import AUTO_DUCKDB_ROWS, Engine, EngineOptions, choose_engine
from kit.errors import OptionalDependencyError, SpecError


def test_engine_names_parse_and_unknown_is_a_spec_error() -> None:
    assert Engine.parse(" DuckDB ") is Engine.DUCKDB
    assert Engine.parse(Engine.PANDAS) is Engine.PANDAS
    with pytest.raises(SpecError, match="use one of: auto, pandas, duckdb"):
        Engine.parse("spark")


def test_auto_threshold_and_lazy_inputs() -> None:
    assert choose_engine("auto", n_rows=AUTO_DUCKDB_ROWS - 1, lazy=False, available=True) is Engine.PANDAS
    assert choose_engine("auto", n_rows=AUTO_DUCKDB_ROWS, lazy=False, available=True) is Engine.DUCKDB
    assert choose_engine("auto", n_rows=10, lazy=False, available=True, auto_rows=5) is Engine.DUCKDB
    assert choose_engine("auto", n_rows=10**9, lazy=False, available=False) is Engine.PANDAS
    assert choose_engine("pandas", n_rows=10**9, lazy=False, available=True) is Engine.PANDAS
    with pytest.raises(SpecError, match="not pandas"):
        choose_engine("pandas", n_rows=1, lazy=True, available=True)


def test_duckdb_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import kit.engine as engine

    monkeypatch.setattr(engine, "duckdb_available", lambda: False)
    with pytest.raises(OptionalDependencyError, match=r"kit\[scale\]"):
        choose_engine("duckdb", n_rows=1, lazy=False)
    with pytest.raises(OptionalDependencyError, match="duckdb"):
        engine.require_duckdb()
    # auto falls back to pandas, and a session still works on pandas
    assert choose_engine("auto", n_rows=10**9, lazy=False) is Engine.PANDAS
    import pandas as pd

    df = pd.DataFrame({"PNR": range(20), "KOM": ["101"] * 20})
    table = kit.Session(rules="dst", unit="PNR", engine_options=EngineOptions(auto_rows=0)).table(df, rows="KOM")
    assert table.evidence.cells["n_units"].iloc[0] == 20
    with pytest.raises(OptionalDependencyError):
        kit.Session(rules="dst", unit="PNR").table(df, rows="KOM", engine="duckdb")


@pytest.mark.parametrize("bad", [{"memory_limit": "lots"}, {"memory_limit": "2 parsecs"}, {"threads": 0},
                                 {"auto_rows": -1}])
def test_bad_engine_options_are_spec_errors(bad: dict) -> None:
    with pytest.raises(SpecError):
        EngineOptions(**bad)


@pytest.mark.slow
def test_spilling_under_a_64_mb_limit(tmp_path) -> None:
    """3 M rows over 2 M units: the pair table needs more than 64 MB; with a spill folder it completes
    and equals the pandas evidence, without one DuckDB runs out of memory (so it did spill)."""
    duckdb = pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")
    import pyarrow as pa

    from kit.core.evidence import build_evidence
    from kit.evidence_duckdb import EvidenceQuery, evidence_from_arrays, evidence_from_relation

    rng = np.random.default_rng(3)
    n, n_units = 3_000_000, 2_000_000
    codes = [rng.integers(0, 20, n), rng.integers(0, 3, n)]
    unit = rng.integers(0, n_units, n)
    x = np.round(rng.normal(100, 50, n))
    labels = [[str(i) for i in range(20)], ["a", "b", "c"]]
    kwargs = {"margins": False, "differencing_min_units": None, "top_k": 2, "absolute": False,
              "contributions": True}
    spill = tmp_path / "spill"
    options = EngineOptions(memory_limit="64MB", temp_directory=spill, progress=False, threads=2)
    start = time.perf_counter()
    got = evidence_from_arrays(codes, labels, ["A", "B"], unit, n_units, x, None, **kwargs, options=options)
    elapsed = time.perf_counter() - start
    ref = build_evidence(codes, labels, ["A", "B"], unit, n_units, x, None, **kwargs)
    import pandas as pd

    pd.testing.assert_frame_equal(ref.cells, got.cells, check_exact=True)
    assert elapsed < 30
    # control: the same query with spilling switched off does not fit in 64 MB
    con = duckdb.connect()
    con.execute("SET memory_limit = '64MB'")
    con.execute("SET temp_directory = ''")
    con.execute("SET threads = 2")
    cell = codes[0] * 3 + codes[1]
    con.register("src", pa.table({"cell": cell, "unit": unit, "x": x}))
    query = EvidenceQuery(("A", "B"), tuple(tuple(lab) for lab in labels), True, False, **kwargs)
    with pytest.raises(duckdb.OutOfMemoryException):
        evidence_from_relation(con, "SELECT cell, unit, x FROM src", query, n_units, n_rows=n,
                               options=EngineOptions(progress=False))
