"""Read one register file (SAS, SAS transport, Parquet, CSV) with column selection and filters.

Readers work on the file's own column names; :mod:`kit.registers.project`
maps normalised names to them. What each format pushes down:

=========  ==================================  ==========================================
format     columns                             row filters
=========  ==================================  ==========================================
Parquet    read only those columns (pyarrow)   pushed into the scan (pyarrow expressions)
SAS        pyreadstat ``usecols``              applied per chunk (bounded memory)
CSV        pandas ``usecols``                  applied after type inference
=========  ==================================  ==========================================

SAS files are read with pyreadstat when installed (faster, reads SAS transport
version 8), else with :func:`pandas.read_sas` (SAS transport version 5 only).
SAS missing values become NaN. Text columns stay text, so codes keep leading
zeros. CSV files are read as text and then typed column by column: a column
with a value with a leading zero (``0851``) or whose name looks like a key stays
text; all-number columns become numbers (``int64`` when whole and complete,
else ``float64``); ISO dates become datetimes; empty cells and ``.`` are missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit.core.schema import looks_like_key
from kit.errors import DataReadError, KitError, OptionalDependencyError, SchemaError
from kit.registers.discover import FileFormat
from kit.registers.filters import Condition, mask, to_arrow_expression

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "count_rows",
    "have_pyreadstat",
    "iter_chunks",
    "list_columns",
    "read_file",
    "type_text_columns",
]

logger = logging.getLogger(__name__)

#: Rows per chunk for chunked SAS reading and conversion.
DEFAULT_CHUNK_ROWS = 500_000

#: Encoding for SAS transport files read with pandas (DST's Windows files are Latin-1 compatible).
_XPORT_PANDAS_ENCODING = "latin-1"

_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


def have_pyreadstat() -> bool:
    """Whether pyreadstat can be imported."""
    try:
        import pyreadstat  # noqa: F401
    except ImportError:
        return False
    return True


def _pyarrow_parquet(feature: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise OptionalDependencyError(feature, None, "pyarrow") from exc
    return pq


def _wrap(where: str, exc: Exception, what: str = "cannot be read") -> DataReadError:
    # The original message may quote file content, so only its type is shown.
    return DataReadError(
        where,
        f"{what} ({type(exc).__name__})",
        "check that the file is complete and in the format its extension says; "
        "re-copy it from the delivery",
    )


def list_columns(path: Path, fmt: FileFormat, *, where: str) -> tuple[str, ...]:
    """The file's column names as stored, without reading data."""
    try:
        if fmt is FileFormat.PARQUET:
            pq = _pyarrow_parquet("reading Parquet files")
            return tuple(pq.read_schema(path).names)
        if fmt is FileFormat.CSV:
            check_csv_shape(path, where, header_only=True)
            return tuple(str(c) for c in pd.read_csv(path, nrows=0).columns)
        if have_pyreadstat():
            import pyreadstat

            reader = pyreadstat.read_sas7bdat if fmt is FileFormat.SAS7BDAT else pyreadstat.read_xport
            _, meta = reader(str(path), metadataonly=True)
            return tuple(meta.column_names)
        with _pandas_sas_reader(path, fmt, chunksize=None) as reader:
            names = reader.column_names if fmt is FileFormat.SAS7BDAT else reader.columns
            return tuple(str(n) for n in names)
    except KitError:
        raise
    except Exception as exc:
        raise _wrap(where, exc) from exc


def count_rows(path: Path, fmt: FileFormat) -> int | None:
    """Number of rows when the format states it cheaply, else ``None``."""
    try:
        if fmt is FileFormat.PARQUET:
            pq = _pyarrow_parquet("reading Parquet files")
            return int(pq.ParquetFile(path).metadata.num_rows)
        if fmt is FileFormat.SAS7BDAT:
            if have_pyreadstat():
                import pyreadstat

                _, meta = pyreadstat.read_sas7bdat(str(path), metadataonly=True)
                return int(meta.number_rows) if meta.number_rows is not None else None
            with _pandas_sas_reader(path, fmt, chunksize=None) as reader:
                return int(reader.row_count)
        if fmt is FileFormat.XPORT and not have_pyreadstat():
            with _pandas_sas_reader(path, fmt, chunksize=None) as reader:
                return int(reader.nobs)
    except Exception:  # only a progress-bar total; the read itself reports errors
        return None
    return None


