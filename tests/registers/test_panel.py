"""The panel builder: joins at the right reference times, UDDA as of each year, area key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.core.schema import ColumnRole
from kit.errors import DataReadError, SchemaError
from kit.registers import build_panel, open_project

# Hand-worked from the fixture's UDDA files (rows only on change):
#   udda2015: 01 -> 1010; 02 -> 1010 (HF_VFRA 2015-06-30) and 2010 (2015-08-01): the later row wins
#   udda2018: 01 -> 6520
#   udda2020: 02 -> 3510; 03 -> 1010
# Education in year t = the latest row from a file of year t or earlier.
EXPECTED_EDUCATION = {
    (2018, "0000000001"): "6520",
    (2018, "0000000002"): "2010",
    (2018, "0000000003"): None,
    (2018, "0000000004"): None,
    (2018, "0000000005"): None,
    (2019, "0000000001"): "6520",
    (2019, "0000000002"): "2010",
    (2019, "0000000003"): None,
    (2019, "0000000004"): None,
    (2020, "0000000001"): "6520",
    (2020, "0000000002"): "3510",
    (2020, "0000000003"): "1010",
    (2020, "0000000004"): None,
}


def _as_dict(data: pd.DataFrame, column: str) -> dict[tuple[int, str], object]:
    return {
        (int(y), str(p)): (None if pd.isna(v) else v)
        for y, p, v in zip(data["YEAR"], data["PNR"], data[column], strict=True)
    }


def test_education_as_of_hand_worked(project_dir: Path) -> None:
    panel = build_panel(open_project(project_dir), [2018, 2019, 2020], status=None, income=None)
    got = {k: (None if v is None else str(v)) for k, v in _as_dict(panel.data, "HFAUDD").items()}
    assert got == EXPECTED_EDUCATION


def test_full_panel(project_dir: Path) -> None:
    project = open_project(project_dir)
    panel = build_panel(
        project,
        [2018, 2020],
        status="ras",
        income=("PERINDKIALT_13", "LOENMV_13"),
        area_key=project.area_key_path(),
        columns=("KOEN", "ALDER", "KOM"),
    )
    data = panel.data
    assert list(data.columns) == [
        "YEAR", "PNR", "KOEN", "ALDER", "KOM", "SOC_STATUS_KODE",
        "PERINDKIALT_13", "LOENMV_13", "HFAUDD", "AREA_ID", "AREA_TYPE",
    ]
    assert len(data) == 5 + 4
    status = _as_dict(data, "SOC_STATUS_KODE")
    assert status[(2018, "0000000002")] == 110
    assert status[(2018, "0000000004")] is None  # not in RAS 2018
    assert status[(2020, "0000000002")] == 200
    income = _as_dict(data, "PERINDKIALT_13")
    assert income[(2018, "0000000001")] == pytest.approx(123456.78)
    assert income[(2020, "0000000004")] is None
    area = _as_dict(data, "AREA_ID")
    assert area[(2018, "0000000001")] == "851-01"
    assert area[(2018, "0000000003")] == "851-02"
    assert area[(2020, "0000000004")] == "147-01"
    assert area[(2018, "0000000005")] is None  # address not in the key
    assert "BOPIKOM" not in data.columns  # used for the join only
    # compact dtypes
    assert data["YEAR"].dtype == np.int16
    assert str(data["KOM"].dtype) == "Int16"
    assert isinstance(data["AREA_TYPE"].dtype, pd.CategoricalDtype)
    assert data["PERINDKIALT_13"].dtype == np.float64
    # schema
    assert panel.schema.unit == "PNR"
    assert panel.schema["YEAR"].role is ColumnRole.TIME
    assert panel.schema["SOC_STATUS_KODE"].role is ColumnRole.DIMENSION
    assert panel.schema["LOENMV_13"].role is ColumnRole.MEASURE
    assert "ras2018.csv" in {s.relpath for s in panel.sources}


def test_akm_status_and_keys(tmp_path: Path) -> None:
    for y in (2010, 2011):
        pd.DataFrame({"PNR": ["a", "b"], "KOM": [101, 851], "BOPIKOM": ["x", "y"]}).to_parquet(
            tmp_path / f"bef{y}.parquet"
        )
        pd.DataFrame({"pnr": ["a", "b"], "socio13": [131, 210 + y - 2010]}).to_csv(
            tmp_path / f"akm{y}.csv", index=False
        )
    panel = build_panel(
        open_project(tmp_path), [2010, 2011], status="akm", income=None, education=None,
        columns=("KOM", "BOPIKOM"),
    )
    assert panel.data["SOCIO13"].tolist() == [131, 210, 131, 211]
    assert panel.schema["BOPIKOM"].role is ColumnRole.KEY


def test_missing_status_year(project_dir: Path) -> None:
    project = open_project(project_dir)
    with pytest.raises(DataReadError, match="register ras 2019: no file for year 2019"):
        build_panel(project, [2018, 2019], income=None, education=None)
    panel = build_panel(project, [2018, 2019], income=None, education=None, allow_missing=True)
    assert panel.data.loc[panel.data["YEAR"] == 2019, "SOC_STATUS_KODE"].isna().all()


def test_duplicate_persons_are_an_error(tmp_path: Path) -> None:
    pd.DataFrame({"PNR": ["0000000001", "0000000001"], "KOM": [1, 2]}).to_csv(
        tmp_path / "bef2010.csv", index=False
    )
    with pytest.raises(SchemaError, match=r"bef2010.csv: 1 rows repeat a value of PNR") as err:
        build_panel(open_project(tmp_path), [2010], status=None, income=None, education=None,
                    columns=("KOM",))
    assert "0000000001" not in str(err.value)


def test_area_key_must_be_unique(project_dir: Path) -> None:
    key = pd.DataFrame({"KOM": [851, 851], "BOPIKOM": ["A1", "A1"], "AREA_ID": ["x", "y"]})
    with pytest.raises(SchemaError, match="area key: 1 rows repeat"):
        build_panel(open_project(project_dir), [2019], status=None, income=None, education=None,
                    area_key=key)


def test_matches_merge_asof(tmp_path: Path) -> None:
    """Random UDDA histories: the year-by-year state equals pandas.merge_asof."""
    rng = np.random.default_rng(7)
    people = [f"{i:010d}" for i in range(300)]
    years = list(range(2010, 2016))
    udda_rows = []
    for y in range(2005, 2016):
        changed = rng.choice(people, size=40, replace=False)
        codes = rng.choice(["1010", "2010", "3510", "6520", "7010"], size=40)
        df = pd.DataFrame({"PNR": changed, "HFAUDD": codes})
        df.to_parquet(tmp_path / f"udda{y}.parquet", index=False)
        udda_rows.append(df.assign(UYEAR=y))
    for y in years:
        pd.DataFrame({"PNR": people, "KOM": 101}).to_parquet(tmp_path / f"bef{y}.parquet", index=False)
    panel = build_panel(open_project(tmp_path), years, status=None, income=None, columns=("KOM",))
    udda = pd.concat(udda_rows).sort_values("UYEAR")
    base = pd.DataFrame([(y, p) for y in years for p in people], columns=["YEAR", "PNR"])
    expected = pd.merge_asof(
        base.sort_values("YEAR"), udda, left_on="YEAR", right_on="UYEAR", by="PNR", direction="backward"
    )
    rows = expected[["YEAR", "PNR", "HFAUDD"]].values
    want = {(int(y), p): (None if pd.isna(v) else v) for y, p, v in rows}
    got = {k: (None if v is None else str(v)) for k, v in _as_dict(panel.data, "HFAUDD").items()}
    assert got == want
