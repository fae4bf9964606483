"""Evidence computed in DuckDB: the same :class:`~kit.core.evidence.Evidence` as the pandas engine.

The pandas engine (:func:`kit.core.evidence.build_evidence`) is the reference; this
module computes the same cells, columns, dtypes and values (sums to rounding:
DuckDB adds in another order) with DuckDB's memory limit and spilling, so the
input may be far larger than memory. Only the evidence computation differs:
assessment, suppression and release run on the returned object as always.

The computation is two group-bys:

1. rows -> (cell, unit) pairs: rows, rows with a measure, the unit's
   contribution (the sum of its rows in the cell) and the row-level weighted
   sums (a temporary table when margins need it again);
2. pairs -> cells: distinct units (pairs), distinct units with a measure
   (pairs with a measure), sums of the pair sums, the absolute total and signs
   of the contributions, and the ``top_k`` largest contributions
   (DuckDB's ``max(value, k)``).

A margin groups the pairs by the margin's cell (derived from the inner cell id
by integer arithmetic) and the unit first, so a unit's contribution to a
margin is the sum of its rows in the margin, as in the reference. Margins
needed only for the differencing rule get the reference's bounds (largest
inner count, sum of inner counts) and its exact count where the bounds do not
decide; the result is the same numbers.

The source relation has the columns ``cell`` (BIGINT, the inner cell id in
``[0, prod(sizes))``: mixed radix of the dimension codes, first dimension
slowest), ``unit`` (any type), and optionally ``x`` (DOUBLE, NULL where the
measure is missing) and ``w`` (DOUBLE).

Examples
--------
>>> import numpy as np
>>> from kit.engine import EngineOptions
>>> ev = evidence_from_arrays([np.array([0, 0, 1, 1])], [["a", "b"]], ["D"], np.array([0, 0, 1, 2]), 3,
...                           None, None, margins=True, differencing_min_units=None, top_k=0,
...                           absolute=False, contributions=False, options=EngineOptions(progress=False))
>>> ev.cells[["D", "n_units", "n_records"]].values.tolist()
[['a', 1, 2], ['b', 2, 2], ['Total', 3, 4]]
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.core.evidence import Evidence, _columns, _decompose, margin_subsets
from kit.engine import EngineOptions, connect, engine_errors, part_rows

__all__ = ["EvidenceQuery", "PopulationPrint", "evidence_from_arrays", "evidence_from_relation",
           "evidence_with_print", "population_print_sql", "unit_parts"]

#: Show a progress bar for the evidence steps from this many input rows on.
PROGRESS_ROWS = 5_000_000


@dataclass(frozen=True)
class EvidenceQuery:
    """What to compute (public: names and sizes, no data).

    Mirrors the keyword arguments of :func:`kit.core.evidence.build_evidence`.
    """

    dims: tuple[str, ...]
    dim_labels: tuple[tuple[str, ...], ...]
    has_measure: bool
    has_weight: bool
    margins: bool
    differencing_min_units: int | None
    top_k: int
    absolute: bool
    contributions: bool
    #: When set, the inner-cell pass also returns a :class:`PopulationPrint` salted with it.
    print_salt: int | None = None
    #: Rate tables: the print also covers the units with the attribute (``x = 1``).
    attribute: bool = False
    #: Integer units in ``[unit_low, unit_low + unit_span)``: the pairs are grouped on one BIGINT
    #: key ``cell * unit_span + (unit - unit_low)`` (about 15 % faster than two key columns).
    unit_low: int | None = None
    unit_span: int | None = None

    @property
    def sizes(self) -> list[int]:
        """Number of labels per dimension."""
        return [len(labels) for labels in self.dim_labels]


@dataclass(frozen=True)
class PopulationPrint:
    """A salted digest of the units counted in every inner cell (private; no unit id in it).

    Per inner cell: the number of units counted (a row with a measure; all rows
    of a count) and the sum modulo 2**64 of DuckDB's ``hash(unit, salt)`` over
    them; rate tables also the same two numbers over the units with the
    attribute. Computed in the evidence pass at no extra scan, so the unit
    populations of a lazy table can be rebuilt at release and checked to be those
    the evidence counted (:mod:`kit.evidence_lazy`).
    """

    salt: int
    n: np.ndarray
    digest: np.ndarray
    n_attribute: np.ndarray | None
    digest_attribute: np.ndarray | None

    def __repr__(self) -> str:
        return f"<PopulationPrint: {len(self.n)} cells; units hidden>"

    def same(self, other: PopulationPrint) -> bool:
        """Whether two prints agree on every cell."""
        if self.salt != other.salt or not np.array_equal(self.n, other.n):
            return False
        if not np.array_equal(self.digest, other.digest):
            return False
        if (self.n_attribute is None) != (other.n_attribute is None):
            return False
        if self.n_attribute is None or other.n_attribute is None:
            return True
        return bool(np.array_equal(self.n_attribute, other.n_attribute)
                    and np.array_equal(np.asarray(self.digest_attribute), np.asarray(other.digest_attribute)))


def population_print_sql(salt: int, counted: str, attribute: str | None) -> list[str]:
    """SQL aggregates of a print over (cell, unit) pairs; ``counted``/``attribute`` are pair predicates."""
    h = f"CAST(sum(hash(unit, {int(salt)})) FILTER (WHERE {counted}) % 18446744073709551616 AS UBIGINT)"
    cols = [f"count(*) FILTER (WHERE {counted}) AS fp_n", f"{h} AS fp_h"]
    if attribute is not None:
        ha = f"CAST(sum(hash(unit, {int(salt)})) FILTER (WHERE {attribute}) % 18446744073709551616 AS UBIGINT)"
        cols += [f"count(*) FILTER (WHERE {attribute}) AS fp_an", f"{ha} AS fp_ah"]
    return cols


def print_from_arrow(got: Any, n_cells: int, salt: int, attribute: bool) -> PopulationPrint:
    """A :class:`PopulationPrint` from a query result with ``cell`` and the print columns."""
    import pyarrow.compute as pc

    at = got.column("cell").to_numpy().astype(np.int64)

    def put(name: str, dtype: Any) -> np.ndarray:
        out: np.ndarray = np.zeros(n_cells, dtype=dtype)
        values = got.column(name)
        if values.null_count:
            values = pc.fill_null(values, 0)
        out[at] = values.to_numpy().astype(dtype, copy=False)
        return out

    if attribute:
        return PopulationPrint(salt, put("fp_n", np.int64), put("fp_h", np.uint64), put("fp_an", np.int64),
                               put("fp_ah", np.uint64))
    return PopulationPrint(salt, put("fp_n", np.int64), put("fp_h", np.uint64), None, None)


def evidence_from_arrays(
    dim_codes: Sequence[np.ndarray],
    dim_labels: Sequence[Sequence[str]],
    dims: Sequence[str],
    unit: np.ndarray,
    n_units: int,
    x: np.ndarray | None,
    w: np.ndarray | None,
    *,
    margins: bool,
    differencing_min_units: int | None,
    top_k: int,
    absolute: bool,
    contributions: bool,
    options: EngineOptions,
) -> Evidence:
    """:func:`kit.core.evidence.build_evidence` computed in DuckDB (same arguments, same result).

    The arrays are handed to DuckDB without copying (Arrow views of the NumPy
    buffers); the group-bys run under ``options.memory_limit``.
    """
    import pyarrow as pa

    sizes = [len(labels) for labels in dim_labels]
    cell = np.zeros(len(unit), dtype=np.int64)
    for codes, size in zip(dim_codes, sizes):
        cell *= size
        cell += codes
    columns: dict[str, Any] = {"cell": cell, "unit": np.ascontiguousarray(unit)}
    if x is not None:
        columns["x"] = np.ascontiguousarray(x, dtype=float)
    if w is not None:
        columns["w"] = np.ascontiguousarray(w, dtype=float)
    arrow = pa.table(columns)
    low = span = None
    if len(unit) and np.asarray(unit).dtype.kind in "iu":
        low, high = int(np.min(unit)), int(np.max(unit))
        span = high - low + 1
    query = EvidenceQuery(tuple(dims), tuple(tuple(str(v) for v in lab) for lab in dim_labels), x is not None,
                          w is not None, margins, differencing_min_units, top_k, absolute, contributions,
                          unit_low=low, unit_span=span)
    with engine_errors(f"evidence over {', '.join(dims)}", options):
        con = connect(options)
    try:
        name = f"kit_src_{uuid.uuid4().hex}"
        con.register(name, arrow)
        x_sql = ", CASE WHEN isnan(x) THEN NULL ELSE x END AS x" if x is not None else ""
        w_sql = ", w" if w is not None else ""
        source = f"SELECT cell, unit{x_sql}{w_sql} FROM {name}"
        with engine_errors(f"evidence over {', '.join(dims)}", options):
            return evidence_from_relation(con, source, query, n_units, n_rows=len(unit), options=options)
    finally:
        con.close()


def evidence_from_relation(con: Any, source: str, query: EvidenceQuery, n_input_units: int, *, n_rows: int,
                           options: EngineOptions) -> Evidence:
    """Evidence of the rows of ``source`` (a SQL query with ``cell``, ``unit``, ``x``, ``w``)."""
    return evidence_with_print(con, source, query, n_input_units, n_rows=n_rows, options=options)[0]


def evidence_with_print(con: Any, source: str, query: EvidenceQuery, n_input_units: int, *, n_rows: int,
                        options: EngineOptions) -> tuple[Evidence, PopulationPrint | None]:
    """:func:`evidence_from_relation` and, when ``query.print_salt`` is set, the inner cells' print.

    Large inputs are aggregated one part of the units at a time (:func:`unit_parts`):
    every (cell, unit) pair lies in one part, so the parts' cell statistics add up
    (the top contributions merge) and each part's hash table fits in memory.
    """
    from kit.progress import start

    sizes = query.sizes
    n_inner = int(np.prod(sizes)) if sizes else 1
    subsets = margin_subsets(len(sizes), query.margins, query.differencing_min_units is not None)
    regroup = bool(subsets) and query.margins  # published margins regroup the pairs; bounded ones do not
    predicates = unit_parts(query, n_rows, options)
    pairs = f"kit_pairs_{uuid.uuid4().hex}"
    steps = len(predicates) * (1 + (len(subsets) if regroup else 0)) + (0 if regroup else len(subsets))
    bar = start(options.progress and n_rows >= PROGRESS_ROWS, "evidence (duckdb)", steps, "steps")
    margin_sizes = {keep: int(np.prod([sizes[i] for i in keep])) if keep else 1 for keep in subsets}
    inner_raw: dict[str, np.ndarray] | None = None
    margin_raw: dict[tuple[int, ...], dict[str, np.ndarray] | None] = {keep: None for keep in subsets}
    try:
        for predicate in predicates:
            part = source if predicate is None else f"SELECT * FROM ({source}) WHERE {predicate}"
            pair_sql = _pair_query(part, query)
            if regroup:
                con.execute(f"CREATE TEMP TABLE {pairs} AS {pair_sql}")
                pair_sql = f"SELECT * FROM {pairs}"
            got = _arrow(con, _cell_query(pair_sql, query, with_print=True))
            inner_raw = _merge(inner_raw, _raw(got, n_inner, query.top_k))
            bar.advance()
            if regroup:
                for keep in subsets:
                    got = _arrow(con, _cell_query(_margin_pair_query(pairs, sizes, keep, query), query))
                    margin_raw[keep] = _merge(margin_raw[keep], _raw(got, margin_sizes[keep], query.top_k))
                    bar.advance()
                con.execute(f"DROP TABLE {pairs}")
        assert inner_raw is not None
        inner, fingerprint = _stats(inner_raw, query, with_print=True)
        parts = [_columns(inner, n_inner, sizes, query.dims, query.dim_labels, tuple(range(len(sizes))),
                          exact=True, top_k=query.top_k)]
        for keep in subsets:
            n_cells = margin_sizes[keep]
            raw = margin_raw[keep]
            if raw is not None:
                stats = _stats(raw, query)[0]
            else:
                assert query.differencing_min_units is not None
                stats = _bounded(con, source, inner, sizes, keep, n_cells, query.differencing_min_units,
                                 query.has_measure)
                bar.advance()
            parts.append(_columns(stats, n_cells, sizes, query.dims, query.dim_labels, keep, exact=raw is not None,
                                  top_k=query.top_k))
    finally:
        if regroup:
            con.execute(f"DROP TABLE IF EXISTS {pairs}")
        bar.close()
    if len(parts) == 1:
        cells = pd.DataFrame(parts[0])
    else:
        cells = pd.DataFrame({name: np.concatenate([part[name] for part in parts]) for name in parts[0]})
    return Evidence(cells, query.dims, n_input_units, query.top_k), fingerprint


#: At most this many unit parts (each re-reads the input's columns).
MAX_PARTS = 64


def unit_parts(query: EvidenceQuery, n_rows: int, options: EngineOptions) -> list[str | None]:
    """SQL predicates on ``unit`` that split the units into disjoint parts (``[None]``: one part).

    About :func:`kit.engine.part_rows` input rows per part: integer units of a
    known range are cut into ranges of ids, other units by ``hash(unit)``.

    >>> from kit.engine import EngineOptions
    >>> q = EvidenceQuery(("D",), (("a",),), False, False, False, None, 0, False, False, unit_low=10,
    ...                   unit_span=100)
    >>> unit_parts(q, 50, EngineOptions(part_rows=100))
    [None]
    >>> unit_parts(q, 250, EngineOptions(part_rows=100))
    ['unit >= 10 AND unit < 43', 'unit >= 43 AND unit < 76', 'unit >= 76 AND unit < 110']
    """
    n = min(MAX_PARTS, max(1, -(-n_rows // part_rows(options))))
    low, span = query.unit_low, query.unit_span
    if low is not None and span is not None:
        n = min(n, max(1, span))
    if n == 1:
        return [None]
    if low is not None and span is not None:
        bounds = [int(low) + int(span) * i // n for i in range(n + 1)]
        return [f"unit >= {a} AND unit < {b}" for a, b in itertools.pairwise(bounds)]
    return [f"hash(unit) % {n} = {i}" for i in range(n)]


def _pair_query(source: str, q: EvidenceQuery) -> str:
    """rows -> (cell, unit) pairs with the row-level sums the cells need.

    With integer units of a known range (``q.unit_span``) and a key that fits in 62 bits, the pairs are
    grouped on one BIGINT ``cell * span + (unit - low)`` and split again after the aggregation.
    """
    cols = ["count(*) AS n_rec"]
    if q.has_measure:
        cols += ["count(x) AS n_ok", "sum(x) AS sx", "sum(x * x) AS sxx"]
        if q.has_weight:
            cols += ["sum(w) FILTER (WHERE x IS NOT NULL) AS sw", "sum(w * x) AS swx", "sum(w * x * x) AS swx2",
                     "sum(w * w) FILTER (WHERE x IS NOT NULL) AS sw2"]
        if not q.contributions:
            cols += ["sum(abs(x)) AS sabs", "count(*) FILTER (WHERE x < 0) AS nneg"]
    elif q.has_weight:
        cols += ["sum(w) AS sw", "sum(w * w) AS sw2"]
    if q.print_salt is not None and q.attribute and q.has_measure:
        cols.append("count(*) FILTER (WHERE x = 1) AS n_one")
    n_inner = int(np.prod(q.sizes)) if q.sizes else 1
    span, low = q.unit_span, q.unit_low
    if span is not None and low is not None and span > 0 and n_inner * span < 2**62:
        names = ", ".join(c.rsplit(" AS ", 1)[1] for c in cols)
        key = f"CAST(cell AS BIGINT) * {int(span)} + (CAST(unit AS BIGINT) - {int(low)})"
        return (f"SELECT k // {int(span)} AS cell, k % {int(span)} + {int(low)} AS unit, {names} FROM "
                f"(SELECT {key} AS k, {', '.join(cols)} FROM ({source}) GROUP BY k)")
    return f"SELECT cell, unit, {', '.join(cols)} FROM ({source}) GROUP BY cell, unit"


def _margin_pair_query(pairs: str, sizes: list[int], keep: tuple[int, ...], q: EvidenceQuery) -> str:
    """Pairs regrouped by (margin cell, unit): a unit's contribution is summed over the margin."""
    mcell = _margin_cell_sql(sizes, keep)
    sums = ["sum(n_rec) AS n_rec"]
    if q.has_measure:
        sums += ["sum(n_ok) AS n_ok", "sum(sx) AS sx", "sum(sxx) AS sxx"]
        if q.has_weight:
            sums += ["sum(sw) AS sw", "sum(swx) AS swx", "sum(swx2) AS swx2", "sum(sw2) AS sw2"]
        if not q.contributions:
            sums += ["sum(sabs) AS sabs", "sum(nneg) AS nneg"]
    elif q.has_weight:
        sums += ["sum(sw) AS sw", "sum(sw2) AS sw2"]
    return (f"SELECT CAST({mcell} AS BIGINT) AS cell, unit, {', '.join(sums)} FROM {pairs} "
            "GROUP BY ALL")


