"""Session: distinct units, code lists, margins, weights and bad input."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import kit
from kit.core.evidence import MISSING
from kit.errors import DisclosureError, KitError, SchemaError, SpecError

SECRET_IDS = ["9911223344", "9911223345", "9911223346", "9911223347", "9911223348", "9911223349"]
SECRET_VALUE = 123456.789


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({
        "PNR": SECRET_IDS * 3,
        "KOM": ["101", "147", "851"] * 6,
        "year": [2011] * 6 + [2012] * 6 + [2013] * 6,
        "income": [SECRET_VALUE] * 18,
        "employed": [0, 1] * 9,
        "w": [1.0, 2.0] * 9,
    })


def test_one_person_many_rows_counts_once() -> None:
    df = pd.DataFrame({"PNR": ["a"] * 50 + ["b", "c"], "KOM": ["101"] * 52})
    t = kit.Session("dst", unit="PNR").table(df, rows="KOM")
    assert t.status_frame()["n_units"].tolist() == [3]
    df2 = pd.DataFrame({"PNR": ["a"] * 50 + ["b"], "KOM": ["101"] * 51})
    t2 = kit.Session("dst", unit="PNR").table(df2, rows="KOM")
    assert t2.status_frame()["status"].tolist() == ["PRIMARY"]


def test_code_list_makes_empty_cells_appear_and_unknown_codes_fail(df: pd.DataFrame) -> None:
    t = kit.Session("dst").table(df, rows="KOM", codes={"KOM": ["101", "147", "330", "851"]})
    frame = kit.clear(t).to_frame()
    assert frame["KOM"].tolist() == ["101", "147", "330", "851"]
    assert frame.loc[frame.KOM == "330", "value"].item() == 0
    with pytest.raises(SchemaError, match="not in its public code list"):
        kit.Session("dst").table(df, rows="KOM", codes={"KOM": ["101", "147"]})


def test_missing_dimension_values_become_a_category(df: pd.DataFrame) -> None:
    df = df.copy()
    df["KOM"] = df["KOM"].astype(object)
    df.loc[0, "KOM"] = None
    t = kit.Session("dst").table(df, rows="KOM")
    frame = t.status_frame()
    assert frame["KOM"].tolist() == ["101", "147", "851", MISSING]
    assert frame.loc[frame.KOM == MISSING, "n_units"].item() == 1


def test_nullable_integer_dimension_with_missing_values() -> None:
    """Nullable Int64 columns (as Parquet gives them) keep their missing rows as a category."""
    df = pd.DataFrame({"PNR": range(40), "A": pd.array([1, 2, None, 1] * 10, dtype="Int64")})
    frame = kit.Session("dst").table(df, rows="A").status_frame()
    assert frame["A"].tolist() == ["1", "2", MISSING]
    assert frame["n_units"].tolist() == [20, 10, 10]


def test_narrow_integer_dimensions_with_negative_codes() -> None:
    """int8/int16 codes are offset in their own width; a range that would overflow it is widened."""
    df = pd.DataFrame({"PNR": range(12), "A": np.array([-128, 127, 0] * 4, dtype=np.int8),
                       "B": np.array([-30000, 30000, 5] * 4, dtype=np.int16)})
    for dim, labels in (("A", ["-128", "0", "127"]), ("B", ["-30000", "5", "30000"])):
        frame = kit.Session("dst").table(df, rows=dim).status_frame()
        assert frame[dim].tolist() == labels
        assert frame["n_units"].tolist() == [4, 4, 4]


def test_margins_without_suppression_are_published() -> None:
    # 30 persons, each observed in all three years: every cell has 10 persons
    df = pd.DataFrame({"PNR": list(range(30)) * 3, "KOM": ["101", "147", "851"] * 30,
                       "year": [2011] * 30 + [2012] * 30 + [2013] * 30})
    t = kit.Session("dst").table(df, rows="KOM", cols="year", margins=True)
    frame = kit.clear(t).to_frame()
    totals = frame[(frame.KOM == "Total") & (frame.year == "Total")]
    assert totals["value"].item() == 30  # distinct persons over all years, not 90 rows
    kom = frame[(frame.KOM == "101") & (frame.year == "Total")]
    assert kom["value"].item() == 10


def test_margins_with_suppression_are_never_released_unprotected() -> None:
    df = pd.DataFrame({"PNR": list(range(12)), "KOM": ["101"] * 10 + ["147"] * 2, "S": ["1", "2"] * 6})
    t = kit.Session("dst").table(df, rows="KOM", cols="S", margins=True)
    if not t.assessment.protected:
        with pytest.raises(DisclosureError):
            kit.clear(t)
    else:
        cleared = kit.clear(t)
        assert cleared.n_suppressed >= 2
        assert t.assessment.audit is not None


def test_weighted_estimates_keep_unweighted_thresholds() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"PNR": np.arange(40), "KOM": ["101", "147"] * 20,
                       "employed": rng.integers(0, 2, 40), "w": rng.uniform(0.5, 3.0, 40)})
    df.loc[df.index[:4], "KOM"] = "851"  # two persons in 851
    df.loc[df.index[:2], "KOM"] = "851"
    df.loc[df.index[2:], "KOM"] = df.loc[df.index[2:], "KOM"].replace("851", "101")
    t = kit.Session("dst").table(df, rows="KOM", stat="rate", measure="employed", weight="w")
    frame = kit.clear(t).to_frame(symbols=False)
    sub = df[df.KOM == "101"]
    expected = (sub.w * sub.employed).sum() / sub.w.sum()
    assert frame.loc[frame.KOM == "101", "estimate"].item() == pytest.approx(expected)
    status = t.status_frame().set_index("KOM")
    assert status.loc["851", "n_units"] == 2 and status.loc["851", "status"] == "PRIMARY"
    assert status.loc["101", "status"] == "SAFE"


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"rows": "KOMMUNE"}, SchemaError, "KOMMUNE"),
    ({"rows": "PNR"}, SpecError, "unit column"),
    ({"rows": "KOM", "stat": "mean", "measure": "KOM"}, SpecError, "also a dimension"),
    ({"rows": "KOM", "stat": "sum", "measure": "KOM2"}, SchemaError, "KOM2"),
    ({"rows": "KOM", "stat": "median"}, SpecError, "median"),
    ({"rows": "KOM", "colour": "red"}, SpecError, "colour"),
    ({"rows": "KOM", "stat": "rate", "measure": "income"}, SchemaError, "other than 0 and 1"),
])
def test_bad_input_gets_a_clear_error_without_data(df: pd.DataFrame, kwargs: dict, error: type,
                                                    fragment: str) -> None:
    with pytest.raises(error) as info:
        kit.Session("dst").table(df, **kwargs)
    message = str(info.value)
    assert fragment in message and "Fix:" in message
    assert not any(secret in message for secret in SECRET_IDS)
    assert "123456" not in message


def test_more_bad_input(df: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="empty"):
        kit.Session("dst").table(df.iloc[:0], rows="KOM")
    bad = df.copy()
    bad["w"] = -1.0
    with pytest.raises(SchemaError, match="negative"):
        kit.Session("dst").table(bad, rows="KOM", stat="mean", measure="income", weight="w")
    bad = df.copy()
    bad["PNR"] = bad["PNR"].astype(object)
    bad.loc[3, "PNR"] = None
    with pytest.raises(SchemaError, match="no unit id"):
        kit.Session("dst").table(bad, rows="KOM")
    bad = df.copy()
    bad["income"] = "x"
    with pytest.raises(SchemaError, match="not numeric"):
        kit.Session("dst").table(bad, rows="KOM", stat="sum", measure="income")
    many = pd.DataFrame({"PNR": range(3000), "ID2": range(3000)})
    with pytest.raises(SpecError, match="probably an identifier"):
        kit.Session("dst").table(many, rows="ID2")
    keys = pd.DataFrame({"PNR": range(10), "BOPIKOM": [1, 2] * 5})
    with pytest.raises(SpecError, match="identifier or key"):
        kit.Session("dst").table(keys, rows="BOPIKOM")


def test_reprs_and_logs_show_no_values(df: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    s = kit.Session("dst")
    t = s.table(df, rows="KOM", stat="sum", measure="income")
    texts = [repr(s), repr(t), str(t), repr(t.evidence), repr(t.assessment), repr(kit.clear(t)), caplog.text]
    for text in texts:
        assert "123456" not in text and "9911223" not in text


def test_cleared_types_cannot_be_built_directly() -> None:
    with pytest.raises(DisclosureError):
        kit.ClearedTable(name="t", title="", statistic="count", dims=("A",), value_columns=("value",),
                         rows=(), notes=(), symbol="x", provenance=None)
    with pytest.raises(DisclosureError):
        kit.clear(pd.DataFrame({"a": [1]}))


def test_same_inputs_same_cleared_output(df: pd.DataFrame) -> None:
    a = kit.clear(kit.Session("dst", created="2026-01-01T00:00:00+00:00").table(df, rows="KOM"))
    b = kit.clear(kit.Session("dst", created="2026-01-01T00:00:00+00:00").table(df, rows="KOM"))
    assert a == b
    assert a.provenance is not None and a.provenance.rule_set_id == "dst"


def test_kit_errors_are_kit_errors() -> None:
    assert issubclass(SchemaError, KitError) and issubclass(DisclosureError, KitError)
    assert np.isfinite(1.0)


def test_margins_without_a_protected_pattern_fail_closed() -> None:
    """A one-unit cell inside a primary total: no pattern is found, so the margins are refused."""
    df = pd.DataFrame({"PNR": range(9), "R": ["r0"] * 6 + ["r1"] * 3, "C": ["c0"] + ["c1"] * 8})
    table = kit.Session("dst").table(df, rows="R", cols="C", margins=True)
    if table.verdict is kit.Verdict.FAIL:
        assert any(r.code is kit.ReasonCode.AUDIT_FAILED for r in table.assessment.table_reasons)
        with pytest.raises(DisclosureError):
            kit.clear(table)
    else:  # a protected pattern was found: it must have passed the audit
        assert table.assessment.protected and table.assessment.audit is not None
        assert kit.clear(table).n_suppressed >= 2
    # the same table without margins needs no secondary suppression and clears
    plain = kit.Session("dst").table(df, rows="R", cols="C")
    assert kit.clear(plain).n_suppressed >= 1
