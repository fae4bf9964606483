"""Event study: collapsed fit against person-level statsmodels OLS; permutation vs brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import kit
from kit.core.cleared import Flag
from kit.errors import KitError, SchemaError, SpecError
from kit.estimate import event_study


def _sm_effects(df: pd.DataFrame, treated: list[str], base: int, covs: str = "", pooled: bool = False):
    d = df.copy()
    names = []
    years = [k for k in sorted(d["year"].unique()) if k != base]
    for g in [None] if pooled else treated:
        for k in years:
            n = f"D_{g}_{k}"
            d[n] = ((d["area"].isin(treated) if g is None else d["area"] == g) & (d["year"] == k)).astype(
                float
            )
            names.append(n)
    formula = "y ~ C(area) + C(year) + " + " + ".join(names) + covs
    codes = pd.factorize(d["area"])[0]
    res = smf.ols(formula, d).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    return res.params[names].to_numpy(), res.bse[names].to_numpy(), res.pvalues[names].to_numpy()


def _values(res, col):
    c = kit.clear(res)
    i = c.columns.index(col)
    return np.array([r.values[i] for r in c.rows], dtype=float)


@pytest.mark.parametrize("pooled", [False, True])
def test_collapsed_equals_statsmodels(panel, session, pooled):
    df = panel(n_groups=7, n_periods=5, treated=(0, 1), effect=0.1, binary=False)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012, "G1": 2013},
        comparison=[f"G{g}" for g in range(2, 7)],
        base_period=2011,
        pooled=pooled,
        permutations=0,
    )
    b, se, p = _sm_effects(df, ["G0", "G1"], 2011, pooled=pooled)
    np.testing.assert_allclose(_values(res, "estimate"), b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_values(res, "std_error"), se, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_values(res, "p_value"), p, rtol=1e-7, atol=1e-10)


def test_collapsed_with_covariates_equals_statsmodels(panel, session):
    df = panel(n_groups=6, n_periods=4, effect=0.1, binary=False, covariate=True)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012},
        comparison=[f"G{g}" for g in range(1, 6)],
        base_period=2011,
        covariates=["x", "cat"],
        permutations=0,
    )
    b, se, _ = _sm_effects(df, ["G0"], 2011, covs=" + x + C(cat)")
    np.testing.assert_allclose(_values(res, "estimate"), b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_values(res, "std_error"), se, rtol=1e-8, atol=1e-10)


def test_binary_outcome_in_percentage_points(panel, session):
    df = panel(n_groups=6, n_periods=4, effect=0.1)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012},
        comparison=[f"G{g}" for g in range(1, 6)],
        base_period=2011,
        permutations=0,
    )
    b, _, _ = _sm_effects(df, ["G0"], 2011)
    np.testing.assert_allclose(_values(res, "estimate"), 100 * b, rtol=1e-8)
    base = df[(df.area == "G0") & (df.year == 2011)].y.mean() * 100
    np.testing.assert_allclose(_values(res, "pct_of_base"), 100 * (100 * b) / base, rtol=1e-8)
    c = kit.clear(res)
    assert any("percentage points" in n for n in c.notes)
    assert c.rows[0].keys[:3] == (("area", "G0"), ("group", "all"), ("year", "2010"))
    assert c.rows[0].key("event_time") == "-2"


def test_permutation_matches_brute_force(panel, session):
    """p_perm against an independent enumeration with full statsmodels fits (pooled, 2 treated)."""
    df = panel(n_groups=7, n_periods=3, treated=(0, 1), effect=0.15, binary=False, per_cell=12)
    comp = [f"G{g}" for g in range(2, 7)]
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2011, "G1": 2011},
        comparison=comp,
        base_period=2010,
        pooled=True,
        permutations=999,
    )
    obs, _, _ = _sm_effects(df, ["G0", "G1"], 2010, pooled=True)
    placebo = []
    d0 = df[df.area.isin(comp)]
    for pair in itertools.combinations(comp, 2):
        placebo.append(_sm_effects(d0, list(pair), 2010, pooled=True)[0])
    placebo = np.abs(np.array(placebo))
    expected = (1 + (placebo >= np.abs(obs) - 1e-12).sum(axis=0)) / (1 + len(placebo))
    np.testing.assert_allclose(_values(res, "p_perm"), expected, rtol=0, atol=1e-12)
    assert any("all 10 placebo assignments enumerated" in n for n in kit.clear(res).notes)


def test_permutation_seeded_sample_is_reproducible(panel, session):
    df = panel(n_groups=9, n_periods=3, treated=(0, 1), effect=0.1, binary=False, per_cell=10)
    kw = dict(
        treated={"G0": 2011, "G1": 2011},
        comparison=[f"G{g}" for g in range(2, 9)],
        base_period=2010,
        pooled=True,
        permutations=15,
    )
    a = event_study(session, df, "y", "area", "year", seed=3, **kw)
    b = event_study(session, df, "y", "area", "year", seed=3, **kw)
    assert np.array_equal(_values(a, "p_perm"), _values(b, "p_perm"))
    assert any("15 placebo assignments drawn at random" in n for n in kit.clear(a).notes)


def test_flag_uses_permutation_p(panel, session):
    df = panel(n_groups=8, n_periods=4, effect=0.0, binary=False)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012},
        comparison=[f"G{g}" for g in range(1, 8)],
        base_period=2011,
    )
    c = kit.clear(res)
    i = c.columns.index("p_perm")
    for r in c.rows:
        assert (Flag.NOT_DISTINGUISHABLE_FROM_ZERO in r.flags) == (r.values[i] >= 0.05)
    assert any("permutation test is used" in n for n in c.notes)


def test_small_cell_suppresses_dependent_effects(panel, session):
    df = panel(n_groups=6, n_periods=4, effect=0.1)
    # the treated group keeps only 2 persons in 2013
    drop = (df.area == "G0") & (df.year == 2013) & ~df.PNR.isin(["0-0", "0-1"])
    df = df[~drop]
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012},
        comparison=[f"G{g}" for g in range(1, 6)],
        base_period=2011,
        permutations=0,
    )
    c = kit.clear(res)
    by_year = {r.key("year"): r for r in c.rows}
    assert by_year["2013"].suppressed and all(v is None for v in by_year["2013"].values)
    assert not by_year["2012"].suppressed
    assert "DEPENDS_ON_SUPPRESSED" in res.summary()


def test_subgroups_and_all(panel, session):
    df = panel(n_groups=6, n_periods=4, effect=0.1)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2012},
        subgroup="cat",
        comparison=[f"G{g}" for g in range(1, 6)],
        base_period=2011,
        permutations=0,
    )
    groups = {r.key("group") for r in kit.clear(res).rows}
    assert groups == {"all", "a", "b"}


def test_repr_has_no_values(panel, session):
    df = panel(n_groups=5, n_periods=3)
    res = event_study(
        session,
        df,
        "y",
        "area",
        "year",
        treated={"G0": 2011},
        comparison=["G1", "G2", "G3", "G4"],
        base_period=2010,
        permutations=0,
    )
    assert "values hidden" in repr(res)
    c = kit.clear(res)
    assert c.provenance.rule_set_id == "dst" and c.provenance.data_label == "synthetic"
    assert len(c.provenance.spec_fingerprint) == 64


@pytest.mark.parametrize(
    "kw, err",
    [
        (dict(comparison=["G1"]), SpecError),
        (dict(comparison=["G0", "G1"]), SpecError),
        (dict(comparison=["G1", "G9"]), SpecError),
        (dict(base_period=2030), SpecError),
        (dict(cluster="PNR"), SpecError),
    ],
)
def test_bad_specs(panel, session, kw, err):
    df = panel(n_groups=5, n_periods=3)
    args = dict(treated={"G0": 2011}, comparison=["G1", "G2", "G3"], base_period=2010, permutations=0)
    args.update(kw)
    with pytest.raises(err) as info:
        event_study(session, df, "y", "area", "year", **args)
    assert isinstance(info.value, KitError)


def test_treated_without_base_period(panel, session):
    df = panel(n_groups=5, n_periods=3)
    df = df[~((df.area == "G0") & (df.year == 2010))]
    with pytest.raises(SpecError, match="no observations in the base period"):
        event_study(
            session,
            df,
            "y",
            "area",
            "year",
            treated={"G0": 2011},
            comparison=["G1", "G2", "G3"],
            base_period=2010,
            permutations=0,
        )


def test_missing_values_drop_or_raise(panel, session):
    df = panel(n_groups=5, n_periods=3).astype({"y": float})
    df.loc[df.index[:7], "y"] = np.nan
    kw = dict(treated={"G0": 2011}, comparison=["G1", "G2", "G3", "G4"], base_period=2010, permutations=0)
    res = event_study(session, df, "y", "area", "year", **kw)
    assert any("missing values were left out" in n for n in kit.clear(res).notes)
    with pytest.raises(SchemaError, match="7 row") as info:
        event_study(session, df, "y", "area", "year", missing="raise", **kw)
    assert "nan" not in str(info.value).lower()


def test_collinear_covariate(panel, session):
    df = panel(n_groups=5, n_periods=3)
    df["x2"] = 2 * df["x"]
    with pytest.raises(SpecError, match="collinear"):
        event_study(
            session,
            df,
            "y",
            "area",
            "year",
            treated={"G0": 2011},
            covariates=["x", "x2"],
            comparison=["G1", "G2", "G3", "G4"],
            base_period=2010,
            permutations=0,
        )
