"""Row filters: validated conditions, pushed down to Parquet or applied with pandas.

A filter is a list of ``(column, op, value)`` conditions that must all hold
(the conjunctive form of ``pyarrow.parquet.read_table(filters=...)``). Ops:
``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``.

Examples
--------
>>> import pandas as pd
>>> conds = parse_filters([("kom", "in", [101, 851]), ("ALDER", ">=", 18)])
>>> conds[0]
Condition(column='KOM', op='in', value=(101, 851))
>>> df = pd.DataFrame({"KOM": [101, 851, 147], "ALDER": [17, 40, 30]})
>>> df[mask(df, conds, where="example")].index.tolist()
[1]
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kit.errors import SchemaError

__all__ = ["OPS", "Condition", "FilterLike", "mask", "parse_filters", "to_arrow_expression"]

#: A condition as the user writes it.
FilterLike = tuple[str, str, Any]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: The supported operators.
OPS: tuple[str, ...] = (*_COMPARE, "in", "not in")


@dataclass(frozen=True)
class Condition:
    """One validated condition on a normalised (upper-case) column name."""

    column: str
    op: str
    value: Any


def parse_filters(filters: Sequence[FilterLike] | None) -> tuple[Condition, ...]:
    """Validate filters and upper-case their column names.

    >>> parse_filters([("KOM", "~", 1)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kit.errors.SchemaError: filters: operator '~' on column 'KOM' is not supported. Fix: use one of ==, ...
    """
    if not filters:
        return ()
    out: list[Condition] = []
    for item in filters:
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise SchemaError(
                "filters",
                "each filter must be a (column, op, value) triple",
                "write filters=[('KOM', '==', 851)]",
            )
        column, op, value = item
        name = str(column).strip().upper()
        op = str(op).strip().lower()
        if op not in OPS:
            raise SchemaError(
                "filters",
                f"operator '{op}' on column '{name}' is not supported",
                f"use one of {', '.join(OPS)}",
            )
        if op in ("in", "not in"):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise SchemaError(
                    "filters", f"'{op}' on column '{name}' needs a list of values", "pass a list or tuple"
                )
            value = tuple(value)
        out.append(Condition(name, op, value))
    return tuple(out)


def mask(df: pd.DataFrame, conditions: Sequence[Condition], *, where: str) -> pd.Series:
    """Boolean row mask of ``df`` (normalised names) for all conditions."""
    result = pd.Series(True, index=df.index)
    for cond in conditions:
        column = df[cond.column]
        try:
            if cond.op == "in":
                hit = column.isin(cond.value)
            elif cond.op == "not in":
                hit = ~column.isin(cond.value)
            else:
                # missing values never satisfy a comparison (as in Arrow and SQL)
                hit = _COMPARE[cond.op](column, cond.value) & column.notna()
        except TypeError as exc:
            raise SchemaError(
                where,
                f"the filter on column '{cond.column}' compares values of different types "
                f"(column dtype {column.dtype})",
                "give the filter value the column's type (text codes as strings, numbers as numbers)",
            ) from exc
        result &= hit.fillna(False).astype(bool)
    return result


def to_arrow_expression(conditions: Sequence[Condition], actual: Mapping[str, str]) -> Any:
    """A ``pyarrow.compute.Expression`` for the conditions, on the file's own column names."""
    import pyarrow.compute as pc

    expr: Any = None
    for cond in conditions:
        field = pc.field(actual[cond.column])
        if cond.op == "in":
            term = field.isin(list(cond.value))
        elif cond.op == "not in":
            term = ~field.isin(list(cond.value))
        else:
            term = _COMPARE[cond.op](field, cond.value)
        expr = term if expr is None else expr & term
    return expr