def _cell_query(pair_source: str, q: EvidenceQuery, with_print: bool = False) -> str:
    """SQL: pairs -> per-cell sums (and the print's columns when ``with_print`` and ``q.print_salt``)."""
    cols = ["cell", "sum(n_rec) AS n_records", "count(*) AS n_units_any"]
    if q.has_measure:
        cols += ["sum(n_ok) AS n_ok", "sum(sx) AS total", "sum(sxx) AS sxx",
                 "count(*) FILTER (WHERE n_ok > 0) AS n_units"]
        if q.has_weight:
            cols += ["sum(sw) AS sw", "sum(swx) AS swx", "sum(swx2) AS swx2", "sum(sw2) AS sw2"]
        if q.contributions:
            score = "abs(sx)" if q.absolute else "sx"
            cols += ["sum(abs(sx)) FILTER (WHERE n_ok > 0) AS abs_total",
                     "count(*) FILTER (WHERE n_ok > 0 AND sx < 0) AS n_neg",
                     "count(*) FILTER (WHERE n_ok > 0 AND sx > 0) AS n_pos"]
            if q.top_k:
                cols.append(f"max({score}, {int(q.top_k)}) FILTER (WHERE n_ok > 0) AS tops")
        else:
            cols += ["sum(sabs) AS abs_total", "sum(nneg) AS n_neg"]
    elif q.has_weight:
        cols += ["sum(sw) AS sw", "sum(sw2) AS sw2"]
    if with_print and q.print_salt is not None:
        attribute = q.attribute and q.has_measure
        cols += population_print_sql(q.print_salt, "n_ok > 0" if q.has_measure else "TRUE",
                                     "n_one > 0" if attribute else None)
    return f"SELECT {', '.join(cols)} FROM ({pair_source}) GROUP BY cell"


