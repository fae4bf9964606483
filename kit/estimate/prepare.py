"""Input handling shared by the estimators: columns, codes, missing values.

Errors name columns and counts only, never a data value.

Examples
--------
>>> import pandas as pd
>>> code_text(pd.Series([2011.0, 2012.0, None])).tolist()
['2011', '2012', '']
>>> sort_codes(["10", "9", "b", "a"])
['a', 'b', '10', '9']
>>> sort_codes(["2012", "2009"])
['2009', '2012']
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.core import codes
from kit.core.unit_ids import check_unit_ids
from kit.errors import SchemaError, SpecError

__all__ = [
    "MissingPolicy",
    "check_columns",
    "code_text",
    "drop_missing",
    "is_binary",
    "numeric_column",
    "one_code",
    "sort_codes",
]


class MissingPolicy(enum.Enum):
    """What to do with rows that have a missing value in a column the estimator uses."""

    DROP = "drop"
    RAISE = "raise"

    @classmethod
    def parse(cls, value: Any, where: str) -> MissingPolicy:
        """Parse ``"drop"`` or ``"raise"``."""
        if isinstance(value, cls):
            return value
        for m in cls:
            if m.value == str(value).strip().lower():
                return m
        raise SpecError(
            where, f"unknown missing-value policy {str(value)!r}", 'use missing="drop" or "raise"'
        )


def one_code(value: Any) -> str:
    """A code as text, exactly as the Session writes it (:func:`kit.core.codes.code_text`).

    >>> one_code(2011.0), one_code(np.int64(7)), one_code("A")
    ('2011', '7', 'A')
    """
    return codes.code_text(value)


def code_text(col: pd.Series) -> np.ndarray:
    """Codes of a column as text (missing values become the empty string)."""
    codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
    labels = np.array([one_code(u) for u in uniques] + [""], dtype=object)
    return np.asarray(labels[codes])


def sort_codes(codes: Sequence[str]) -> list[str]:
    """Codes sorted numerically when they all are numbers, else as text (text first)."""
    try:
        return sorted(codes, key=lambda c: float(c))
    except ValueError:
        return sorted(codes, key=lambda c: (_is_number(c), c))


def _is_number(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


def check_columns(df: Any, columns: Sequence[str | None], where: str, *, unit: str | None = None) -> None:
    """The data are a non-empty DataFrame holding every named column.

    With ``unit``, that column's ids are checked too (:func:`kit.core.unit_ids.check_unit_ids`):
    every row has one, and no two ids spell one unit.
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(where, "the data are not a pandas DataFrame", "pass a DataFrame")
    if len(df) == 0:
        raise SchemaError(where, "the data frame is empty", "check the filters that built it")
    missing = [c for c in [*columns, unit] if c is not None and c not in df.columns]
    if missing:
        raise SchemaError(where, f"column(s) {missing} are not in the data", "check the spelling")
    if unit is not None:
        check_unit_ids(df[unit], unit, where)


def numeric_column(df: pd.DataFrame, col: str, where: str) -> np.ndarray:
    """A numeric (or boolean) column as float; infinite values are an error."""
    s = df[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise SchemaError(where, f"the column '{col}' is not numeric", "convert it with pd.to_numeric")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise SchemaError(
            where,
            f"the column '{col}' has {int(np.isinf(x).sum())} infinite value(s)",
            "replace them before estimating",
        )
    return np.asarray(x)


def drop_missing(
    df: pd.DataFrame, columns: Sequence[str], policy: MissingPolicy, where: str
) -> tuple[pd.DataFrame, int]:
    """Rows with no missing value in ``columns``, and how many were dropped.

    Raises
    ------
    SchemaError
        Under ``MissingPolicy.RAISE`` when any row has a missing value.
    """
    cols = [c for c in dict.fromkeys(columns) if c]
    bad = df[cols].isna().any(axis=1).to_numpy()
    n_bad = int(bad.sum())
    if n_bad == 0:
        return df, 0
    if policy is MissingPolicy.RAISE:
        per = {c: int(df[c].isna().sum()) for c in cols if df[c].isna().any()}
        raise SchemaError(
            where,
            f"{n_bad} row(s) have missing values (by column: {per})",
            'drop or impute them first, or pass missing="drop" to drop them with the count '
            "reported in the notes",
        )
    kept = df.loc[~bad]
    if len(kept) == 0:
        raise SchemaError(
            where,
            "every row has a missing value in a column the estimate uses",
            "check the columns named in the specification",
        )
    return kept, n_bad


def is_binary(x: np.ndarray) -> bool:
    """True when every value is 0 or 1 (the outcome is a share; effects are in percentage points).

    >>> is_binary(np.array([0., 1., 1.])), is_binary(np.array([0., 2.]))
    (True, False)
    """
    return bool(np.isin(x, (0.0, 1.0)).all())
