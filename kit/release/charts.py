"""Charts drawn from cleared outputs only: grouped bars with intervals, lines over time.

A :class:`Figure` is a cleared-type wrapper: it holds a cleared table or
estimate (nothing else is accepted) and says how to draw it. The BL figure of
the Aalborg analysis is a grouped bar chart (x = area, bars = group, value =
effect in pp, 95 % interval), where a hatched fill marks an estimate flagged
:attr:`~kit.core.cleared.Flag.NOT_DISTINGUISHABLE_FROM_ZERO`. A suppressed value is
drawn as a gap marked with the suppressed symbol, never interpolated.

Drawing uses matplotlib's object API on the Agg canvas (no pyplot state).
Output is deterministic: the SVG hash salt, the fonts (text as paths) and the
metadata are fixed, so the same figure gives byte-identical SVG and PNG.

Examples
--------
>>> Figure.bar({"not": "cleared"}, name="f", x="area", value="estimate")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.DisclosureError: figure 'f': a dict is not a cleared output. Fix: draw figures from kit.clear() ...
"""

from __future__ import annotations

import enum
import io
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from kit.core.cleared import ClearedEstimate, ClearedTable, Flag
from kit.core.spec import safe_name
from kit.errors import DisclosureError, SpecError

__all__ = ["BL_CAPTION", "ChartFiles", "ChartKind", "ChartPoint", "Figure", "render_chart"]

#: BL's note under the Aalborg figure.
BL_CAPTION = "Hatched: the effect cannot be statistically distinguished from zero."

#: Colour-blind safe palette (Okabe-Ito).
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_HATCH = "///"


class ChartKind(enum.Enum):
    """What kind of chart a figure is."""

    BAR = "bar"
    LINE = "line"


@dataclass(frozen=True)
class ChartPoint:
    """One drawn value (public: taken from a cleared output)."""

    x: str
    group: str
    value: float | None
    low: float | None
    high: float | None
    suppressed: bool
    not_significant: bool


