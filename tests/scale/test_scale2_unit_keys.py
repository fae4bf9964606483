"""The one-key pair grouping (integer units) gives the pandas evidence and the DataFrame populations.

DuckDB groups (cell, unit) pairs on one BIGINT ``cell * span + (unit - low)`` when the units are
integers of a known range. This property test feeds integer ids with negative values and large
offsets, 32-bit and unsigned column types, and text ids (the two-column path) through Parquet files,
and compares evidence, statuses and unit populations with the pandas engine (the reference) exactly.
(The array path gets the session's unit codes, ``0..n_units-1``: covered by
``test_scale_evidence_equal.py``.)
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


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 250),
       kind=st.sampled_from(["int32", "int64-negative", "uint64", "text"]), margins=st.booleans(),
       stat=st.sampled_from(["count", "sum", "rate"]))
def test_lazy_unit_types_equal_dataframe(tmp_path: Path, seed: int, n: int, kind: str, margins: bool,
                                         stat: str) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 80, n)
    pnr = {"int32": ids.astype(np.int32), "int64-negative": ids.astype(np.int64) - 10**10,
           "uint64": ids.astype(np.uint64) + np.uint64(2**62), "text": ids.astype(str)}[kind]
    df = pd.DataFrame({"PNR": pnr, "KOM": rng.choice(["101", "147", "851"], n),
                       "Y": rng.integers(0, 2, n).astype(float)})
    df.loc[rng.random(n) < 0.15, "Y"] = np.nan
    path = tmp_path / f"d{seed}.parquet"
    df.to_parquet(path)
    common = {"rows": "KOM", "stat": stat, "measure": None if stat == "count" else "Y", "margins": margins}
    ref = kit.Session(rules="dst", unit="PNR", created=CREATED).table(df, engine="pandas", **common)
    got = kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS).table(scan(path), **common)
    pd.testing.assert_frame_equal(ref.evidence.cells, got.evidence.cells, check_exact=True)
    assert ref.assessment.statuses == got.assessment.statuses
    a, b = ref.unit_populations, got.unit_populations
    assert a is not None and b is not None
    assert np.array_equal(a.cells.values, b.cells.values) and np.array_equal(a.cells.offsets, b.cells.offsets)
    if stat == "rate":
        assert a.positive is not None and b.positive is not None
        assert np.array_equal(a.positive.values, b.positive.values)
