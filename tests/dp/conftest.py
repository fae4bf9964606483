"""Shared fixtures for the DP tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def panel_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pl = pytest.importorskip("polars")
    rng = np.random.default_rng(7)
    n = 3000
    years = [2015, 2016, 2017]
    df = pl.DataFrame({
        "PNR": np.repeat(np.arange(n), 3),
        "year": np.tile(years, n),
        "KOM": rng.integers(0, 4, 3 * n).astype(str),
        "emp": rng.integers(0, 2, 3 * n),
        "inc": rng.integers(0, 1000, 3 * n),
    })
    path = tmp_path_factory.mktemp("dp") / "panel.parquet"
    df.write_parquet(path)
    return path