@dataclass(frozen=True)
class Figure:
    """A chart of one cleared output (frozen; refuses anything not cleared).

    Parameters
    ----------
    name
        Safe output name (file names ``figures/<name>.svg`` / ``.png``).
    kind
        :class:`ChartKind`.
    source
        The cleared table or estimate the chart is drawn from.
    x
        The dimension or label key on the x axis (``"term"`` for an estimate's terms).
    value
        The value column drawn (``"estimate"``, ``"value"`` ...).
    group
        Optional key that splits bars or lines (``"group"``: all residents, newcomers).
    low, high
        Optional interval columns (``"ci_low"``, ``"ci_high"``).
    where
        ``((key, code), ...)``: only rows with these labels (``(("year", "2017"),)``).
    title, caption
        Shown above and below the chart and in the report.
    y_label
        The value axis label (say ``"Effect, percentage points"``).
    scale
        Multiply values by this (100 draws shares as per cent).
    labels
        ``((code, display label), ...)`` for x and group codes.
    """

    name: str
    kind: ChartKind
    source: ClearedTable | ClearedEstimate
    x: str
    value: str
    group: str | None = None
    low: str | None = None
    high: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    title: str = ""
    caption: str = ""
    y_label: str = ""
    scale: float = 1.0
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        where = f"figure '{self.name}'"
        if not isinstance(self.source, (ClearedTable, ClearedEstimate)):
            raise DisclosureError(
                where,
                f"a {type(self.source).__name__} is not a cleared output",
                "draw figures from kit.clear() results (ClearedTable or ClearedEstimate) only",
            )
        safe_name(self.name, "figure name")
        object.__setattr__(self, "kind", ChartKind(self.kind))
        object.__setattr__(self, "where", tuple((str(k), str(v)) for k, v in self.where))
        object.__setattr__(self, "labels", tuple((str(k), str(v)) for k, v in self.labels))
        columns = _value_columns(self.source)
        for role, col in (("value", self.value), ("low", self.low), ("high", self.high)):
            if col is not None and col not in columns:
                raise SpecError(
                    where,
                    f"the {role} column '{col}' is not a column of '{self.source.name}'",
                    f"use one of {list(columns)}",
                )
        keys = _key_names(self.source)
        for role, key in (("x", self.x), ("group", self.group), *(("where", k) for k, _ in self.where)):
            if key is not None and key not in keys:
                raise SpecError(
                    where,
                    f"the {role} key '{key}' is not a label of '{self.source.name}'",
                    f"use one of {list(keys)}",
                )
        if not self.points():
            raise SpecError(where, "no rows of the source match 'where'", "check the codes in 'where'")

    @classmethod
    def bar(
        cls,
        source: object,
        *,
        name: str,
        x: str,
        value: str,
        group: str | None = None,
        low: str | None = None,
        high: str | None = None,
        where: Mapping[str, object] | None = None,
        title: str = "",
        caption: str = BL_CAPTION,
        y_label: str = "",
        scale: float = 1.0,
        labels: Mapping[str, str] | None = None,
    ) -> Figure:
        """A grouped bar chart with intervals (hatched where not distinguishable from zero)."""
        return cls._of_kind(ChartKind.BAR, source, name=name, x=x, value=value, group=group, low=low,
                            high=high, where=where, title=title, caption=caption, y_label=y_label,
                            scale=scale, labels=labels)

    @classmethod
    def _of_kind(
        cls,
        kind: ChartKind,
        source: object,
        *,
        name: str,
        x: str,
        value: str,
        group: str | None,
        low: str | None,
        high: str | None,
        where: Mapping[str, object] | None,
        title: str,
        caption: str,
        y_label: str,
        scale: float,
        labels: Mapping[str, str] | None,
    ) -> Figure:
        return cls(
            name=name,
            kind=kind,
            source=source,  # type: ignore[arg-type]
            x=x,
            value=value,
            group=group,
            low=low,
            high=high,
            where=tuple((where or {}).items()),  # type: ignore[arg-type]
            title=title,
            caption=caption,
            y_label=y_label,
            scale=scale,
            labels=tuple((labels or {}).items()),
        )

    @classmethod
    def line(
        cls,
        source: object,
        *,
        name: str,
        x: str,
        value: str,
        group: str | None = None,
        low: str | None = None,
        high: str | None = None,
        where: Mapping[str, object] | None = None,
        title: str = "",
        caption: str = "",
        y_label: str = "",
        scale: float = 1.0,
        labels: Mapping[str, str] | None = None,
    ) -> Figure:
        """A line chart over ``x`` (time); suppressed values are gaps with a marker."""
        return cls._of_kind(ChartKind.LINE, source, name=name, x=x, value=value, group=group, low=low,
                            high=high, where=where, title=title, caption=caption, y_label=y_label,
                            scale=scale, labels=labels)

    @property
    def source_name(self) -> str:
        """Name of the cleared output the figure is drawn from."""
        return self.source.name

    def label(self, code: str) -> str:
        """Display label of an x or group code."""
        return dict(self.labels).get(code, code)

    def points(self) -> tuple[ChartPoint, ...]:
        """The values to draw, in source order (public)."""
        out = []
        for labels, values, suppressed, flags, margin in _rows(self.source):
            if margin or any(labels.get(k) != v for k, v in self.where):
                continue

            def pick(col: str | None, vals: tuple[float | None, ...] = values) -> float | None:
                if col is None:
                    return None
                v = vals[_value_columns(self.source).index(col)]
                return None if v is None or math.isnan(v) else float(v) * self.scale

            out.append(
                ChartPoint(
                    x=labels.get(self.x, ""),
                    group=labels.get(self.group, "") if self.group else "",
                    value=None if suppressed else pick(self.value),
                    low=None if suppressed else pick(self.low),
                    high=None if suppressed else pick(self.high),
                    suppressed=suppressed,
                    not_significant=Flag.NOT_DISTINGUISHABLE_FROM_ZERO in flags,
                )
            )
        return tuple(out)

    def __repr__(self) -> str:
        return f"<Figure {self.name!r} ({self.kind.value}) of {self.source.name!r}>"


