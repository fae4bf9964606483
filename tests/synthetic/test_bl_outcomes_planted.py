"""The generator plants issue 25's outcomes as truth.json says (plain pandas on the register files).

Independent of the generator's code and of the kit: the registers are read with pandas, the
definitions are coded here from docs/synthetic.md, and the levels are compared with truth.json
on the medium run (treated areas at 4x their real size).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

YEAR = 2017
BASE = 2011
SUPPORT = (220, 321, 323, 330)


def _year(run: Path, year: int) -> pd.DataFrame:
    """Residents of the year with area, age, RAS, SOCIO13 and the latest education on or before the year."""
    key = pd.read_csv(run / "area_key.csv")
    bef = pd.read_parquet(run / f"bef{year}.parquet", columns=["PNR", "KOM", "BOPIKOM", "ALDER"])
    ras = pd.read_parquet(run / f"ras{year}.parquet")
    ras = ras.loc[ras["PRIMAER_STATUS_KODE"] == 1, ["PNR", "SOC_STATUS_KODE"]]
    akm = pd.read_parquet(run / f"akm{year}.parquet")
    udda = pd.concat([pd.read_parquet(run / f"udda{y}.parquet", columns=["PNR", "HFAUDD"]).assign(y=y)
                      for y in range(2008, year + 1)])
    udda = udda.sort_values("y", kind="stable").drop_duplicates("PNR", keep="last")
    d = bef.merge(key[["KOM", "BOPIKOM", "AREA_NAME", "AREA_TYPE"]], on=["KOM", "BOPIKOM"], how="left")
    d = d.merge(ras, on="PNR", how="left").merge(akm, on="PNR", how="left").merge(
        udda[["PNR", "HFAUDD"]], on="PNR", how="left")
    return d


@pytest.fixture(scope="module")
def years(medium_run: Path) -> dict[int, pd.DataFrame]:
    return {y: _year(medium_run, y) for y in (BASE, YEAR)}


def _share(d: pd.DataFrame, outcome: str) -> tuple[pd.Series, pd.Series]:
    """(flag, in-population) per row for an outcome."""
    age = d["ALDER"]
    if outcome == "education":
        level = d["HFAUDD"] // 100
        pop = age.between(25, 64) & level.notna() & (level < 90)
        return level >= 20, pop
    if outcome == "in_education":
        return d["SOCIO13"] == 310, age.between(16, 24)
    return d["SOCIO13"].isin(SUPPORT), age.between(16, 64)


@pytest.mark.parametrize("outcome", ["education", "in_education", "support"])
@pytest.mark.parametrize("area", ["Sundparken", "Kildeparken"])
def test_outcome_level_difference_is_the_planted_effect(years: dict[int, pd.DataFrame], truth: dict[str, Any],
                                                        area: str, outcome: str) -> None:
    d = years[YEAR]
    flag, pop = _share(d, outcome)
    treated = pop & (d["AREA_NAME"] == area)
    comparison = pop & d["AREA_TYPE"].isin(["comparison", "placebo"])
    diff = 100 * (flag[treated].mean() - flag[comparison].mean())
    planted = truth["areas"][area]["outcomes_pp"][outcome][str(YEAR)]
    n = int(treated.sum())
    # the within change is a binomial draw around its expectation: 4 standard errors of a share
    assert abs(diff - planted) <= 4 * 100 * np.sqrt(0.25 / n) + 0.05, (diff, planted, n)
    # the schedule is met, except for education where composition alone may exceed it
    schedule = truth["areas"][area]["outcomes_planted_pp"][outcome][str(YEAR)]
    if outcome == "education":
        assert planted >= schedule - 1e-9
    else:
        assert planted == pytest.approx(schedule)


def _movers(run: Path, year: int) -> pd.DataFrame:
    """Base-year residents of named areas living outside their area and outside every treated area."""
    key = pd.read_csv(run / "area_key.csv")
    area_kom = key.drop_duplicates("AREA_NAME").set_index("AREA_NAME")["KOM"]
    area_type = key.drop_duplicates("AREA_NAME").set_index("AREA_NAME")["AREA_TYPE"]
    base = pd.read_parquet(run / f"bef{BASE}.parquet", columns=["PNR", "KOM", "BOPIKOM"]).merge(
        key[["KOM", "BOPIKOM", "AREA_NAME"]], on=["KOM", "BOPIKOM"])
    base = base[["PNR", "AREA_NAME"]].rename(columns={"AREA_NAME": "origin"})
    now = pd.read_parquet(run / f"bef{year}.parquet", columns=["PNR", "KOM", "BOPIKOM", "ALDER"]).merge(
        key[["KOM", "BOPIKOM", "AREA_NAME"]], on=["KOM", "BOPIKOM"], how="left")
    ras = pd.read_parquet(run / f"ras{year}.parquet")
    ras = ras.loc[ras["PRIMAER_STATUS_KODE"] == 1, ["PNR", "SOC_STATUS_KODE"]]
    d = now.merge(base, on="PNR").merge(ras, on="PNR", how="left")
    treated = set(area_type[area_type == "treated"].index)
    into_treated = d["AREA_NAME"].isin(treated) & (d["AREA_NAME"] != d["origin"])
    d = d[(d["AREA_NAME"] != d["origin"]) & ~into_treated & d["ALDER"].between(16, 64)].copy()
    d["destination"] = np.where(d["KOM"].to_numpy() == area_kom.loc[d["origin"]].to_numpy(),
                                "same_municipality", "elsewhere")
    d["untreated"] = area_type.loc[d["origin"]].isin(["comparison", "placebo"]).to_numpy()
    d["emp"] = d["SOC_STATUS_KODE"] // 100 == 1
    return d


@pytest.mark.parametrize("area", ["Sundparken", "Kildeparken"])
def test_movers_out_counts_and_planted_difference(medium_run: Path, truth: dict[str, Any], area: str) -> None:
    d = _movers(medium_run, YEAR)
    for dest in ("same_municipality", "elsewhere"):
        cell = truth["movers_out"][area][dest][str(YEAR)]
        mine = d[(d["origin"] == area) & (d["destination"] == dest)]
        theirs = d[d["untreated"] & (d["destination"] == dest)]
        assert len(mine) == cell["movers"]  # the same persons, counted independently
        assert len(theirs) == cell["comparison_movers"]
        diff = 100 * (mine["emp"].mean() - theirs["emp"].mean())
        se = 100 * np.sqrt(0.25 / len(mine) + 0.25 / len(theirs))
        assert abs(diff - cell["difference_pp"]) <= 4 * se, (dest, diff, cell)
    # rehoused movers carry the planted (negative) effect
    assert truth["areas"][area]["mover_effect_pp"] < 0
    assert truth["movers_out"][area]["same_municipality"][str(YEAR)]["within"] < 0
