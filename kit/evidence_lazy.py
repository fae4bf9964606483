"""Evidence of a table over a lazy relation: validation and encoding in DuckDB, no pandas copy.

The session's checks on a DataFrame (:class:`kit.Session`) are made here in
SQL with the same messages: an empty input, missing unit ids, a non-numeric or
infinite measure, rate measures other than 0/1, missing or negative weights,
dimensions with too many categories or with codes outside their public code
list. Dimension values are labelled as the session labels them
(:func:`kit.core.codes.code_text`; missing values become :data:`~kit.core.evidence.MISSING`),
so the cells, and the evidence, are those of the DataFrame path.

Only the distinct values of each dimension (with their row counts) and a few
counts come back to Python; the rows stay in DuckDB.
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import numpy as np
import pandas as pd

from kit.core.codes import MAX_CELLS, code_text, sorted_codes
from kit.core.evidence import MISSING, TOTAL, Evidence
from kit.core.populations import TablePopulations, lazy_table_populations
from kit.core.spec import TableSpec
from kit.core.spec_types import Statistic
from kit.engine import EngineOptions, connect, engine_errors
from kit.errors import KitError, PopulationsUnknownError, SchemaError, SpecError
from kit.evidence_duckdb import (
    EvidenceQuery,
    PopulationPrint,
    _arrow,
    evidence_with_print,
    population_print_sql,
    print_from_arrow,
)
from kit.registers.lazy import Relation, _ident


class Session(Protocol):
    """What this module needs of the :class:`kit.Session` that calls it (it does not import it).

    The session sits above the engines (docs/architecture.md); it passes itself in.
    """

    unit: str
    max_categories: int

    def _check_columns(self, df: pd.DataFrame, spec: TableSpec, where: str) -> None: ...


__all__ = ["lazy_table_evidence"]

_INTEGER = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT"}
_FLOAT = {"FLOAT", "DOUBLE", "REAL"}
#: Integer unit types that fit a BIGINT (cast to it, so that evidence and populations hash one type).
_BIGINT_SAFE = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}


def _numeric(type_name: str) -> bool:
    t = type_name.upper()
    return t in _INTEGER or t in _FLOAT or t.startswith("DECIMAL") or t == "BOOLEAN"


def lazy_table_evidence(session: Session, spec: TableSpec, rel: Relation, options: EngineOptions, where: str,
                        *, diff_min_units: int | None, top_k: int, absolute: bool,
                        contributions: bool) -> tuple[Evidence, TablePopulations]:
    """Validate ``rel`` for ``spec``, compute its evidence in DuckDB and its unit populations (deferred).

    The populations (:mod:`kit.core.populations`, for the differencing registry) are
    rebuilt from the relation in DuckDB when the release first asks for them,
    and checked then against a salted print of every inner cell's units taken in
    the evidence pass: if the Parquet files changed in between, the release is
    refused (:class:`~kit.release.registry.PopulationsUnknownError`).
    """
    session._check_columns(pd.DataFrame(columns=list(rel.columns)), spec, where)
    with engine_errors(where, options):
        evidence, labels, fingerprint = _lazy_evidence(session, spec, rel, options, where, diff_min_units, top_k,
                                                       absolute, contributions)
    encoding = _Encoding(rel, session.unit, spec, session.max_categories, where, tuple(map(tuple, labels)))
    row_labels = [evidence.cells[d].astype(str).tolist() for d in spec.dims]
    populations = lazy_table_populations(partial(_load_pairs, encoding, options, fingerprint), labels, row_labels,
                                         total_label=TOTAL, rate=spec.statistic is Statistic.RATE,
                                         contributions=spec.measure is not None or spec.weight is not None)
    return evidence, populations


@dataclass(frozen=True)
class _Encoding:
    """What rebuilds a lazy table's cells (public parts and the relation; no data)."""

    rel: Relation
    unit: str
    spec: TableSpec
    max_categories: int
    where: str
    labels: tuple[tuple[str, ...], ...]


