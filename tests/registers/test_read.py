"""Reading register-years: formats, names, renames, codes, filters, schemas, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.core.schema import ColumnRole
from kit.errors import DataReadError, KitError, SchemaError
from kit.registers import open_project
from kit.registers.readers import type_text_columns

SAS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "sas7bdat"


@pytest.mark.parametrize("year", [2018, 2019, 2020])
def test_every_format_reads_the_same(project_dir: Path, year: int) -> None:
    project = open_project(project_dir)
    frame = project.read("bef", year, columns=["pnr", "KOM", "Alder", "BOPIKOM"])
    df = frame.data
    assert list(df.columns) == ["PNR", "KOM", "ALDER", "BOPIKOM"]
    assert df["PNR"].tolist()[:4] == [f"000000000{i}" for i in range(1, 5)]
    assert df["KOM"].astype(int).tolist()[:4] == [851, 101, 851, 147]
    assert df["BOPIKOM"].tolist()[:4] == ["A1", "B1", "A2", "C1"]


def test_all_columns_normalised(project_dir: Path) -> None:
    cols = open_project(project_dir).columns("bef", 2020)
    assert cols == ("PNR", "KOEN", "ALDER", "IE_TYPE", "KOM", "BOPIKOM", "FAMILIE_ID")
    frame = open_project(project_dir).read("bef", 2020)
    assert tuple(frame.data.columns) == cols


def test_schema_marks_keys(project_dir: Path) -> None:
    frame = open_project(project_dir).read("bef", 2019)
    schema = frame.schema
    assert schema.unit == "PNR"
    assert schema["FAMILIE_ID"].role is ColumnRole.KEY
    assert schema["BOPIKOM"].role is ColumnRole.KEY
    assert schema["KOM"].role is ColumnRole.DIMENSION
    assert set(schema.key_columns()) == {"PNR", "BOPIKOM", "FAMILIE_ID"}
    data, schema2 = frame  # unpacks
    assert schema2 is schema and data is frame.data


def test_repr_shows_no_values(project_dir: Path, no_values: Callable[[str], None]) -> None:
    frame = open_project(project_dir).read("ind", 2018)
    text = repr(frame)
    assert "4 rows x 3 columns" in text
    no_values(text)


def test_renames(project_dir: Path) -> None:
    project = open_project(project_dir)
    old = project.read("ras", 2018)
    new = project.read("ras", 2020)
    assert list(old.data.columns) == list(new.data.columns) == ["PNR", "SOC_STATUS_KODE"]
    # asking by the old name gives the new one
    assert list(project.read("ras", 2018, ["SOCSTIL_KODE"]).data.columns) == ["SOC_STATUS_KODE"]
    # a project can add renames
    renamed = open_project(project_dir, renames={"LOENMV_13": "WAGES"}).read("ind", 2019, ["wages"])
    assert list(renamed.data.columns) == ["WAGES"]


def test_renames_file(project_dir: Path, tmp_path: Path) -> None:
    extra = tmp_path / "renames.toml"
    extra.write_text('schema_version = 1\n[register.ind]\nLOENMV_13 = "WAGES"\n')
    project = open_project(project_dir, renames=extra)
    assert "WAGES" in project.columns("ind", 2018)
    assert "WAGES" not in project.columns("bef", 2018)
    bad = tmp_path / "bad.toml"
    bad.write_text("nonsense = 1\n")
    with pytest.raises(SchemaError, match="unknown keys: nonsense"):
        open_project(project_dir, renames=bad)


def test_both_old_and_new_name_is_an_error(tmp_path: Path) -> None:
    pd.DataFrame({"PNR": ["1"], "SOCSTIL_KODE": [1], "soc_status_kode": [2]}).to_csv(
        tmp_path / "ras2010.csv", index=False
    )
    with pytest.raises(SchemaError, match="both mean 'SOC_STATUS_KODE'"):
        open_project(tmp_path).read("ras", 2010)


def test_codes_keep_leading_zeros(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": ["0000000001", "0000000002"], "KOM": ["0851", "0101"], "N": [1, 2]})
    df.to_csv(tmp_path / "bef2010.csv", index=False)
    df.to_parquet(tmp_path / "bef2011.parquet", index=False)
    import pyreadstat

    pyreadstat.write_xport(df, str(tmp_path / "bef2012.xpt"), file_format_version=8)
    project = open_project(tmp_path)
    for year in (2010, 2011, 2012):
        data = project.read("bef", year).data
        assert data["KOM"].tolist() == ["0851", "0101"], year
        assert data["PNR"].tolist() == ["0000000001", "0000000002"], year


def test_csv_typing() -> None:
    df = pd.DataFrame(
        {
            "A": ["1", "2", None],
            "B": ["1.5", ".", None],
            "C": ["NA", "x", None],
            "D": [None, None, None],
            "E": ["2020-01-01", "2021-12-31", None],
            "CVR": ["123", "456", None],
        }
    ).replace({".": None})
    typed = type_text_columns(df)
    assert typed["A"].dtype == np.float64  # a missing value makes it float (as SAS)
    assert typed["B"].dtype == np.float64
    assert typed["C"].tolist()[:2] == ["NA", "x"]  # "NA" is a code, not missing
    assert typed["D"].isna().all()
    assert str(typed["E"].dtype).startswith("datetime64")
    assert typed["CVR"].tolist()[:2] == ["123", "456"]  # keys stay text


def test_sas_missing_is_nan(project_dir: Path) -> None:
    project = open_project(project_dir)
    for year in (2018, 2019, 2020):
        income = project.read("ind", year, ["PERINDKIALT_13"]).data["PERINDKIALT_13"]
        assert income.isna().tolist() == [False, False, False, True], year
        assert income.iloc[0] == pytest.approx(123456.78)


@pytest.mark.parametrize("year", [2018, 2019, 2020])
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([("KOM", "==", 851)], ["0000000001", "0000000003"]),
        ([("kom", "in", [101, 147])], ["0000000002", "0000000004"]),
        ([("KOM", "==", 851), ("ALDER", "<", 30)], ["0000000003"]),
        ([("KOEN", "!=", 1)], ["0000000002", "0000000004"]),
    ],
)
def test_filters_agree_across_formats(
    project_dir: Path, year: int, filters: list[tuple[str, str, object]], expected: list[str]
) -> None:
    project = open_project(project_dir)
    filters = [(c, op, v if not isinstance(v, int) or c.upper() != "ALDER" else v + year - 2018)
               for c, op, v in filters]
    data = project.read("bef", year, ["PNR"], filters=filters).data
    if year == 2018 and filters[0][1] == "in":
        expected = [*expected, "0000000005"]  # the re-run delivery added person 05 in KOM 101
    assert data["PNR"].tolist() == expected
    assert list(data.columns) == ["PNR"]  # filter-only columns are dropped


def test_filters_on_missing_values(project_dir: Path) -> None:
    project = open_project(project_dir)
    for year in (2018, 2019, 2020):
        data = project.read("ind", year, ["PNR"], filters=[("PERINDKIALT_13", "!=", 0)]).data
        assert len(data) == 3, year  # the missing income does not pass


def test_filter_type_mismatch(project_dir: Path, no_values: Callable[[str], None]) -> None:
    project = open_project(project_dir)
    with pytest.raises(SchemaError, match="KOM") as err:
        project.read("bef", 2019, filters=[("BOPIKOM", ">", 3)])
    no_values(str(err.value))


def test_register_year_missing(project_dir: Path) -> None:
    project = open_project(project_dir)
    expected = r"register ras 2019: no file for year 2019 \(years found: 2018, 2020\)"
    with pytest.raises(DataReadError, match=expected):
        project.read("ras", 2019)
    with pytest.raises(DataReadError, match="did you mean 'bef'"):
        project.read("bfe", 2019)


def test_column_missing_in_one_year(project_dir: Path, no_values: Callable[[str], None]) -> None:
    project = open_project(project_dir)
    with pytest.raises(SchemaError) as err:
        project.read_years("ras", [2018, 2020], ["PNR", "SOC_STATUS_KODE", "LOENMV_13"])
    message = str(err.value)
    assert "ras2018.csv" in message and "'LOENMV_13'" in message
    no_values(message)
    with pytest.raises(SchemaError, match="'KOMM' may be 'KOM'"):
        project.read("bef", 2018, ["KOMM"])


def test_read_years(project_dir: Path) -> None:
    frame = open_project(project_dir).read_years("ind", [2018, 2019, 2020], ["PNR", "LOENMV_13"])
    assert frame.data.shape == (12, 3)
    assert frame.data["YEAR"].dtype == np.int16
    assert frame.schema["YEAR"].role is ColumnRole.TIME
    assert [s.relpath for s in frame.sources] == ["ind2018.parquet", "ind2019.csv", "ind2020.xpt"]


@pytest.mark.parametrize("name", ["bef2021.parquet", "bef2021.sas7bdat", "bef2021.xpt"])
def test_unreadable_file(project_dir: Path, name: str, no_values: Callable[[str], None]) -> None:
    (project_dir / name).write_bytes(b"0000000001;0851;123456.78\n" * 50)
    project = open_project(project_dir)
    with pytest.raises(DataReadError) as err:
        project.read("bef", 2021, ["PNR"])
    message = str(err.value)
    assert name in message
    assert "cannot be read" in message
    no_values(message)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match="does not exist"):
        open_project(tmp_path / "nope")


def test_errors_are_kit_errors(project_dir: Path) -> None:
    with pytest.raises(KitError):
        open_project(project_dir).read("bef", 2018, filters=[("KOM", "like", 1)])


# ---------------------------------------------------------------- real SAS files

needs_sas_files = pytest.mark.skipif(
    not SAS_DIR.is_dir(), reason=f"real .sas7bdat test files not present at {SAS_DIR}"
)


@pytest.fixture
def sas_project(tmp_path: Path) -> Path:
    """Link the shared SAS files under register-style names (never copied into the repo)."""
    for src, name in (
        ("sample.sas7bdat", "smp2018.sas7bdat"),
        ("sample_bincompressed.sas7bdat", "smp2019.sas7bdat"),
        ("missing_test.sas7bdat", "miss2018.sas7bdat"),
        ("test_file_label_win.sas7bdat", "win2018.sas7bdat"),
        ("dates.sas7bdat", "dat2018.sas7bdat"),
    ):
        (tmp_path / name).symlink_to(SAS_DIR / src)
    return tmp_path


@needs_sas_files
def test_real_sas_files(sas_project: Path) -> None:
    project = open_project(sas_project)
    plain = project.read("smp", 2018).data
    compressed = project.read("smp", 2019).data
    pd.testing.assert_frame_equal(plain, compressed)
    assert list(plain.columns) == ["MYCHAR", "MYNUM", "MYDATE", "DTIME", "MYLABL", "MYORD", "MYTIME"]
    assert plain.shape == (5, 7)
    assert str(plain["MYDATE"].dtype).startswith("datetime64")
    sub = project.read("smp", 2018, ["mynum", "MYCHAR"], filters=[("MYNUM", ">", 0)]).data
    assert list(sub.columns) == ["MYNUM", "MYCHAR"]
    assert (sub["MYNUM"] > 0).all()
    missing = project.read("miss", 2018).data
    assert missing.iloc[0, :8].isna().all()  # "." and special missing values
    win = project.read("win", 2018)
    assert list(win.data.columns) == ["ID", "SEXA", "SEXB"]
    assert win.data["SEXA"].tolist() == ["1", "2", "1"]  # text codes stay text
    assert len(project.read("dat", 2018).data) == 50


@needs_sas_files
def test_real_sas_files_with_pandas(sas_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kit.registers import readers

    with_pyreadstat = open_project(sas_project).read("smp", 2018, ["MYCHAR", "MYNUM"]).data
    monkeypatch.setattr(readers, "have_pyreadstat", lambda: False)
    project = open_project(sas_project)
    df = project.read("smp", 2018, ["MYCHAR", "MYNUM"]).data
    pd.testing.assert_frame_equal(df, with_pyreadstat)
    win = project.read("win", 2018, filters=[("SEXA", "==", "1")]).data
    assert win["ID"].tolist() == ["ID1", "ID3"]


def test_parquet_needs_pyarrow(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from kit.errors import OptionalDependencyError

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    project = open_project(project_dir)
    with pytest.raises(OptionalDependencyError, match="sdc-kit"):
        project.read("bef", 2018)
    assert len(project.read("bef", 2019).data) == 4  # CSV needs pandas only
