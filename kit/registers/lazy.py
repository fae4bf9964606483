"""Lazy register relations: Parquet files read by DuckDB only when a table is evaluated.

:func:`scan` describes a relation over one Parquet file, a folder of Parquet
files (the register cache, the synthetic generator's output) or one register of
a project over years, without reading any rows. Filters, column selections and
joins compose the description; DuckDB pushes filters and projections into the
Parquet reads when :meth:`kit.Session.table` evaluates it (engine ``duckdb``),
so the population never passes through pandas.

A :class:`Relation` is private (zone 2): its ``repr`` shows column names and
the number of files, never values, and it has no writer. :meth:`Relation.to_pandas`
materialises it on purpose (for small extracts).

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"pnr": [1, 2, 3], "kom": [101, 101, 851]}).to_parquet(folder / "bef2020.parquet")
>>> rel = scan(folder / "bef2020.parquet").filter([("KOM", "==", 101)])
>>> rel.columns, rel.count()
(('PNR', 'KOM'), 2)
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from kit.engine import EngineOptions, connect, engine_errors, require_duckdb
from kit.errors import DataReadError, SchemaError, SpecError
from kit.registers.filters import Condition, FilterLike, parse_filters

__all__ = ["Relation", "as_relation", "is_lazy", "scan"]


@dataclass(frozen=True)
class Relation:
    """A lazy relation: SQL over Parquet files, evaluated by DuckDB (private zone).

    Build it with :func:`scan`; compose with :meth:`filter`, :meth:`select` and
    :meth:`join`. ``columns`` are the normalised (upper-case) names.
    """

    sql: str = field(repr=False)
    columns: tuple[str, ...]
    types: tuple[str, ...] = field(repr=False)
    n_files: int
    options: EngineOptions = field(default_factory=EngineOptions, repr=False)

    def __repr__(self) -> str:
        return f"<Relation over {self.n_files} Parquet file(s), columns {list(self.columns)}; values hidden>"

    __str__ = __repr__

    def type_of(self, column: str) -> str:
        """DuckDB type of a column (``BIGINT``, ``DOUBLE``, ``VARCHAR`` ...)."""
        return self.types[self.columns.index(column)]

    def filter(self, filters: Sequence[FilterLike] | Sequence[Condition]) -> Relation:
        """Rows where every ``(column, op, value)`` condition holds (pushed into the Parquet read).

        Ops as :mod:`kit.registers.filters`; values are numbers, text, booleans or dates.
        """
        conditions = parse_filters([(f.column, f.op, f.value) if isinstance(f, Condition) else f for f in filters])
        missing = [c.column for c in conditions if c.column not in self.columns]
        if missing:
            raise SchemaError("scan filter", f"column(s) {missing} are not in the relation",
                              f"the relation has: {', '.join(self.columns[:30])}")
        if not conditions:
            return self
        where = " AND ".join(_condition_sql(c) for c in conditions)
        return replace(self, sql=f"SELECT * FROM ({self.sql}) WHERE {where}")

    def select(self, columns: Sequence[str]) -> Relation:
        """Only these columns (any case), in this order."""
        wanted = [str(c).upper() for c in columns]
        missing = [c for c in wanted if c not in self.columns]
        if missing:
            raise SchemaError("scan select", f"column(s) {missing} are not in the relation",
                              f"the relation has: {', '.join(self.columns[:30])}")
        sql = f"SELECT {', '.join(_ident(c) for c in wanted)} FROM ({self.sql})"
        return replace(self, sql=sql, columns=tuple(wanted), types=tuple(self.type_of(c) for c in wanted))

    def join(self, other: Relation, on: Sequence[str], how: str = "inner") -> Relation:
        """Join on key columns (``how`` is ``inner`` or ``left``); other shared columns are refused."""
        keys = [str(k).upper() for k in on]
        kind = {"inner": "INNER", "left": "LEFT"}.get(how)
        if kind is None:
            raise SpecError("scan join", f"unknown join kind {how!r}", "use 'inner' or 'left'")
        for k in keys:
            if k not in self.columns or k not in other.columns:
                raise SchemaError("scan join", f"key '{k}' is not in both relations", "join on shared columns")
        clash = sorted((set(self.columns) & set(other.columns)) - set(keys))
        if clash:
            raise SchemaError("scan join", f"column(s) {clash} are in both relations",
                              "select them away from one side first")
        rest = [c for c in other.columns if c not in keys]
        cols = ", ".join([*(f"l.{_ident(c)}" for c in self.columns), *(f"r.{_ident(c)}" for c in rest)])
        cond = " AND ".join(f"l.{_ident(k)} = r.{_ident(k)}" for k in keys)
        sql = f"SELECT {cols} FROM ({self.sql}) l {kind} JOIN ({other.sql}) r ON {cond}"
        types = self.types + tuple(other.type_of(c) for c in rest)
        return replace(self, sql=sql, columns=(*self.columns, *rest), types=types,
                       n_files=self.n_files + other.n_files)

    def with_options(self, options: EngineOptions) -> Relation:
        """The same relation evaluated under other engine options (memory limit, spill folder)."""
        return replace(self, options=options)

    def count(self) -> int:
        """Number of rows (a count, not data)."""
        with engine_errors("relation count", self.options):
            con = connect(self.options)
            try:
                return int(con.execute(f"SELECT count(*) FROM ({self.sql})").fetchone()[0])
            finally:
                con.close()

    def to_pandas(self) -> pd.DataFrame:
        """Materialise the relation as a DataFrame (on purpose: for small extracts)."""
        with engine_errors("relation to_pandas", self.options):
            con = connect(self.options)
            try:
                return con.sql(self.sql).df()
            finally:
                con.close()


def is_lazy(data: object) -> bool:
    """Whether ``data`` is a lazy input: a :class:`Relation` or a path to Parquet data.

    >>> is_lazy("x.parquet"), is_lazy(pd.DataFrame())
    (True, False)
    """
    if isinstance(data, Relation):
        return True
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        return path.suffix.lower() == ".parquet" or path.is_dir()
    return False


def as_relation(data: Relation | str | os.PathLike[str], options: EngineOptions | None = None) -> Relation:
    """A relation from a :class:`Relation` or a Parquet path, under ``options`` when given."""
    rel = data if isinstance(data, Relation) else scan(data)
    return rel if options is None else rel.with_options(options)


def scan(
    path: str | os.PathLike[str] | Any,
    register: str | None = None,
    years: Sequence[int] | None = None,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[FilterLike] | None = None,
    options: EngineOptions | None = None,
) -> Relation:
    """A lazy relation over Parquet data; nothing is read but the files' schemas.

    Parameters
    ----------
    path
        One Parquet file; a folder of Parquet files (all of them, recursively,
        columns matched by name); or, with ``register``, a project folder or a
        :class:`~kit.registers.Project` (the register's chosen file per year,
        from the Parquet cache when the project has one).
    register
        A register name (``"bef"``): one relation over its years with a
        ``YEAR`` column.
    years
        With ``register``: which years (default all).
    columns, filters
        Optional projection and ``(column, op, value)`` filters, pushed down.
    options
        Engine options (memory limit, spill folder) for evaluating it.

    Raises
    ------
    DataReadError
        No Parquet file at the path, or a register-year that is only in SAS
        format (convert it first: ``kit registers convert``).
    OptionalDependencyError
        DuckDB is not installed (the ``scale`` extra).
    """
    require_duckdb("kit.registers.scan")
    opts = options or EngineOptions()
    if register is not None:
        rel = _scan_register(path, register, years, opts)
    else:
        if years is not None:
            raise SpecError("scan", "years need a register", 'pass register="bef" with years')
        rel = _scan_files(Path(path), opts)
    if columns is not None:
        rel = rel.select(columns)
    if filters:
        rel = rel.filter(filters)
    return rel


def _scan_files(path: Path, options: EngineOptions) -> Relation:
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
    else:
        raise DataReadError(f"scan {path.name}", "the path does not exist", "check the path")
    if not files:
        raise DataReadError(f"scan {path.name}", "no Parquet files in the folder",
                            "convert the register files first (kit registers convert) or scan a Parquet file")
    listing = ", ".join(f"'{_quote(str(f))}'" for f in files)
    source = f"SELECT * FROM read_parquet([{listing}], union_by_name = true)"
    return _normalised(source, len(files), options, f"scan {path.name}")


def _scan_register(path: Any, register: str, years: Sequence[int] | None, options: EngineOptions) -> Relation:
    from kit.registers.project import Project, open_project

    project = path if isinstance(path, Project) else open_project(path)
    reg = register.lower()
    wanted = list(years) if years is not None else list(project.years(reg))
    if not wanted:
        raise DataReadError(f"register {reg}", "no files of this register in the project folder",
                            "check the register name")
    parts = []
    for year in wanted:
        src = project.source(reg, int(year))
        if src.cached is not None:
            file = src.cached
        elif src.fmt == "parquet":
            file = project.root / src.relpath
        else:
            raise DataReadError(f"register {reg} {year}", f"the chosen file is {src.fmt}, which DuckDB cannot read",
                                "convert the project to the Parquet cache first (kit registers convert)")
        con = connect(options)
        try:
            actual = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_quote(str(file))}')")
                      .fetchall()]
        finally:
            con.close()
        mapping = project.names.resolve(actual, reg, where=f"register {reg} {year}")
        cols = [f"{_ident(a)} AS {_ident(c)}" for c, a in mapping.items()]
        if "YEAR" not in mapping:
            cols.append(f"CAST({int(year)} AS SMALLINT) AS YEAR")
        parts.append(f"SELECT {', '.join(cols)} FROM read_parquet('{_quote(str(file))}')")
    return _describe(" UNION ALL BY NAME ".join(parts), len(parts), options, f"register {reg}")


def _normalised(source: str, n_files: int, options: EngineOptions, where: str) -> Relation:
    con = connect(options)
    try:
        actual = [r[0] for r in con.execute(f"DESCRIBE {source}").fetchall()]
    finally:
        con.close()
    upper = [a.upper() for a in actual]
    if len(set(upper)) < len(upper):
        raise SchemaError(where, "two columns have the same name up to case", "rename one of them")
    sql = f"SELECT {', '.join(f'{_ident(a)} AS {_ident(u)}' for a, u in zip(actual, upper))} FROM ({source})"
    return _describe(sql, n_files, options, where)


def _describe(sql: str, n_files: int, options: EngineOptions, where: str) -> Relation:
    con = connect(options)
    try:
        rows = con.execute(f"DESCRIBE {sql}").fetchall()
    except Exception as exc:  # duckdb's errors carry file names and types only
        raise DataReadError(where, f"the Parquet files cannot be read together ({type(exc).__name__})",
                            "check that they are Parquet files of one register") from None
    finally:
        con.close()
    return Relation(sql, tuple(str(r[0]) for r in rows), tuple(str(r[1]) for r in rows), n_files, options)


def _ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _literal(value: Any) -> str:
    """A SQL literal of a filter value (numbers, text, booleans, dates); others are refused.

    >>> _literal(3), _literal("a'b"), _literal(True)
    ('3', "'a''b'", 'TRUE')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError("scan filter", "a filter value is not finite", "filter on finite numbers")
        return repr(float(value))
    if isinstance(value, str):
        return f"'{_quote(value)}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    raise SpecError("scan filter", f"a filter value of type {type(value).__name__} is not supported",
                    "use numbers, text, booleans or dates")


def _condition_sql(cond: Condition) -> str:
    col = _ident(cond.column)
    if cond.op in ("in", "not in"):
        values = list(cond.value)
        if not values:
            return "FALSE" if cond.op == "in" else "TRUE"
        listing = ", ".join(_literal(v) for v in values)
        return f"{col} {'IN' if cond.op == 'in' else 'NOT IN'} ({listing})"
    op = {"==": "="}.get(cond.op, cond.op)
    return f"{col} {op} {_literal(cond.value)}"
