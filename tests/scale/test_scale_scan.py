"""Lazy register relations: what scan reads, filters pushed down, joins, and what it never shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions
from kit.errors import DataReadError, SchemaError, SpecError
from kit.registers.lazy import Relation, scan

OPTIONS = EngineOptions(progress=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for year in (2019, 2020):
        sub = tmp_path / f"December_{year + 1}"
        sub.mkdir()
        pd.DataFrame({"pnr": np.arange(100, dtype=np.int64), "kom": rng.choice([101, 147, 851], 100),
                      "alder": rng.integers(0, 90, 100)}).to_parquet(sub / f"bef{year}.parquet")
    return tmp_path


def test_file_folder_and_register(folder: Path) -> None:
    one = scan(folder / "December_2020" / "bef2019.parquet", options=OPTIONS)
    assert one.columns == ("PNR", "KOM", "ALDER") and one.count() == 100 and one.n_files == 1
    both = scan(folder, options=OPTIONS)
    assert both.count() == 200 and both.n_files == 2
    reg = scan(folder, "bef", options=OPTIONS)
    assert "YEAR" in reg.columns and reg.count() == 200
    years = reg.select(["year"]).to_pandas()["YEAR"].value_counts().sort_index()
    assert years.to_dict() == {2019: 100, 2020: 100}
    assert scan(folder, "bef", [2020], options=OPTIONS).count() == 100


def test_filters_equal_pandas_and_repr_hides_values(folder: Path) -> None:
    path = folder / "December_2020" / "bef2019.parquet"
    df = pd.read_parquet(path)
    rel = scan(path, filters=[("kom", "in", [101, 851]), ("ALDER", ">=", 18)], options=OPTIONS)
    expected = df[df["kom"].isin([101, 851]) & (df["alder"] >= 18)]
    got = rel.to_pandas()
    assert sorted(got["PNR"].tolist()) == sorted(expected["pnr"].tolist())
    shown = repr(rel)
    assert "values hidden" in shown and "851" not in shown and "SELECT" not in shown
    assert isinstance(rel, Relation)


def test_join_and_table_over_a_join(folder: Path, tmp_path: Path) -> None:
    extra = tmp_path / "ind.parquet"
    pd.DataFrame({"PNR": np.arange(100), "INC": np.arange(100) * 1000.0}).to_parquet(extra)
    bef = scan(folder / "December_2020" / "bef2019.parquet", options=OPTIONS)
    joined = bef.join(scan(extra, options=OPTIONS), on=["PNR"])
    assert joined.columns == ("PNR", "KOM", "ALDER", "INC") and joined.count() == 100
    session = kit.Session(rules="dst", unit="PNR", engine_options=OPTIONS)
    lazy = session.table(joined, rows="KOM", stat="sum", measure="INC")
    eager = session.table(joined.to_pandas(), rows="KOM", stat="sum", measure="INC", engine="pandas")
    pd.testing.assert_frame_equal(lazy.evidence.cells, eager.evidence.cells, check_exact=True)
    with pytest.raises(SchemaError, match="in both relations"):
        bef.join(bef, on=["PNR"])


def test_bad_requests_are_kit_errors(folder: Path, tmp_path: Path) -> None:
    path = folder / "December_2020" / "bef2019.parquet"
    with pytest.raises(SchemaError, match="not in the relation"):
        scan(path, filters=[("NOPE", "==", 1)], options=OPTIONS)
    with pytest.raises(SpecError, match="not supported"):
        scan(path, filters=[("KOM", "==", object())], options=OPTIONS)
    with pytest.raises(DataReadError, match="does not exist"):
        scan(tmp_path / "missing.parquet")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataReadError, match="no Parquet files"):
        scan(empty)
    with pytest.raises(SpecError, match="years need a register"):
        scan(path, years=[2019])


def test_filter_values_cannot_inject_sql(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"PNR": [1, 2, 3], "NAME": ["a", "b", "1"]}).to_parquet(path)
    rel = scan(path, options=OPTIONS)
    assert rel.filter([("NAME", "==", "1' OR '1'='1")]).count() == 0
    assert rel.filter([("NAME", "in", ["a", "x'); DROP TABLE t; --"])]).count() == 1
    assert rel.filter([("NAME", "in", [])]).count() == 0