_INTEGER_SUMS = frozenset({"n_records", "n_units_any", "n_ok", "n_units", "n_neg", "n_pos", "fp_n", "fp_an"})
_HASH_SUMS = frozenset({"fp_h", "fp_ah"})


def _raw(got: Any, n_cells: int, top_k: int) -> dict[str, np.ndarray]:
    """A per-cell query result as dense arrays (cells without pairs: 0; ``tops``: NaN where absent)."""
    import pyarrow.compute as pc

    at = got.column("cell").to_numpy().astype(np.int64)
    out: dict[str, np.ndarray] = {}
    for name in got.column_names:
        if name in ("cell", "tops"):
            continue
        dtype: Any = np.int64 if name in _INTEGER_SUMS else np.uint64 if name in _HASH_SUMS else float
        dense: np.ndarray = np.zeros(n_cells, dtype=dtype)
        values = got.column(name)
        if values.null_count:  # NULL sums (no row with a measure) are zeros
            values = pc.fill_null(values, 0)
        dense[at] = values.to_numpy().astype(dtype, copy=False)
        out[name] = dense
    if "tops" in got.column_names:
        tops = np.full((n_cells, top_k), np.nan)
        for row, values in zip(at, got.column("tops").to_pylist()):
            if values:
                tops[row, :len(values)] = values
        out["tops"] = tops
    return out


