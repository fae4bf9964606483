"""A lazy table over Parquet under a 64 MB DuckDB limit: it spills, completes and equals the pandas table.

The (cell, unit) pairs of 2 M rows over 1.5 M persons need far more than 64 MB
(tests/scale/test_scale_engine.py shows the same query fails without a spill folder);
here the whole session path runs over a Parquet file: checks, dimension encoding,
evidence with margins, and the unit populations rebuilt for the differencing registry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions


@pytest.mark.slow
def test_lazy_table_spills_under_64_mb(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 2_000_000
    df = pd.DataFrame({"PNR": rng.integers(10**9, 10**9 + 1_500_000, n), "KOM": rng.integers(0, 30, n),
                       "YEAR": rng.integers(2010, 2015, n), "INC": np.round(rng.normal(100, 50, n))})
    path = tmp_path / "big.parquet"
    df.to_parquet(path, row_group_size=250_000)
    spill = tmp_path / "spill"
    options = EngineOptions(memory_limit="64MB", temp_directory=spill, threads=2, progress=False)
    spec = {"rows": "KOM", "cols": "YEAR", "stat": "sum", "measure": "INC", "margins": True}
    got = kit.Session(rules="dst", unit="PNR", engine_options=options).table(path, **spec)
    ref = kit.Session(rules="dst", unit="PNR").table(df, engine="pandas", **spec)
    pd.testing.assert_frame_equal(ref.evidence.cells, got.evidence.cells, check_exact=True)
    assert got.unit_populations is not None and ref.unit_populations is not None
    assert np.array_equal(got.unit_populations.cells.sizes(), ref.unit_populations.cells.sizes())
    assert spill.is_dir()
