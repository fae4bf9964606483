"""Charts: only from cleared outputs, deterministic bytes, hatching, gaps for suppressed values."""

from __future__ import annotations

import re

import pytest

import kit
from kit.errors import SpecError
from kit.release import BL_CAPTION, Figure, render_chart

from .conftest import cleared_estimate_fixture_factory, line_estimate_fixture_factory


def _hatches(svg: bytes) -> int:
    return len(re.findall(rb"<pattern ", svg))


def test_bl_bar_chart_is_deterministic_and_hatched(bl_figure):
    a, b = render_chart(bl_figure), render_chart(bl_figure)
    assert a.svg == b.svg and a.png == b.png
    assert a.png.startswith(b"\x89PNG") and b"<svg" in a.svg
    assert _hatches(a.svg) >= 1
    assert bl_figure.caption == BL_CAPTION
    flagged = [p for p in bl_figure.points() if p.not_significant]
    assert [(p.x, p.group) for p in flagged] == [("Kildeparken", "all")]


def test_no_hatching_without_the_flag(count_table):
    fig = Figure.bar(kit.clear(count_table), name="counts", x="area", group="year", value="value")
    assert _hatches(render_chart(fig).svg) == 0


def test_svg_has_no_date_and_inline_svg_has_no_prolog(bl_figure):
    chart = render_chart(bl_figure)
    assert b"<dc:date>" not in chart.svg
    assert chart.inline_svg().startswith("<svg") and "<metadata>" not in chart.inline_svg()


def test_suppressed_values_are_gaps(count_table):
    est = line_estimate_fixture_factory(kit.clear(count_table).provenance)
    fig = Figure.line(est, name="yearly", x="year", value="effect_pp", low="ci_low", high="ci_high")
    points = {p.x: p for p in fig.points()}
    assert points["2014"].suppressed and points["2014"].value is None and points["2014"].low is None
    chart = render_chart(fig, symbol="x")
    assert chart.svg == render_chart(fig, symbol="x").svg


def test_suppressed_bar_is_marked(count_table):
    est = cleared_estimate_fixture_factory(
        kit.clear(count_table).provenance, suppress=("Sundparken:newcomers:2017",)
    )
    fig = Figure.bar(
        est, name="bars", x="area", group="group", value="effect_pp", low="ci_low", high="ci_high"
    )
    assert sum(p.suppressed for p in fig.points()) == 1
    assert render_chart(fig).png.startswith(b"\x89PNG")


def test_table_figure_skips_margins_and_filters(count_table):
    fig = Figure.bar(kit.clear(count_table), name="y2017", x="area", value="value", where={"year": "2017"})
    assert [p.x for p in fig.points()] == ["Kildeparken", "Sundparken", "Vejgaard"]


def test_figure_checks_columns_and_keys(estimate):
    with pytest.raises(SpecError, match="value column"):
        Figure.bar(estimate, name="f", x="area", value="nope")
    with pytest.raises(SpecError, match="x key"):
        Figure.bar(estimate, name="f", x="nope", value="effect_pp")
    with pytest.raises(SpecError, match="no rows"):
        Figure.bar(estimate, name="f", x="area", value="effect_pp", where={"year": "1999"})


def test_figure_is_frozen(bl_figure):
    with pytest.raises(AttributeError):
        bl_figure.title = "other"
