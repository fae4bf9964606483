"""Golden files for rendered HTML, Markdown, LaTeX and CSV (rewrite: KIT_UPDATE_GOLDEN=1)."""

from __future__ import annotations

import pytest

import kit
from kit.release import write_release
from kit.release.context import output_context
from kit.release.render import make_environment, render_delimited, render_output


@pytest.fixture
def contexts(count_table, rate_table, estimate):
    rules = count_table.rules
    return {
        o.name: output_context(
            o, symbol=rules.release.suppressed_symbol, note_suppressed=rules.release.note_suppressed
        )
        for o in (kit.clear(count_table), kit.clear(rate_table), estimate)
    }


@pytest.mark.parametrize("name", ["residents", "employment", "effects"])
@pytest.mark.parametrize("fmt", ["html", "md", "tex"])
def test_rendered_output_matches_golden(contexts, golden, name, fmt):
    golden(f"{name}.{fmt}", render_output(make_environment(), contexts[name], fmt))


@pytest.mark.parametrize("name", ["residents", "employment", "effects"])
def test_csv_matches_golden(contexts, golden, name):
    golden(f"{name}.csv", render_delimited(contexts[name], ","))


def test_report_without_figures_matches_golden(tmp_path, golden, count_table, estimate):
    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table), estimate],
        count_table.rules,
        title="Aalborg East",
        formats=("html",),
        differencing=False,
    )
    golden("report.html", (res.folder / "report.html").read_text(encoding="utf-8"))


def test_suppressed_cells_show_the_symbol_and_its_footnote(contexts):
    md = render_output(make_environment(), contexts["residents"], "md")
    assert "| Vejgaard | 2011 | x |" in md
    assert "x: not shown to protect confidentiality" in md
