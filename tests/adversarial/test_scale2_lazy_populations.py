"""Issue 21 (scale2): tables over lazy sources are checked by the differencing registry.

Before this, ``Session.table(scan(...))`` gave a table without unit populations: with the
registry on (the default since issue 17) its release was refused outright, and the only way out
was ``differencing=False``, which lets a difference of two lazy tables through. Here:

- the populations of a lazy table equal, cell by cell, those of the same rows as a DataFrame
  (an independent computation: the sets of unit ids per published cell, by plain Python);
- a lazy table releases with differencing on;
- the attacker's differencing (two lazy tables whose populations differ by one person) is refused,
  and the attacker's own subtraction on what landed isolates nobody;
- files changed between evaluation and release stop the release (the populations would not be
  those the numbers count).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.core.populations import unit_keys
from kit.engine import EngineOptions
from kit.errors import DisclosureError
from kit.registers.lazy import scan
from kit.release.registry import DifferencingError, PopulationsUnknownError, as_registry

OPTIONS = EngineOptions(progress=False, threads=2)
CREATED = "2026-01-01T00:00:00+00:00"
T = 3  # dst threshold


def _frame(seed: int, n: int, n_units: int, text_ids: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pnr = rng.integers(10**9, 10**9 + n_units, n)
    df = pd.DataFrame({
        "PNR": pnr.astype(str) if text_ids else pnr,
        "KOM": rng.choice(["101", "147", "851", None], n, p=[0.45, 0.3, 0.2, 0.05]),
        "YEAR": rng.integers(2015, 2018, n),
        "INC": np.round(rng.lognormal(6, 1.0, n) * rng.choice([1, -1], n, p=[0.97, 0.03])),
        "EMP": rng.integers(0, 2, n).astype(float),
        "W": np.round(rng.uniform(1, 5, n)),
    })
    df.loc[rng.random(n) < 0.1, "INC"] = np.nan
    return df


def _session() -> kit.Session:
    return kit.Session(rules="dst", unit="PNR", created=CREATED, engine_options=OPTIONS)


def _expected(df: pd.DataFrame, table: kit.core.table.Table, measure: str | None, weight: str | None,
              attribute: bool) -> list[set]:
    """Per evidence row, the set of unit ids it counts: plain pandas/Python, not the kit's code."""
    rows = df
    if measure is not None:
        rows = rows[rows[measure].notna()]
    if weight is not None:
        rows = rows[rows[weight] > 0]
    if attribute:
        rows = rows[rows[measure] == 1]
    text = {d: rows[d].map(lambda v: "(missing)" if pd.isna(v) else str(v)) for d in table.spec.dims}
    out = []
    for _, cell in table.evidence.cells.iterrows():
        mask = np.ones(len(rows), dtype=bool)
        for d in table.spec.dims:
            if cell[d] != "Total":
                mask &= (text[d] == str(cell[d])).to_numpy()
        out.append(set(rows.loc[mask, "PNR"].tolist()))
    return out


@pytest.mark.parametrize("spec", [
    {"stat": "count"},
    {"stat": "count", "margins": True},
    {"stat": "sum", "measure": "INC", "margins": True},
    {"stat": "mean", "measure": "INC", "weight": "W"},
    {"stat": "rate", "measure": "EMP", "margins": True},
], ids=lambda s: "-".join(str(v) for v in s.values()))
@pytest.mark.parametrize("text_ids", [False, True])
def test_lazy_populations_equal_dataframe_populations(tmp_path: Path, spec: dict, text_ids: bool) -> None:
    df = _frame(11, 3000, 900, text_ids)
    parquet = tmp_path / "d.parquet"
    df.to_parquet(parquet)
    common = {"rows": "KOM", "cols": "YEAR", "codes": {"YEAR": [2015, 2016, 2017, 2018]}, **spec}
    ref = _session().table(df, engine="pandas", **common)
    lazy = _session().table(scan(parquet), **common)
    pd.testing.assert_frame_equal(ref.evidence.cells, lazy.evidence.cells, check_exact=True)
    a, b = ref.unit_populations, lazy.unit_populations
    assert a is not None and b is not None
    assert "not loaded" in repr(b)  # nothing fetched before the release asks
    assert np.array_equal(a.cells.values, b.cells.values) and np.array_equal(a.cells.offsets, b.cells.offsets)
    if spec["stat"] == "rate":
        assert a.positive is not None and b.positive is not None
        assert np.array_equal(a.positive.values, b.positive.values)
        assert np.array_equal(a.positive.offsets, b.positive.offsets)
    else:
        assert b.positive is None
    # independent: the sets of ids per cell, keyed as the registry keys them
    expected = _expected(df, ref, spec.get("measure"), spec.get("weight"), attribute=False)
    for i, ids in enumerate(expected):
        keys = np.sort(unit_keys(np.array(sorted(ids), dtype=object if text_ids else np.int64))) if ids else []
        assert np.array_equal(b.cells.cell(i), keys), i
    if spec["stat"] == "rate":
        positive = _expected(df, ref, "EMP", None, attribute=True)
        assert [len(s) for s in positive] == b.positive.sizes().tolist()