def _pandas_sas_reader(path: Path, fmt: FileFormat, chunksize: int | None) -> Any:
    if fmt is FileFormat.SAS7BDAT:
        return pd.read_sas(path, format="sas7bdat", encoding="infer", iterator=True, chunksize=chunksize)
    return pd.read_sas(
        path, format="xport", encoding=_XPORT_PANDAS_ENCODING, iterator=True, chunksize=chunksize
    )


def type_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Type the columns of a frame read as text (see the module docs).

    >>> df = pd.DataFrame({"KOM": ["0851", "101"], "N": ["1", "2"], "X": ["1.5", None],
    ...                    "D": ["2001-02-03", None], "PNR": ["17", "18"]})
    >>> {k: v.kind for k, v in type_text_columns(df).dtypes.items()}
    {'KOM': 'O', 'N': 'i', 'X': 'f', 'D': 'M', 'PNR': 'O'}
    """
    out = {}
    for name in df.columns:
        column = df[name]
        values = column.dropna()
        if values.empty:
            out[name] = pd.Series(float("nan"), index=df.index, dtype="float64")
            continue
        text = values.astype(str).str.strip()
        if looks_like_key(str(name)) or text.str.match(_LEADING_ZERO).any():
            out[name] = column
            continue
        numbers = pd.to_numeric(text, errors="coerce")
        if numbers.notna().all():
            full = pd.to_numeric(column.astype(str).str.strip(), errors="coerce")
            whole = bool((numbers == numbers.round()).all()) and len(values) == len(column)
            out[name] = full.astype("int64") if whole else full.astype("float64")
            continue
        if text.str.match(_ISO_DATE).all():
            out[name] = pd.to_datetime(column, format="ISO8601").astype("datetime64[us]")
            continue
        out[name] = column
    return pd.DataFrame(out, index=df.index)


def _apply(df: pd.DataFrame, conditions: Sequence[Condition], rename: dict[str, str], where: str) -> Any:
    if not conditions:
        return df
    view = df.rename(columns=rename)
    return df.loc[mask(view, conditions, where=where).to_numpy()]


def read_file(
    path: Path,
    fmt: FileFormat,
    columns: Sequence[str],
    conditions: Sequence[Condition] = (),
    *,
    actual: dict[str, str],
    where: str,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> pd.DataFrame:
    """Read ``columns`` (file names) of one file, keeping rows that meet ``conditions``.

    ``actual`` maps normalised names to file names (for the conditions). The
    result has the file's column names, in the order of ``columns``.
    """
    needed = list(dict.fromkeys([*columns, *(actual[c.column] for c in conditions)]))
    rename = {file_name: norm for norm, file_name in actual.items()}
    try:
        if fmt is FileFormat.PARQUET:
            df = _read_parquet(path, needed, conditions, actual, where)
        elif fmt is FileFormat.CSV:
            df = _read_csv(path, needed, where)
            df = _apply(df, conditions, rename, where)
        else:
            df = _read_sas(path, fmt, needed, conditions, rename, where, chunk_rows)
    except KitError:
        raise
    except Exception as exc:
        raise _wrap(where, exc) from exc
    return df.loc[:, list(columns)].reset_index(drop=True)


def _read_parquet(
    path: Path, needed: list[str], conditions: Sequence[Condition], actual: dict[str, str], where: str
) -> pd.DataFrame:
    pq = _pyarrow_parquet("reading Parquet files")
    import pyarrow as pa

    expression = to_arrow_expression(conditions, actual) if conditions else None
    try:
        table = pq.read_table(path, columns=needed, filters=expression)
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        names = ", ".join(f"'{c.column}'" for c in conditions)
        raise SchemaError(
            where,
            f"a filter on {names} compares values of a different type than the column",
            "give the filter value the column's type (text codes as strings, numbers as numbers)",
        ) from exc
    df: pd.DataFrame = table.to_pandas(date_as_object=False)
    return df


def check_csv_shape(path: Path, where: str, header_only: bool = False) -> None:
    """Refuse a CSV register file with duplicate or empty header names or a ragged row.

    pandas would rename a duplicate header (``KOM.1``) and fill a short row with missing values
    or shift a long one; both lose data silently. Streams the file (bounded memory); the error
    names the line, never a value.
    """
    import csv
    from collections import Counter

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise SchemaError(where, "the CSV file is empty (no header row)", "re-copy it from the delivery")
            names = [h.strip() for h in header]
            dupes = sorted(h for h, n in Counter(names).items() if n > 1)
            if dupes or not all(names):
                raise SchemaError(where, f"the CSV header has duplicate or empty column names ({dupes})",
                                  "give every column its own name")
            for row in () if header_only else reader:
                if row and len(row) != len(header):
                    raise SchemaError(where, f"line {reader.line_num} has {len(row)} fields, the header "
                                      f"{len(header)}", "fix the row (quote fields holding a comma) or "
                                      "re-copy the file; the kit does not guess which field is missing")
    except (csv.Error, UnicodeDecodeError) as exc:
        raise SchemaError(where, f"the CSV file cannot be parsed ({type(exc).__name__})",
                          "save it as UTF-8 CSV with a header row") from None


def _read_csv(path: Path, needed: list[str], where: str = "CSV file") -> pd.DataFrame:
    check_csv_shape(path, where)
    df = pd.read_csv(
        path,
        usecols=needed,
        dtype=str,
        keep_default_na=False,
        na_values=["", "."],
    )
    return type_text_columns(df)


def _read_sas(
    path: Path,
    fmt: FileFormat,
    needed: list[str],
    conditions: Sequence[Condition],
    rename: dict[str, str],
    where: str,
    chunk_rows: int,
) -> pd.DataFrame:
    if have_pyreadstat() and not conditions:
        import pyreadstat

        reader = pyreadstat.read_sas7bdat if fmt is FileFormat.SAS7BDAT else pyreadstat.read_xport
        df, _ = reader(str(path), usecols=needed, dates_as_pandas_datetime=False)
        return dates_to_datetime(df)
    parts = [
        _apply(chunk, conditions, rename, where)
        for chunk in iter_chunks(path, fmt, chunk_rows=chunk_rows, usecols=needed, where=where)
    ]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in needed})
    return pd.concat(parts, ignore_index=True)


def dates_to_datetime(df: pd.DataFrame) -> pd.DataFrame:
    """SAS date and datetime columns (Python objects) as ``datetime64[us]``.

    Microsecond resolution holds every date SAS can store (years 1582-9999);
    pandas 2's default nanosecond resolution overflows before 1677.

    >>> import datetime as dt
    >>> out = dates_to_datetime(pd.DataFrame({"D": [dt.date(1583, 1, 1), None], "X": [1.0, 2.0]}))
    >>> str(out["D"].dtype), str(out["D"].iloc[0].date()), bool(pd.isna(out["D"].iloc[1]))
    ('datetime64[us]', '1583-01-01', True)
    """
    for name in df.columns:
        col = df[name]
        if col.dtype != object:
            continue
        sample = col.dropna()
        if len(sample) and isinstance(sample.iloc[0], (dt.date, dt.datetime)):
            values = [v if isinstance(v, (dt.date, dt.datetime)) else None for v in col.tolist()]
            df[name] = pd.Series(np.array(values, dtype="datetime64[us]"), index=df.index)
    return df


def iter_chunks(
    path: Path,
    fmt: FileFormat,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    usecols: Sequence[str] | None = None,
    where: str,
) -> Iterator[pd.DataFrame]:
    """Yield a SAS or SAS transport file in chunks of ``chunk_rows`` rows (file names kept)."""
    if fmt not in (FileFormat.SAS7BDAT, FileFormat.XPORT):
        raise DataReadError(where, f"chunked reading is for SAS files, not {fmt.value}", "read it whole")
    try:
        if have_pyreadstat():
            import pyreadstat

            reader = pyreadstat.read_sas7bdat if fmt is FileFormat.SAS7BDAT else pyreadstat.read_xport
            for chunk, _ in pyreadstat.read_file_in_chunks(
                reader,
                str(path),
                chunksize=chunk_rows,
                usecols=list(usecols) if usecols is not None else None,
                dates_as_pandas_datetime=False,
            ):
                yield dates_to_datetime(chunk)
            return
        with _pandas_sas_reader(path, fmt, chunksize=chunk_rows) as sas:
            for chunk in sas:
                yield chunk if usecols is None else chunk.loc[:, list(usecols)]
    except KitError:
        raise
    except Exception as exc:
        raise _wrap(where, exc) from exc
