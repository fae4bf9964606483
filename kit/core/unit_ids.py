"""Unit ids written as text: two spellings of one id must not count as two units.

Thresholds count distinct units. A CPR number kept as text loses its leading zero in one source
and keeps it in another (``'0101801234'`` and ``'101801234'``), or carries a stray blank: one
person then counts twice, and a cell of two persons passes a threshold of three. The kit cannot
know which spelling is right, so it refuses ids that differ only by blanks around them or by
leading zeros (:func:`spelling_twins`), and the message says how to normalise them. Ids that mix
numbers and text (``101801234`` and ``'0101801234'``) are refused for the same reason, and so are
rows without an id (:func:`check_unit_ids`).

Examples
--------
>>> import numpy as np
>>> spelling_twins(np.array(["0101801234", "0202801234"], dtype=object))
0
>>> spelling_twins(np.array(["0101801234", "101801234", " 0202801234", "0202801234"], dtype=object))
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.errors import SchemaError

__all__ = ["check_distinct_ids", "check_unit_ids", "spelling_twins"]


def spelling_twins(uniques: np.ndarray) -> int:
    """How many of the distinct text ids ``uniques`` are another id's spelling.

    Two ids are one id's spellings when they are equal after removing blanks around them and
    leading zeros. Ids all of one length without blanks around them cannot be twins (the common
    case, answered from the lengths alone); otherwise the normalised ids are counted.

    Parameters
    ----------
    uniques : numpy.ndarray
        Distinct unit ids, all text.

    Returns
    -------
    int
        The number of ids that another id already spells (0 when none do).
    """
    if len(uniques) < 2:
        return 0
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pyarrow is optional for some installs: the same in numpy, slower
        text = np.asarray(uniques, dtype=str)
        trimmed_np = np.char.strip(text)
        if len(set(np.char.str_len(text).tolist())) == 1 and bool((trimmed_np == text).all()):
            return 0
        return len(text) - len(np.unique(np.char.lstrip(trimmed_np, "0")))
    ids = pa.array(uniques, type=pa.string())
    lengths = pc.utf8_length(ids)
    trimmed = pc.utf8_trim_whitespace(ids)
    bounds = pc.min_max(lengths).as_py()
    blanks = bool(pc.any(pc.not_equal(pc.utf8_length(trimmed), lengths)).as_py())
    if bounds["min"] == bounds["max"] and not blanks:
        return 0  # same length, no blanks: equal after stripping zeros means equal
    normal = pc.utf8_ltrim(trimmed, "0")
    return len(uniques) - int(pc.count_distinct(normal).as_py())


def check_distinct_ids(uniques: np.ndarray | pd.Index, unit: str, where: str) -> None:
    """Refuse distinct unit ids that may spell one unit twice (numbers with text, or text twins).

    Parameters
    ----------
    uniques : array-like
        The distinct ids of the column ``unit`` (e.g. from :func:`pandas.factorize`).
    unit, where : str
        The unit column's name and what is being computed, for the message.

    Raises
    ------
    SchemaError
        Naming the column and how many ids collide, never an id.
    """
    if len(uniques) == 0 or np.asarray(uniques).dtype.kind in "iufb":  # numbers only: one spelling each
        return
    values = np.asarray(uniques, dtype=object)
    kinds = {isinstance(u, str) for u in values}
    if len(kinds) > 1:
        # 101801234 and '0101801234' may be one person: counted twice, a cell of 2 would pass as 3
        raise SchemaError(where, f"the unit column '{unit}' mixes numbers and text, so one unit written both "
                          "ways would count twice", f"give it one type first, e.g. df['{unit}'] = "
                          f"df['{unit}'].astype(str).str.zfill(10) for CPR numbers")
    if kinds == {True}:
        twins = spelling_twins(values)
        if twins:
            raise SchemaError(where, f"the unit column '{unit}' has {twins} id(s) that are another id written "
                              "with leading zeros or blanks, so one unit would count twice",
                              f"write every id one way first, e.g. df['{unit}'] = "
                              f"df['{unit}'].str.strip().str.zfill(10) for CPR numbers")


def check_unit_ids(col: pd.Series, unit: str, where: str) -> None:
    """Every row has a unit id, and no two distinct ids may spell one unit (:func:`check_distinct_ids`).

    Examples
    --------
    >>> check_unit_ids(pd.Series(["0101801234", "0202801234"]), "PNR", "model")
    >>> try:
    ...     check_unit_ids(pd.Series(["0101801234", "101801234"]), "PNR", "model")
    ... except SchemaError as err:
    ...     print("leading zeros" in str(err), "0101801234" in str(err))
    True False
    """
    n_missing = int(col.isna().sum())
    if n_missing:
        raise SchemaError(where, f"{n_missing} row(s) have no unit id in '{unit}'",
                          "drop or fix those rows: every row must belong to a unit")
    if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_float_dtype(col.dtype):
        return
    check_distinct_ids(pd.unique(col), unit, where)
