"""The hand-worked reference case in worksheet_kom_sex.md."""

from __future__ import annotations

import pandas as pd
import pytest

import kit
from kit.core.status import CellStatus, ReasonCode

ROWS = [
    ("p1", "A", "1", 100), ("p1", "A", "1", 50), ("p2", "A", "1", 20), ("p3", "A", "1", 30),
    ("p4", "A", "2", 500), ("p5", "A", "2", 10), ("p6", "B", "1", 40), ("p7", "B", "1", 60),
    ("p8", "B", "1", 70), ("p9", "B", "2", 5),
]


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["PNR", "KOM", "SEX", "income"])


def _statuses(table: kit.session.Table) -> dict[tuple[str, str], tuple[str, set[str]]]:  # type: ignore[name-defined]
    frame = table.status_frame()
    out = {}
    for _, row in frame.iterrows():
        codes = {part.split(" ")[0] for part in row["reasons"].split("; ") if part}
        out[(row["KOM"], row["SEX"])] = (row["status"], codes)
    return out


def test_count_table_dst(df: pd.DataFrame) -> None:
    t = kit.Session("dst", unit="PNR").table(df, rows="KOM", cols="SEX")
    got = _statuses(t)
    assert got[("A", "1")] == ("SAFE", set())
    assert got[("A", "2")] == ("PRIMARY", {"BELOW_MIN_UNITS"})
    assert got[("B", "1")] == ("SAFE", set())
    assert got[("B", "2")] == ("PRIMARY", {"BELOW_MIN_UNITS"})
    cleared = kit.clear(t).to_frame(symbols=False)
    values = {(r.KOM, r.SEX): r.value for r in cleared.itertuples()}
    assert values[("A", "1")] == 3  # distinct units, not 4 rows
    assert values[("B", "1")] == 3
    assert pd.isna(values[("A", "2")]) and pd.isna(values[("B", "2")])


def test_sum_table_dst_enterprise_dominance(df: pd.DataFrame) -> None:
    t = kit.Session("dst", unit="PNR", unit_type="enterprise").table(
        df, rows="KOM", cols="SEX", stat="sum", measure="income")
    got = _statuses(t)
    assert got[("A", "1")] == ("PRIMARY", {"DOMINANCE"})
    assert got[("B", "1")] == ("SAFE", set())
    assert got[("A", "2")][1] == {"BELOW_MIN_UNITS", "DOMINANCE"}
    person = kit.Session("dst", unit="PNR", unit_type="person").table(
        df, rows="KOM", cols="SEX", stat="sum", measure="income")
    assert _statuses(person)[("A", "1")] == ("SAFE", set())
    values = {(r.KOM, r.SEX): r.value for r in kit.clear(person).to_frame(symbols=False).itertuples()}
    assert values[("A", "1")] == 200 and values[("B", "1")] == 170


def test_sum_table_sacro(df: pd.DataFrame) -> None:
    t = kit.Session("sacro", unit="PNR").table(df, rows="KOM", cols="SEX", stat="sum", measure="income")
    got = _statuses(t)
    assert all(status == "PRIMARY" for status, _ in got.values())
    assert got[("B", "1")][1] == {"BELOW_MIN_UNITS"}  # p % passes: 40 >= 7; dominance 0.76 passes
    assert got[("A", "1")][1] == {"BELOW_MIN_UNITS", "DOMINANCE"}  # 0.90 fails at exactly 0.90


def test_means_over_records(df: pd.DataFrame) -> None:
    t = kit.Session("dst", unit="PNR").table(df, rows="KOM", cols="SEX", stat="mean", measure="income")
    frame = kit.clear(t).to_frame(symbols=False)
    est = {(r.KOM, r.SEX): r.estimate for r in frame.itertuples()}
    assert est[("A", "1")] == pytest.approx(50.0)
    assert est[("B", "1")] == pytest.approx(170 / 3)
    assert t.assessment.statuses[0] is CellStatus.SAFE
    assert ReasonCode.BELOW_MIN_UNITS in {r.code for rs in t.assessment.reasons for r in rs}