def _prepare(con: Any, view: str, rel: Relation, spec: TableSpec, unit: str, max_categories: int, where: str,
             tag: str) -> tuple[list[list[str]], str]:
    """Dimension labels and the SQL of the rows as (cell, unit, x, w) over the temporary view ``view``."""

    labels, joins, codes = [], [], []
    for i, dim in enumerate(spec.dims):
        lab, table, missing_pos = _encode_dimension(con, view, dim, spec.code_list(dim), max_categories,
                                                    where, f"{tag}_{i}")
        labels.append(lab)
        joins.append(f"LEFT JOIN {table} m{i} ON r.{_ident(dim)} = m{i}.v")
        codes.append(f"coalesce(m{i}.pos, {missing_pos})")
    sizes = [len(lab) for lab in labels]
    n_cells = int(np.prod(sizes))
    if n_cells > MAX_CELLS:
        raise SpecError(where, f"the table would have {n_cells} cells", "use fewer or coarser dimensions")
    cell = "0"
    for code, size in zip(codes, sizes):
        cell = f"({cell}) * {size} + {code}"
    unit_sql = f"r.{_ident(unit)}"
    if rel.type_of(unit).upper() in _BIGINT_SAFE:
        unit_sql = f"CAST({unit_sql} AS BIGINT)"
    cols = [f"CAST({cell} AS BIGINT) AS cell", f"{unit_sql} AS unit"]
    if spec.measure is not None:
        xv = f"CAST(r.{_ident(spec.measure)} AS DOUBLE)"
        cols.append(f"CASE WHEN isnan({xv}) THEN NULL ELSE {xv} END AS x")
    if spec.weight is not None:
        cols.append(f"CAST(r.{_ident(spec.weight)} AS DOUBLE) AS w")
    return labels, f"SELECT {', '.join(cols)} FROM {view} r {' '.join(joins)}"


def _lazy_evidence(session: Session, spec: TableSpec, rel: Relation, options: EngineOptions, where: str,
                   diff_min_units: int | None, top_k: int, absolute: bool,
                   contributions: bool) -> tuple[Evidence, list[list[str]], PopulationPrint]:
    con = connect(options)
    tag = uuid.uuid4().hex
    view = f"kit_rel_{tag}"
    try:
        con.execute(f"CREATE TEMP VIEW {view} AS {rel.sql}")
        n_rows, n_units, unit_low = _checks(con, view, rel, session.unit, spec, where)
        if rel.type_of(session.unit).upper() not in _BIGINT_SAFE:
            unit_low = None
        labels, source = _prepare(con, view, rel, spec, session.unit, session.max_categories, where, tag)
        salt = secrets.randbits(62)
        query = EvidenceQuery(tuple(spec.dims), tuple(tuple(lab) for lab in labels), spec.measure is not None,
                              spec.weight is not None, spec.margins, diff_min_units, top_k, absolute, contributions,
                              print_salt=salt, attribute=spec.statistic is Statistic.RATE, unit_low=unit_low,
                              unit_span=n_units if unit_low is not None else None)
        evidence, fingerprint = evidence_with_print(con, source, query, n_units, n_rows=n_rows, options=options)
        assert fingerprint is not None
        return evidence, labels, fingerprint
    finally:
        con.close()


def _load_pairs(encoding: _Encoding, options: EngineOptions,
                fingerprint: PopulationPrint) -> tuple[Any, ...]:
    """The distinct (inner cell, unit) pairs a lazy table counted, checked against its print.

    Returns unit ids, inner cells and (rates) whether the unit has the attribute
    in the cell, one entry per pair, for :class:`kit.core.populations.TablePopulations`; a table
    with a measure or a weight gets one entry per counted row and a fourth item ``(w * x, w)``.
    """
    spec = encoding.spec
    changed = PopulationsUnknownError(
        encoding.where, "its data changed after it was evaluated (the units in its cells are no longer those "
        "its numbers count), so the differencing registry cannot check it",
        "evaluate the table again on the current files and release the new table")
    rate = fingerprint.n_attribute is not None
    try:
        with engine_errors(encoding.where, options):
            con = connect(options)
            tag = uuid.uuid4().hex
            view = f"kit_rel_{tag}"
            pairs = f"kit_pop_{tag}"
            try:
                con.execute(f"CREATE TEMP VIEW {view} AS {encoding.rel.sql}")
                labels, source = _prepare(con, view, encoding.rel, spec, encoding.unit, encoding.max_categories,
                                          encoding.where, tag)
                if tuple(map(tuple, labels)) != encoding.labels:
                    raise changed
                counted = ["x IS NOT NULL"] if spec.measure is not None else []
                if spec.weight is not None:
                    counted.append("w > 0")
                where_sql = f" WHERE {' AND '.join(counted)}" if counted else ""
                attr = ", bool_or(x = 1) AS attr" if rate else ""
                con.execute(f"CREATE TEMP TABLE {pairs} AS SELECT cell, unit{attr} FROM ({source}){where_sql} "
                            "GROUP BY cell, unit")
                n_cells = len(fingerprint.n)
                print_cols = population_print_sql(fingerprint.salt, "TRUE", "attr" if rate else None)
                check = _arrow(con, f"SELECT cell, {', '.join(print_cols)} FROM {pairs} GROUP BY cell")
                if not print_from_arrow(check, n_cells, fingerprint.salt, rate).same(fingerprint):
                    raise changed
                contrib = spec.measure is not None or spec.weight is not None
                if contrib:  # magnitude or weighted: the counted rows with their contributions
                    x = "x" if spec.measure is not None else "1.0"
                    w = "w" if spec.weight is not None else "1.0"
                    got = _arrow(con, f"SELECT cell, unit{', x = 1 AS attr' if rate else ''}, "
                                 f"CAST({w} * {x} AS DOUBLE) AS wx, CAST({w} AS DOUBLE) AS ww "
                                 f"FROM ({source}){where_sql}")
                else:
                    got = _arrow(con, f"SELECT cell, unit{', attr' if rate else ''} FROM {pairs}")
            finally:
                con.close()
    except PopulationsUnknownError:
        raise
    except KitError as exc:  # the files are gone or unreadable: the populations are unknown
        raise PopulationsUnknownError(encoding.where, f"its data can no longer be read ({type(exc).__name__})",
                                      "evaluate the table again on the current files and release the new "
                                      "table") from None
    inner = got.column("cell").to_numpy().astype(np.int64)
    units = got.column("unit").to_numpy(zero_copy_only=False)
    attribute = got.column("attr").to_numpy(zero_copy_only=False).astype(bool) if rate else None
    if spec.measure is not None or spec.weight is not None:
        wx = got.column("wx").to_numpy(zero_copy_only=False).astype(np.float64)
        ww = got.column("ww").to_numpy(zero_copy_only=False).astype(np.float64)
        return units, inner, attribute, (wx, ww)
    return units, inner, attribute


