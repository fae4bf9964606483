"""model(): coefficients and SEs against plain statsmodels; checks; bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import kit
from kit.errors import DisclosureError, SchemaError, SpecError
from kit.estimate import model


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 600
    area = rng.choice(["a", "b", "c", "d", "e", "f"], n)
    x = rng.normal(size=n)
    eta = -0.3 + 0.8 * x + (area == "b") * 0.5
    return pd.DataFrame(
        {
            "PNR": np.arange(n),
            "area": area,
            "x": x,
            "w": rng.uniform(0.5, 2, n),
            "y": 1 + 0.5 * x + rng.normal(size=n),
            "b": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
            "c": rng.poisson(np.exp(0.2 + 0.3 * x)).astype(float),
        }
    )


def _vals(res, col):
    c = kit.clear(res)
    i = c.columns.index(col)
    return np.array([r.values[i] for r in c.rows], dtype=float)


CASES = [
    ("ols", "y ~ x + C(area)", smf.ols, {}),
    ("wls", "y ~ x + C(area)", smf.wls, {"weights": "w"}),
    ("logit", "b ~ x + C(area)", smf.logit, {}),
    ("probit", "b ~ x + C(area)", smf.probit, {}),
    ("poisson", "c ~ x + C(area)", smf.poisson, {}),
]


@pytest.mark.parametrize("family, formula, maker, extra", CASES)
@pytest.mark.parametrize("cov", ["nonrobust", "HC1", "cluster"])
def test_against_statsmodels(data, family, formula, maker, extra, cov):
    s = kit.Session("dst", unit="PNR")
    kw = {}
    if "weights" in extra:
        kw["weights"] = data["w"].to_numpy()
    mod = maker(formula, data, **kw)
    fit_kw = {"disp": 0} if family in ("logit", "probit", "poisson") else {}
    if cov == "cluster":
        fit_kw.update(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["area"])[0]})
    elif cov == "HC1":
        fit_kw.update(cov_type="HC1")
    ref = mod.fit(**fit_kw)
    res = model(
        s,
        data,
        formula,
        family=family,
        cov=cov,
        cluster="area" if cov == "cluster" else None,
        weights=extra.get("weights"),
    )
    np.testing.assert_allclose(_vals(res, "estimate"), ref.params.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_vals(res, "std_error"), ref.bse.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_vals(res, "p_value"), ref.pvalues.to_numpy(), rtol=1e-7, atol=1e-12)
    ci = ref.conf_int().to_numpy()
    np.testing.assert_allclose(_vals(res, "ci_low"), ci[:, 0], rtol=1e-8, atol=1e-10)


def test_term_with_few_units_blocks_the_model(data):
    # a suppressed level coefficient would follow from the others and the public total: the model is refused
    d = data.copy()
    d.loc[:1, "area"] = "tiny"  # two persons
    s = kit.Session("dst", unit="PNR")
    res = model(s, d, "y ~ x + C(area)")
    with pytest.raises(DisclosureError, match="TERM_TOO_FEW_UNITS"):
        kit.clear(res)
    assert "TERM_TOO_FEW_UNITS" in res.summary()


def test_binary_outcome_class_check(data):
    d = data.copy()
    # area g: 10 persons, only 2 with outcome 1
    d.loc[:9, "area"] = "g"
    d.loc[:9, "b"] = 0.0
    d.loc[:1, "b"] = 1.0
    res = model(kit.Session("dst", unit="PNR"), d, "b ~ x + C(area)", family="logit")
    with pytest.raises(DisclosureError, match="TERM_TOO_FEW_UNITS"):
        kit.clear(res)
    assert "outcome class 1" in res.summary()


def test_repeated_units_count_once(data):
    d = data.copy()
    d.loc[:5, "area"] = "tiny"
    d.loc[:5, "PNR"] = 0  # six rows, one person
    res = model(kit.Session("dst", unit="PNR"), d, "y ~ x + C(area)")
    with pytest.raises(DisclosureError, match="TERM_TOO_FEW_UNITS"):
        kit.clear(res)
    d.loc[:5, "PNR"] = [0, 1, 2, 0, 1, 2]  # six rows, three persons: enough
    kit.clear(model(kit.Session("dst", unit="PNR"), d, "y ~ x + C(area)"))


def test_dof_blocks(data):
    res = model(kit.Session("dst", unit="PNR"), data.iloc[:14], "y ~ x + C(area)")
    with pytest.raises(DisclosureError, match="DOF_TOO_LOW"):
        kit.clear(res)


def test_no_unit_level_attributes(data):
    res = model(kit.Session("dst", unit="PNR"), data, "y ~ x")
    for v in vars(res).values():
        assert not hasattr(v, "resid") and not isinstance(v, (pd.DataFrame, pd.Series))
        assert not (isinstance(v, np.ndarray) and v.size >= len(data))


def test_report_terms(data):
    res = model(kit.Session("dst", unit="PNR"), data, "y ~ x + C(area)", report_terms=["x"])
    assert [r.term for r in kit.clear(res).rows] == ["x"]


def test_collinearity(data):
    d = data.assign(x2=2 * data["x"])
    with pytest.raises(SpecError, match="collinear"):
        model(kit.Session("dst", unit="PNR"), d, "y ~ x + x2")
    with pytest.raises(SpecError, match="collinear"):
        model(kit.Session("dst", unit="PNR"), d, "b ~ x + x2", family="logit")


def test_separation(data):
    d = data.assign(b=(data["x"] > 0).astype(float))
    with pytest.raises(SpecError, match="separation"):
        model(kit.Session("dst", unit="PNR"), d, "b ~ x", family="logit")


def test_constant_outcome(data):
    with pytest.raises(SpecError, match="constant"):
        model(kit.Session("dst", unit="PNR"), data.assign(y=1.0), "y ~ x")


def test_missing_drop_and_raise(data):
    d = data.copy()
    d.loc[:6, "x"] = np.nan
    res = model(kit.Session("dst", unit="PNR"), d, "y ~ x")
    assert any("missing values were left out" in n for n in kit.clear(res).notes)
    assert kit.clear(res).n_reported.startswith("595")
    with pytest.raises(SchemaError, match="7 row"):
        model(kit.Session("dst", unit="PNR"), d, "y ~ x", missing="raise")


def test_bad_formula(data):
    with pytest.raises(SpecError, match="formula"):
        model(kit.Session("dst", unit="PNR"), data, "y ~ nosuchcolumn")
    with pytest.raises(SpecError):
        model(kit.Session("dst", unit="PNR"), data, "y ~ x", cov="cluster")
