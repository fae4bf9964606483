"""Issue 24, item 5: the checker sees how much value secondary suppression hid, and which share.

The figures are computed here from the output file's own statuses and values (independent of
``kit.protect``) and compared with what ``kit check`` put on the assessment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kit.external.check import check_table

sys.path.insert(0, str(Path(__file__).parent))
from test_supp_scale import wage_table


def test_kit_check_reports_the_suppressed_value_and_share() -> None:
    df, _, _ = wage_table()
    res = check_table(df, ["R", "C"], "n", "dst", value="wage", top1="top1", top2="top2")
    out = res.frame
    secondary = (out.status == "SECONDARY").to_numpy()
    assert secondary.any()
    hidden = float(out.wage[secondary].sum())
    total = float(out.wage[(out.R == "Total") & (out.C == "Total")].iloc[0])
    a = res.assessment
    assert a.suppressed_value == pytest.approx(hidden, rel=1e-12)
    assert a.suppressed_share == pytest.approx(hidden / total, rel=1e-9)
    line = res.suppression_summary
    assert f"{100 * hidden / total:.2f} %" in line
    assert np.isfinite(a.suppressed_share)
