"""Conversion to a Parquet cache: reads from the cache, resumes after an interruption, stale entries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.registers import cache, open_project
from kit.registers.discover import CACHE_STATE_NAME


def _sas_project(root: Path, n: int = 2_500) -> Path:
    import pyreadstat

    rng = np.random.default_rng(1)
    for year in (2018, 2019, 2020):
        df = pd.DataFrame(
            {
                "pnr": [f"{i:010d}" for i in range(n)],
                "Kom": rng.choice([101, 851, 147], size=n).astype(float),
                "Bopikom": [f"A{i % 97}" for i in range(n)],
                "loenmv_13": np.where(rng.random(n) < 0.1, np.nan, rng.normal(3e5, 1e5, n)),
                "BOP_VFRA": pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 7000, n), "D"),
            }
        )
        pyreadstat.write_xport(df, str(root / f"bef{year}.xpt"), file_format_version=8)
    pd.DataFrame({"PNR": ["0000000001"], "X": [1]}).to_csv(root / "ind2018.csv", index=False)
    return root


@pytest.fixture
def sas_dir(tmp_path: Path) -> Path:
    root = tmp_path / "raw"
    root.mkdir()
    return _sas_project(root)


def test_convert_and_read_from_cache(sas_dir: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "work" / "cache"
    direct = open_project(sas_dir)
    report = direct.convert(cache_dir, progress=False, chunk_rows=1_000)
    assert report.converted == ("bef2018.xpt", "bef2019.xpt", "bef2020.xpt")
    assert report.not_convertible == ("ind2018.csv",)
    assert report.rows == 3 * 2_500
    assert (cache_dir / "bef2019.parquet").exists()
    assert (cache_dir / CACHE_STATE_NAME).exists()

    cached = open_project(sas_dir, cache=cache_dir)
    src = cached.source("bef", 2019)
    assert src.cached == cache_dir / "bef2019.parquet"
    assert src.relpath == "bef2019.xpt"
    for year in (2018, 2019, 2020):
        a = direct.read("bef", year, ["PNR", "KOM", "LOENMV_13", "BOP_VFRA"]).data
        b = cached.read("bef", year, ["pnr", "kom", "LOENMV_13", "BOP_VFRA"]).data
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    filtered = cached.read("bef", 2018, ["PNR"], filters=[("KOM", "==", 851)]).data
    assert len(filtered) == (direct.read("bef", 2018, ["KOM"]).data["KOM"] == 851).sum()

    again = direct.convert(cache_dir, progress=False)
    assert again.converted == ()
    assert len(again.skipped) == 3


def test_interrupted_conversion_resumes(
    sas_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_dir = tmp_path / "clean"
    open_project(sas_dir).convert(clean_dir, progress=False, chunk_rows=1_000)

    resumed_dir = tmp_path / "resumed"
    real_write = cache._write_table
    calls = {"n": 0}

    def failing_write(writer: object, table: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # second file, second chunk
            raise KeyboardInterrupt
        real_write(writer, table)

    monkeypatch.setattr(cache, "_write_table", failing_write)
    with pytest.raises(KeyboardInterrupt):
        open_project(sas_dir).convert(resumed_dir, progress=False, chunk_rows=1_000)
    state = json.loads((resumed_dir / CACHE_STATE_NAME).read_text())
    assert list(state["entries"]) == ["bef2018.xpt"]
    assert (resumed_dir / "bef2019.parquet.partial").exists()
    assert not (resumed_dir / "bef2019.parquet").exists()
    # an interrupted file is not used by reads
    assert open_project(sas_dir, cache=resumed_dir).source("bef", 2019).cached is None

    monkeypatch.setattr(cache, "_write_table", real_write)
    report = open_project(sas_dir).convert(resumed_dir, progress=False, chunk_rows=1_000)
    assert report.skipped == ("bef2018.xpt",)
    assert report.converted == ("bef2019.xpt", "bef2020.xpt")
    assert not (resumed_dir / "bef2019.parquet.partial").exists()
    for name in ("bef2018.parquet", "bef2019.parquet", "bef2020.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(clean_dir / name), pd.read_parquet(resumed_dir / name)
        )


def test_stale_cache_reads_source(sas_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache_dir = tmp_path / "cache"
    open_project(sas_dir).convert(cache_dir, registers=["bef"], years=[2018], progress=False)
    source = sas_dir / "bef2018.xpt"
    os.utime(source, (1_700_000_000, 1_700_000_000))
    project = open_project(sas_dir, cache=cache_dir)
    assert project.source("bef", 2018).cached is None
    assert "stale" in caplog.text
    assert project.source("bef", 2019).cached is None  # never converted
    report = project.convert(progress=False, registers=["bef"], years=[2018])
    assert report.converted == ("bef2018.xpt",)
    assert open_project(sas_dir, cache=cache_dir).source("bef", 2018).cached is not None


def test_cache_inside_project_is_not_scanned(sas_dir: Path) -> None:
    open_project(sas_dir).convert(sas_dir / "cache", progress=False)
    project = open_project(sas_dir)
    assert all(not f.relpath.startswith("cache/") for f in project.inventory.files)
    assert project.source("bef", 2018).fmt == "xpt"


def test_convert_unknown_register(sas_dir: Path, tmp_path: Path) -> None:
    from kit.errors import DataReadError

    with pytest.raises(DataReadError, match="register\\(s\\) udda not in the project folder"):
        open_project(sas_dir).convert(tmp_path / "c", registers=["udda"], progress=False)
    with pytest.raises(DataReadError, match="no cache folder given"):
        open_project(sas_dir).convert(progress=False)


SAS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "sas7bdat"


@pytest.mark.skipif(not SAS_DIR.is_dir(), reason=f"real .sas7bdat test files not present at {SAS_DIR}")
def test_convert_real_sas_files(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for src, name in (("sample.sas7bdat", "smp2018.sas7bdat"), ("dates.sas7bdat", "dat2018.sas7bdat"),
                      ("missing_test.sas7bdat", "miss2018.sas7bdat")):
        (raw / name).symlink_to(SAS_DIR / src)
    open_project(raw).convert(tmp_path / "cache", progress=False, chunk_rows=7)
    direct = open_project(raw)
    cached = open_project(raw, cache=tmp_path / "cache")
    for register in ("smp", "dat", "miss"):
        assert cached.source(register, 2018).cached is not None
        a = direct.read(register, 2018).data
        b = cached.read(register, 2018).data
        assert list(a.columns) == list(b.columns)
        assert a.shape == b.shape
        for column in a.columns:
            assert a[column].isna().tolist() == b[column].isna().tolist(), column
