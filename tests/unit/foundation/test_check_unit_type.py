"""kit check: dominance applies only to the unit types its rule names (issue 22)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kit.errors import SpecError
from kit.external.check import check_table


def _income_table() -> pd.DataFrame:
    return pd.DataFrame({"KOM": ["101", "147", "851"], "n": [40, 25, 31], "income": [1.2e7, 8.1e6, 9.9e6]})


def test_person_income_table_needs_no_largest_contributions_under_dst() -> None:
    checked = check_table(_income_table(), dims=["KOM"], count="n", value="income", rules="dst",
                          unit_type="person", derive_margins=False)
    assert list(checked.frame["status"]) == ["SAFE", "SAFE", "SAFE"]


def test_enterprise_income_table_still_needs_them(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="for enterprise units"):
        check_table(_income_table(), dims=["KOM"], count="n", value="income", rules="dst",
                    unit_type="enterprise", derive_margins=False)