def _merge(a: dict[str, np.ndarray] | None, b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two parts' per-cell sums added (hash sums modulo 2**64); top contributions merged.

    >>> a = {"n_units": np.array([1, 0]), "tops": np.array([[5.0, np.nan], [np.nan, np.nan]])}
    >>> b = {"n_units": np.array([2, 1]), "tops": np.array([[7.0, 1.0], [-3.0, np.nan]])}
    >>> m = _merge(a, b)
    >>> m["n_units"].tolist(), m["tops"].tolist()[0], float(m["tops"][1, 0])
    ([3, 1], [7.0, 5.0], -3.0)
    """
    if a is None:
        return b
    out: dict[str, np.ndarray] = {}
    for name, values in b.items():
        if name == "tops":
            k = values.shape[1]
            both = np.concatenate([a[name], values], axis=1)
            out[name] = -np.sort(-both, axis=1)[:, :k]  # descending, absent (NaN) last
        else:
            out[name] = a[name] + values  # uint64 hash sums wrap modulo 2**64, as in SQL
    return out


def _stats(raw: dict[str, np.ndarray], q: EvidenceQuery,
           with_print: bool = False) -> tuple[dict[str, np.ndarray], PopulationPrint | None]:
    """Per-cell statistics in the reference's column order and dtypes (and the print) from merged sums."""
    fingerprint = None
    if with_print and q.print_salt is not None:
        attribute = q.attribute and q.has_measure
        fingerprint = PopulationPrint(q.print_salt, raw["fp_n"], raw["fp_h"], raw["fp_an"] if attribute else None,
                                      raw["fp_ah"] if attribute else None)
    n_cells = len(raw["n_records"])
    n_records = raw["n_records"]
    stats: dict[str, np.ndarray] = {"n_records": n_records}
    if not q.has_measure:
        stats["n_missing"] = np.zeros(n_cells, dtype=np.int64)
        stats["total"] = np.zeros(n_cells)
        if q.has_weight:
            stats["sum_w"], stats["sum_w2"] = raw["sw"], raw["sw2"]
        else:
            stats["sum_w"] = n_records.astype(float)
            stats["sum_w2"] = stats["sum_w"]
        stats["sum_wx"] = np.zeros(n_cells)
        stats["sum_wx2"] = np.zeros(n_cells)
    else:
        n_ok = raw["n_ok"]
        stats["n_missing"] = n_records - n_ok
        stats["total"] = raw["total"]
        if q.has_weight:
            stats["sum_w"], stats["sum_wx"] = raw["sw"], raw["swx"]
            stats["sum_wx2"], stats["sum_w2"] = raw["swx2"], raw["sw2"]
        else:
            stats["sum_w"] = n_ok.astype(float)
            stats["sum_wx"] = stats["total"]
            stats["sum_wx2"] = raw["sxx"]
            stats["sum_w2"] = stats["sum_w"]
    stats["n_units_any"] = raw["n_units_any"]
    if not q.has_measure:
        stats["n_units"] = stats["n_units_any"]
        stats["abs_total"] = np.zeros(n_cells)
        stats["n_negative_units"] = np.zeros(n_cells, dtype=np.int64)
        stats["n_positive_units"] = stats["n_units"]
        return stats, fingerprint
    stats["n_units"] = raw["n_units"]
    stats["abs_total"] = raw["abs_total"]
    stats["n_negative_units"] = raw["n_neg"]
    if not q.contributions:
        if not n_ok.any():  # as the reference: a bincount of no rows is an integer array
            stats["abs_total"] = stats["abs_total"].astype(np.int64)
        stats["n_positive_units"] = np.zeros(n_cells, dtype=np.int64)
        return stats, fingerprint
    stats["n_positive_units"] = raw["n_pos"]
    if q.top_k:
        tops = np.nan_to_num(raw["tops"], nan=0.0)  # fewer units than k: zeros, as the reference
        for i in range(q.top_k):
            stats[f"top_{i + 1}"] = tops[:, i].copy()
    return stats, fingerprint


def _arrow(con: Any, sql: str) -> Any:
    """The result of a query as an Arrow table (duckdb 2 ``to_arrow_table``, 1.x ``fetch_arrow_table``)."""
    rel = con.sql(sql)
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()


def _bounded(con: Any, source: str, inner: dict[str, np.ndarray], sizes: list[int], keep: tuple[int, ...],
             n_cells: int, min_units: int, has_measure: bool) -> dict[str, np.ndarray]:
    """The reference's differencing-only margin, from the inner cells.

    Row sums add up over the inner cells. Unit counts are bounded as in the
    reference (at least the largest inner count, at most their sum): where the
    upper bound is below ``min_units`` it is reported, where the lower bound
    reaches it the lower bound, and the exact count (one DuckDB query over the
    undecided margin cells only) elsewhere.
    """
    grid = _decompose(np.arange(len(inner["n_units"]), dtype=np.int64), sizes)
    inner_to_margin = np.zeros(len(inner["n_units"]), dtype=np.int64)
    for i in keep:
        inner_to_margin = inner_to_margin * sizes[i] + grid[i]
    out: dict[str, np.ndarray] = {}
    unit_stats = ("n_units", "n_units_any", "abs_total", "n_negative_units", "n_positive_units")
    for name, values in inner.items():
        if name in unit_stats or name.startswith("top_"):
            continue
        summed = np.bincount(inner_to_margin, weights=values, minlength=n_cells)
        out[name] = summed.astype(values.dtype) if values.dtype.kind in "iu" else summed
    exact: dict[str, np.ndarray] = {}
    undecided_any = np.zeros(n_cells, dtype=bool)
    bounds = {}
    for name in ("n_units", "n_units_any"):
        counts = inner[name]
        lower = np.zeros(n_cells, dtype=np.int64)
        np.maximum.at(lower, inner_to_margin, counts)
        upper = np.bincount(inner_to_margin, weights=counts, minlength=n_cells).astype(np.int64)
        undecided = (lower < min_units) & (upper >= min_units)
        bounds[name] = (np.where(upper < min_units, upper, lower), undecided)
        undecided_any |= undecided
    if undecided_any.any():
        exact = _exact_margin_units(con, source, sizes, keep, np.flatnonzero(undecided_any), n_cells,
                                    has_measure)
    for name, (value, undecided) in bounds.items():
        out[name] = np.where(undecided, exact[name], value) if undecided.any() else value
    zeros = np.zeros(n_cells)
    out.update({"abs_total": zeros, "n_negative_units": zeros.astype(np.int64),
                "n_positive_units": zeros.astype(np.int64)})
    return out


def _margin_cell_sql(sizes: list[int], keep: tuple[int, ...]) -> str:
    """SQL for a margin's cell id from the inner cell id ``cell``."""
    strides = [int(np.prod(sizes[i + 1:])) for i in range(len(sizes))]
    terms = []
    mstride = 1
    for i in reversed(keep):
        terms.append(f"((cell // {strides[i]}) % {sizes[i]}) * {mstride}")
        mstride *= sizes[i]
    return " + ".join(reversed(terms)) if terms else "0"


def _exact_margin_units(con: Any, source: str, sizes: list[int], keep: tuple[int, ...], cells: np.ndarray,
                        n_cells: int, has_measure: bool) -> dict[str, np.ndarray]:
    """Exact distinct units (any row; with a measure) of some margin cells."""
    import pyarrow as pa

    name = f"kit_cells_{uuid.uuid4().hex}"
    con.register(name, pa.table({"m": cells.astype(np.int64)}))
    try:
        with_x = "count(DISTINCT unit) FILTER (WHERE x IS NOT NULL)" if has_measure else "count(DISTINCT unit)"
        got = _arrow(con, f"SELECT m, count(DISTINCT unit) AS any_u, {with_x} AS x_u FROM "
                          f"(SELECT CAST({_margin_cell_sql(sizes, keep)} AS BIGINT) AS m, * FROM ({source})) "
                          f"SEMI JOIN {name} USING (m) GROUP BY m")
    finally:
        con.unregister(name)
    at = got.column("m").to_numpy().astype(np.int64)
    out = {"n_units_any": np.zeros(n_cells, dtype=np.int64), "n_units": np.zeros(n_cells, dtype=np.int64)}
    out["n_units_any"][at] = got.column("any_u").to_numpy()
    out["n_units"][at] = got.column("x_u").to_numpy()
    return out
