"""File-name patterns, delivery dates and re-run resolution."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.registers import FileFormat, open_project, parse_delivery_date, parse_file_name


@pytest.mark.parametrize(
    ("name", "register", "year", "period", "fmt"),
    [
        ("bef2018.sas7bdat", "bef", 2018, "", FileFormat.SAS7BDAT),
        ("BEF2018.SAS7BDAT", "bef", 2018, "", FileFormat.SAS7BDAT),
        ("bef_2018.csv", "bef", 2018, "", FileFormat.CSV),
        ("bef12_2018.sas7bdat", "bef", 2018, "12", FileFormat.SAS7BDAT),
        ("bef201812.parquet", "bef", 2018, "12", FileFormat.PARQUET),
        ("befbop202112.sas7bdat", "befbop", 2021, "12", FileFormat.SAS7BDAT),
        ("udda2010.xpt", "udda", 2010, "", FileFormat.XPORT),
        ("ind2019.csv.gz", "ind", 2019, "", FileFormat.CSV),
        ("e_fam2015.pq", "e_fam", 2015, "", FileFormat.PARQUET),
    ],
)
def test_file_names(name: str, register: str, year: int, period: str, fmt: FileFormat) -> None:
    parsed = parse_file_name(name)
    assert parsed is not None
    assert (parsed.register, parsed.year, parsed.period, parsed.fmt) == (register, year, period, fmt)


@pytest.mark.parametrize(
    "name",
    ["area_key.csv", "README.txt", "bef.sas7bdat", "bef18.csv", "bef20181.csv", "2018.csv", "bef2018.sas"],
)
def test_not_register_files(name: str) -> None:
    assert parse_file_name(name) is None


@given(
    register=st.from_regex(r"[a-z]{2,8}", fullmatch=True),
    year=st.integers(1900, 2099),
    month=st.one_of(st.none(), st.integers(1, 12)),
)
def test_file_name_round_trip(register: str, year: int, month: int | None) -> None:
    period = "" if month is None else f"{month:02d}"
    parsed = parse_file_name(f"{register}{year}{period}.parquet")
    assert parsed is not None
    assert (parsed.register, parsed.year, parsed.period) == (register, year, period)


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("December_2023", dt.date(2023, 12, 1)),
        ("december 2023", dt.date(2023, 12, 1)),
        ("Dec2023", dt.date(2023, 12, 1)),
        ("rerun_maj_2022", dt.date(2022, 5, 1)),
        ("2023-12", dt.date(2023, 12, 1)),
        ("2023_12_15", dt.date(2023, 12, 15)),
        ("202312", dt.date(2023, 12, 1)),
        ("15-03-2024", dt.date(2024, 3, 15)),
        ("levering_2021", dt.date(2021, 1, 1)),
        ("rerun", None),
        ("new", None),
    ],
)
def test_delivery_dates(folder: str, expected: dt.date | None) -> None:
    assert parse_delivery_date(folder) == expected


def test_inventory(project_dir: Path) -> None:
    project = open_project(project_dir)
    assert project.registers() == ("bef", "ind", "ras", "udda")
    assert project.years("bef") == (2018, 2019, 2020)
    assert project.years("ras") == (2018, 2020)
    assert project.years("BEF") == (2018, 2019, 2020)
    assert project.years("nope") == ()
    assert "area_key.csv" in project.inventory.other_files
    assert len(project.files()) == 11
    assert {f.relpath for f in project.files("bef")} == {
        "December_2023/bef2018.parquet",
        "bef2019.csv",
        "bef2020.xpt",
    }


def test_rerun_wins_and_is_recorded(project_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kit.registers"):
        project = open_project(project_dir)
    src = project.source("bef", 2018)
    assert src.relpath == "December_2023/bef2018.parquet"
    assert src.delivery == "December_2023"
    assert src.delivery_date == dt.date(2023, 12, 1)
    assert src.passed_over == ("bef2018.parquet",)
    assert "newest of 2 deliveries" in src.reason
    assert "December_2023/bef2018.parquet" in caplog.text
    assert project.source("bef", 2019).reason == "the only delivery"
    # the re-run's extra person is read
    assert len(project.read("bef", 2018, ["PNR"]).data) == 5


def test_newest_of_several_reruns(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": ["1"], "X": [1]})
    for folder in ("2023-01", "December_2023", "Juni_2023"):
        (tmp_path / folder).mkdir()
        df.to_csv(tmp_path / folder / "bef2018.csv", index=False)
    df.to_csv(tmp_path / "bef2018.csv", index=False)
    assert open_project(tmp_path).source("bef", 2018).delivery == "December_2023"


def test_undated_rerun_uses_modification_time(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": ["1"], "X": [1]})
    for folder, when in (("rerun_a", 1_600_000_000), ("rerun_b", 1_700_000_000)):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "bef2018.csv"
        df.to_csv(path, index=False)
        os.utime(path, (when, when))
    src = open_project(tmp_path).source("bef", 2018)
    assert src.delivery == "rerun_b"
    assert "modification time" in src.reason


def test_same_delivery_prefers_parquet(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": ["1"], "X": [1]})
    df.to_csv(tmp_path / "bef2018.csv", index=False)
    df.to_parquet(tmp_path / "bef2018.parquet", index=False)
    assert open_project(tmp_path).source("bef", 2018).fmt == "parquet"


def test_periods(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": ["1"], "X": [1]})
    df.to_csv(tmp_path / "bef201803.csv", index=False)
    df.to_csv(tmp_path / "bef201812.csv", index=False)
    project = open_project(tmp_path)
    from kit.errors import DataReadError

    with pytest.raises(DataReadError, match="period="):
        project.read("bef", 2018)
    assert project.source("bef", 2018, period="12").relpath == "bef201812.csv"
    df.to_csv(tmp_path / "bef2018.csv", index=False)
    assert open_project(tmp_path).source("bef", 2018).relpath == "bef2018.csv"
