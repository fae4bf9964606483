"""DP-style diagnostics for classic outputs (labelled diagnostics, not guarantees)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kit
from kit.dp.diagnostics import DIAGNOSTIC_LABEL, model_diagnostics, table_diagnostics


@pytest.fixture()
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 400
    return pd.DataFrame({"PNR": np.arange(n), "KOM": rng.choice(["101", "147", "851"], n),
                         "inc": rng.integers(0, 100, n).astype(float), "emp": rng.integers(0, 2, n)})


def test_count_table(frame: pd.DataFrame) -> None:
    t = kit.Session(unit="PNR").table(frame, rows="KOM", stat="count")
    d = table_diagnostics(t)
    assert list(d["KOM"]) == ["101", "147", "851"]
    assert (d["one_person_shift"] == 1).all() and d["changes_rounded"].all()
    assert (d["label"] == DIAGNOSTIC_LABEL).all()
    coarse = table_diagnostics(t, resolution=1000)
    assert not coarse["changes_rounded"].any()


def test_sum_and_mean_tables(frame: pd.DataFrame) -> None:
    frame.loc[0, "inc"] = 10_000.0                # one dominant person
    s = kit.Session(unit="PNR")
    d = table_diagnostics(s.table(frame, rows="KOM", stat="sum", measure="inc"))
    big = d.loc[d["KOM"] == frame.loc[0, "KOM"], "one_person_shift"].iloc[0]
    assert big >= 10_000.0                        # exact top_1, or an upper bound of it
    m = table_diagnostics(s.table(frame, rows="KOM", stat="mean", measure="inc"))
    assert m["changes_rounded"].any()             # unclipped means move by more than 0.01
    r = table_diagnostics(s.table(frame, rows="KOM", stat="rate", measure="emp"))
    assert (r["one_person_shift"] < 0.02).all()


def test_model_diagnostics_match_brute_force() -> None:
    rng = np.random.default_rng(1)
    n = 60
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    y = X @ [1.0, 0.5, -2.0] + rng.normal(size=n)
    y[3] += 8                                        # an influential point
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    d = model_diagnostics(X, y - X @ beta, ["const", "x", "d"])
    brute = np.zeros(3)
    for i in range(n):
        keep = np.arange(n) != i
        b_i = np.linalg.lstsq(X[keep], y[keep], rcond=None)[0]
        brute = np.maximum(brute, np.abs(beta - b_i))
    np.testing.assert_allclose(d["max_abs_dfbeta"], brute, rtol=1e-8)
    resid = y - X @ beta
    s2 = resid @ resid / (n - 3)
    np.testing.assert_allclose(d["se"], np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * s2))
    # leave one person (two rows) out
    groups = np.arange(n) // 2
    g = model_diagnostics(X, resid, ["const", "x", "d"], groups=groups)
    brute_g = np.zeros(3)
    for p in range(n // 2):
        keep = groups != p
        brute_g = np.maximum(brute_g, np.abs(beta - np.linalg.lstsq(X[keep], y[keep], rcond=None)[0]))
    np.testing.assert_allclose(g["max_abs_dfbeta"], brute_g, rtol=1e-8)
    assert (g["max_shift_in_se"] > 0).all()


def test_model_diagnostics_shape_error() -> None:
    with pytest.raises(kit.SpecError):
        model_diagnostics(np.ones((3, 2)), np.ones(4), ["a", "b"])
