"""Red team: estimators over lazy (DuckDB/Parquet) input fail closed with a KitError.

``Session.table`` and the estimators accept a lazy relation (issue 21). Bad or unsupported input
must give a KitError that names no data value, never a Python exception from pandas code that
assumed a DataFrame (the CLI would exit 70; a notebook shows a traceback).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitError

CREATED = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def relation(tmp_path: Path) -> object:
    pytest.importorskip("duckdb")
    from kit.registers import scan

    rng = np.random.default_rng(0)
    n = 300
    pd.DataFrame({"PNR": np.arange(n), "KOM": rng.choice(["A", "B", "C"], n), "EMP": rng.integers(0, 2, n),
                  "W": rng.uniform(1, 2, n)}).to_parquet(tmp_path / "x.parquet")
    return scan(tmp_path / "x.parquet")


def test_weighted_rates_over_a_lazy_relation_fail_closed(relation: object) -> None:
    s = kit.Session("dst", unit="PNR", created=CREATED)
    with contextlib.suppress(KitError):  # refused with the kit's own message, or computed: both are fine
        s.rates(relation, by="KOM", outcome="EMP", weight="W")
