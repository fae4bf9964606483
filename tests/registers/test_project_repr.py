"""A register project's repr stays short in notebooks, however many files it has (issue 22)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.registers import open_project


def _many_files(root: Path, registers: int, years: range) -> None:
    frame = pd.DataFrame({"pnr": ["01"], "kom": ["0851"]})
    for r in range(registers):
        name = "reg" + chr(ord("a") + r // 26) + chr(ord("a") + r % 26)
        for year in years:
            frame.to_csv(root / f"{name}{year}.csv", index=False)


def test_repr_of_a_large_project_is_short(tmp_path: Path) -> None:
    _many_files(tmp_path, registers=60, years=range(1990, 2020))
    project = open_project(tmp_path)
    text = repr(project)
    assert len(text) <= 1000
    assert "1800 files, 60 registers" in text
    assert "regaa 1990-2019" in text and "(60 registers in all)" in text
    html = project._repr_html_()
    assert html.count("<tr>") == 61 and "regch" in html


def test_repr_lists_every_register_of_a_small_project(project_dir: Path) -> None:
    project = open_project(project_dir)
    text = repr(project)
    for name in project.registers():
        assert name in text
    assert "registers in all" not in text
