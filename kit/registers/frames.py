"""What a read returns: the data, a schema with key columns marked, and the sources.

A :class:`RegisterFrame` is private evaluation data (zone 2 in DESIGN.md): its
``repr`` shows shape, names and sources, never values.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"PNR": ["01", "02"], "KOM": [851, 101], "LOENMV_13": [1.0, 2.0],
...                    "FAMILIE_ID": ["a", "b"], "YEAR": [2018, 2018]})
>>> schema = infer_schema(df, codes=("KOM",))
>>> [(c.name, c.role.value) for c in schema]
[('PNR', 'unit'), ('KOM', 'dimension'), ('LOENMV_13', 'measure'), ('FAMILIE_ID', 'key'), ('YEAR', 'time')]
>>> schema.key_columns()
('PNR', 'FAMILIE_ID')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kit.core.schema import Column, ColumnRole, DatasetSchema, looks_like_key

__all__ = ["TIME_COLUMN", "UNIT_PREFERENCE", "RegisterFrame", "Source", "infer_schema"]

#: Name of the year column the loader adds when it reads several years.
TIME_COLUMN = "YEAR"

#: Which identifier becomes the UNIT when several are present (first found wins); others are KEY.
UNIT_PREFERENCE: tuple[str, ...] = ("PNR", "CPR", "CVRNR", "CVR")


@dataclass(frozen=True)
class Source:
    """Which file a register-year was read from, and why that one.

    Attributes
    ----------
    register, year, period
        What was read (``period`` is ``""`` unless the file name has one).
    relpath
        The file, relative to the project folder.
    fmt
        Its format (``"sas7bdat"``, ``"xpt"``, ``"parquet"``, ``"csv"``).
    delivery
        The delivery sub-folder (``""`` for the first delivery).
    delivery_date
        The delivery date (from the folder name or the modification time).
    reason
        One line: why this file won over the others.
    passed_over
        The other deliveries of the same register-year, newest first.
    cached
        The Parquet cache file that was read instead, if any.
    """

    register: str
    year: int
    period: str
    relpath: str
    fmt: str
    delivery: str
    delivery_date: dt.date | None
    reason: str
    passed_over: tuple[str, ...] = ()
    cached: Path | None = None


def _role(name: str, series: pd.Series, unit: str | None, codes: Iterable[str]) -> ColumnRole:
    if name == unit:
        return ColumnRole.UNIT
    if looks_like_key(name):
        return ColumnRole.KEY
    if name == TIME_COLUMN:
        return ColumnRole.TIME
    if name in codes:
        return ColumnRole.DIMENSION
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnRole.DIMENSION
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return ColumnRole.OTHER
    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(series.dtype):
        return ColumnRole.DIMENSION
    if pd.api.types.is_numeric_dtype(series.dtype):
        return ColumnRole.MEASURE
    return ColumnRole.OTHER


def infer_schema(df: pd.DataFrame, codes: Iterable[str] = ()) -> DatasetSchema:
    """A schema for a register frame.

    Identifier columns (:func:`kit.core.schema.looks_like_key`) are marked: the
    first of :data:`UNIT_PREFERENCE` present is the ``UNIT``, every other
    identifier is a ``KEY``, so the rest of the kit refuses to release them.
    Known code columns and text columns are ``DIMENSION`` (without a public code
    list: that is for the analyst to declare), numbers ``MEASURE``, dates
    ``OTHER``, ``YEAR`` ``TIME``. No data values enter the schema.
    """
    names = [str(c) for c in df.columns]
    unit = next((u for u in UNIT_PREFERENCE if u in names), None)
    code_set = tuple(codes)
    return DatasetSchema.of(
        *(
            Column(name, _role(name, df[name], unit, code_set), dtype=str(df[name].dtype))
            for name in names
        )
    )


@dataclass(frozen=True, repr=False)
class RegisterFrame:
    """Data read from registers, its schema and where it came from.

    Unpacks as ``data, schema = frame`` for convenience.
    """

    data: pd.DataFrame
    schema: DatasetSchema
    sources: tuple[Source, ...]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.data, self.schema))

    def __repr__(self) -> str:
        rows, cols = self.data.shape
        keys = ", ".join(self.schema.key_columns()) or "none"
        files = ", ".join(s.relpath for s in self.sources[:3])
        more = f" and {len(self.sources) - 3} more" if len(self.sources) > 3 else ""
        return (
            f"RegisterFrame({rows} rows x {cols} columns: {', '.join(self.schema.names())}; "
            f"key columns: {keys}; from {files}{more})"
        )

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Identifier columns (never releasable)."""
        return self.schema.key_columns()
