"""Which engine computes the evidence: pandas (the reference) or DuckDB (scale).

Evidence is a group-by. The pandas engine (:func:`kit.core.evidence.build_evidence`)
is the reference and the fastest for tables that fit in memory; the DuckDB
engine (:mod:`kit.evidence_duckdb`) computes the same :class:`~kit.core.evidence.Evidence`
with a memory limit and spilling to a temporary folder, over a DataFrame
(zero-copy) or lazily over Parquet files (:func:`kit.registers.scan`).
Rules, suppression and release never know which engine ran.

The choice
----------
``Engine.AUTO`` (the default) takes DuckDB for lazy inputs (a scan or a Parquet
path: nothing is loaded into pandas) and for DataFrames from
:data:`AUTO_DUCKDB_ROWS` rows on, when DuckDB is installed; otherwise pandas.
``Engine.PANDAS`` and ``Engine.DUCKDB`` force one; ``Engine.DUCKDB`` without the
optional package is an :class:`~kit.errors.OptionalDependencyError`
(install the ``scale`` extra).

Examples
--------
>>> Engine.parse("duckdb") is Engine.DUCKDB
True
>>> Engine.parse("spark")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.SpecError: engine: unknown engine 'spark'. ...
>>> choose_engine(Engine.AUTO, n_rows=1_000, lazy=False, available=True)
<Engine.PANDAS: 'pandas'>
>>> choose_engine(Engine.AUTO, n_rows=1_000, lazy=True, available=True)
<Engine.DUCKDB: 'duckdb'>
"""

from __future__ import annotations

import enum
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import DataReadError, KitError, OptionalDependencyError, SpecError

__all__ = [
    "AUTO_DUCKDB_ROWS",
    "DEFAULT_MEMORY_LIMIT",
    "Engine",
    "EngineOptions",
    "choose_engine",
    "connect",
    "duckdb_available",
    "engine_errors",
    "part_rows",
    "require_duckdb",
    "size_bytes",
]

#: ``Engine.AUTO`` takes DuckDB for in-memory frames from this many rows on. Below it the
#: pandas engine is faster (measured in benchmarks/scale_bench.py); above it the pandas
#: engine's row-length temporaries (about 76 bytes per row) start to dominate memory.
AUTO_DUCKDB_ROWS = 20_000_000
#: DuckDB's memory limit unless the options say otherwise; beyond it DuckDB spills to disk.
DEFAULT_MEMORY_LIMIT = "2GB"


class Engine(enum.Enum):
    """Where the evidence is computed."""

    AUTO = "auto"
    PANDAS = "pandas"
    DUCKDB = "duckdb"

    @classmethod
    def parse(cls, value: object, where: str = "engine") -> Engine:
        """Parse a case-insensitive engine name; unknown names are a :class:`~kit.errors.SpecError`."""
        if isinstance(value, cls):
            return value
        key = str(value).strip().lower()
        for member in cls:
            if member.value == key:
                return member
        raise SpecError(where, f"unknown engine {key!r}", f"use one of: {', '.join(m.value for m in cls)}")


@dataclass(frozen=True)
class EngineOptions:
    """Settings of the DuckDB engine (public: recorded nowhere near data).

    Parameters
    ----------
    memory_limit
        DuckDB's memory limit (``"2GB"``, ``"512MB"``); beyond it, DuckDB spills to
        ``temp_directory``.
    temp_directory
        Where DuckDB spills; default a ``kit-duckdb`` folder in the system's
        temporary folder.
    threads
        Worker threads; default the cores this process may use.
    auto_rows
        ``Engine.AUTO`` takes DuckDB for DataFrames from this many rows on.
    progress
        Show progress bars (on standard error) for the DuckDB steps of evidence over
        many rows and of the panel build. Off by default, like every other progress
        report of the library (``progress=None``); ``build_panel(progress=...)`` and
        the CLI without ``-q`` turn it on.
    part_rows
        The DuckDB evidence splits the units into parts of about this many input
        rows and aggregates one part at a time, so that the (cell, unit) hash
        table of a part fits in memory instead of spilling; default
        :func:`part_rows` of the memory limit (about 20 M rows at 2 GB).

    Examples
    --------
    >>> EngineOptions(memory_limit="64MB").memory_limit
    '64MB'
    >>> EngineOptions(memory_limit="lots")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: engine options: memory_limit 'lots' is not a size. ...
    """

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    temp_directory: Path | None = None
    threads: int | None = None
    auto_rows: int = AUTO_DUCKDB_ROWS
    progress: bool = False
    part_rows: int | None = None

    def __post_init__(self) -> None:
        text = str(self.memory_limit).strip().upper().replace(" ", "")
        number = text.rstrip("KMGTIB")
        unit = text[len(number):]
        if not number.replace(".", "", 1).isdigit() or unit not in {"KB", "MB", "GB", "TB", "KIB", "MIB",
                                                                    "GIB", "TIB"}:
            raise SpecError("engine options", f"memory_limit {self.memory_limit!r} is not a size",
                            'give a size such as "2GB" or "512MB"')
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise SpecError("engine options", "threads must be a positive integer", "leave it None for all cores")
        if not isinstance(self.auto_rows, int) or self.auto_rows < 0:
            raise SpecError("engine options", "auto_rows must be a non-negative integer",
                            f"the default is {AUTO_DUCKDB_ROWS}")
        if self.part_rows is not None and (not isinstance(self.part_rows, int) or self.part_rows < 1):
            raise SpecError("engine options", "part_rows must be a positive integer",
                            "leave it None to derive it from the memory limit")
        if self.temp_directory is not None:
            object.__setattr__(self, "temp_directory", Path(self.temp_directory))


