"""Issue 17, magnitude differencing over Parquet: a lazy table's element cells (unit, exact
contribution) are those of the same table over a DataFrame, so a lazy raw sum against a DataFrame
top-coded sum is compared like two DataFrame tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions
from kit.errors import DisclosureError
from kit.registers.lazy import scan

CREATED = "2026-01-01T00:00:00+00:00"
OPTIONS = EngineOptions(memory_limit="512MB", threads=1)


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 2000
    return pd.DataFrame({
        "PNR": rng.integers(10**9, 10**9 + 600, n),
        "KOM": rng.choice(["101", "147", "851"], n),
        "INC": np.round(rng.lognormal(6, 1.0, n), 2),
        "W": np.round(rng.uniform(1, 5, n)),
    })


@pytest.mark.parametrize("spec", [
    {"stat": "sum", "measure": "INC", "margins": True},
    {"stat": "mean", "measure": "INC", "weight": "W"},
], ids=lambda s: "-".join(str(v) for v in s.values()))
def test_lazy_elements_equal_dataframe_elements(tmp_path: Path, spec: dict) -> None:
    df = _frame()
    parquet = tmp_path / "d.parquet"
    df.to_parquet(parquet)
    s = kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS)
    ref = s.table(df, rows="KOM", engine="pandas", **spec).unit_populations
    lazy = s.table(scan(parquet), rows="KOM", **spec).unit_populations
    assert ref is not None and lazy is not None
    a, b = ref.elements, lazy.elements
    assert a is not None and b is not None
    assert np.array_equal(a.offsets, b.offsets)
    assert np.array_equal(a.units, b.units) and np.array_equal(a.tags, b.tags)
    # one element per unit of each cell: the units are the cell's population
    for i in range(ref.cells.n_cells):
        assert np.array_equal(np.sort(a.cell(i)[:, 0]), ref.cells.cell(i))


def test_lazy_raw_sum_against_a_topcoded_dataframe_sum(tmp_path: Path) -> None:
    df = _frame().drop_duplicates("PNR")
    rich = df.index[df["KOM"] == "147"][0]
    df.loc[rich, "INC"] = 9_000_000.0
    parquet = tmp_path / "d.parquet"
    df.to_parquet(parquet)
    s = kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS)
    top = df.assign(INC=df["INC"].clip(upper=1_000_000.0))
    raw = s.table(scan(parquet), rows="KOM", stat="sum", measure="INC", name="raw")
    capped = s.table(top, rows="KOM", stat="sum", measure="INC", name="capped")
    s.release(tmp_path / "r1", [raw], title="t", formats=("html",))
    try:
        s.release(tmp_path / "r2", [capped], title="t", formats=("html",))
    except DisclosureError:
        return
    a = kit.clear(raw).to_frame(symbols=False).set_index("KOM")["value"]
    b = kit.clear(capped).to_frame(symbols=False).set_index("KOM")["value"]
    # the attacker: raw - capped + cap in the cell where one person is above the cap
    assert not np.isclose(a["147"] - b["147"] + 1_000_000.0, 9_000_000.0), "the rich person's income is recovered"
