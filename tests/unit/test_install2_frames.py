"""``ClearedEstimate.to_frame()`` has unique column names (issue 22 item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import kit
from kit.core.cleared import ClearedEstimate
from kit.estimate.models import model


def _data(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    return pd.DataFrame({"PNR": np.arange(n), "x": x, "g": rng.integers(0, 2, n),
                         "y": 1.0 + 2.0 * x + rng.normal(size=n)})


def test_model_frame_has_one_term_column() -> None:
    session = kit.Session(rules="dst", unit="PNR")
    cleared = kit.clear(model(session, _data(), "y ~ x + C(g)"))
    assert isinstance(cleared, ClearedEstimate)
    frame = cleared.to_frame()
    assert frame.columns.is_unique, list(frame.columns)
    assert list(frame.columns).count("term") == 1
    # the terms are the model's own names (an independent statsmodels-free check: the formula's parts)
    assert set(frame["term"]) == {"Intercept", "x", "C(g)[T.1]"}
    # selecting a column gives a Series (with duplicate names it was a DataFrame)
    assert isinstance(frame["term"], pd.Series)


def test_rates_frame_keeps_its_keys() -> None:
    from kit.estimate.rates import rates

    df = pd.DataFrame({"PNR": np.arange(60), "area": ["a", "b"] * 30, "emp": [0, 1, 1] * 20})
    session = kit.Session(rules="dst", unit="PNR")
    frame = kit.clear(rates(session, df, by="area", outcome="emp")).to_frame()
    assert frame.columns.is_unique
    assert "area" in frame.columns and "term" in frame.columns