def _checks(con: Any, view: str, rel: Relation, unit: str, spec: TableSpec,
            where: str) -> tuple[int, int, int | None]:
    """The session's row checks in one pass.

    Returns rows, units as the session counts them, and the smallest id of integer units with a
    span below 2**40 (else ``None``).
    """
    u = _ident(unit)
    integer_unit = rel.type_of(unit).upper() in _INTEGER
    # NaN is not NULL in DuckDB: a floating id column's NaN is a missing id too (as pandas' isna)
    no_id = f"{u} IS NULL OR isnan({u})" if rel.type_of(unit).upper() in _FLOAT else f"{u} IS NULL"
    cols = ["count(*)", f"count(*) FILTER (WHERE {no_id})"]
    cols += [f"CAST(min({u}) AS HUGEINT)", f"CAST(max({u}) AS HUGEINT)"] if integer_unit else ["0", "0"]
    if spec.measure is not None:
        if not _numeric(rel.type_of(spec.measure)):
            raise SchemaError(where, f"the measure '{spec.measure}' is not numeric",
                              "convert it with pd.to_numeric or choose a numeric column")
        x = f"CAST({_ident(spec.measure)} AS DOUBLE)"
        cols.append(f"count(*) FILTER (WHERE isinf({x}))")
        cols.append(f"count(*) FILTER (WHERE NOT isnan({x}) AND {x} NOT IN (0, 1))")
    else:
        cols += ["0", "0"]
    if spec.weight is not None:
        if not _numeric(rel.type_of(spec.weight)) or rel.type_of(spec.weight).upper() == "BOOLEAN":
            raise SchemaError(where, f"the weight '{spec.weight}' is not numeric", "use a numeric weight column")
        wv = f"CAST({_ident(spec.weight)} AS DOUBLE)"
        cols.append(f"count(*) FILTER (WHERE {wv} IS NULL OR isnan({wv}))")
        cols.append(f"count(*) FILTER (WHERE {wv} <= 0)")
        cols.append(f"count(*) FILTER (WHERE isinf({wv}))")
        cols.append(f"median({wv}) FILTER (WHERE {wv} > 0 AND NOT isinf({wv}))")
    else:
        cols += ["0", "0", "0", "NULL"]
    text_unit = rel.type_of(unit).upper() == "VARCHAR"
    if text_unit:  # two spellings of one id (kit.core.unit_ids): lengths and blanks answer the common case
        cols += [f"min(length({u}))", f"max(length({u}))", f"count(*) FILTER (WHERE {u} <> trim({u}))"]
    row = con.execute(f"SELECT {', '.join(cols)} FROM {view}").fetchone()
    if text_unit:
        shortest, longest, blanks = row[-3:]
        row = row[:-3]
        if shortest != longest or blanks:
            twins = int(con.execute(f"SELECT count(DISTINCT {u}) - count(DISTINCT ltrim(trim({u}), '0')) "
                                    f"FROM {view}").fetchone()[0])
            if twins:
                raise SchemaError(where, f"the unit column '{unit}' has {twins} id(s) that are another id written "
                                  "with leading zeros or blanks, so one unit would count twice",
                                  "write every id one way first (e.g. strip blanks and pad CPR numbers to 10 "
                                  "digits) and write the Parquet file again")
    n_rows, unit_missing, low, high, n_inf, n_not01, w_missing, w_neg, w_inf = (int(v or 0) for v in row[:-1])
    w_median = row[-1]
    if n_rows == 0:
        raise SchemaError(where, "the data frame is empty", "check the filters that built it")
    if unit_missing:
        raise SchemaError(where, f"{unit_missing} row(s) have no unit id in '{unit}'",
                          "drop or fix those rows: every row must belong to a unit")
    if n_inf:
        raise SchemaError(where, f"the measure '{spec.measure}' has infinite values", "replace them before tabulating")
    if spec.statistic is Statistic.RATE and n_not01:
        raise SchemaError(where, f"the rate measure '{spec.measure}' has {n_not01} value(s) other than 0 and 1",
                          "code the outcome as 0/1 (or True/False)")
    if w_missing:
        raise SchemaError(where, f"{w_missing} weight(s) in '{spec.weight}' are missing", "every row needs a weight")
    if w_inf:
        raise SchemaError(where, f"{w_inf} weight(s) in '{spec.weight}' are infinite", "use finite weights")
    if w_neg:  # as kit.estimate.weights.validate_weights
        raise SchemaError(where, f"{w_neg} weight(s) in '{spec.weight}' are zero or negative; a unit with no "
                          "weight is counted by the thresholds but absent from the estimate",
                          "drop those rows before estimating (the kit then counts only the units that carry weight)")
    if spec.weight is not None and w_median is not None:
        from kit.estimate.weights import RELATIVE_FLOOR

        floor = RELATIVE_FLOOR * float(w_median)
        wv = f"CAST({_ident(spec.weight)} AS DOUBLE)"
        n_low = int(con.execute(f"SELECT count(*) FILTER (WHERE {wv} < ?) FROM {view}", [floor]).fetchone()[0])
        if n_low:
            raise SchemaError(where, f"{n_low} weight(s) in '{spec.weight}' are below {RELATIVE_FLOOR:g} times the "
                              "median weight; such a unit is counted by the thresholds but hardly enters the "
                              "estimate", "drop or trim those rows (see docs/estimates.md, 'Weights')")
    if integer_unit and high - low < 2**40:  # as the session: the span of integer ids
        return n_rows, high - low + 1, low
    return n_rows, int(con.execute(f"SELECT count(DISTINCT {u}) FROM {view}").fetchone()[0]), None