def _release(s: kit.Session, folder: Path, outputs: list) -> list:
    try:
        s.release(folder, outputs, title="lazy", formats=("html",))
    except DisclosureError:
        assert not folder.exists()
        return []
    return [kit.clear(o) for o in outputs]


def _values(cleared: kit.ClearedTable, dim: str) -> dict[str, float]:
    frame = cleared.to_frame(symbols=False)
    return {str(k): float(v) for k, v in zip(frame[dim], frame["value"]) if not np.isnan(v)}


def test_lazy_table_releases_with_differencing_on(tmp_path: Path) -> None:
    df = _frame(3, 2000, 600)
    df.to_parquet(tmp_path / "d.parquet")
    s = _session()
    table = s.table(scan(tmp_path / "d.parquet"), rows="KOM", cols="YEAR", name="lazy_count")
    s.release(tmp_path / "out", [table], title="lazy", formats=("html",))  # the default: differencing on
    assert (tmp_path / "out").is_dir()
    entries = as_registry(None).entries()  # the project's registry recorded the lazy table's cells
    assert len(entries) == 1 and "lazy_count" in repr(entries[0])


@pytest.mark.parametrize("second_release", [False, True])
def test_two_lazy_tables_one_person_apart_are_refused(tmp_path: Path, second_release: bool) -> None:
    """The attacker: everyone, then everyone but one planted person, both from Parquet files."""
    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame({"PNR": np.arange(10_000, 10_000 + n), "KOM": rng.choice(["101", "147", "851"], n),
                       "AGE": rng.integers(16, 65, n)})
    df.loc[17, "AGE"] = 70  # the one old person
    df.to_parquet(tmp_path / "all.parquet")
    df[df["AGE"] <= 64].to_parquet(tmp_path / "working.parquet")
    s = _session()
    everyone = s.table(scan(tmp_path / "all.parquet"), rows="KOM", name="everyone")
    working = s.table(tmp_path / "working.parquet", rows="KOM", name="working")
    if second_release:
        landed = _release(s, tmp_path / "r1", [everyone])
        assert landed, "the first table alone is safe"
        refused = _release(s, tmp_path / "r2", [working])
        landed = landed + refused
        with pytest.raises(DifferencingError):
            s.release(tmp_path / "r3", [working], title="again", formats=("html",))
    else:
        landed = _release(s, tmp_path / "r1", [everyone, working])
        with pytest.raises(DifferencingError):
            s.release(tmp_path / "r2", [everyone, working], title="again", formats=("html",))
    if len(landed) == 2:  # the attacker's own subtraction on what landed
        a, b = _values(landed[0], "KOM"), _values(landed[1], "KOM")
        assert not any(0 < round(a[k] - b[k]) < T for k in a if k in b), "the old person is isolated"


def test_files_changed_after_evaluation_stop_the_release(tmp_path: Path) -> None:
    """Evaluate on one file, swap a person in it, release: the registry would record the wrong units."""
    df = _frame(9, 1500, 500)
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    s = _session()
    table = s.table(scan(path), rows="KOM", cols="YEAR", name="swapped")
    changed = df.copy()
    changed.loc[changed["PNR"] == changed["PNR"].iloc[0], "PNR"] = 42  # same counts, another person
    changed.to_parquet(path)
    with pytest.raises(PopulationsUnknownError, match="changed after it was evaluated"):
        s.release(tmp_path / "out", [table], title="x", formats=("html",))
    assert not (tmp_path / "out").exists()
    path.unlink()
    table2 = _session().table(df, rows="KOM", cols="YEAR", name="fine")  # a DataFrame table is unaffected
    assert table2.unit_populations is not None
