"""Realism of the medium run, within the tolerances stated in docs/synthetic.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from synthetic.geography import MUNICIPALITIES


def _national_rate(run: Path, year: int) -> float:
    bef = pd.read_parquet(run / f"bef{year}.parquet", columns=["PNR", "ALDER"])
    ras = pd.read_parquet(run / f"ras{year}.parquet")
    ras = ras[ras["PRIMAER_STATUS_KODE"] == 1]
    d = bef[bef["ALDER"].between(16, 64)].merge(ras, on="PNR")
    return float((d["SOC_STATUS_KODE"] // 100 == 1).mean())


def test_national_employment_rate(medium_run: Path) -> None:
    assert abs(_national_rate(medium_run, 2011) - 0.74) < 0.02  # +-2 pp
    assert _national_rate(medium_run, 2008) > _national_rate(medium_run, 2011)  # the crisis dip


def test_named_areas_employment_2011(panel: pd.DataFrame) -> None:
    w = panel[(panel["year"] == 2011) & panel["ALDER"].between(16, 64)]
    rates = w.groupby("AREA_TYPE")["emp"].mean()
    for kind in ("treated", "comparison"):
        assert abs(rates[kind] - 0.40) < 0.04  # +-4 pp
    by_area = w.groupby("AREA_NAME")["emp"].mean()
    assert by_area.between(0.25, 0.55).all()


def test_move_out_rate(panel: pd.DataFrame) -> None:
    for year in (2010, 2013, 2018):
        prev = panel.loc[panel["year"] == year - 1, ["PNR", "AREA_NAME"]]
        cur = panel.loc[panel["year"] == year, ["PNR", "AREA_NAME"]]
        m = prev.merge(cur, on="PNR", how="left", suffixes=("", "_next"))
        rate = float((m["AREA_NAME_next"] != m["AREA_NAME"]).mean())
        assert 0.12 < rate < 0.19  # about 15 % a year (incl. deaths and emigration)


def test_newcomers_majority_by_2017(panel: pd.DataFrame) -> None:
    res = panel[(panel["year"] == 2017) & (panel["AREA_TYPE"] == "treated")]
    share = res.groupby("AREA_NAME")["newcomer"].mean()
    assert (share > 0.6).all()


def test_area_sizes(panel: pd.DataFrame, truth: dict) -> None:
    sizes = panel[panel["year"] == 2015].groupby("AREA_NAME").size()
    for name in ("Kildeparken", "Sundparken"):
        target = truth["areas"][name]["target_residents"]
        assert abs(sizes[name] - target) < 0.05 * target
    comparison = sizes.drop(["Kildeparken", "Sundparken"])
    assert comparison.between(900, 5300).all()


def test_list_criterion_non_western(medium_run: Path) -> None:
    bef = pd.read_parquet(medium_run / "bef2011.parquet", columns=["KOM", "BOPIKOM", "IE_TYPE", "OPR_LAND"])
    key = pd.read_csv(medium_run / "area_key.csv")
    area = bef.merge(key, on=["KOM", "BOPIKOM"])
    western = {5110, 5120, 5180, 5170, 5122, 5150}
    nonwestern = (area["IE_TYPE"] > 1) & ~area["OPR_LAND"].isin(western)
    # the list criterion: > 50 % non-Western immigrants and descendants (about 55 % planted)
    assert nonwestern.groupby(area["AREA_TYPE"]).mean().between(0.42, 0.68).all()


def test_age_sex_origin_municipalities(medium_run: Path) -> None:
    bef = pd.read_parquet(medium_run / "bef2012.parquet", columns=["KOEN", "ALDER", "IE_TYPE", "KOM"])
    assert 0.48 < (bef["KOEN"] == 2).mean() < 0.52
    assert 0.15 < (bef["ALDER"] < 16).mean() < 0.24
    assert 0.13 < (bef["ALDER"] >= 65).mean() < 0.24
    assert bef["ALDER"].max() <= 110
    # origin outside the named areas (the areas are over-represented in this medium run)
    key = pd.read_csv(medium_run / "area_key.csv")
    bop = pd.read_parquet(medium_run / "bef2012.parquet", columns=["KOM", "BOPIKOM"])
    outside = ~pd.MultiIndex.from_frame(bop).isin(pd.MultiIndex.from_frame(key[["KOM", "BOPIKOM"]]))
    assert 0.06 < (bef.loc[outside, "IE_TYPE"] > 1).mean() < 0.16
    assert 0.005 < (bef.loc[outside, "IE_TYPE"] == 3).mean() < 0.06
    counts = bef["KOM"].value_counts(normalize=True)
    # the largest municipalities are the largest; Copenhagen holds 6-14 %
    assert set(counts.index[:4]) >= {101, 751}
    assert 0.06 < counts[101] < 0.14
    assert counts[825] < 0.002  # Læsø is tiny
    assert len(MUNICIPALITIES) == bef["KOM"].nunique()
