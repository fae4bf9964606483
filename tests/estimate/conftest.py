"""Shared synthetic panels for the estimator tests (planted effects, small sizes)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import kit


def make_panel(
    n_groups: int = 6,
    n_periods: int = 5,
    per_cell: int = 30,
    effect: float = 0.0,
    treated: tuple[int, ...] = (0,),
    start: int = 2,
    seed: int = 0,
    binary: bool = True,
    covariate: bool = False,
) -> pd.DataFrame:
    """Person-period rows: groups G0.., periods 2010.., persons followed over periods."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        a = rng.normal(0, 0.05)
        size = per_cell + int(rng.integers(0, per_cell // 2 + 1))
        for i in range(size):
            pid = f"{g}-{i}"
            x = rng.normal()
            for t in range(n_periods):
                lam = 0.02 * t
                eff = effect if (g in treated and t >= start) else 0.0
                mu = 0.4 + a + lam + eff + (0.05 * x if covariate else 0.0)
                y = float(rng.random() < mu) if binary else mu + rng.normal(0, 0.3)
                if rng.random() < 0.9:
                    rows.append((pid, f"G{g}", 2010 + t, y, x, "a" if x > 0 else "b"))
    return pd.DataFrame(rows, columns=["PNR", "area", "year", "y", "x", "cat"])


@pytest.fixture
def panel() -> Callable[..., pd.DataFrame]:
    return make_panel


@pytest.fixture
def session() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00", data_label="synthetic")
