"""Integration: the loader reads the synthetic generator's output unchanged (skipped without it)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kit.registers import build_panel, open_project


def _generate(out: Path, fmt: str) -> None:
    synthetic = pytest.importorskip("synthetic")
    if not hasattr(synthetic, "generate"):
        pytest.skip("synthetic.generate is not available")
    from synthetic import ColumnCase, Layout, SynthConfig

    config = SynthConfig(
        persons=2_000, years=(2016, 2019), base_year=2017, n_comparison=2, n_placebo=0,
        comparison_size=(100, 100), treated=(),
        layout=Layout(column_case=(("bef", ColumnCase.LOWER), ("ras2018", ColumnCase.MIXED)),
                      rerun=("bef2018",)),
    )
    synthetic.generate(config, out, fmt=fmt, progress=False)


@pytest.fixture(scope="module")
def panels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    for fmt in ("parquet", "csv", "xpt"):
        folder = tmp_path_factory.mktemp(f"synth_{fmt}")
        _generate(folder / "out", fmt)
        project = open_project(folder / "out")
        assert set(project.registers()) >= {"bef", "ras", "akm", "ind", "udda", "vnds"}
        assert project.years("bef") == (2016, 2017, 2018, 2019)
        assert project.source("bef", 2018).delivery == "December_2023"
        frame = project.read("bef", 2018)
        assert frame.schema.unit == "PNR"
        assert {"BOPIKOM", "FAMILIE_ID", "MOR_ID", "FAR_ID"} <= set(frame.schema.key_columns())
        panel = build_panel(project, [2017, 2018, 2019], area_key=project.area_key_path(),
                            columns=("KOEN", "ALDER", "KOM"))
        assert panel.data["AREA_ID"].notna().any()
        assert panel.data["HFAUDD"].notna().any()
        out[fmt] = panel.data
    return out


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_formats_give_the_same_panel(panels: dict[str, pd.DataFrame], fmt: str) -> None:
    a, b = panels["parquet"], panels[fmt]
    assert list(a.columns) == list(b.columns)
    numeric = ["YEAR", "KOEN", "ALDER", "KOM", "SOC_STATUS_KODE", "PERINDKIALT_13", "HFAUDD", "AREA_ID"]
    pd.testing.assert_frame_equal(
        a[numeric].astype("float64").reset_index(drop=True),
        b[numeric].astype("float64").reset_index(drop=True),
        check_exact=False,
    )
    assert a["PNR"].tolist() == b["PNR"].tolist()
    assert a["AREA_TYPE"].astype(str).tolist() == b["AREA_TYPE"].astype(str).tolist()
