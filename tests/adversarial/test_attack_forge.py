"""Red team: private results other than tables, forged with ordinary Python before kit.clear().

The catalogue covers cleared objects and private *tables* (statuses re-derived by the writer).
Estimate results and DP results are private results too: these tests change them with an
attribute assignment or ``dataclasses.replace`` and check, with the attacker's own arithmetic,
whether the release carries the forged number. Leaks are ``xfail(strict=True)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitError

CREATED = "2026-01-01T00:00:00+00:00"
SECRET = 987654.25


def session() -> kit.Session:
    return kit.Session("dst", unit="PNR", created=CREATED)


def released(s: kit.Session, folder: Path, outputs: list[Any]) -> list[Any]:
    """Release; the cleared outputs that landed ([] when the kit refused, and then no folder)."""
    try:
        s.release(folder, outputs, title="forged", formats=("html",))
    except KitError:
        assert not folder.exists()
        return []
    return [kit.clear(o) for o in outputs]


def dummy_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    d = pd.DataFrame({"PNR": np.arange(55501200, 55501200 + n), "y": rng.normal(300.0, 50.0, n).round(2)})
    d.loc[0, "y"] = SECRET
    d["d"] = 0.0
    d.loc[0, "d"] = 1.0  # only she has d = 1
    return d


def test_unblocking_a_blocked_model_by_attribute_assignment(tmp_path: Path) -> None:
    pytest.importorskip("statsmodels")
    s = session()
    res = s.model(dummy_frame(), "y ~ d", name="m")
    assert res.blocked, "the kit blocks the one-person dummy"
    try:
        res.blocked = []
    except KitError:
        return  # the result is frozen: the forgery is refused where it is made
    landed = released(s, tmp_path / "r", [res])
    if landed:
        coef = {r.term: r.values[0] for r in landed[0].rows if not r.suppressed}
        assert not ("Intercept" in coef and "d" in coef
                    and np.isclose(coef["Intercept"] + coef["d"], SECRET)), "her value is published"


def test_suppressed_rate_row_published_by_clearing_its_reasons(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 150
    df = pd.DataFrame({"PNR": np.arange(n), "KOM": np.repeat(["A", "B", "C"], 50),
                       "emp": (rng.random(n) < 0.5).astype(int)})
    small = pd.DataFrame({"PNR": np.arange(1000, 1005), "KOM": "D", "emp": [1, 0, 0, 0, 0]})
    df = pd.concat([df, small], ignore_index=True)
    s = session()
    res = s.rates(df, by="KOM", outcome="emp", name="rates")
    assert res.n_suppressed >= 1
    try:
        for row in res._rows:  # what dir(res) shows; ordinary Python
            row.reasons.clear()
    except AttributeError:
        return  # reasons are a tuple of a frozen row: nothing to clear
    landed = released(s, tmp_path / "r", [res])
    if landed:
        got = {r.term: r.values for r in landed[0].rows if not r.suppressed}
        # the attacker: a published rate 0.2 on a cell whose count form is 1 person employed
        assert "D" not in got or not np.isclose(got["D"][0] * 5, 1.0), "a 1-person numerator is published"


def _dp_setup() -> tuple[Any, Any, Any]:
    pytest.importorskip("opendp")
    pl = pytest.importorskip("polars")
    from kit.dp import BudgetLedger, DPConfig, DPTableSpec, dp_table

    kom = np.array(["0"] * 1000 + ["1"] * 999 + ["2"])  # KOM 2 holds one person
    df = pl.DataFrame({"PNR": np.arange(len(kom)), "KOM": kom})
    BudgetLedger.create(cap_rho="1", project="p")
    s = kit.Session(unit="PNR", data_label="synthetic", created=CREATED)
    cfg = DPConfig(population=10_000, codes={"KOM": ("0", "1", "2")})
    spec = DPTableSpec(name="residents", dims=("KOM",), statistic="count", rho="1/4", config=cfg)
    return s, dp_table(s, df.lazy(), spec), kom


def test_dp_result_with_true_counts_is_released_and_reviewed_clean(tmp_path: Path) -> None:
    from kit.release import review_release

    s, result, kom = _dp_setup()
    truth = {k: float((kom == k).sum()) for k in ("0", "1", "2")}
    forged = dataclasses.replace(result, values=tuple((truth[k[0]], truth[k[0]], truth[k[0]])
                                                      for k in result.keys))
    landed = released(s, tmp_path / "r", [forged])
    clean = bool(landed) and review_release(tmp_path / "r").exit_code == 0
    if clean:
        published = {r.keys[0][1]: r.values[0] for r in landed[0].rows}
        # the attacker: the 'noisy' count of KOM 2 is exactly the one person
        assert published.get("2") != 1.0, "a cell of one person is published as a DP count"
