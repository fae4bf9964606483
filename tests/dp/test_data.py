"""Data preparation before OpenDP: de-duplication and integer keys give the same cells as text keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pl = pytest.importorskip("polars")

from kit.dp.data import native_key_types, prepare  # noqa: E402
from kit.dp.spec import Derive, DPConfig  # noqa: E402

YEARS = ("2015", "2016", "2017")


def _panel(seed: int = 5, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = 4 * n
    df = pl.DataFrame({
        "PNR": rng.integers(0, n, rows),                        # repeated (person, year) rows
        "year": rng.integers(2014, 2019, rows).astype(np.int16),  # 2014 and 2018 are not public
        "KOM": rng.integers(1, 6, rows).astype(np.int16),
        "inc": rng.integers(0, 100, rows),
    })
    return df.with_columns(pl.when(pl.col("KOM") == 5).then(None).otherwise(pl.col("KOM")).alias("KOM"))


def test_native_key_types_only_for_canonical_integer_codes() -> None:
    df = _panel().with_columns(pl.col("KOM").cast(pl.Float64).alias("FKOM"))
    schema = df.lazy().collect_schema()
    cfg = DPConfig(population=10_000, period="year", periods=YEARS, codes={"KOM": ("1", "2", "3")})
    assert native_key_types(pl, schema, config=cfg, dims=("KOM", "year")) == {"year": pl.Int32, "KOM": pl.Int32}
    lead = DPConfig(population=10_000, period="year", periods=YEARS, codes={"KOM": ("01", "2")})
    assert native_key_types(pl, schema, config=lead, dims=("KOM", "year")) == {"year": pl.Int32}
    wide = DPConfig(population=10_000, period="year", periods=YEARS, codes={"KOM": ("1", "40000")})
    assert native_key_types(pl, schema, config=wide, dims=("KOM",)) == {"year": pl.Int32}
    flt = DPConfig(population=10_000, period="year", periods=YEARS, codes={"FKOM": ("1", "2")})
    assert native_key_types(pl, schema, config=flt, dims=("FKOM",)) == {"year": pl.Int32}
    derive = (Derive(name="region", source="KOM", mapping={"1": "a", "2": "b"}),)
    assert native_key_types(pl, schema, config=cfg, dims=("region", "year"), derive=derive) == {"year": pl.Int32}
    assert native_key_types(pl, schema, config=cfg, dims=("KOM", "year"), public_keys=False) == {}


@pytest.mark.parametrize("aggregate", [False, True])
def test_native_keys_and_dedup_give_the_same_cells(aggregate: bool) -> None:
    df = _panel()
    cfg = DPConfig(population=10_000, period="year", periods=YEARS, codes={"KOM": ("1", "2", "3", "4")})
    measures = ["inc"] if aggregate else []
    native = native_key_types(pl, df.lazy().collect_schema(), config=cfg, dims=("KOM", "year"))
    assert native
    frames = [prepare(pl, df.lazy(), unit="PNR", config=cfg, dims=("KOM", "year"), measures=measures,
                      aggregate=aggregate, native=nat).collect() for nat in (native, None)]
    a, b = (f.with_columns(pl.col("KOM").cast(pl.String), pl.col("year").cast(pl.String)) for f in frames)
    assert a.schema == b.schema and "PNR" not in a.columns
    # one row per person and public year, as many as there are such pairs
    pairs = df.filter(pl.col("year").cast(pl.String).is_in(list(YEARS))).select("PNR", "year").unique()
    assert a.height == b.height == pairs.height
    assert a.group_by("year").len().sort("year").equals(b.group_by("year").len().sort("year"))
    if aggregate:     # sums per person and year do not depend on which row is kept
        assert a["inc"].sum() == b["inc"].sum()
        assert a.group_by("year").agg(pl.col("inc").sum()).sort("year").equals(
            b.group_by("year").agg(pl.col("inc").sum()).sort("year"))


def test_release_with_integer_keys_matches_the_true_counts(tmp_path: Path) -> None:
    pytest.importorskip("opendp")
    import kit
    from kit.dp import BudgetLedger, DPTableSpec, dp_table

    rng = np.random.default_rng(11)
    n = 2000
    df = pl.DataFrame({
        "PNR": np.repeat(np.arange(n), 3),
        "year": np.tile(np.array([2015, 2016, 2017], dtype=np.int16), n),
        "KOM": rng.integers(98, 102, 3 * n).astype(np.int16),
    })
    codes = ("98", "99", "100", "101", "102")
    truth = {(str(k), str(y)): c for k, y, c in df.group_by("KOM", "year").len().iter_rows()}
    ledger = BudgetLedger.create(tmp_path / "b.jsonl", cap_rho="100000")
    session = kit.Session(unit="PNR")
    for kom_codes in (codes, ("098", *codes[1:])):        # integer keys; text keys (leading zero)
        cfg = DPConfig(population=100_000, period="year", periods=YEARS, codes={"KOM": kom_codes})
        spec = DPTableSpec(name="c", dims=("KOM", "year"), statistic="count", rho="10000", config=cfg)
        r = dp_table(session, df.lazy(), spec, ledger)   # scale about 0.02: the noise rounds to 0
        assert r.keys == tuple((k, y) for k in kom_codes for y in YEARS)
        got = {key: v[0] for key, v in zip(r.keys, r.values, strict=True)}
        assert got == {key: float(truth.get(key, 0)) for key in r.keys}


def test_bracketed_scale_search_finds_the_same_scale_as_the_full_search() -> None:
    pytest.importorskip("opendp")
    from kit.dp import _engine

    dp = _engine.load().dp
    for power, sens in ((2, 7.0), (1, 3.0), (2, 0.5)):
        def loss(s: float, power: int = power, sens: float = sens) -> float:
            return sens / s**power

        def ok(s: float, loss: object = loss) -> bool:
            return loss(s) <= 0.125          # type: ignore[operator]

        full = dp.binary_search(ok, bounds=_engine.SCALE_BOUNDS, T=float)
        assert _engine._scale_search(dp, ok, loss, 0.125) == full
    # decreasing but not a power law: the bracket misses the boundary and the full search runs
    def odd_loss(s: float) -> float:
        return 1.0 / s if s < 3 else (3.0 / s) ** 0.3 / 3

    def odd_ok(s: float) -> bool:
        return odd_loss(s) <= 0.2

    expected = dp.binary_search(odd_ok, bounds=_engine.SCALE_BOUNDS, T=float)
    assert expected > 10
    assert _engine._scale_search(dp, odd_ok, odd_loss, 0.2) == expected
