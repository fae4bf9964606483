"""Weights that concentrate an estimate on one unit, and the checker's view of weighted tables (issue 18, item 7).

Each attack is the researcher's own weight column: weights are chosen by the analyst, so a weight
of 1e6 on one person is as easy as a weight of 0. The tests state the attacker's algebra on the
released numbers and assert that it no longer yields that person's value; the checker's facts are
compared with the test's own Kish computation from the microdata.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError
from kit.estimate import model

TARGET = 31337.0
HEAVY = 1e6


@pytest.fixture
def s() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")


def _kish(w: np.ndarray) -> float:
    """The test's own Kish effective size (Kish 1965): (sum w)^2 / sum w^2."""
    return float(w.sum()) ** 2 / float((w * w).sum())


def _incomes(n: int) -> list[float]:
    return [TARGET, *np.linspace(28_000.0, 34_000.0, n - 1).tolist()]


def test_weighted_sum_with_one_heavy_weight_does_not_give_the_persons_value(s):
    # six persons of similar income in each area; the researcher's weight makes person 0 count 1e6 times
    df = pd.DataFrame({"PNR": range(12), "g": ["A"] * 6 + ["B"] * 6, "inc": _incomes(6) * 2,
                       "w": [HEAVY, 1, 1, 1, 1, 1] * 2})
    c = kit.clear(s.table(df, rows="g", stat="sum", measure="inc", weight="w"))
    for row in c.rows:
        if row.suppressed:
            continue
        # attacker: the others add at most 5 * 34,000 / 1e6 = 0.17 to value / 1e6
        recovered = row.values[0] / HEAVY
        assert abs(recovered - TARGET) > 1.0, "a weighted sum gave one person's income"


def test_weighted_sum_with_spread_weights_is_published(s):
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"PNR": range(40), "g": ["A"] * 20 + ["B"] * 20, "inc": rng.uniform(2e4, 4e4, 40),
                       "w": rng.uniform(0.5, 2.0, 40)})
    c = kit.clear(s.table(df, rows="g", stat="sum", measure="inc", weight="w"))
    assert not any(r.suppressed for r in c.rows)


def test_wls_intercept_with_one_heavy_weight_is_blocked(s):
    # intercept-only WLS = weighted mean: with one weight of 1e6 among 40 it is person 0's income
    df = pd.DataFrame({"PNR": range(40), "inc": _incomes(40), "w": [HEAVY] + [1.0] * 39})
    result = model(s, df, "inc ~ 1", family="wls", weights="w")
    try:
        c = kit.clear(result)
    except DisclosureError:
        return
    intercept = c.rows[0].values[0]
    assert intercept is None or abs(intercept - TARGET) > 1.0, "WLS published one person's income"


def test_wls_dummy_side_concentrated_by_weights_is_blocked(s):
    # d = 1 for 4 persons (above the unweighted threshold), but two of them carry almost all the weight:
    # Intercept + d is then the mean of those two persons (2 < 3 units)
    n = 40
    d = np.zeros(n)
    d[:4] = 1
    w = np.ones(n)
    w[:2] = HEAVY
    inc = np.linspace(28_000.0, 34_000.0, n)
    inc[:2] = [TARGET, TARGET + 100]
    df = pd.DataFrame({"PNR": range(n), "inc": inc, "d": d, "w": w})
    result = model(s, df, "inc ~ d", family="wls", weights="w")
    try:
        c = kit.clear(result)
    except DisclosureError:
        return
    b = dict(zip([r.keys[0][1] for r in c.rows], [r.values[0] for r in c.rows], strict=True))
    pair_mean = b["Intercept"] + b["d"]
    assert abs(pair_mean - (TARGET + 50)) > 1.0, "WLS published the mean of two persons"


def test_wls_with_spread_weights_is_published(s):
    rng = np.random.default_rng(2)
    n = 60
    df = pd.DataFrame({"PNR": range(n), "inc": rng.normal(3e4, 5e3, n), "d": np.arange(n) % 2,
                       "w": rng.uniform(0.5, 2.0, n)})
    c = kit.clear(model(s, df, "inc ~ d", family="wls", weights="w"))
    assert not any(r.suppressed for r in c.rows)


def _release_weighted(s: kit.Session, tmp_path: Path, df: pd.DataFrame, stat: str) -> dict:
    t = s.table(df, rows="g", stat=stat, measure="inc", weight="w", name=f"weighted_{stat}")
    rel = s.release(tmp_path / "rel", [t], title="weights", checker_dir=tmp_path / "chk",
                    state_dir=tmp_path / "state")
    folder = Path(rel.checker_folder)
    doc = json.loads((folder / "checker.json").read_text(encoding="utf-8"))
    text = (folder / "checker_report.txt").read_text(encoding="utf-8")
    html = (folder / "checker_report.html").read_text(encoding="utf-8")
    assert "Weights: effective units per cell (Kish)" in text and "Kish effective size" in html
    return next(o for o in doc["outputs"] if o["name"] == f"weighted_{stat}")


@pytest.mark.parametrize("stat", ["mean", "sum"])
def test_checker_facts_give_each_cells_kish_size_and_the_concentration_rule(s, tmp_path, stat):
    rng = np.random.default_rng(3)
    groups = ["A"] * 10 + ["B"] * 10 + ["C"] * 10
    w = rng.uniform(0.5, 2.0, 30)
    w[20] = 500.0  # area C rests on about one effective person
    df = pd.DataFrame({"PNR": range(30), "g": groups, "inc": rng.uniform(2e4, 4e4, 30), "w": w})
    facts = _release_weighted(s, tmp_path, df, stat)
    weights = facts["weights"]
    assert weights["column"] == "w" and weights["kish_min_units"] == 3
    by_cell = {c["keys"][0]: c for c in weights["cells"]}
    for g in ("A", "B", "C"):
        own = _kish(w[np.array(groups) == g])
        assert by_cell[g]["kish_n_eff"] == pytest.approx(own, rel=1e-9)
        assert by_cell[g]["n_units"] == 10
        assert by_cell[g]["below_kish"] is (own < 3)
    assert by_cell["C"]["below_kish"] and weights["cells_below_kish"] == 1
    # the concentration rule is what suppressed C: its published cell carries no value
    assert not by_cell["A"]["below_kish"]


def test_unweighted_tables_get_no_weight_facts(s, tmp_path):
    df = pd.DataFrame({"PNR": range(20), "g": ["A", "B"] * 10, "inc": np.linspace(1e4, 2e4, 20)})
    t = s.table(df, rows="g", stat="mean", measure="inc", name="plain")
    rel = s.release(tmp_path / "rel", [t], title="plain", checker_dir=tmp_path / "chk", state_dir=tmp_path / "st")
    doc = json.loads((Path(rel.checker_folder) / "checker.json").read_text(encoding="utf-8"))
    assert "weights" not in doc["outputs"][0]
