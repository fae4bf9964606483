"""An independent DiD (plain pandas) recovers the planted effects of truth.json."""

from __future__ import annotations

import pandas as pd
import pytest

BASE = 2011
POST = [2016, 2017, 2018, 2019]


def _rates(panel: pd.DataFrame, area_mask: pd.Series, newcomers: bool) -> pd.Series:
    sel = panel[area_mask & panel["ALDER"].between(16, 64)]
    if newcomers:
        sel = sel[sel["newcomer"]]
    return sel.groupby("year")["emp"].mean() * 100


def did(panel: pd.DataFrame, area: str, group: str) -> pd.Series:
    """Event-study style DiD against the pooled comparison areas, base year 2011 (pp).

    Newcomers have no base-year observations (none live there 'not in 2011' in 2011), so their level
    difference is taken relative to the all-residents difference in 2011.
    """
    treated = panel["AREA_NAME"] == area
    comparison = panel["AREA_TYPE"] == "comparison"
    all_t, all_c = _rates(panel, treated, False), _rates(panel, comparison, False)
    base = all_t[BASE] - all_c[BASE]
    if group == "all":
        return all_t - all_c - base
    return _rates(panel, treated, True) - _rates(panel, comparison, True) - base


@pytest.mark.parametrize("area", ["Sundparken", "Kildeparken"])
@pytest.mark.parametrize("group", ["all", "newcomers"])
def test_did_recovers_planted_effect(panel: pd.DataFrame, truth: dict, area: str, group: str) -> None:
    est = did(panel, area, group)
    planted = truth["areas"][area]["effect_pp"][group]
    est_post = est.loc[POST].mean()
    planted_post = sum(planted[str(y)] for y in POST) / len(POST)
    assert abs(est_post - planted_post) < 3.0, (area, group, est_post, planted_post)
    assert abs(est.loc[2017] - planted["2017"]) < 4.5


def test_no_effect_before_start(panel: pd.DataFrame, truth: dict) -> None:
    for area in ("Sundparken", "Kildeparken"):
        est = did(panel, area, "all")
        start = truth["areas"][area]["start"]
        pre = [y for y in range(2008, start) if y != BASE]
        assert abs(est.loc[pre].mean()) < 2.5


def test_placebo_areas_show_nothing(panel: pd.DataFrame, truth: dict) -> None:
    placebo = panel["AREA_TYPE"] == "placebo"
    comparison = panel["AREA_TYPE"] == "comparison"
    p, c = _rates(panel, placebo, False), _rates(panel, comparison, False)
    est = (p - c) - (p[BASE] - c[BASE])
    assert abs(est.loc[POST].mean()) < 4.0
    for name in truth["placebo_areas"]:
        assert set(truth["areas"][name]["effect_pp"]["all"].values()) == {0.0}


def test_truth_accounting_adds_up(truth: dict) -> None:
    for area in truth["treated_areas"]:
        spec = truth["areas"][area]
        assert spec["area_type"] == "treated"
        for group in ("all", "newcomers"):
            for year, parts in spec["channels_pp"][group].items():
                total = parts["composition"] + parts["within"]
                assert abs(total - spec["effect_pp"][group][year]) < 1e-3
        assert all(v == 0.0 for y, v in spec["effect_pp"]["all"].items() if int(y) < spec["start"])
    assert truth["base_year"] == 2011 and len(truth["config_fingerprint"]) == 64
    assert "16-64" in truth["estimand"] and "SOC_STATUS_KODE" in truth["estimand"]
