"""No spurious OpenDP rho warning on a DP release (issue 22 item 5).

OpenDP logs "rho should be less than or equal to 0.5" when a compositor is built with a larger
loss. The kit built its compositor with the project's remaining budget, so every release of a
project with a budget above 1/2 warned, whatever it spent. The check: the release spends 1/16
(well below OpenDP's advisory level of 1/4), so OpenDP must log nothing at WARNING, and the loss
OpenDP accounts equals the ledger's charge (computed here from the spec, not by the kit).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("opendp")

import kit  # noqa: E402
from kit.dp import BudgetLedger, DPConfig, DPTableSpec, dp_table  # noqa: E402


def _data(n: int = 400) -> object:
    rng = np.random.default_rng(11)
    return pl.DataFrame({"PNR": np.arange(n), "KOM": rng.integers(0, 3, n).astype(str),
                         "emp": rng.integers(0, 2, n)}).lazy()


@pytest.mark.parametrize("cap", ["1", "5"])
def test_release_below_advisory_level_logs_no_opendp_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                            cap: str) -> None:
    ledger = BudgetLedger.create(tmp_path / "budget.jsonl", cap_rho=cap, delta="1e-7", project="t")
    cfg = DPConfig(population=1000, codes={"KOM": ("0", "1", "2")})
    spec = DPTableSpec(name="t_count", dims=("KOM",), statistic="count", rho="1/16", config=cfg)
    session = kit.Session(rules="dst", unit="PNR")
    with caplog.at_level(logging.INFO, logger="opendp"):
        result = dp_table(session, _data(), spec, ledger=ledger)
    opendp_warnings = [r for r in caplog.records if r.name.startswith("opendp") and r.levelno >= logging.WARNING]
    assert opendp_warnings == [], [r.getMessage() for r in opendp_warnings]
    assert ledger.spent_rho == Fraction(1, 16)
    assert result.rho == Fraction(1, 16)
    assert abs(result.opendp_loss[0] - 1 / 16) < 1e-12  # OpenDP's own accounting of what was spent
