"""``kit registers ls`` and ``kit registers convert``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

from kit.cli.registers import parse_years, register
from kit.errors import EXIT_OK, SpecError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kit")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_ls(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["registers", "ls", str(project_dir)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "bef        years 2018-2020  (3 files; csv, parquet, xpt; re-runs from December_2023)" in out
    assert "ras        years 2018, 2020" in out
    assert "bef 2018: December_2023/bef2018.parquet (newest of 2 deliveries)" in out
    assert "other files: README.txt, area_key.csv" in out


def test_convert_and_ls_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyreadstat

    raw = tmp_path / "raw"
    raw.mkdir()
    df = pd.DataFrame({"PNR": ["1", "2"], "KOM": [101.0, 851.0]})
    for year in (2010, 2011, 2012):
        pyreadstat.write_xport(df, str(raw / f"bef{year}.xpt"), file_format_version=8)
    cache = tmp_path / "cache"
    code = _run(["registers", "convert", str(raw), "--to", str(cache), "--years", "2010-2011",
                 "--no-progress"])
    assert code == EXIT_OK
    assert "converted 2 file(s) (4 rows)" in capsys.readouterr().out
    assert _run(["registers", "ls", str(raw), "--cache", str(cache)]) == EXIT_OK
    assert "2 in the cache" in capsys.readouterr().out


def test_bad_years() -> None:
    with pytest.raises(SpecError, match="'20x0' is not a year"):
        parse_years("20x0")
    with pytest.raises(SpecError):
        parse_years("2015-2010")


def test_through_kit_cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("kit.cli")
    assert cli.main(["registers", "ls", str(project_dir)]) == EXIT_OK
    assert "udda" in capsys.readouterr().out
    assert cli.main(["registers", "ls", str(project_dir / "missing")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and len(err.strip().splitlines()) == 1
