"""Writing register tables: Parquet, CSV or SAS transport (XPT), deterministically.

Parquet files are written with pyarrow from Arrow tables built directly (no
pandas metadata, no timestamps) and fixed options, so the
same table gives the same bytes (zstd compression). XPT files get a fixed creation timestamp.

Examples
--------
>>> ids = id_strings(np.array([42, 7]), np.array([True, False]))
>>> ids.to_pylist()
['0000000042', None]
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kit.errors import OptionalDependencyError, SpecError
from synthetic.config import ColumnCase

__all__ = ["FileFormat", "date32", "id_strings", "write_table"]

ID_WIDTH = 10
_XPT_STAMP = b"01JAN20:00:00:00"


class FileFormat(enum.Enum):
    """Output file format."""

    PARQUET = "parquet"
    CSV = "csv"
    XPT = "xpt"

    @classmethod
    def parse(cls, text: str) -> FileFormat:
        """Format from its name, or a :class:`~kit.errors.SpecError` naming the option.

        Examples
        --------
        >>> FileFormat.parse("csv").value
        'csv'
        """
        try:
            return cls(text.lower())
        except ValueError:
            raise SpecError(
                "synthetic output",
                "option 'format' must be parquet, csv or xpt",
                "pass --format parquet, --format csv or --format xpt",
            ) from None


def id_strings(values: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_] | None = None) -> pa.Array:
    """Fixed-width (10 digits, leading zeros) string ids as an Arrow array, built without Python loops."""
    n = values.shape[0]
    digits = np.empty((n, ID_WIDTH), dtype=np.uint8)
    x = np.asarray(values, dtype=np.int64).copy()
    for k in range(ID_WIDTH - 1, -1, -1):
        digits[:, k] = (x % 10 + 48).astype(np.uint8)
        x //= 10
    offsets = np.arange(0, ID_WIDTH * n + 1, ID_WIDTH, dtype=np.int32)
    buffers: list[pa.Buffer | None] = [None, pa.py_buffer(offsets), pa.py_buffer(digits.tobytes())]
    null_count = 0
    if valid is not None and not bool(valid.all()):
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=null_count)


def date32(
    year: npt.ArrayLike,
    day_of_year: npt.ArrayLike,
    valid: npt.NDArray[np.bool_] | None = None,
) -> pa.Array:
    """Arrow date32 array from year and day of year (0-364).

    Examples
    --------
    >>> date32(np.array([2011]), np.array([31])).to_pylist()
    [datetime.date(2011, 2, 1)]
    """
    from synthetic.state import jan1_days

    days = jan1_days(year) + np.asarray(day_of_year, dtype=np.int32)
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def apply_case(table: pa.Table, case: ColumnCase) -> pa.Table:
    """Rename columns to the given case."""
    return table.rename_columns([case.apply(name) for name in table.column_names])


def write_table(table: pa.Table, path_stem: Path, fmt: FileFormat, case: ColumnCase) -> Path:
    """Write ``table`` to ``path_stem`` + extension; return the path written.

    Raises
    ------
    OptionalDependencyError
        XPT was asked for and pyreadstat is not installed.
    """
    table = apply_case(table, case)
    path = path_stem.with_suffix("." + fmt.value)
    tmp = path.with_name(path.name + ".partial")
    if fmt is FileFormat.PARQUET:
        id_like = {"PNR", "FAMILIE_ID", "MOR_ID", "FAR_ID"}
        dictionary = [
            field.name
            for field in table.schema
            if field.name.upper() not in id_like and not pa.types.is_floating(field.type)
        ]
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            version="2.6",
            write_statistics=True,
            use_dictionary=dictionary,
            data_page_version="1.0",
            store_schema=True,
        )
    elif fmt is FileFormat.CSV:
        pacsv.write_csv(table, tmp, pacsv.WriteOptions(include_header=True, delimiter=","))
    else:
        _write_xpt(table, tmp, path.stem)
    os.replace(tmp, path)
    return path


def _write_xpt(table: pa.Table, path: Path, name: str) -> None:
    try:
        import pyreadstat
    except ImportError:
        raise OptionalDependencyError("synthetic output in XPT format", "sas", "pyreadstat") from None
    frame = table.to_pandas(date_as_object=True)
    pyreadstat.write_xport(frame, str(path), table_name=name[:8].upper(), file_format_version=8)
    # readstat stamps the current time into the headers: replace it with a fixed stamp
    data = path.read_bytes()
    end = data.find(b"HEADER RECORD*******OBS")
    head = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", _XPT_STAMP, data[: max(end, 0)])
    path.write_bytes(head + data[max(end, 0) :])
