"""The DuckDB panel equals build_panel's on synthetic registers, and keeps its rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions
from kit.errors import SchemaError
from kit.registers import Relation, build_panel, open_project
from kit.registers.panel_duckdb import PERSON_ID, build_panel_duckdb, person_keys
from synthetic import SynthConfig, generate

OPTIONS = EngineOptions(progress=False, threads=2)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scale-synth") / "run"
    config = SynthConfig(persons=20_000, seed=4, years=(2010, 2013), n_comparison=3, n_placebo=1,
                         comparison_size=(1000, 1000))
    generate(config, out, progress=False)
    return out


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Values only: text as str (missing None), numbers as float (the engines' column types differ)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[c] = s.astype(object).map(lambda v: None if pd.isna(v) else str(v))
        else:
            out[c] = pd.to_numeric(s).astype("float64")
    return pd.DataFrame(out)


@pytest.mark.parametrize("status", ["ras", "akm", None])
def test_same_panel_as_build_panel(project_dir: Path, status: str | None) -> None:
    project = open_project(project_dir)
    years = project.years("bef")
    kwargs = {"status": status, "area_key": project_dir / "area_key.csv"}
    ref = build_panel(project, years, **kwargs)
    got = build_panel_duckdb(project, years, **kwargs, options=OPTIONS)
    assert isinstance(got, kit.registers.RegisterFrame)
    assert list(got.data.columns) == list(ref.data.columns)
    assert str(got.data["YEAR"].dtype) == "int16"
    pd.testing.assert_frame_equal(_plain(ref.data), _plain(got.data), check_exact=True)
    assert [s.relpath for s in got.sources if s.register == "bef"] == [
        s.relpath for s in ref.sources if s.register == "bef"]
    dispatched = build_panel(project, years, engine="duckdb", **kwargs)
    pd.testing.assert_frame_equal(_plain(dispatched.data), _plain(got.data), check_exact=True)


def test_education_as_of_each_year_and_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    for y in (2018, 2019, 2020):
        pd.DataFrame({"PNR": ["a", "b", "c"], "KOM": [101, 101, 851]}).to_parquet(root / f"bef{y}.parquet")
    # 2017: b has two rows (the later HF_VFRA wins), c has a row without a date and one with (the dated wins)
    pd.DataFrame({"PNR": ["a", "b", "b", "c", "c"], "HFAUDD": [10, 20, 21, 30, 31],
                  "HF_VFRA": ["2001-01-01", "2015-01-01", "2010-01-01", None, "1999-01-01"]}).to_parquet(
        root / "udda2017.parquet")
    # 2019: a changes; b has two rows with the same date (the last row wins)
    pd.DataFrame({"PNR": ["a", "b", "b"], "HFAUDD": [11, 22, 23],
                  "HF_VFRA": ["2019-01-01", "2019-02-02", "2019-02-02"]}).to_parquet(root / "udda2019.parquet")
    project = open_project(root)
    kwargs = {"status": None, "income": None, "columns": ["KOM"]}
    ref = build_panel(project, [2018, 2019, 2020], **kwargs).data
    got = build_panel_duckdb(project, [2018, 2019, 2020], **kwargs, options=OPTIONS).data
    expected = {2018: [10, 20, 31], 2019: [11, 23, 31], 2020: [11, 23, 31]}  # worked out by hand
    for year, values in expected.items():
        assert ref.loc[ref["YEAR"] == year, "HFAUDD"].astype(int).tolist() == values
        assert got.loc[got["YEAR"] == year, "HFAUDD"].astype(int).tolist() == values
    pd.DataFrame({"PNR": ["a", "a", "c"], "KOM": [1, 2, 3]}).to_parquet(root / "bef2021.parquet")
    project = open_project(root)
    with pytest.raises(SchemaError) as eager:
        build_panel(project, [2021], **kwargs)
    with pytest.raises(SchemaError) as lazy:
        build_panel_duckdb(project, [2021], **kwargs, options=OPTIONS)
    assert str(lazy.value) == str(eager.value)


def test_person_keys_are_dense_cached_and_used(project_dir: Path, tmp_path: Path) -> None:
    project = open_project(project_dir, cache=tmp_path / "cache")
    years = project.years("bef")
    keys_path = person_keys(project, years, options=OPTIONS)
    assert keys_path.parent == tmp_path / "cache"
    keys = pd.read_parquet(keys_path)
    persons = pd.concat([pd.read_parquet(project_dir / f"bef{y}.parquet", columns=["PNR"]) for y in years])
    assert set(keys["PNR"]) == set(persons["PNR"])
    assert sorted(keys[PERSON_ID].tolist()) == list(range(len(keys)))
    assert str(keys[PERSON_ID].dtype) == "int32"
    stamp = keys_path.stat().st_mtime_ns
    assert person_keys(project, years, options=OPTIONS) == keys_path
    assert keys_path.stat().st_mtime_ns == stamp  # reused, not rebuilt
    out = build_panel_duckdb(project, years, status=None, income=None, education=None, person_ids=True,
                             output=tmp_path / "panel.parquet", options=OPTIONS)
    assert isinstance(out, Relation)
    panel = out.to_pandas()
    merged = panel.merge(keys, on="PNR", suffixes=("", "_key"))
    assert np.array_equal(merged[PERSON_ID].to_numpy(), merged[f"{PERSON_ID}_key"].to_numpy())
    table = kit.Session(rules="dst", unit=PERSON_ID, engine_options=OPTIONS).table(out, rows="YEAR")
    assert table.evidence.cells.loc[~table.evidence.cells["is_margin"], "n_units"].tolist() == (
        panel.groupby("YEAR")["PNR"].nunique().tolist())


@pytest.mark.parametrize("allow_missing", [False, True])
def test_extra_registers_joined_as_build_panel(project_dir: Path, allow_missing: bool) -> None:
    """extra_registers (AKM beside RAS, IND as an extra): the same rows and values from either engine."""
    project = open_project(project_dir)
    years = project.years("bef")
    kwargs = {"status": "ras", "income": None, "education": None, "area_key": project_dir / "area_key.csv",
              "extra_registers": {"akm": ("SOCIO13",), "ind": ("PERINDKIALT_13",)}, "allow_missing": allow_missing}
    ref = build_panel(project, years, **kwargs).data
    got = build_panel(project, years, engine="duckdb", **kwargs).data
    assert "SOCIO13" in got.columns and "PERINDKIALT_13" in got.columns
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(_plain(ref), _plain(got), check_exact=True)
    # independent: SOCIO13 of each person-year is the AKM file's value of that year
    akm = pd.concat([pd.read_parquet(project_dir / f"akm{y}.parquet", columns=["PNR", "SOCIO13"]).assign(YEAR=y)
                     for y in years])
    merged = got.merge(akm, on=["PNR", "YEAR"], how="left", suffixes=("", "_file"))
    assert _plain(merged[["SOCIO13"]]).equals(_plain(merged[["SOCIO13_file"]]).set_axis(["SOCIO13"], axis=1))


def test_demo_analysis_rows_equal_on_the_duckdb_panel(project_dir: Path) -> None:
    """The Aalborg analysis' input (prepare_panel, prepare_movers) is the same from either panel, built as
    the demo builds it (RAS status, AKM as an extra register, UDDA, the area key): the demo can run on it."""
    from kit.demo.analysis import AnalysisConfig, prepare_movers, prepare_panel

    project = open_project(project_dir)
    years = project.years("bef")
    kwargs = {"status": "ras", "income": None, "education": "udda", "area_key": project.area_key_path(),
              "extra_registers": {"akm": ("SOCIO13",)}, "columns": ("KOEN", "ALDER", "IE_TYPE", "KOM")}
    import json

    truth = json.loads((project_dir / "truth.json").read_text(encoding="utf-8"))
    treated = tuple((name, int(truth["areas"][name]["start"])) for name in truth["treated_areas"])
    config = AnalysisConfig(treated=treated, years=(years[0], years[-1]), base_year=years[1], target_year=years[-1])
    ref_panel = build_panel(project, years, **kwargs).data
    got_panel = build_panel(project, years, engine="duckdb", **kwargs).data
    pd.testing.assert_frame_equal(prepare_panel(ref_panel, config), prepare_panel(got_panel, config),
                                  check_exact=True)
    pd.testing.assert_frame_equal(prepare_movers(ref_panel, config), prepare_movers(got_panel, config),
                                  check_exact=True)


def test_the_duckdb_panel_reports_progress_only_when_asked(project_dir: Path,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    """``build_panel(engine="duckdb")`` without ``progress`` prints nothing (the CLI's ``-q``); with a
    reporter it shows the DuckDB steps on standard error."""
    from kit.progress import TextProgress

    project = open_project(project_dir)
    years = project.years("bef")[:2]
    assert EngineOptions().progress is False
    build_panel(project, years, engine="duckdb", status=None)
    quiet = capfd.readouterr()
    assert quiet.err == "" and quiet.out == ""
    build_panel(project, years, engine="duckdb", status=None, progress=TextProgress())
    assert "panel (duckdb)" in capfd.readouterr().err
