"""Render contexts: plain, frozen records built from cleared objects only.

Templates never see a DataFrame or a private result. :func:`output_context`
turns a :class:`~kit.core.cleared.ClearedTable` or :class:`~kit.core.cleared.ClearedEstimate`
into an :class:`OutputContext` of strings, numbers (``None`` when suppressed),
flags and notes; anything else raises :class:`~kit.errors.DisclosureError`.

Examples
--------
>>> output_context({"a": 1}, symbol="x", note_suppressed="x: hidden")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.DisclosureError: release: a dict is not a cleared output. Fix: pass the result ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kit.core.cleared import ClearedEstimate, ClearedTable, EstimateKind, Flag
from kit.errors import DisclosureError
from kit.release.filters import CellFormat

__all__ = [
    "FLAG_MARKS",
    "CellContext",
    "ColumnContext",
    "OutputContext",
    "RowContext",
    "column_format",
    "output_context",
    "require_cleared",
]

#: Footnote mark and explanation per flag.
FLAG_MARKS: Mapping[Flag, tuple[str, str]] = MappingProxyType(
    {
        Flag.NOT_DISTINGUISHABLE_FROM_ZERO: (
            "†",
            "†: the effect cannot be statistically distinguished from zero (its 95 % interval covers 0).",
        ),
        Flag.DIFFERENTIALLY_PRIVATE: ("‡", "‡: the value carries differential-privacy noise."),
        Flag.ROUNDED: ("§", "§: the value is rounded."),
    }
)

_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "value": "Value",
        "estimate": "Estimate",
        "ci_low": "95 % CI, low",
        "ci_high": "95 % CI, high",
        "n": "N",
        "se": "Std. error",
        "std_err": "Std. error",
        "p_value": "p",
        "pvalue": "p",
        "term": "Term",
    }
)


def require_cleared(obj: object, where: str = "release") -> ClearedTable | ClearedEstimate:
    """Return ``obj`` if it is a cleared table or estimate; refuse anything else."""
    if isinstance(obj, (ClearedTable, ClearedEstimate)):
        return obj
    raise DisclosureError(
        where,
        f"a {type(obj).__name__} is not a cleared output",
        "pass the result through kit.clear() first; only ClearedTable, ClearedEstimate "
        "and Figure objects can be released",
    )


@dataclass(frozen=True)
class ColumnContext:
    """One column: its name, header label and cell format."""

    name: str
    label: str
    fmt: str
    is_key: bool


@dataclass(frozen=True)
class CellContext:
    """One value cell: the number (``None`` when suppressed or not available) and how to show it."""

    value: float | None
    fmt: str
    suppressed: bool
    symbol: str


@dataclass(frozen=True)
class RowContext:
    """One row: label codes, value cells, whether it is a margin, footnote marks."""

    keys: tuple[str, ...]
    cells: tuple[CellContext, ...]
    is_margin: bool
    suppressed: bool
    marks: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class OutputContext:
    """Everything a template needs to show one cleared table or estimate."""

    name: str
    title: str
    kind: str
    type: str
    key_columns: tuple[ColumnContext, ...]
    value_columns: tuple[ColumnContext, ...]
    rows: tuple[RowContext, ...]
    notes: tuple[str, ...]
    symbol: str
    n_suppressed: int
    n_reported: str
    provenance: Mapping[str, Any]

    @property
    def columns(self) -> tuple[ColumnContext, ...]:
        """Key columns followed by value columns."""
        return self.key_columns + self.value_columns


def column_format(
    name: str,
    *,
    statistic: str | None = None,
    kind: EstimateKind | None = None,
    values: tuple[float | None, ...] = (),
) -> CellFormat:
    """The display format of a value column, from its name and the output's statistic or kind.

    >>> column_format("n").value, column_format("estimate", statistic="rate").value
    ('integer', 'percent')
    >>> column_format("effect_pp").value, column_format("p_value").value
    ('pp', 'p_value')
    """
    low = name.lower()
    if low == "n" or low.startswith("n_"):
        return CellFormat.INTEGER
    if low in ("p", "p_value", "pvalue", "p_perm", "p_permutation"):
        return CellFormat.P_VALUE
    if low == "pp" or low.endswith("_pp"):
        return CellFormat.PP
    if (statistic == "rate" or kind is EstimateKind.RATES) and low in (
        "estimate",
        "ci_low",
        "ci_high",
        "rate",
    ):
        return CellFormat.PERCENT
    if statistic == "count":
        present = [v for v in values if v is not None]
        if all(float(v).is_integer() for v in present):
            return CellFormat.INTEGER
    return CellFormat.NUMBER


def _label(name: str, fmt: CellFormat) -> str:
    stem = name[:-3] if fmt is CellFormat.PP and name.lower().endswith("_pp") else name
    base = _LABELS.get(stem, stem.replace("_", " "))
    if fmt is CellFormat.PERCENT:
        return f"{base} (%)"
    if fmt is CellFormat.PP:
        return f"{base} (pp)"
    return base


def _notes(
    own: tuple[str, ...], any_suppressed: bool, note_suppressed: str, flags_used: list[Flag]
) -> tuple[str, ...]:
    notes = list(own)
    if any_suppressed and note_suppressed not in notes:
        notes.append(note_suppressed)
    for flag in flags_used:
        text = FLAG_MARKS[flag][1]
        if text not in notes:
            notes.append(text)
    return tuple(notes)


def output_context(obj: object, *, symbol: str, note_suppressed: str) -> OutputContext:
    """Build the render context of a cleared table or estimate.

    Parameters
    ----------
    obj
        A :class:`ClearedTable` or :class:`ClearedEstimate`; anything else is refused.
    symbol, note_suppressed
        The rule set's suppressed symbol and its explanation (a footnote whenever
        a value is suppressed).
    """
    cleared = require_cleared(obj)
    provenance = cleared.provenance.as_dict() if cleared.provenance is not None else {}
    if isinstance(cleared, ClearedTable):
        return _table_context(cleared, symbol or cleared.symbol, note_suppressed, provenance)
    return _estimate_context(cleared, symbol or cleared.symbol, note_suppressed, provenance)


def _table_context(t: ClearedTable, symbol: str, note: str, provenance: Mapping[str, Any]) -> OutputContext:
    value_cols = []
    for j, col in enumerate(t.value_columns):
        fmt = column_format(col, statistic=t.statistic, values=tuple(r.values[j] for r in t.rows))
        value_cols.append(ColumnContext(col, _label(col, fmt), fmt.value, False))
    keys = tuple(ColumnContext(d, d, "text", True) for d in t.dims)
    rows = tuple(
        RowContext(
            keys=tuple(r.keys),
            cells=tuple(
                CellContext(v, c.fmt, r.suppressed, symbol) for v, c in zip(r.values, value_cols, strict=True)
            ),
            is_margin=r.is_margin,
            suppressed=r.suppressed,
            marks="",
            flags=(),
        )
        for r in t.rows
    )
    any_supp = any(r.suppressed for r in t.rows)
    return OutputContext(
        name=t.name,
        title=t.title or t.name,
        kind="table",
        type=t.statistic,
        key_columns=keys,
        value_columns=tuple(value_cols),
        rows=rows,
        notes=_notes(t.notes, any_supp, note, []),
        symbol=symbol,
        n_suppressed=t.n_suppressed,
        n_reported="",
        provenance=provenance,
    )


def _estimate_context(
    e: ClearedEstimate, symbol: str, note: str, provenance: Mapping[str, Any]
) -> OutputContext:
    key_names: list[str] = []
    for row in e.rows:
        for k, _ in row.keys:
            if k not in key_names:
                key_names.append(k)
    value_cols = []
    for j, col in enumerate(e.columns):
        fmt = column_format(col, kind=e.kind, values=tuple(r.values[j] for r in e.rows))
        value_cols.append(ColumnContext(col, _label(col, fmt), fmt.value, False))
    keys = (
        ColumnContext("term", "Term", "text", True),
        *(ColumnContext(k, k, "text", True) for k in key_names),
    )
    flags_used = [f for f in FLAG_MARKS if any(f in r.flags for r in e.rows)]
    rows = []
    for r in e.rows:
        labels = dict(r.keys)
        rows.append(
            RowContext(
                keys=(r.term, *(labels.get(k, "") for k in key_names)),
                cells=tuple(
                    CellContext(v, c.fmt, r.suppressed, symbol)
                    for v, c in zip(r.values, value_cols, strict=True)
                ),
                is_margin=False,
                suppressed=r.suppressed,
                marks="".join(FLAG_MARKS[f][0] for f in flags_used if f in r.flags),
                flags=tuple(f.value for f in r.flags),
            )
        )
    any_supp = any(r.suppressed for r in e.rows)
    return OutputContext(
        name=e.name,
        title=e.title or e.name,
        kind="estimate",
        type=e.kind.value,
        key_columns=keys,
        value_columns=tuple(value_cols),
        rows=tuple(rows),
        notes=_notes(e.notes, any_supp, note, flags_used),
        symbol=symbol,
        n_suppressed=sum(r.suppressed for r in e.rows),
        n_reported=e.n_reported,
        provenance=provenance,
    )
