"""model()'s fast design path: categorical columns handed to patsy as pandas.Categorical.

The design matrix, its column names, the rows used and the estimates must be
exactly those of plain statsmodels on the original data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import kit
from kit.errors import SpecError
from kit.estimate import model
from kit.estimate.models import ModelSpec, _build, categorical_columns


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 3000
    df = pd.DataFrame({
        "PNR": np.arange(n),
        "y": rng.normal(size=n),
        "area": rng.choice(["b", "a", "c", "A", "é"], n),
        "year": rng.integers(2008, 2015, n),
        "sex": rng.integers(0, 2, n).astype(str),
        "age": rng.integers(16, 65, n).astype(float),
        "obj": pd.Series(rng.choice(["x", "y"], n), dtype=object),
        "cat": pd.Categorical(rng.choice(["p", "q", "r"], n), categories=["r", "q", "p", "unused"]),
    })
    df.loc[3, "area"] = None
    df.loc[7, "obj"] = np.nan
    df.loc[9, "age"] = np.nan
    return df


FORMULAS = [
    "y ~ age + C(sex) + C(area) + C(year)",
    "y ~ C(area) * C(year) + obj",
    "y ~ year + C(year)",
    "y ~ C(area, Treatment('b')) + C(year, levels=[2008, 2009, 2010, 2011, 2012, 2013, 2014])",
    "y ~ np.log(age) + C(sex):C(year) - 1",
    "y ~ area + obj:C(year) + C(cat)",
    "y ~ C(C(area)) + cat",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_design_equals_plain_statsmodels(frame: pd.DataFrame, formula: str) -> None:
    ref = smf.ols(formula, frame, missing="drop")
    ours = _build(ModelSpec(formula=formula), frame, "test")
    assert ours.exog_names == ref.exog_names
    assert np.array_equal(ours.exog, ref.exog) and np.array_equal(ours.endog, ref.endog)
    assert np.array_equal(np.asarray(ours.data.row_labels), np.asarray(ref.data.row_labels))


def test_which_columns_are_converted(frame: pd.DataFrame) -> None:
    assert sorted(categorical_columns("y ~ age + C(sex) + C(area) + C(year)", frame)) == ["area", "sex", "year"]
    assert categorical_columns("y ~ year + C(year)", frame) == []            # year is also numeric
    assert categorical_columns("y ~ C(year, levels=[2008, 2009])", frame) == []
    assert categorical_columns("y ~ C(age) + C(cat)", frame) == []           # floats and Categoricals stay
    assert categorical_columns("y ~ obj", frame) == ["obj"]                  # bare text is categorical anyway


def test_cluster_model_equals_statsmodels_with_fast_path(frame: pd.DataFrame) -> None:
    df = frame.dropna().reset_index(drop=True)
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    formula = "y ~ age + C(sex) + C(area) + C(year)"
    res = kit.clear(model(s, df, formula, cov="cluster", cluster="area"))
    ref = smf.ols(formula, df).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(df["area"])[0]})
    est = np.array([r.values[0] for r in res.rows], dtype=float)
    se = np.array([r.values[1] for r in res.rows], dtype=float)
    np.testing.assert_allclose(est, ref.params.to_numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(se, ref.bse.to_numpy(), rtol=1e-8, atol=1e-10)
    assert [r.term for r in res.rows] == list(ref.params.index)


def _user_function(x: np.ndarray) -> np.ndarray:
    return x * 2


def test_formula_namespace_is_unchanged(frame: pd.DataFrame) -> None:
    s = kit.Session("dst", unit="PNR")
    df = frame.dropna().reset_index(drop=True)
    model(s, df, "y ~ np.log(age) + C(area)")                 # numpy is visible, as before
    with pytest.raises(SpecError):                             # the caller's names are not, as before
        model(s, df, "y ~ _user_function(age) + C(area)")