#: Bytes of DuckDB memory per (cell, unit) pair of the evidence's hash aggregation (measured: 20 M
#: pairs stay under a 2 GB limit, 50 M spill; see docs/scale.md, "Speed of the DuckDB evidence").
PAIR_BYTES = 100


def size_bytes(text: str) -> int:
    """Bytes of a size such as ``"2GB"`` (powers of 1000) or ``"2GiB"`` (powers of 1024).

    >>> size_bytes("2GB"), size_bytes("512MiB")
    (2000000000, 536870912)
    """
    t = _size(text)
    number = t.rstrip("KMGTIB")
    unit = t[len(number):]
    base = 1024 if unit.endswith("IB") else 1000
    power = "KMGT".index(unit[0]) + 1
    return int(float(number) * base**power)


def part_rows(options: EngineOptions) -> int:
    """Input rows per unit part of the DuckDB evidence (``options.part_rows`` or from the memory limit).

    >>> part_rows(EngineOptions(memory_limit="2GB"))
    20000000
    >>> part_rows(EngineOptions(part_rows=1000))
    1000
    """
    if options.part_rows is not None:
        return options.part_rows
    return max(1, size_bytes(options.memory_limit) // PAIR_BYTES)


def duckdb_available() -> bool:
    """Whether the optional ``duckdb`` package is installed."""
    return importlib.util.find_spec("duckdb") is not None


def require_duckdb(feature: str = "the DuckDB engine") -> Any:
    """Import ``duckdb`` or raise :class:`~kit.errors.OptionalDependencyError` naming the ``scale`` extra."""
    if not duckdb_available():
        raise OptionalDependencyError(feature, "scale", "duckdb")
    import duckdb

    return duckdb


def choose_engine(engine: Engine | str, *, n_rows: int, lazy: bool, available: bool | None = None,
                  auto_rows: int = AUTO_DUCKDB_ROWS) -> Engine:
    """The engine that runs: ``AUTO`` resolved by input kind and size.

    A lazy input (scan or Parquet path) always runs in DuckDB: asking for pandas
    on it is a :class:`~kit.errors.SpecError` (materialise it yourself with
    ``.to_pandas()`` if it is small). ``DUCKDB`` without the package is an
    :class:`~kit.errors.OptionalDependencyError`.

    >>> choose_engine("auto", n_rows=30_000_000, lazy=False, available=False)
    <Engine.PANDAS: 'pandas'>
    >>> choose_engine("auto", n_rows=30_000_000, lazy=False, available=True)
    <Engine.DUCKDB: 'duckdb'>
    """
    chosen = Engine.parse(engine)
    have = duckdb_available() if available is None else available
    if chosen is Engine.AUTO:
        chosen = Engine.DUCKDB if have and (lazy or n_rows >= auto_rows) else Engine.PANDAS
    if chosen is Engine.PANDAS and lazy:
        raise SpecError("engine", "a lazy relation or Parquet path is evaluated in DuckDB, not pandas",
                        'use engine="duckdb" or "auto", or pass relation.to_pandas() for a small extract')
    if chosen is Engine.DUCKDB and not have:
        raise OptionalDependencyError("the DuckDB engine", "scale", "duckdb")
    return chosen


def connect(options: EngineOptions, con: Any = None) -> Any:
    """A DuckDB connection with the options' memory limit, spill folder and threads.

    ``con`` (an existing connection, e.g. a scan's) is configured instead of a new one.
    """
    duckdb = require_duckdb()
    if con is None:
        con = duckdb.connect()
    configure(con, options)
    return con


def configure(con: Any, options: EngineOptions) -> None:
    """Apply memory limit, spill folder, threads and progress to a connection."""
    temp = options.temp_directory or Path(os.environ.get("TMPDIR", "/tmp")) / "kit-duckdb"
    temp.mkdir(parents=True, exist_ok=True)
    threads = options.threads or _usable_cores()
    con.execute(f"SET memory_limit = '{_size(options.memory_limit)}'")
    con.execute(f"SET temp_directory = '{_quote(str(temp))}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")


def _size(text: str) -> str:
    return str(text).strip().upper().replace(" ", "")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def engine_errors(where: str, options: EngineOptions | None = None) -> Iterator[None]:
    """Turn DuckDB's errors into a :class:`~kit.errors.KitError` that names no value.

    DuckDB's messages can quote a row (a failed conversion prints the value), so
    only the error's class is kept; running out of memory names the limit and
    the fix. Kit errors pass through.

    >>> with engine_errors("table 't'"):  # doctest: +ELLIPSIS
    ...     raise RuntimeError("Could not convert string '0101701234' to INT64")
    Traceback (most recent call last):
    ...
    kit.errors.DataReadError: table 't': DuckDB failed (RuntimeError)...; its message is withheld ...
    """
    try:
        yield
    except KitError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        if "OutOfMemory" in kind:
            limit = options.memory_limit if options is not None else DEFAULT_MEMORY_LIMIT
            raise DataReadError(where, f"DuckDB ran out of memory under the limit {limit}",
                                "raise EngineOptions(memory_limit=...) or give a temp_directory with free "
                                "space for spilling") from None
        raise DataReadError(where, f"DuckDB failed ({kind}); its message is withheld because it can quote data",
                            "check the column types of the input (a text column compared with a number, "
                            "for instance)") from None
