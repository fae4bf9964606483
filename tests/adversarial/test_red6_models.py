"""Red team 6: cluster-robust errors with a cluster of one person.

CR1 with clusters g: V = c (X'X)^-1 [sum_g (X_g'u_g)(X_g'u_g)'] (X'X)^-1. For ``y ~ 1`` with two
clusters, the cluster sums of residuals are +-(y_Z - mean) when cluster Z holds one person, so the
published standard error gives |y_Z - mean| and the intercept gives the mean: two candidates, one
of them her value. The attacker's own algebra below uses only the published numbers and N.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError
from kit.estimate import model

SECRET = 987654.25


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 40
    df = pd.DataFrame({"PNR": np.arange(1000, 1000 + n), "y": rng.normal(300, 50, n).round(2)})
    df["c"] = "A"
    df.loc[0, "c"] = "Z"  # a cluster holding one person
    df.loc[0, "y"] = SECRET
    return df


def test_cluster_of_one_person_does_not_give_her_value() -> None:
    df = _data()
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    res = model(s, df, "y ~ 1", cov="cluster", cluster="c")
    try:
        f = kit.clear(res).to_frame()
    except DisclosureError:
        return
    b, se = float(f.estimate[0]), float(f.std_error[0])
    n, g = len(df), 2
    c = g / (g - 1) * (n - 1) / (n - 1)
    dev = se * n / np.sqrt(2 * c)
    candidates = (b + dev, b - dev)
    assert not any(abs(v - SECRET) < 1e-3 for v in candidates)


@pytest.mark.parametrize("eps", [1e-4, 1e-6, 1e-9, 1e-12])
def test_dummy_hidden_in_a_near_copy_of_a_regressor(eps: float) -> None:
    """``y ~ z + x`` with ``x = z`` except ``x = z + eps`` on her row.

    ``x - z = eps d`` is her dummy, so her row fits exactly and the published coefficients give
    ``y_0 = Intercept + b_z z_0 + b_x x_0``. No column is sparse (``x`` takes n distinct values) and
    the isolation check's basis came from the Gram matrix's eigenvalues with a 1e-10 cut-off, which
    dropped the direction (eigenvalue ~ eps^2 / n) that the fit still used.
    """
    rng = np.random.default_rng(7)
    n = 60
    df = pd.DataFrame({"PNR": np.arange(55501200, 55501200 + n), "y": rng.normal(300.0, 50.0, n).round(2),
                       "z": rng.normal(size=n)})
    df.loc[0, "y"] = SECRET
    df["x"] = df["z"]
    df.loc[0, "x"] = df.loc[0, "z"] + eps
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    try:
        f = kit.clear(model(s, df, "y ~ z + x")).to_frame()
    except DisclosureError:
        return
    est = dict(zip(f["term"], f["estimate"].astype(float), strict=True))
    fitted = est["Intercept"] + est["z"] * df.loc[0, "z"] + est["x"] * df.loc[0, "x"]
    assert abs(fitted - SECRET) > 1e-3 * SECRET


def test_wls_where_only_her_weight_differs() -> None:
    """WLS ``y ~ 1`` with weight 1 for everyone and 2 for her: ``w - 1 = e_her`` is in the span of
    ``[1, W X]``. The score equation gives ``sum w y = b0 sum w``; with the weighted count
    (``sum w``) and the plain sum of y, both ordinary published tables, ``y_her = b0 sum w - sum y``.
    """
    rng = np.random.default_rng(7)
    n = 60
    df = pd.DataFrame({"PNR": np.arange(55501200, 55501200 + n), "y": rng.normal(300.0, 50.0, n).round(2),
                       "g": "all", "w": 1.0})
    df.loc[0, "y"] = SECRET
    df.loc[0, "w"] = 2.0
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    sum_w = kit.clear(s.table(df, rows=["g"], stat="count", weight="w", margins=False, name="sw")).to_frame()
    sum_y = kit.clear(s.table(df, rows=["g"], stat="sum", measure="y", margins=False, name="sy")).to_frame()
    try:
        f = kit.clear(model(s, df, "y ~ 1", family="wls", weights="w")).to_frame()
    except DisclosureError:
        return
    recovered = float(f["estimate"][0]) * float(sum_w["value"][0]) - float(sum_y["value"][0])
    assert abs(recovered - SECRET) > 1e-3 * SECRET