def _encode_dimension(con: Any, view: str, dim: str, code_list: tuple[str, ...] | None, max_categories: int,
                      where: str, tag: str) -> tuple[list[str], str, int]:
    """Labels of a dimension and a temporary table mapping its values to label positions.

    Returns the labels, the mapping table (``v``, ``pos``) and the position of
    missing values (NULL, and NaN in floating columns).
    """
    values = f"kit_values_{tag}"
    con.execute(f"CREATE TEMP TABLE {values} AS SELECT {_ident(dim)} AS v, count(*) AS n FROM {view} GROUP BY 1")
    rows = con.execute(f"SELECT rowid, v, n FROM {values}").fetchall()
    observed: list[str] = []
    counts: list[int] = []
    ids: list[int] = []
    has_missing = False
    for rowid, value, n in rows:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            has_missing = True
            continue
        observed.append(code_text(value))
        counts.append(int(n))
        ids.append(int(rowid))
    if code_list is None:
        if len(set(observed)) > max_categories:
            raise SpecError(where, f"dimension '{dim}' has {len(set(observed))} categories, more than "
                            f"{max_categories}", "it is probably an identifier: group it first, or "
                            "raise max_categories in the Session if it really is a grouping")
        labels = sorted_codes(list(dict.fromkeys(observed)))
    else:
        labels = list(code_list)
        known = set(labels)
        unknown = {o for o in observed if o not in known}
        if unknown:
            n_rows = sum(n for o, n in zip(observed, counts) if o in unknown)
            raise SchemaError(where, f"{n_rows} row(s) of '{dim}' have {len(unknown)} code(s) that are "
                              "not in its public code list", "add the codes to the code list, or recode "
                              "them (the kit never drops rows silently)")
    if has_missing and MISSING not in labels:
        labels.append(MISSING)
    position = {lab: i for i, lab in enumerate(labels)}
    missing_pos = position.get(MISSING, -1)
    mapping = pd.DataFrame({"rid": np.asarray(ids, dtype=np.int64),
                            "pos": np.asarray([position[o] for o in observed], dtype=np.int64)})
    name = f"kit_pos_{tag}"
    con.register(name, mapping)
    table = f"kit_map_{tag}"
    con.execute(f"CREATE TEMP TABLE {table} AS SELECT t.v AS v, p.pos AS pos FROM {values} t "
                f"JOIN {name} p ON t.rowid = p.rid")
    con.unregister(name)
    return labels, table, missing_pos
