"""Persons x years panels: BEF with labour-market status, income, education and area.

Reference times
---------------
For panel year *t* every register contributes its year-*t* file: BEF ``bef<t>``
(its reference date as delivered), RAS (November *t*) or AKM (year *t*), IND
(calendar year *t*). UDDA holds rows only when the highest education changes,
so education for year *t* is the latest UDDA row from a file of year *t* or
earlier (within one file, the row with the latest ``HF_VFRA`` when present).
The panel is built one year at a time, carrying the education state forward,
so memory holds one year of each register plus the panel. Persons are the BEF
population of each year; other registers are left-joined on ``PNR``. RAS is
limited to its population (``PRIMAER_STATUS_KODE == 1`` and
``I_BEFOLKNINGEN_KODE == 1``) when the file has those columns; each status,
income and education register must then have one row per person and year.

An area key maps addresses to areas: a table with ``BOPIKOM`` and/or ``KOM``
(and optionally ``YEAR``) and area columns (``AREA_ID``, ``AREA_NAME``,
``AREA_TYPE``), supplied by the project (``area_key.csv`` in the synthetic
output). ``BOPIKOM`` is used for the join and dropped unless asked for.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> from kit.registers import open_project
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for y in (2018, 2019):
...     pd.DataFrame({"PNR": ["01", "02"], "KOM": [851, 101], "ALDER": [30, 40]}).to_csv(
...         root / f"bef{y}.csv", index=False)
>>> pd.DataFrame({"PNR": ["01"], "HFAUDD": ["1010"]}).to_csv(root / "udda2015.csv", index=False)
>>> pd.DataFrame({"PNR": ["01"], "HFAUDD": ["6520"]}).to_csv(root / "udda2019.csv", index=False)
>>> panel = build_panel(open_project(root), [2018, 2019], status=None, income=None,
...                     columns=["KOM", "ALDER"])
>>> panel.data.loc[panel.data["PNR"] == "01", ["YEAR", "HFAUDD"]].values.tolist()
[[2018, 1010], [2019, 6520]]
>>> int(panel.data["HFAUDD"].isna().sum())
2
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from kit.core.schema import looks_like_key
from kit.engine import Engine, EngineOptions, choose_engine
from kit.errors import DataReadError, SchemaError
from kit.progress import Progress, track
from kit.registers import readers
from kit.registers.discover import FileFormat
from kit.registers.filters import FilterLike
from kit.registers.frames import TIME_COLUMN, RegisterFrame, Source, infer_schema
from kit.registers.names import NameMap
from kit.registers.project import Project

__all__ = [
    "DEFAULT_POPULATION_COLUMNS",
    "PERSON",
    "STATUS_COLUMNS",
    "STATUS_FILTERS",
    "build_panel",
    "load_area_key",
]

logger = logging.getLogger(__name__)

#: The person identifier all registers are joined on.
PERSON = "PNR"
#: BEF columns a panel has unless ``columns=`` says otherwise.
DEFAULT_POPULATION_COLUMNS: tuple[str, ...] = ("KOEN", "ALDER", "IE_TYPE", "KOM")
#: Status columns read from each status register.
STATUS_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"ras": ("SOC_STATUS_KODE",), "akm": ("SOCIO13",)}
)
#: Rows of a status register that form its population (default filters; applied when the columns exist).
STATUS_FILTERS: Mapping[str, tuple[tuple[str, str, int], ...]] = MappingProxyType(
    {"ras": (("PRIMAER_STATUS_KODE", "==", 1), ("I_BEFOLKNINGEN_KODE", "==", 1))}
)
_EDUCATION_ORDER = "HF_VFRA"
_AREA_JOIN = ("KOM", "BOPIKOM", TIME_COLUMN)


def load_area_key(area_key: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    """An area key as a DataFrame with upper-case names (CSV codes typed as in :mod:`readers`)."""
    if isinstance(area_key, pd.DataFrame):
        df = area_key.copy()
    else:
        path = Path(area_key)
        where = f"area key {path.name}"
        if not path.exists():
            raise DataReadError(where, "does not exist", "check the path or pass a DataFrame")
        fmt = FileFormat.PARQUET if path.suffix.lower() in (".parquet", ".pq") else FileFormat.CSV
        names = readers.list_columns(path, fmt, where=where)
        actual = {n: n for n in names}
        df = readers.read_file(path, fmt, list(names), actual=actual, where=where)
    df.columns = pd.Index([str(c).strip().upper() for c in df.columns])
    return df


def _unique(df: pd.DataFrame, keys: list[str], where: str) -> None:
    dup = int(df.duplicated(keys).sum())
    if dup:
        raise SchemaError(
            where,
            f"{dup} rows repeat a value of {' + '.join(keys)} (each must appear once)",
            "remove the duplicates before building the panel",
        )


def _whole_float_to_int(series: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.dropna()
        if bool((values == values.round()).all()):
            return series.astype("Int64")
    return series


def _align_keys(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str], where: str) -> None:
    """Give join keys one dtype on both sides (in place): whole floats to Int64, else text."""
    for key in keys:
        left[key] = _whole_float_to_int(left[key])
        right[key] = _whole_float_to_int(right[key])
        lnum = pd.api.types.is_numeric_dtype(left[key].dtype)
        rnum = pd.api.types.is_numeric_dtype(right[key].dtype)
        if lnum != rnum:
            logger.info("%s: join key %s is a number on one side and text on the other; "
                           "joining as text", where, key)
            for side in (left, right):
                if pd.api.types.is_numeric_dtype(side[key].dtype):
                    side[key] = side[key].astype("string").astype(str).where(side[key].notna())
        elif lnum and rnum and left[key].dtype != right[key].dtype:
            left[key] = left[key].astype("Int64")
            right[key] = right[key].astype("Int64")


def _align_values(left: pd.DataFrame, right: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """Give value columns one kind on both sides (in place): text when one side is text."""
    for column in columns:
        if column not in left.columns or column not in right.columns:
            continue
        lnum = pd.api.types.is_numeric_dtype(left[column].dtype)
        rnum = pd.api.types.is_numeric_dtype(right[column].dtype)
        if lnum == rnum:
            continue
        logger.warning("%s: column %s is a number in some years and text in others; using text",
                       where, column)
        for side in (left, right):
            series = _whole_float_to_int(side[column])
            if pd.api.types.is_numeric_dtype(series.dtype):
                side[column] = series.astype("string").astype(str).where(series.notna())


def _read_year(
    project: Project,
    register: str,
    year: int,
    columns: Sequence[str],
    allow_missing: bool,
    sources: list[Source],
    filters: Sequence[FilterLike] | None = None,
    default_filters: Sequence[FilterLike] = (),
) -> pd.DataFrame | None:
    if allow_missing and year not in project.years(register):
        logger.warning("%s has no file for %s: its columns are missing in that year", register, year)
        return None
    if filters is None and default_filters:
        present = set(project.columns(register, year))
        filters = [f for f in default_filters if f[0] in present]
        if filters:
            logger.info("%s %s: keeping rows with %s", register, year,
                        " and ".join(f"{c} {op} {v}" for c, op, v in filters))
    frame = project.read(register, year, [PERSON, *columns], filters=filters)
    sources.extend(frame.sources)
    _unique(frame.data, [PERSON], f"register file {frame.sources[0].relpath}")
    return frame.data


def _join(
    panel: pd.DataFrame, other: pd.DataFrame | None, columns: Sequence[str], where: str
) -> pd.DataFrame:
    if other is None:
        for column in columns:
            panel[column] = pd.Series(float("nan"), index=panel.index)
        return panel
    _align_keys(panel, other, [PERSON], where)
    return panel.merge(other, on=PERSON, how="left", validate="one_to_one")


def _advance_education(
    project: Project,
    register: str,
    state: pd.DataFrame | None,
    year: int,
    columns: Sequence[str],
    sources: list[Source],
) -> pd.DataFrame | None:
    available = set(project.columns(register, year))
    order = [_EDUCATION_ORDER] if _EDUCATION_ORDER in available and _EDUCATION_ORDER not in columns else []
    frame = project.read(register, year, [PERSON, *columns, *order])
    sources.extend(frame.sources)
    rows = frame.data
    if order or _EDUCATION_ORDER in rows.columns:
        rows = rows.sort_values(_EDUCATION_ORDER, kind="stable", na_position="first")
    rows = rows.drop_duplicates(PERSON, keep="last").loc[:, [PERSON, *columns]]
    if state is None:
        return rows.reset_index(drop=True)
    _align_keys(state, rows, [PERSON], f"register {register}")
    _align_values(state, rows, columns, f"register {register}")
    kept = state.loc[~state[PERSON].isin(rows[PERSON])]
    return pd.concat([kept, rows], ignore_index=True)


def _compact(df: pd.DataFrame, names: NameMap) -> pd.DataFrame:
    for column in df.columns:
        series = df[column]
        if column == TIME_COLUMN:
            df[column] = series.astype("int16")
        elif looks_like_key(column):
            df[column] = _whole_float_to_int(series)
        elif isinstance(series.dtype, pd.CategoricalDtype):
            continue
        elif pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            df[column] = series.astype("category")
        elif names.is_code(column) and pd.api.types.is_numeric_dtype(series.dtype):
            whole = _whole_float_to_int(series)
            if str(whole.dtype) == "Int64":
                low, high = whole.min(), whole.max()
                if pd.isna(low) or (low >= -(2**15) and high < 2**15):
                    whole = whole.astype("Int16")
                elif low >= -(2**31) and high < 2**31:
                    whole = whole.astype("Int32")
            elif pd.api.types.is_integer_dtype(whole.dtype):
                whole = pd.to_numeric(whole, downcast="integer")
            df[column] = whole
    return df


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame()
    for column in parts[0].columns:
        cats = [p[column] for p in parts if isinstance(p[column].dtype, pd.CategoricalDtype)]
        if len(cats) == len(parts) and len(parts) > 1:
            union = pd.api.types.union_categoricals([c for c in cats], sort_categories=True).categories
            for part in parts:
                part[column] = part[column].cat.set_categories(union)
    return pd.concat(parts, ignore_index=True)


def build_panel(
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
    compact: bool = True,
    extra_registers: Mapping[str, Sequence[str]] | None = None,
    engine: Engine | str = Engine.PANDAS,
    progress: Progress | None = None,
) -> RegisterFrame:
    """Build a persons x years panel (see the module docs for reference times).

    Parameters
    ----------
    project
        The opened project folder.
    years
        Panel years; each needs a ``population`` file.
    population
        The population register (``"bef"``): one row per person and year.
    status, status_columns
        ``"ras"`` (``SOC_STATUS_KODE``), ``"akm"`` (``SOCIO13``) or ``None``;
        ``status_columns`` overrides which columns are taken.
    status_filters
        Rows of the status register to use; by default RAS is limited to its
        population (``PRIMAER_STATUS_KODE == 1`` and ``I_BEFOLKNINGEN_KODE == 1``,
        where the file has those columns). Pass ``[]`` for all rows.
    income, income_register
        Income columns from ``income_register`` (``"ind"``), or ``None``.
    education, education_columns
        The education register (``"udda"``) joined as of each year, or ``None``.
    area_key
        A DataFrame or file (CSV/Parquet) mapping ``KOM`` + ``BOPIKOM`` to areas, or ``None``.
    columns
        Population columns to keep (``PNR`` is always kept).
    allow_missing
        When ``True``, a status or income register missing for a year gives
        missing values (with a warning in the log) instead of an error.
    compact
        Text as categoricals, codes as small integers, ``YEAR`` as int16.
    extra_registers
        Further yearly registers joined like income, e.g. ``{"akm": ("SOCIO13",)}`` beside
        ``status="ras"`` (one row per person and year; ``allow_missing`` applies).
    engine
        ``"pandas"`` (default) or ``"duckdb"``: the same rows and values built in one
        DuckDB query over the Parquet files (:func:`kit.registers.panel_duckdb.build_panel_duckdb`,
        DuckDB's column types); ``"auto"`` takes DuckDB when it is installed.
    progress
        Reports the years built (:mod:`kit.progress`; ``None``: nothing). The DuckDB panel
        reports through its :class:`~kit.engine.EngineOptions` instead.

    Returns
    -------
    RegisterFrame
        ``YEAR``, ``PNR``, the population columns, status, income, education
        and area columns; key columns marked in the schema.
    """
    if choose_engine(engine, n_rows=0, lazy=False, auto_rows=0) is Engine.DUCKDB:
        from kit.registers.panel_duckdb import build_panel_duckdb

        out = build_panel_duckdb(project, years, population=population, status=status, status_columns=status_columns,
                                 status_filters=status_filters, income=income, income_register=income_register,
                                 education=education, education_columns=education_columns, area_key=area_key,
                                 columns=columns, allow_missing=allow_missing, extra_registers=extra_registers,
                                 options=EngineOptions(progress=progress is not None))
        assert isinstance(out, RegisterFrame)
        return out
    years = sorted(set(years))
    if not years:
        raise SchemaError("panel", "no years were asked for", "pass at least one year")
    names = project.names
    pop_columns = [names.canonical(c, population) for c in columns if c.upper() != PERSON]
    area = load_area_key(area_key) if area_key is not None else None
    area_keys: list[str] = []
    if area is not None:
        area_keys = [k for k in _AREA_JOIN if k in area.columns]
        if "BOPIKOM" not in area_keys and "KOM" not in area_keys:
            raise SchemaError(
                "area key",
                "has neither BOPIKOM nor KOM",
                "give the area key the address columns KOM and BOPIKOM",
            )
        _unique(area, area_keys, "area key")
    extra_pop = [k for k in area_keys if k != TIME_COLUMN and k not in pop_columns]
    st_cols: tuple[str, ...] = ()
    if status is not None:
        default = STATUS_COLUMNS.get(status.lower(), ())
        st_cols = tuple(status_columns) if status_columns is not None else default
        if not st_cols:
            raise SchemaError(
                "panel",
                f"no default status columns for register '{status}'",
                "pass status_columns=",
            )
    edu_years = (
        [y for y in project.years(education) if y <= years[-1]] if education is not None else []
    )
    if education is not None and not edu_years:
        raise DataReadError(
            f"register {education}",
            f"no files for {years[-1]} or earlier",
            "pass education=None or add the education register",
        )
    sources: list[Source] = []
    parts: list[pd.DataFrame] = []
    edu_state: pd.DataFrame | None = None
    next_edu = 0
    for year in track(progress, years, "panel", unit="years"):
        pop_frame = project.read(population, year, [PERSON, *pop_columns, *extra_pop])
        sources.extend(pop_frame.sources)
        panel = pop_frame.data
        _unique(panel, [PERSON], f"register file {pop_frame.sources[0].relpath}")
        if status is not None:
            data = _read_year(project, status, year, st_cols, allow_missing, sources,
                              status_filters, STATUS_FILTERS.get(status.lower(), ()))
            panel = _join(panel, data, st_cols, f"register {status} {year}")
        if income is not None:
            data = _read_year(project, income_register, year, income, allow_missing, sources)
            panel = _join(panel, data, income, f"register {income_register} {year}")
        for register, extra_columns in (extra_registers or {}).items():
            data = _read_year(project, register, year, extra_columns, allow_missing, sources)
            panel = _join(panel, data, extra_columns, f"register {register} {year}")
        if education is not None:
            while next_edu < len(edu_years) and edu_years[next_edu] <= year:
                edu_state = _advance_education(
                    project, education, edu_state, edu_years[next_edu], education_columns, sources
                )
                next_edu += 1
            if edu_state is None:
                panel = _join(panel, None, education_columns, f"register {education}")
            else:
                panel = _join(panel, edu_state.copy(), education_columns, f"register {education} {year}")
        panel.insert(0, TIME_COLUMN, pd.Series(year, index=panel.index, dtype="int16"))
        if area is not None:
            right = area if TIME_COLUMN not in area_keys else area.loc[area[TIME_COLUMN] == year]
            right = right.copy()
            _align_keys(panel, right, area_keys, "area key")
            panel = panel.merge(right, on=area_keys, how="left", validate="many_to_one")
            drop = [k for k in extra_pop if k not in pop_columns]
            panel = panel.drop(columns=drop)
        if compact:
            panel = _compact(panel, names)
        parts.append(panel)
    data = _concat(parts)
    return RegisterFrame(data, infer_schema(data, names.codes), tuple(sources))
