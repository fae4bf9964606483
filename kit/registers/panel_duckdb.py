"""Persons x years panels built in DuckDB: the panel of :func:`kit.registers.build_panel` at full scale.

The rules are those of :mod:`kit.registers.panel` (read them there): BEF's
population per year; status (RAS limited to its population by default), income
and other yearly registers left-joined on ``PNR`` for the same year, each with
one row per person; education as of the year (the latest UDDA row from a file
of that year or earlier, within a file the latest ``HF_VFRA``, ties to the
last row); areas from the area key. Here all years are one DuckDB query over
the Parquet files (the project's Parquet cache for SAS deliveries) under a
memory limit with spilling: education as of each year is an ``ASOF`` join, the
per-year joins are hash joins on (year, person). Nothing is held in pandas
unless the caller asks for a DataFrame.

Person keys
-----------
:func:`person_keys` maps person numbers to dense integers (``PID``, 32-bit
while the population fits) once, from the population files, and keeps the
map in the cache folder (``kit_person_keys.parquet``, rebuilt when a
population file changes). A panel built with ``person_ids=True`` carries
``PID`` next to ``PNR``; use it as the unit column of tables (integer keys are
the cheapest to count distinct).

Output
------
With ``output=None`` the panel comes back as a
:class:`~kit.registers.RegisterFrame` (rows per year in the population file's
order, as :func:`build_panel`; DuckDB's types, ``YEAR`` as int16). With an
``output`` path it is written to one Parquet file and returned as a lazy
:class:`~kit.registers.Relation` (for :meth:`kit.Session.table`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kit.engine import EngineOptions, connect, engine_errors
from kit.errors import DataReadError, SchemaError
from kit.registers.filters import FilterLike, parse_filters
from kit.registers.frames import TIME_COLUMN, RegisterFrame, Source, infer_schema
from kit.registers.lazy import Relation, _condition_sql, _ident, _quote, scan
from kit.registers.panel import (
    _AREA_JOIN,
    _EDUCATION_ORDER,
    DEFAULT_POPULATION_COLUMNS,
    PERSON,
    STATUS_COLUMNS,
    STATUS_FILTERS,
    _unique,
    load_area_key,
)
from kit.registers.project import Project

__all__ = ["PERSON_ID", "PERSON_KEYS_FILE", "build_panel_duckdb", "person_keys"]

#: The dense integer person key.
PERSON_ID = "PID"
#: File name of the person-key map in the cache folder.
PERSON_KEYS_FILE = "kit_person_keys.parquet"


def _file_of(project: Project, register: str, year: int) -> tuple[Path, Source]:
    src = project.source(register, year)
    if src.cached is not None:
        return src.cached, src
    if src.fmt == "parquet":
        return project.root / src.relpath, src
    raise DataReadError(f"register {register} {year}", f"the chosen file is {src.fmt}, which DuckDB cannot read",
                        "convert the project to the Parquet cache first (kit registers convert)")


def _select(con: Any, project: Project, register: str, year: int, columns: Sequence[str],
            filters: Sequence[FilterLike] = (), row_number: bool = False) -> tuple[str, Source]:
    """SQL for the normalised columns of one register-year file, filtered."""
    path, src = _file_of(project, register, year)
    reader = f"read_parquet('{_quote(str(path))}'{', file_row_number = true' if row_number else ''})"
    actual = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_quote(str(path))}')").fetchall()]
    where = f"register file {src.relpath}"
    mapping = project.names.resolve([a for a in actual if a != "file_row_number"], register, where=where)
    conditions = parse_filters(filters)
    missing = [c for c in dict.fromkeys([*columns, *(c.column for c in conditions)]) if c not in mapping]
    if missing:
        raise SchemaError(where, f"column(s) {missing} are not in the file", "check the column names")
    cols = [f"{_ident(mapping[c])} AS {_ident(c)}" for c in dict.fromkeys(columns)]
    if row_number:
        cols.append("file_row_number AS _ROW")
    cond_sql = " AND ".join(_condition_sql(type(c)(mapping[c.column], c.op, c.value)) for c in conditions)
    sql = f"SELECT {', '.join(cols)} FROM {reader}" + (f" WHERE {cond_sql}" if cond_sql else "")
    return sql, src


def person_keys(project: Project, years: Iterable[int] | None = None, *, population: str = "bef",
                options: EngineOptions | None = None) -> Path:
    """The person-key map (``PNR`` -> dense ``PID``) of the population files, kept in the cache folder.

    Built once; reused while the population files are unchanged (their sizes and
    modification times are recorded beside the map). Without a cache folder the
    map goes to the engine's temporary folder.
    """
    opts = options or EngineOptions()
    wanted = sorted(set(years)) if years is not None else list(project.years(population))
    con = connect(opts)
    try:
        parts, stamp = [], []
        for year in wanted:
            sql, _ = _select(con, project, population, year, [PERSON])
            parts.append(sql)
            path, _ = _file_of(project, population, year)
            stat = path.stat()
            stamp.append([str(path), stat.st_size, stat.st_mtime_ns])
        folder = project.cache_dir or (opts.temp_directory or Path(os.environ.get("TMPDIR", "/tmp")) / "kit-duckdb")
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()
        target = folder / PERSON_KEYS_FILE
        note = folder / (PERSON_KEYS_FILE + ".json")
        if target.exists() and note.exists() and json.loads(note.read_text(encoding="utf-8")).get("files") == digest:
            return target
        union = " UNION ALL ".join(parts)
        partial = target.with_suffix(".parquet.partial")
        con.execute(f"COPY (SELECT PNR, CAST(row_number() OVER (ORDER BY PNR) - 1 AS "
                    f"INTEGER) AS {PERSON_ID} FROM (SELECT DISTINCT PNR FROM ({union}) "
                    f"WHERE PNR IS NOT NULL)) TO '{_quote(str(partial))}' (FORMAT parquet)")
        os.replace(partial, target)
        note.write_text(json.dumps({"files": digest}), encoding="utf-8")
        return target
    finally:
        con.close()


def build_panel_duckdb(
    project: Project,
    years: Iterable[int],
    *,
    population: str = "bef",
    status: str | None = "ras",
    status_columns: Sequence[str] | None = None,
    status_filters: Sequence[FilterLike] | None = None,
    income: Sequence[str] | None = ("PERINDKIALT_13",),
    income_register: str = "ind",
    education: str | None = "udda",
    education_columns: Sequence[str] = ("HFAUDD",),
    area_key: pd.DataFrame | str | os.PathLike[str] | None = None,
    columns: Sequence[str] = DEFAULT_POPULATION_COLUMNS,
    allow_missing: bool = False,
    extra_registers: Mapping[str, Sequence[str]] | None = None,
    person_ids: bool = False,
    output: str | os.PathLike[str] | None = None,
    options: EngineOptions | None = None,
) -> RegisterFrame | Relation:
    """:func:`kit.registers.build_panel` in DuckDB (same parameters and rows; see the module docs).

    Parameters
    ----------
    extra_registers
        Further yearly registers joined like income, e.g. ``{"akm": ("SOCIO13",)}`` beside
        ``status="ras"`` (one row per person and year; ``allow_missing`` applies), in this order.
    person_ids
        Add the dense integer ``PID`` from :func:`person_keys`.
    output
        Write the panel to this Parquet file and return a lazy relation over it.
    options
        Memory limit, spill folder, threads and progress (:class:`~kit.engine.EngineOptions`).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from kit.registers import open_project
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for y in (2018, 2019):
    ...     pd.DataFrame({"PNR": ["01", "02"], "KOM": [851, 101]}).to_parquet(root / f"bef{y}.parquet")
    >>> pd.DataFrame({"PNR": ["01"], "HFAUDD": [1010]}).to_parquet(root / "udda2015.parquet")
    >>> pd.DataFrame({"PNR": ["01"], "HFAUDD": [6520]}).to_parquet(root / "udda2019.parquet")
    >>> panel = build_panel_duckdb(open_project(root), [2018, 2019], status=None, income=None,
    ...                            columns=["KOM"], options=EngineOptions(progress=False))
    >>> panel.data.loc[panel.data["PNR"] == "01", ["YEAR", "HFAUDD"]].values.tolist()
    [[2018, 1010], [2019, 6520]]
    """
    opts = options or EngineOptions()
    with engine_errors("panel (duckdb)", opts):
        return _build(project, sorted(set(years)), population, status, status_columns, status_filters, income,
                      income_register, education, education_columns, area_key, columns, allow_missing,
                      dict(extra_registers or {}), person_ids, output, opts)


def _build(project: Project, years: list[int], population: str, status: str | None,
           status_columns: Sequence[str] | None, status_filters: Sequence[FilterLike] | None,
           income: Sequence[str] | None, income_register: str, education: str | None,
           education_columns: Sequence[str], area_key: pd.DataFrame | str | os.PathLike[str] | None,
           columns: Sequence[str], allow_missing: bool, extra_registers: Mapping[str, Sequence[str]],
           person_ids: bool, output: str | os.PathLike[str] | None,
           opts: EngineOptions) -> RegisterFrame | Relation:
    from kit.progress import start

    if not years:
        raise SchemaError("panel", "no years were asked for", "pass at least one year")
    names = project.names
    pop_columns = [names.canonical(c, population) for c in columns if c.upper() != PERSON]
    area = load_area_key(area_key) if area_key is not None else None
    area_keys: list[str] = []
    if area is not None:
        area_keys = [k for k in _AREA_JOIN if k in area.columns]
        if "BOPIKOM" not in area_keys and "KOM" not in area_keys:
            raise SchemaError("area key", "has neither BOPIKOM nor KOM",
                              "give the area key the address columns KOM and BOPIKOM")
        _unique(area, area_keys, "area key")
    extra_pop = [k for k in area_keys if k != TIME_COLUMN and k not in pop_columns]
    st_cols: tuple[str, ...] = ()
    if status is not None:
        st_cols = (tuple(status_columns) if status_columns is not None
                   else STATUS_COLUMNS.get(status.lower(), ()))
        if not st_cols:
            raise SchemaError("panel", f"no default status columns for register '{status}'", "pass status_columns=")
    edu_years = [y for y in project.years(education) if y <= years[-1]] if education is not None else []
    if education is not None and not edu_years:
        raise DataReadError(f"register {education}", f"no files for {years[-1]} or earlier",
                            "pass education=None or add the education register")
    bar = start(opts.progress, "panel (duckdb)", 4, "steps")
    con = connect(opts)
    sources: list[Source] = []
    try:
        checks: list[tuple[str, str]] = []  # (where, sql) of every file that needs one row per person
        pop_parts = []
        for year in years:
            sql, src = _select(con, project, population, year, [PERSON, *pop_columns, *extra_pop], row_number=True)
            sources.append(src)
            checks.append((f"register file {src.relpath}", sql))
            pop_parts.append(f"SELECT CAST({int(year)} AS SMALLINT) AS {TIME_COLUMN}, * FROM ({sql})")
        ctes = {"pop": " UNION ALL ".join(pop_parts)}
        joins: list[tuple[str, Sequence[str]]] = []
        joined = [
            ("status", status, st_cols, status_filters, STATUS_FILTERS.get((status or "").lower(), ())),
            ("income", income_register if income is not None else None, tuple(income or ()), None, ()),
            *((f"extra{i}", register, tuple(cols), None, ()) for i, (register, cols) in
              enumerate(extra_registers.items())),
        ]
        for name, register, cols, filters, defaults in joined:
            if register is None:
                continue
            parts = []
            for year in years:
                if allow_missing and year not in project.years(register):
                    continue
                use = filters
                if use is None and defaults:
                    present = set(project.columns(register, year))
                    use = [f for f in defaults if f[0] in present]
                sql, src = _select(con, project, register, year, [PERSON, *cols], use or ())
                sources.append(src)
                checks.append((f"register file {src.relpath}", sql))
                parts.append(f"SELECT CAST({int(year)} AS SMALLINT) AS {TIME_COLUMN}, * FROM ({sql})")
            if not parts:
                ctes[name] = (f"SELECT CAST(NULL AS SMALLINT) AS {TIME_COLUMN}, NULL AS {PERSON}, "
                              + ", ".join(f"NULL AS {_ident(c)}" for c in cols) + " WHERE FALSE")
            else:
                ctes[name] = " UNION ALL BY NAME ".join(parts)
            joins.append((name, cols))
        _check_unique(con, checks)
        bar.advance()
        if education is not None:
            ctes["edu"] = _education(con, project, education, edu_years, education_columns, sources)
        bar.advance()
        select = [f"p.{TIME_COLUMN}", f"p.{PERSON}", *(f"p.{_ident(c)}" for c in [*pop_columns, *extra_pop])]
        from_sql = "pop p"
        for i, (name, join_cols) in enumerate(joins):
            select += [f"j{i}.{_ident(c)}" for c in join_cols]
            from_sql += (f" LEFT JOIN {name} j{i} ON j{i}.{TIME_COLUMN} = p.{TIME_COLUMN} "
                         f"AND j{i}.{PERSON} = p.{PERSON}")
        if education is not None:
            select += [f"e.{_ident(c)}" for c in education_columns]
            from_sql += (f" ASOF LEFT JOIN edu e ON e.{PERSON} = p.{PERSON} "
                         f"AND p.{TIME_COLUMN} >= e._FILE_YEAR")
        if area is not None:
            con.register("kit_area_key", area)
            area_cols = [c for c in area.columns if c not in area_keys]
            select += [f"a.{_ident(c)}" for c in area_cols]
            cond = " AND ".join(f"a.{_ident(k)} = p.{_ident(k)}" for k in area_keys)
            from_sql += f" LEFT JOIN kit_area_key a ON {cond}"
            drop = {k for k in extra_pop if k not in pop_columns}
            select = [s for s in select if s not in {f"p.{_ident(k)}" for k in drop}]
        if person_ids:
            keys = person_keys(project, years, population=population, options=opts)
            select.insert(2, f"k.{PERSON_ID}")
            from_sql += f" LEFT JOIN read_parquet('{_quote(str(keys))}') k ON k.{PERSON} = p.{PERSON}"
        with_sql = "WITH " + ", ".join(f"{n} AS ({s})" for n, s in ctes.items())
        query = f"{with_sql} SELECT {', '.join(select)} FROM {from_sql}"
        bar.advance()
        if output is not None:
            target = Path(output)
            partial = target.with_name(target.name + ".partial")
            con.execute(f"COPY ({query} ORDER BY p.{TIME_COLUMN}, p._ROW) TO '{_quote(str(partial))}' "
                        "(FORMAT parquet)")
            os.replace(partial, target)
            bar.advance()
            return scan(target, options=opts)
        data = con.sql(f"{query} ORDER BY p.{TIME_COLUMN}, p._ROW").df()
        bar.advance()
    finally:
        bar.close()
        con.close()
    return RegisterFrame(data, infer_schema(data, names.codes), tuple(sources))


def _check_unique(con: Any, checks: Sequence[tuple[str, str]]) -> None:
    """Each register file must have one row per person (as :func:`build_panel` requires)."""
    if not checks:
        return
    union = " UNION ALL ".join(f"SELECT {i} AS f, count(*) - count(DISTINCT {PERSON}) AS dup FROM ({sql})"
                               for i, (_, sql) in enumerate(checks))
    for i, dup in con.execute(f"SELECT f, dup FROM ({union}) WHERE dup > 0 ORDER BY f").fetchall():
        raise SchemaError(checks[i][0], f"{int(dup)} rows repeat a value of {PERSON} (each must appear once)",
                          "remove the duplicates before building the panel")


def _education(con: Any, project: Project, register: str, edu_years: Sequence[int], columns: Sequence[str],
               sources: list[Source]) -> str:
    """Per person and education file, the row :func:`build_panel` keeps (latest HF_VFRA, then last row)."""
    parts = []
    for year in edu_years:
        available = set(project.columns(register, year))
        order = _EDUCATION_ORDER in available and _EDUCATION_ORDER not in columns
        wanted = [PERSON, *columns, *([_EDUCATION_ORDER] if order else [])]
        sql, src = _select(con, project, register, year, wanted, row_number=True)
        sources.append(src)
        by = (f"{_ident(_EDUCATION_ORDER)} DESC NULLS LAST, _ROW DESC"
              if order or _EDUCATION_ORDER in columns else "_ROW DESC")
        cols = ", ".join(_ident(c) for c in [PERSON, *columns])
        parts.append(f"SELECT CAST({int(year)} AS SMALLINT) AS _FILE_YEAR, {cols} FROM ({sql}) "
                     f"QUALIFY row_number() OVER (PARTITION BY {PERSON} ORDER BY {by}) = 1")
    return " UNION ALL BY NAME ".join(parts)
