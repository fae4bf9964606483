"""The populations the registry records are the units each cell counts (checked with pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import kit
from kit.core.populations import unit_keys


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({
        "PNR": rng.integers(0, 400, n),
        "KOM": rng.choice(["a", "b", "c"], n),
        "sex": rng.choice(["m", "f"], n),
        "y": rng.normal(size=n),
        "w": rng.choice([0.0, 1.0, 2.5], n),
    })
    df.loc[::9, "y"] = np.nan
    return df


def _expected(df: pd.DataFrame, keys: tuple[str, ...]) -> dict[tuple[str, ...], set[int]]:
    out: dict[tuple[str, ...], set[int]] = {}
    for _, row in df.iterrows():
        key = tuple(row[k] if k in keys else "Total" for k in ("KOM", "sex"))
        out.setdefault(key, set()).add(int(row["PNR"]))
    return out


def test_cells_and_margins_hold_the_units_with_a_measure_and_positive_weight() -> None:
    df = _frame()
    df = df[df["w"] > 0]  # tables refuse zero weights (a zero-weight unit would be counted but absent)
    s = kit.Session("dst", unit="PNR")
    t = s.table(df, rows="KOM", cols="sex", stat="mean", measure="y", weight="w", margins=True)
    counted = df[df["y"].notna() & (df["w"] > 0)]
    expected: dict[tuple[str, ...], set[int]] = {}
    for keys in (("KOM", "sex"), ("KOM",), ("sex",), ()):
        expected.update(_expected(counted, keys))
    cells = t.evidence.cells
    pops = t.unit_populations
    assert pops is not None
    for i in range(len(cells)):
        key = (str(cells["KOM"].iat[i]), str(cells["sex"].iat[i]))
        want = expected.get(key, set())
        got = pops.cells.cell(i)
        assert np.array_equal(got, np.sort(unit_keys(np.array(sorted(want), dtype=np.int64)))), key


def test_keys_do_not_depend_on_how_the_id_is_written() -> None:
    a = unit_keys(pd.Series([101011234, 5]))
    b = unit_keys(pd.Series(["0101011234", "5"]))
    c = unit_keys(pd.Series([101011234.0, 5.0]))
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert len(set(unit_keys(pd.Series(["x1", "x2", "5"])).tolist())) == 3