def _value_columns(src: ClearedTable | ClearedEstimate) -> tuple[str, ...]:
    return src.value_columns if isinstance(src, ClearedTable) else src.columns


def _key_names(src: ClearedTable | ClearedEstimate) -> tuple[str, ...]:
    if isinstance(src, ClearedTable):
        return src.dims
    names = ["term"]
    for row in src.rows:
        names.extend(k for k, _ in row.keys if k not in names)
    return tuple(names)


def _rows(
    src: ClearedTable | ClearedEstimate,
) -> list[tuple[dict[str, str], tuple[float | None, ...], bool, tuple[Flag, ...], bool]]:
    if isinstance(src, ClearedTable):
        return [
            (dict(zip(src.dims, r.keys, strict=True)), r.values, r.suppressed, (), r.is_margin)
            for r in src.rows
        ]
    return [({"term": r.term, **dict(r.keys)}, r.values, r.suppressed, r.flags, False) for r in src.rows]


@dataclass(frozen=True)
class ChartFiles:
    """The drawn chart as SVG and PNG bytes."""

    svg: bytes
    png: bytes

    def inline_svg(self) -> str:
        """The SVG markup without XML declaration and doctype, for inlining in HTML."""
        text = self.svg.decode("utf-8")
        start = text.find("<svg")
        text = text[start:] if start >= 0 else text
        return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)


