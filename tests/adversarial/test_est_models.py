"""Attacks on regression models (issue 18), each with the attacker's own algebra.

The attacker knows one person's regressors (e.g. that only she has d = 1) and reads the published
coefficients; each test asserts the published numbers no longer give her value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError, SpecError
from kit.estimate import model

SECRET = 987654.25


@pytest.fixture
def s() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    d = pd.DataFrame({
        "PNR": np.arange(55501200, 55501200 + n),
        "y": rng.normal(300.0, 50.0, n).round(2),
        "g": rng.choice(["A", "B", "C"], n),
        "x": rng.integers(0, 3, n).astype(float),
        "z": rng.normal(size=n),
    })
    d.loc[0, "y"] = SECRET
    d["d"] = 0.0
    d.loc[0, "d"] = 1.0
    d.loc[0, "g"] = "Z"  # the only person in level Z
    return d


def _coefs(res) -> dict[str, float] | None:
    try:
        c = kit.clear(res)
    except DisclosureError:
        return None
    return {r.term: r.values[0] for r in c.rows if not r.suppressed}


def _released(s, df, formula, **kw):
    """The published coefficients, or None when the kit refuses (SpecError) or blocks (DisclosureError)."""
    try:
        return _coefs(model(s, df, formula, **kw))
    except SpecError:
        return None


def test_numeric_dummy(s, df):
    # attacker: Intercept + d = her value
    c = _released(s, df, "y ~ d")
    assert c is None or not ("Intercept" in c and "d" in c and np.isclose(c["Intercept"] + c["d"], SECRET))


def test_categorical_dummy_intercept_and_mean_table(s, df):
    # attacker: Intercept = mean of everyone else; with the mean and n of the mean table: n*mean - (n-1)*Intercept
    n, mean = len(df), df["y"].mean()
    for f in ["y ~ C(d)", "y ~ I(d * 1.0)", "y ~ I((g == 'Z') * 1)"]:
        c = _released(s, df, f)
        assert c is None or "Intercept" not in c or not np.isclose(n * mean - (n - 1) * c["Intercept"], SECRET), f


@pytest.mark.parametrize("contrast", ["Sum", "Helmert", "Diff", "Poly"])
def test_contrast_codings(s, df, contrast):
    # attacker: the level means follow from the coefficients and the public contrast matrix
    from patsy.contrasts import Diff, Helmert, Poly, Sum

    c = _released(s, df, f"y ~ C(g, {contrast})")
    if c is None:
        return
    levels = ["A", "B", "C", "Z"]
    cm = {"Sum": Sum, "Helmert": Helmert, "Diff": Diff, "Poly": Poly}[contrast]().code_without_intercept(levels)
    beta = np.array([c[k] for k in c if k != "Intercept"])
    means = c["Intercept"] + cm.matrix @ beta
    assert not np.isclose(means[3], SECRET)


def test_saturated_polynomial(s, df):
    # x takes 3 values; one value is held by her alone: y ~ x + I(x**2) fits the 3 means exactly
    d = df.copy()
    d["x"] = np.where(np.arange(len(d)) % 2 == 0, 0.0, 1.0)
    d.loc[0, "x"] = 5.0
    c = _released(s, d, "y ~ x + I(x**2)")
    assert c is None or not np.isclose(c["Intercept"] + 5 * c["x"] + 25 * c["I(x ** 2)"], SECRET)


def test_key_in_formula_is_refused_before_patsy(s, df):
    for f in ["y ~ I(PNR == 55501200)", "y ~ PNR", "y ~ C(PNR)", "y ~ Q('PNR')"]:
        with pytest.raises(SpecError, match="key column"):
            model(s, df, f)


def test_identifier_like_text_column_is_refused(s):
    n = 1500
    d = pd.DataFrame({"PNR": range(n), "y": np.arange(n, dtype=float) % 7, "name": [f"p{i}" for i in range(n)]})
    with pytest.raises(SpecError, match="distinct values"):
        model(s, d, "y ~ name")


def test_patsy_message_does_not_quote_data(s, df):
    # levels= that miss a level of the data: patsy's own message quotes the observed value
    d = df.copy()
    d["g"] = d["g"].replace({"A": "Secret_Label_Q"})
    with pytest.raises(SpecError) as e:
        model(s, d, "y ~ C(g, levels=['B', 'C', 'Z'])")
    assert "Secret_Label_Q" not in str(e.value)


def test_identical_values_in_a_group(s, df):
    # 3 persons in level W with the same value: the OLS group coefficient gives each one's value
    d = df.copy()
    d.loc[0, "g"] = "A"
    d.loc[1:3, "g"] = "W"
    d.loc[1:3, "y"] = 4242.0
    c = _released(s, d, "y ~ C(g)")
    assert c is None or "C(g)[T.W]" not in c or not np.isclose(c["Intercept"] + c["C(g)[T.W]"], 4242.0)


def test_interaction_cell_of_one(s, df):
    d = df.copy()
    d["h"] = np.where(np.arange(len(d)) % 2 == 0, "u", "v")
    d.loc[0, "g"] = "A"
    # make (A, u) hold one person only
    a_u = d.index[(d["g"] == "A") & (d["h"] == "u")]
    d.loc[a_u[1:], "h"] = "v"
    c = _released(s, d, "y ~ C(g) * C(h)")
    assert c is None


def test_wls_zero_weights_refused(s, df):
    d = df.assign(w=1.0)
    d.loc[1:, "w"] = 0.0
    with pytest.raises(Exception, match="zero or negative"):
        model(s, d, "y ~ z", family="wls", weights="w")
