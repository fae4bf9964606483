"""Red team: estimates whose units pass every check but whose values differ by one person.

The attacker's own algebra on the published numbers: a weighted and an unweighted statistic of
the same cell differ by the contributions of the units whose weight is not 1. Leaks are
``xfail(strict=True)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitError

CREATED = "2026-01-01T00:00:00+00:00"


def frame(weight_of_one: float) -> pd.DataFrame:
    """60 persons in 3 municipalities; every weight is 1 except person 0's (a non-response
    adjustment, say): an ordinary weight, far from the kit's floor and Kish limits."""
    rng = np.random.default_rng(1)
    n = 60
    df = pd.DataFrame({"PNR": np.arange(n), "KOM": np.repeat(["A", "B", "C"], 20),
                       "income": rng.integers(200, 600, n) * 1000.0, "w": 1.0})
    df.loc[0, "w"] = weight_of_one
    return df


def landed(s: kit.Session, folder: Path, outputs: list[object]) -> list[pd.DataFrame]:
    try:
        s.release(folder, outputs, title="t", formats=("html",))
    except KitError:
        assert not folder.exists()
        return []
    return [kit.clear(o).to_frame(symbols=False) for o in outputs]


@pytest.mark.parametrize("stat", ["sum", "mean"])
def test_weighted_and_unweighted_statistic_give_the_reweighted_persons_income(tmp_path: Path, stat: str) -> None:
    w = 2.0
    df = frame(w)
    secret = float(df.loc[0, "income"])
    s = kit.Session("dst", unit="PNR", created=CREATED)
    plain = s.table(df, rows="KOM", stat=stat, measure="income", name="plain")
    weighted = s.table(df, rows="KOM", stat=stat, measure="income", weight="w", name="weighted")
    first = landed(s, tmp_path / "r1", [plain])
    second = landed(s, tmp_path / "r2", [weighted])
    assert first
    if second:
        a = first[0].set_index("KOM")
        b = second[0].set_index("KOM")
        if stat == "sum":
            got = (b.loc["A", "value"] - a.loc["A", "value"]) / (w - 1)
        else:
            n = a.loc["A", "n"]  # published n (20: a multiple of the rounding base)
            got = (b.loc["A", "estimate"] * (n + w - 1) - a.loc["A", "estimate"] * n) / (w - 1)
        assert not np.isclose(got, secret, rtol=0, atol=1.0), "one person's income is recovered"