def _ordered(values: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _x_order(values: Sequence[str], kind: ChartKind) -> list[str]:
    order = _ordered(values)
    if kind is ChartKind.LINE:
        try:
            return sorted(order, key=float)
        except ValueError:
            return order
    return order


def _rc() -> Any:
    return {
        "svg.hashsalt": "kit-release",
        "svg.fonttype": "path",
        "font.family": "DejaVu Sans",
        "font.size": 10.0,
        "hatch.linewidth": 1.0,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def render_chart(figure: Figure, symbol: str = "x", *, dpi: int = 150) -> ChartFiles:
    """Draw a figure to SVG and PNG bytes (deterministic for the same input).

    Raises
    ------
    DisclosureError
        When ``figure`` is not a :class:`Figure` (charts are drawn only from cleared outputs).
    """
    if not isinstance(figure, Figure):
        raise DisclosureError(
            "chart",
            f"a {type(figure).__name__} is not a kit Figure",
            "wrap a cleared output in kit.release.Figure.bar(...) or Figure.line(...)",
        )
    with matplotlib.rc_context(_rc()):
        fig = MplFigure(figsize=(7.0, 4.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if figure.kind is ChartKind.BAR:
            _draw_bars(ax, figure, symbol)
        else:
            _draw_lines(ax, figure, symbol)
        if figure.title:
            ax.set_title(figure.title, loc="left", fontsize=11)
        if figure.y_label:
            ax.set_ylabel(figure.y_label)
        bottom = 0.12
        if figure.caption:
            wrapped = textwrap.fill(figure.caption, 100)
            fig.text(0.01, 0.01, wrapped, fontsize=8, ha="left", va="bottom")
            bottom = 0.12 + 0.035 * (wrapped.count("\n") + 1)
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=bottom + 0.06)
        svg, png = io.BytesIO(), io.BytesIO()
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        fig.savefig(png, format="png", dpi=dpi, metadata={"Software": None})
    return ChartFiles(svg=svg.getvalue(), png=png.getvalue())


def _legend(
    ax: Axes, figure: Figure, groups: list[str], points: Sequence[ChartPoint], symbol: str, bars: bool
) -> None:
    handles: list[Artist] = []
    if figure.group:
        for i, g in enumerate(groups):
            colour = _PALETTE[i % len(_PALETTE)]
            handles.append(
                Patch(facecolor=colour, edgecolor=colour, label=figure.label(g))
                if bars
                else Line2D([], [], color=colour, marker="o", label=figure.label(g))
            )
    if any(p.not_significant for p in points):
        handles.append(
            Patch(facecolor="white", edgecolor="#444444", hatch=_HATCH, label="not distinguishable from zero")
            if bars
            else Line2D(
                [],
                [],
                color="#444444",
                marker="o",
                markerfacecolor="white",
                linestyle="",
                label="not distinguishable from zero",
            )
        )
    if any(p.suppressed for p in points):
        handles.append(
            Line2D(
                [], [], color="#444444", marker="x", linestyle="", label=f"{symbol}: suppressed (not shown)"
            )
        )
    if handles:
        ax.legend(handles=handles, frameon=False, fontsize=8, loc="best")


def _draw_bars(ax: Axes, figure: Figure, symbol: str) -> None:
    points = figure.points()
    xs = _x_order([p.x for p in points], ChartKind.BAR)
    groups = _ordered([p.group for p in points])
    n = max(len(groups), 1)
    width = 0.8 / n
    marker_transform = blended_transform_factory(ax.transData, ax.transAxes)
    for p in points:
        i, j = xs.index(p.x), groups.index(p.group)
        pos = i - 0.4 + width * (j + 0.5)
        colour = _PALETTE[j % len(_PALETTE)]
        if p.suppressed or p.value is None:
            ax.plot([pos], [0.03], marker="x", color="#444444", transform=marker_transform, linestyle="")
            ax.text(
                pos,
                0.06,
                symbol,
                ha="center",
                va="bottom",
                fontsize=9,
                color="#444444",
                transform=marker_transform,
            )
            continue
        if p.not_significant:
            ax.bar(
                [pos],
                [p.value],
                width=width * 0.92,
                facecolor="white",
                edgecolor=colour,
                hatch=_HATCH,
                linewidth=1.2,
            )
        else:
            ax.bar([pos], [p.value], width=width * 0.92, color=colour, edgecolor=colour)
        if p.low is not None and p.high is not None:
            ax.errorbar(
                [pos],
                [p.value],
                yerr=[[p.value - p.low], [p.high - p.value]],
                fmt="none",
                ecolor="#222222",
                elinewidth=1.0,
                capsize=3,
            )
    ax.axhline(0.0, color="#222222", linewidth=0.8)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([figure.label(x) for x in xs])
    ax.set_xlim(-0.6, len(xs) - 0.4)
    _legend(ax, figure, groups, points, symbol, bars=True)


def _num(value: float | None) -> float:
    return math.nan if value is None else value


def _draw_lines(ax: Axes, figure: Figure, symbol: str) -> None:
    points = figure.points()
    xs = _x_order([p.x for p in points], ChartKind.LINE)
    groups = _ordered([p.group for p in points])
    marker_transform = blended_transform_factory(ax.transData, ax.transAxes)
    for j, g in enumerate(groups):
        colour = _PALETTE[j % len(_PALETTE)]
        by_x = {p.x: p for p in points if p.group == g}
        pos = list(range(len(xs)))
        ys = [_num(by_x[x].value) if x in by_x else math.nan for x in xs]
        lo = [_num(by_x[x].low) if x in by_x else math.nan for x in xs]
        hi = [_num(by_x[x].high) if x in by_x else math.nan for x in xs]
        # NaN breaks the line: a suppressed value is a gap, never interpolated.
        ax.plot(pos, ys, color=colour, linewidth=1.6)
        if figure.low and figure.high:
            ax.fill_between(pos, lo, hi, color=colour, alpha=0.15, linewidth=0)
        for k, x in enumerate(xs):
            p = by_x.get(x)
            if p is None:
                continue
            if p.suppressed or p.value is None:
                ax.plot([k], [0.03], marker="x", color="#444444", linestyle="", transform=marker_transform)
                continue
            face = "white" if p.not_significant else colour
            ax.plot(
                [k], [p.value], marker="o", color=colour, markerfacecolor=face, linestyle="", markersize=5
            )
    ax.axhline(0.0, color="#222222", linewidth=0.6)
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels([figure.label(x) for x in xs])
    _legend(ax, figure, groups, points, symbol, bars=False)
