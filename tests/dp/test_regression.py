"""DP regression from noisy sufficient statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("opendp")
pl = pytest.importorskip("polars")

import kit  # noqa: E402
from kit.core.cleared import EstimateKind  # noqa: E402
from kit.dp import BudgetLedger, DPConfig, DPRegressionSpec, dp_regression  # noqa: E402


def test_dp_regression_recovers_coefficients(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 50_000
    x1 = rng.integers(0, 50, n)
    x2 = rng.integers(0, 2, n)
    y = np.rint(10 + 2 * x1 + 5 * x2 + rng.normal(0, 10, n)).astype(np.int64)
    df = pl.DataFrame({"PNR": np.arange(n), "y": y, "x1": x1, "x2": x2})
    ledger = BudgetLedger.create(tmp_path / "b.jsonl", cap_rho="1")
    cfg = DPConfig(population=100_000, clip={"y": (-50, 250), "x1": (0, 50), "x2": (0, 1)})
    spec = DPRegressionSpec(name="reg", outcome="y", predictors=("x1", "x2"), rho="1/2", config=cfg)
    r = dp_regression(kit.Session(unit="PNR"), df, spec, ledger)
    cleared = kit.clear(r)
    assert cleared.kind is EstimateKind.DP_REGRESSION
    coefs = {row.term: row.values for row in cleared.rows}
    for term, truth in (("const", 10.0), ("x1", 2.0), ("x2", 5.0)):
        coef, _se, lo, hi, _ = coefs[term]
        assert lo < hi and abs(coef - truth) <= 2 * (hi - lo)   # OpenDP noise is not seedable: be tolerant
    assert ledger.spent_rho == spec.rho_exact
    assert abs(r.opendp_loss[0] - 0.5) < 1e-12
