"""Codes that print alike but differ in type are refused, never two cells with one label (issue 22)."""

from __future__ import annotations

import pandas as pd
import pytest

import kit
from kit.errors import SchemaError


def test_number_and_text_with_the_same_print_are_refused() -> None:
    df = pd.DataFrame({"PNR": range(8), "KOM": [1, 1, 1, 1, "1", "1", "1", "1"]})
    session = kit.Session(rules="dst", unit="PNR")
    with pytest.raises(SchemaError, match="print as only 1 codes") as info:
        session.table(df, rows="KOM", stat="count")
    assert "astype(str)" in str(info.value)


def test_one_type_is_accepted() -> None:
    df = pd.DataFrame({"PNR": range(8), "KOM": ["1"] * 4 + ["2"] * 4})
    frame = kit.clear(kit.Session(rules="dst", unit="PNR").table(df, rows="KOM", stat="count")).to_frame()
    assert frame["KOM"].tolist() == ["1", "2"]
    assert frame["value"].tolist() == [4.0, 4.0]
