"""Per-cell evidence: the sufficient statistics every rule and estimate needs.

One grouped pass over the microdata computes, for every cell of a table and of
each needed margin:

* ``n_units``: distinct units (the declared unit column) with a non-missing
  measure, never rows; ``n_units_any``: distinct units with any row;
* ``n_records``: rows; ``n_missing``: rows whose measure is missing;
* ``total`` and ``abs_total``: the sum of the measure and of the absolute
  per-unit contributions;
* ``top_1 .. top_k``: the k largest per-unit contributions, where a unit's rows
  in a cell are summed first (absolute values when the rule set says so);
* ``n_negative_units`` / ``n_positive_units``: units whose contribution is
  negative / positive (rates: units with the attribute);
* row-level weighted sums ``sum_w``, ``sum_wx``, ``sum_wx2``, ``sum_w2`` for
  estimates.

How it stays fast
-----------------
Dimension values are factorised once (integer columns by offset, in their own
width) and combined into one integer cell id. Row-level sums are
``numpy.bincount`` calls. Distinct (cell, unit) pairs come from one sort of a
pair key, 32-bit where it fits (twice as fast as 64-bit); from
``PARALLEL_SORT_ROWS`` rows on, the keys are partitioned at the median and the
halves sorted in two threads while the row sums are computed (:class:`_KeySort`).
Per-cell distinct counts are binary searches at the cell boundaries of the
sorted keys. Per-unit contributions are the rows themselves except for the rows
of repeated pairs, which a hashed bitmap finds (:class:`_KeySet`) and which alone
are sorted and summed; the largest contributions come from ``ufunc.at`` passes
over cache-sized row chunks, in the same sweep as the membership test. So a
table costs about one sort of its pair keys plus a few linear passes, and never
more than a few row-length temporaries.
Margins that are only needed for the differencing rule are bounded first (a
margin holds at least as many units as its largest inner cell and at most their
sum) and counted exactly only where the bounds do not decide the rule; such
margins carry ``n_units_exact = False`` where only the bound is known.

Evidence is private (zone 2): :class:`Evidence` shows its shape and column
names in ``repr`` but never values, and has no writer.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MISSING", "TOTAL", "Evidence", "build_evidence", "margin_subsets"]

#: Label of a margin (total over a dimension).
TOTAL = "Total"
#: Label of the explicit category for missing dimension values.
MISSING = "(missing)"
#: Row-level passes that make temporaries work in chunks of this many rows (cache-sized).
CHUNK_ROWS = 1 << 18
#: Sort the pair keys in two threads from this many rows (:func:`_sorted_keys`).
PARALLEL_SORT_ROWS = 250_000


class Evidence:
    """Per-cell evidence of one table and its margins (private zone).

    ``cells`` is a DataFrame with one column per dimension (margins carry
    :data:`TOTAL`), ``is_margin``, ``margin_level`` (number of dimensions summed
    over) and the statistics listed in the module docs. It must never be
    written or rendered; ``repr`` shows only shape and names.
    """

    __slots__ = ("_cells", "dims", "n_input_units", "top_k")

    def __init__(self, cells: pd.DataFrame, dims: Sequence[str], n_input_units: int, top_k: int) -> None:
        self._cells = cells
        self.dims = tuple(dims)
        self.n_input_units = n_input_units
        self.top_k = top_k

    @property
    def cells(self) -> pd.DataFrame:
        """The evidence frame (private: for rules, estimates and the checker's report)."""
        return self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return (f"<Evidence: {len(self._cells)} cells over {list(self.dims)}, "
                f"columns {list(self._cells.columns)}; values hidden>")

    __str__ = __repr__


def margin_subsets(n_dims: int, margins: bool, differencing: bool) -> list[tuple[int, ...]]:
    """Which dimension subsets (kept dimensions) get margin cells.

    With ``margins`` every proper subset (down to the grand total); with only
    ``differencing`` the subsets with exactly one dimension left out.

    >>> margin_subsets(2, True, False)
    [(0,), (1,), ()]
    >>> margin_subsets(3, False, True)
    [(0, 1), (0, 2), (1, 2)]
    """
    subsets: list[tuple[int, ...]] = []
    for size in range(n_dims - 1, -1, -1):
        if not margins and not (differencing and size == n_dims - 1):
            continue
        subsets.extend(itertools.combinations(range(n_dims), size))
    return subsets


def _pair_keys(cell: np.ndarray, unit: np.ndarray, n_units: int, n_cells: int) -> tuple[np.ndarray, int]:
    """One integer key per row for its (cell, unit) pair, and the base ``key = cell * base + unit``.

    The key is 32-bit when ``n_cells * base`` fits (a 32-bit sort is about twice as
    fast as a 64-bit one), else 64-bit.

    >>> key, base = _pair_keys(np.array([1, 0]), np.array([2, 0]), 3, 2)
    >>> key.tolist(), key.dtype.name, base
    ([5, 0], 'uint32', 3)
    """
    base = max(int(n_units), 1)
    dtype = np.uint32 if max(int(n_cells), 1) * base <= 2**32 else np.int64
    key = cell.astype(dtype) * dtype(base)
    key += unit.astype(dtype, copy=False)
    return key, base


class _KeySort:
    """The sorted pair keys, sorted in the background for large inputs.

    Use as a context manager: on entry, large inputs on a machine with two
    usable cores start ``np.partition`` at the median (linear time) in a worker
    thread, which then sorts the two halves in place in two threads (NumPy's
    sort releases the GIL); meanwhile the caller computes the row sums.
    :meth:`result` waits and returns the sorted keys (the partitioned halves,
    sorted, are the sorted whole). Smaller inputs are sorted by ``np.sort`` in
    :meth:`result`. On exit the threads are joined.

    >>> with _KeySort(np.array([9, 1, 5, 3], dtype=np.uint32)) as sorter:
    ...     sorter.result().tolist()
    [1, 3, 5, 9]
    """

    def __init__(self, key: np.ndarray) -> None:
        self._key = key
        self._pool: ThreadPoolExecutor | None = None
        self._job: Future[tuple[np.ndarray, list[Future[None]]]] | None = None

    def __enter__(self) -> _KeySort:
        if len(self._key) >= max(PARALLEL_SORT_ROWS, 2) and _usable_cores() >= 2:
            self._pool = ThreadPoolExecutor(max_workers=2)
            self._job = self._pool.submit(self._partition_and_sort)
        return self

    def _partition_and_sort(self) -> tuple[np.ndarray, list[Future[None]]]:
        assert self._pool is not None
        half = len(self._key) // 2
        out = np.partition(self._key, half)
        return out, [self._pool.submit(np.ndarray.sort, part) for part in (out[:half], out[half:])]

    def result(self) -> np.ndarray:
        """The sorted keys."""
        if self._job is None:
            return np.sort(self._key)
        out, halves = self._job.result()
        for half in halves:
            half.result()
        return out

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def _sorted_keys(key: np.ndarray) -> np.ndarray:
    """``np.sort(key)``, in two threads for large inputs (:class:`_KeySort`).

    >>> _sorted_keys(np.array([9, 1, 5, 3], dtype=np.uint32)).tolist()
    [1, 3, 5, 9]
    """
    with _KeySort(key) as sorter:
        return sorter.result()


def _usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _distinct_sorted(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys of a sorted key array, and the keys that occur more than once.

    >>> d, r = _distinct_sorted(np.array([1, 1, 2, 5, 5, 5]))
    >>> d.tolist(), r.tolist()
    ([1, 2, 5], [1, 5])
    """
    if len(sorted_key) < 2:
        return sorted_key, sorted_key[:0]
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():
        return sorted_key, sorted_key[:0]
    keep = np.empty(len(sorted_key), dtype=bool)
    keep[0] = True
    np.logical_not(same, out=keep[1:])
    repeated = sorted_key[1:][same]
    if len(repeated) > 1:
        repeated = repeated[np.concatenate(([True], repeated[1:] != repeated[:-1]))]
    return sorted_key[keep], repeated


def _distinct_pairs(cell: np.ndarray, unit: np.ndarray, n_units: int,
                    n_cells: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (cell, unit) pairs by one sort of the pair key.

    >>> c, u = _distinct_pairs(np.array([1, 0, 1, 1]), np.array([2, 0, 2, 1]), 3)
    >>> c.tolist(), u.tolist()
    ([0, 1, 1], [0, 1, 2])
    """
    cells = int(cell.max()) + 1 if n_cells is None and len(cell) else (n_cells or 1)
    key, base = _pair_keys(cell, unit, n_units, cells)
    distinct, _ = _distinct_sorted(np.sort(key))
    distinct = distinct.astype(np.int64)
    return distinct // base, distinct % base


def _per_cell_counts(distinct: np.ndarray, base: int, n_cells: int) -> np.ndarray:
    """Number of distinct sorted keys in each cell (cell ``c`` holds keys ``[c·base, (c+1)·base)``).

    A binary search per cell boundary instead of a division per key.

    >>> _per_cell_counts(np.array([0, 2, 3, 7], dtype=np.uint32), 3, 3).tolist()
    [2, 1, 1]
    """
    bounds = np.arange(n_cells + 1, dtype=np.int64) * base
    return np.diff(np.searchsorted(distinct, bounds.astype(distinct.dtype, copy=False))).astype(np.int64)


@dataclass(frozen=True)
class _KeySet:
    """Sorted distinct keys with a hashed bitmap for fast membership tests.

    The bitmap (64 slots per key, at most 4 MB, so it stays in cache) over a
    multiplicative hash passes only the few candidate rows on to an exact binary
    search; this is cheaper than a hash-table ``isin`` over all rows.

    >>> ks = _KeySet.of(np.array([4, 9], dtype=np.uint32))
    >>> ks.contains(np.array([4, 7, 4, 9], dtype=np.uint32)).tolist()
    [True, False, True, True]
    """

    keys: np.ndarray
    table: np.ndarray
    mult: np.unsignedinteger
    shift: np.unsignedinteger

    @classmethod
    def of(cls, keys: np.ndarray) -> _KeySet:
        bits = int(min(22, max(10, np.ceil(np.log2(64 * len(keys) + 1)))))
        # multiplicative (Fibonacci) hash in the keys' own width: the top ``bits`` bits of key * odd constant
        if keys.dtype == np.uint32:
            mult, shift = np.uint32(0x9E3779B1), np.uint32(32 - bits)
        else:
            keys = keys.view(np.uint64)
            mult, shift = np.uint64(0x9E3779B97F4A7C15), np.uint64(64 - bits)
        table = np.zeros(1 << bits, dtype=bool)
        table[(keys * mult) >> shift] = True
        return cls(keys, table, mult, shift)

    def contains(self, key: np.ndarray) -> np.ndarray:
        """Mask of the entries of ``key`` (same dtype as the set's keys) that are in the set."""
        if key.dtype != self.keys.dtype:
            key = key.view(self.keys.dtype)
        out = self.table[(key * self.mult) >> self.shift]
        cand = np.flatnonzero(out)
        if len(cand):
            pos = np.minimum(np.searchsorted(self.keys, key[cand]), len(self.keys) - 1)
            out[cand] = self.keys[pos] == key[cand]
        return np.asarray(out)


def _top_k_raw(cell: np.ndarray, v: np.ndarray, n_cells: int, k: int,
               exclude: np.ndarray | None = None) -> np.ndarray:
    """The k largest values per cell, ``-inf`` where a cell has fewer than k values.

    Entries equal to ``-inf`` and rows marked in ``exclude`` count as absent.
    For ``k <= 2`` two ``ufunc.at`` passes over row chunks (no sort; chunks keep
    the temporaries in cache); otherwise a stable sort by cell and
    ``maximum.reduceat`` over the cells' segments, masking one occurrence of
    each rank's maximum.

    >>> _top_k_raw(np.array([0, 0, 0, 1]), np.array([3.0, 9.0, 9.0, 2.0]), 3, 2).tolist()
    [[9.0, 9.0], [2.0, -inf], [-inf, -inf]]
    >>> _top_k_raw(np.array([0, 0, 0, 1]), np.array([3.0, 9.0, 9.0, 2.0]), 3, 2, np.array([0, 1, 0, 0], bool)).tolist()
    [[9.0, 3.0], [2.0, -inf], [-inf, -inf]]
    >>> _top_k_raw(np.array([1, 0, 1, 1]), np.array([5.0, 1.0, -2.0, 7.0]), 2, 3).tolist()
    [[1.0, -inf, -inf], [7.0, 5.0, -2.0]]
    """
    tops = np.full((n_cells, k), -np.inf)
    if len(cell) == 0 or k == 0:
        return tops
    v = v.astype(float, copy=False)
    if exclude is not None and k > 2:
        v = np.where(exclude, -np.inf, v)
    if k <= 2:
        for i in range(0, len(cell), CHUNK_ROWS):
            sl = slice(i, i + CHUNK_ROWS)
            vc = v[sl] if exclude is None else np.where(exclude[sl], -np.inf, v[sl])
            tops = _merge_tops(tops, _chunk_top2(cell[sl], vc, n_cells, k))
        return tops
    order = np.argsort(cell, kind="stable")
    cell, work = cell[order], v[order].copy()
    starts = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
    seg_cell = cell[starts]
    seg_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(cell))))
    for i in range(k):
        best = np.maximum.reduceat(work, starts)
        tops[seg_cell, i] = best
        if i + 1 < k:
            hit = np.flatnonzero((work == best[seg_of_row]) & np.isfinite(work))
            if len(hit) == 0:
                break
            first = hit[np.concatenate(([True], seg_of_row[hit][1:] != seg_of_row[hit][:-1]))]
            work[first] = -np.inf
    return tops


def _chunk_top2(cell: np.ndarray, v: np.ndarray, n_cells: int, k: int) -> np.ndarray:
    """The largest (and second largest) value per cell of one chunk of rows, ``-inf`` where absent.

    >>> _chunk_top2(np.array([0, 0, 1]), np.array([4.0, 4.0, -np.inf]), 2, 2).tolist()
    [[4.0, 4.0], [-inf, -inf]]
    """
    tops = np.full((n_cells, k), -np.inf)
    top1 = tops[:, 0].copy()
    np.maximum.at(top1, cell, v)
    tops[:, 0] = top1
    if k == 2:
        is_max = v == top1[cell]
        n_max = np.bincount(cell[is_max & np.isfinite(v)], minlength=n_cells)
        second = np.full(n_cells, -np.inf)
        np.maximum.at(second, cell, np.where(is_max, -np.inf, v))
        tops[:, 1] = np.where(n_max >= 2, top1, second)
    return tops


def _merge_tops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, the largest k of two descending k-lists.

    >>> _merge_tops(np.array([[5.0, 1.0]]), np.array([[3.0, 2.0]])).tolist()
    [[5.0, 3.0]]
    """
    k = a.shape[1]
    return -np.sort(-np.concatenate((a, b), axis=1), axis=1)[:, :k]


@dataclass(frozen=True)
class _Contributions:
    """Per-cell statistics of per-unit contributions (a unit's rows in a cell summed first)."""

    n_units: np.ndarray
    abs_total: np.ndarray
    n_negative_units: np.ndarray
    n_positive_units: np.ndarray
    tops: np.ndarray  # (n_cells, k), -inf where absent


def _contributions(cell: np.ndarray, key: np.ndarray, base: int, x: np.ndarray, n_cells: int,
                   n_units: np.ndarray, repeated: np.ndarray, top_k: int, absolute: bool,
                   total: np.ndarray | None = None) -> _Contributions:
    """Contribution statistics from the rows and the pair keys' sort.

    Rows whose (cell, unit) pair is unique are contributions as they are; only
    the rows of repeated pairs (found with :class:`_KeySet`) are sorted and
    summed, and their statistics replace those of their rows. The cost stays
    near one sort of the pair keys when repeated pairs are rare, and near one
    sort of all rows when they are common. ``total`` (the cells' row totals of
    ``x``, when known) is reused as the absolute total where no value is negative.

    >>> cell = np.array([0, 0, 0, 1]); unit = np.array([0, 0, 1, 2]); x = np.array([5.0, -1.0, 2.0, -7.0])
    >>> key, base = _pair_keys(cell, unit, 3, 2)
    >>> d, r = _distinct_sorted(np.sort(key))
    >>> c = _contributions(cell, key, base, x, 2, np.bincount(d // base, minlength=2), r, 2, False)
    >>> c.n_units.tolist(), c.abs_total.tolist(), c.n_negative_units.tolist(), c.tops.tolist()
    ([2, 1], [6.0, 7.0], [0, 1], [[4.0, 2.0], [-7.0, -inf]])
    """
    x_min = float(x.min()) if len(x) else 0.0
    score = np.abs(x) if absolute and x_min < 0 else x
    dup, tops = _dup_rows_and_tops(cell, key, score, n_cells, repeated, top_k)
    if len(dup):  # the rows of repeated pairs, summed per pair (few in most tables)
        order = dup[np.argsort(key[dup], kind="stable")]
        dkey, dx, dcell = key[order], x[order], cell[order]
        starts = np.flatnonzero(np.concatenate(([True], dkey[1:] != dkey[:-1])))
        sums = np.add.reduceat(dx, starts)
        pcell = dcell[starts]
    else:
        sums, pcell, dcell, dx = np.empty(0), dup, dup, np.empty(0)
    # row-level statistics, then the repeated pairs' rows replaced by their sums
    if x_min >= 0 and total is not None:  # no negative row: no negative unit either
        abs_total = total.copy()
    elif x_min >= 0:
        abs_total = np.bincount(cell, weights=x, minlength=n_cells)
    else:
        abs_total = np.bincount(cell, weights=np.abs(x), minlength=n_cells)
    if len(dup) and x_min < 0:
        abs_total += np.bincount(pcell, weights=np.abs(sums), minlength=n_cells)
        abs_total -= np.bincount(dcell, weights=np.abs(dx), minlength=n_cells)
    if x_min > 0:  # every contribution positive
        neg = np.zeros(n_cells, dtype=np.int64)
        pos = n_units
    else:
        keep = np.ones(len(x), dtype=bool)
        keep[dup] = False
        neg = np.bincount(cell[keep & (x < 0)], minlength=n_cells) + np.bincount(pcell[sums < 0], minlength=n_cells)
        pos = np.bincount(cell[keep & (x > 0)], minlength=n_cells) + np.bincount(pcell[sums > 0], minlength=n_cells)
    if not top_k:
        return _Contributions(n_units, abs_total, neg, pos, np.empty((n_cells, 0)))
    if len(dup):
        tops = _merge_tops(tops, _top_k_raw(pcell, np.abs(sums) if absolute else sums, n_cells, top_k))
    return _Contributions(n_units, abs_total, neg, pos, tops)


def _dup_rows_and_tops(cell: np.ndarray, key: np.ndarray, score: np.ndarray, n_cells: int,
                       repeated: np.ndarray, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of repeated pairs, and the ``top_k`` largest scores per cell among the other rows.

    For ``top_k <= 2`` one sweep over cache-sized chunks does both (membership
    test, then the chunk's two largest, merged into the running ones), so the
    rows are read once; larger k sort by cell afterwards.

    >>> dup, tops = _dup_rows_and_tops(np.array([0, 0, 0]), np.array([1, 1, 2], dtype=np.uint32),
    ...                                np.array([5.0, 4.0, 3.0]), 1, np.array([1], dtype=np.uint32), 2)
    >>> dup.tolist(), tops.tolist()
    ([0, 1], [[3.0, -inf]])
    """
    keyset = _KeySet.of(repeated) if len(repeated) else None
    fused = 0 < top_k <= 2
    tops = np.full((n_cells, top_k), -np.inf)
    parts: list[np.ndarray] = []
    if keyset is not None or fused:
        for i in range(0, len(key), CHUNK_ROWS):
            sl = slice(i, i + CHUNK_ROWS)
            vc = score[sl] if fused else None
            if keyset is not None:
                mask = keyset.contains(key[sl])
                rows = np.flatnonzero(mask)
                if len(rows):
                    parts.append(rows + i)
                    if vc is not None:
                        vc = np.where(mask, -np.inf, vc)
            if vc is not None:
                tops = _merge_tops(tops, _chunk_top2(cell[sl], vc, n_cells, top_k))
    dup = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
    if top_k > 2:
        exclude = None
        if len(dup):
            exclude = np.zeros(len(key), dtype=bool)
            exclude[dup] = True
        tops = _top_k_raw(cell, score, n_cells, top_k, exclude)
    return dup, tops


def _row_sums(cell: np.ndarray, n_cells: int, x: np.ndarray | None, w: np.ndarray | None,
              ok: np.ndarray | None) -> dict[str, np.ndarray]:
    """Row-level sums per cell: records, missing, totals and weighted moments."""
    out: dict[str, np.ndarray] = {"n_records": np.bincount(cell, minlength=n_cells)}
    if x is None:
        out["n_missing"] = np.zeros(n_cells, dtype=np.int64)
        out["total"] = np.zeros(n_cells)
        if w is None:
            out["sum_w"] = out["n_records"].astype(float)
            out["sum_w2"] = out["sum_w"]
        else:
            out["sum_w"] = np.bincount(cell, weights=w, minlength=n_cells)
            out["sum_w2"] = np.bincount(cell, weights=w * w, minlength=n_cells)
        out["sum_wx"] = np.zeros(n_cells)
        out["sum_wx2"] = np.zeros(n_cells)
        return out
    assert ok is not None
    all_ok = bool(ok.all())
    xv = x if all_ok else np.where(ok, x, 0.0)
    n_ok = out["n_records"] if all_ok else np.bincount(cell, weights=ok, minlength=n_cells)
    out["n_missing"] = (out["n_records"] - n_ok).astype(np.int64)
    out["total"] = np.bincount(cell, weights=xv, minlength=n_cells)
    if w is None:
        out["sum_w"] = np.asarray(n_ok, dtype=float)
        out["sum_wx"] = out["total"]
        out["sum_wx2"] = _chunked_sum_of_squares(cell, xv, n_cells)
        out["sum_w2"] = out["sum_w"]
        return out
    wv = np.where(ok, w, 0.0)
    out["sum_w"] = np.bincount(cell, weights=wv, minlength=n_cells)
    out["sum_wx"] = np.bincount(cell, weights=wv * xv, minlength=n_cells)
    out["sum_wx2"] = np.bincount(cell, weights=wv * xv * xv, minlength=n_cells)
    out["sum_w2"] = np.bincount(cell, weights=wv * wv, minlength=n_cells)
    return out


def _chunked_sum_of_squares(cell: np.ndarray, x: np.ndarray, n_cells: int) -> np.ndarray:
    """``bincount(cell, weights=x * x)`` over cache-sized chunks (no full-length temporary).

    >>> _chunked_sum_of_squares(np.array([0, 1, 0]), np.array([1.0, 2.0, 3.0]), 2).tolist()
    [10.0, 4.0]
    """
    out = np.zeros(n_cells)
    for i in range(0, len(cell), CHUNK_ROWS):
        xc = x[i:i + CHUNK_ROWS]
        out += np.bincount(cell[i:i + CHUNK_ROWS], weights=xc * xc, minlength=n_cells)
    return out


def _unit_stats(cell: np.ndarray, unit: np.ndarray, n_units: int, n_cells: int, x: np.ndarray | None,
                ok: np.ndarray | None, top_k: int, absolute: bool, contributions: bool,
                row_total: np.ndarray | None = None,
                keys: tuple[np.ndarray, int, _KeySort] | None = None) -> dict[str, np.ndarray]:
    """Unit-level statistics per cell: distinct units and per-unit contributions.

    ``keys`` passes the pair keys, their base and their (background) sort when
    the caller started it already.
    """
    out: dict[str, np.ndarray] = {}
    if keys is None:
        key, base = _pair_keys(cell, unit, n_units, n_cells)
        sorted_key = _sorted_keys(key)
    else:
        key, base, sorter = keys
        sorted_key = sorter.result()
    distinct, repeated = _distinct_sorted(sorted_key)
    del sorted_key
    out["n_units_any"] = _per_cell_counts(distinct, base, n_cells)
    n_with_measure = out["n_units_any"]
    if x is None:
        out["n_units"] = out["n_units_any"]
        out["abs_total"] = np.zeros(n_cells)
        out["n_negative_units"] = np.zeros(n_cells, dtype=np.int64)
        out["n_positive_units"] = out["n_units"]
        return out
    assert ok is not None
    if not bool(ok.all()):  # the units with a measure: their own pairs
        cell, unit, x = cell[ok], unit[ok], x[ok]
        key = key[ok]
        distinct, repeated = _distinct_sorted(_sorted_keys(key))
        n_with_measure = _per_cell_counts(distinct, base, n_cells)
    if not contributions:
        out["n_units"] = n_with_measure
        out["abs_total"] = np.bincount(cell, weights=np.abs(x), minlength=n_cells)
        out["n_negative_units"] = np.bincount(cell[x < 0], minlength=n_cells).astype(np.int64)
        out["n_positive_units"] = np.zeros(n_cells, dtype=np.int64)
        return out
    c = _contributions(cell, key, base, x, n_cells, n_with_measure, repeated, top_k, absolute, row_total)
    out["n_units"] = c.n_units.astype(np.int64)
    out["abs_total"] = c.abs_total
    out["n_negative_units"] = c.n_negative_units.astype(np.int64)
    out["n_positive_units"] = c.n_positive_units.astype(np.int64)
    for i in range(top_k):
        out[f"top_{i + 1}"] = np.where(np.isfinite(c.tops[:, i]), c.tops[:, i], 0.0)
    return out


def build_evidence(
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
) -> Evidence:
    """Compute evidence for the full cross product of the dimension code lists.

    ``dim_codes[i]`` holds integer codes into ``dim_labels[i]``; every
    combination of labels becomes a cell (empty cells get zeros). Published
    margins (``margins=True``) get exact statistics; margins needed only for
    the differencing rule are bounded (see the module docs).
    ``contributions`` asks for per-unit contributions (dominance, p %,
    negative and positive units).

    Examples
    --------
    >>> ev = build_evidence([np.array([0, 0, 1, 1])], [["a", "b"]], ["D"], np.array([0, 0, 1, 2]), 3,
    ...                     None, None, margins=True, differencing_min_units=None, top_k=0,
    ...                     absolute=False, contributions=False)
    >>> ev.cells[["D", "n_units", "n_records"]].values.tolist()
    [['a', 1, 2], ['b', 2, 2], ['Total', 3, 4]]
    """
    sizes = [len(labels) for labels in dim_labels]
    n_inner = int(np.prod(sizes)) if sizes else 1
    cell = np.zeros(len(unit), dtype=np.int64)
    for codes, size in zip(dim_codes, sizes):
        cell *= size
        cell += codes
    ok = None if x is None else ~np.isnan(x)
    key, base = _pair_keys(cell, unit, n_units, n_inner)
    with _KeySort(key) as sorter:  # large inputs: the sort runs while the row sums are computed
        inner = _row_sums(cell, n_inner, x, w, ok)
        inner.update(_unit_stats(cell, unit, n_units, n_inner, x, ok, top_k, absolute, contributions,
                                 inner["total"], (key, base, sorter)))
    del key
    parts = [_columns(inner, n_inner, sizes, dims, dim_labels, tuple(range(len(dims))), exact=True, top_k=top_k)]
    subsets = margin_subsets(len(dims), margins, differencing_min_units is not None)
    per_dim = [np.asarray(c) for c in dim_codes]
    for keep in subsets:
        new = np.zeros(len(cell), dtype=np.int64)
        for i in keep:
            new = new * sizes[i] + per_dim[i]
        n_cells = int(np.prod([sizes[i] for i in keep])) if keep else 1
        stats = _row_sums(new, n_cells, x, w, ok)
        if margins:
            stats.update(_unit_stats(new, unit, n_units, n_cells, x, ok, top_k, absolute, contributions,
                                     stats["total"]))
            exact = True
        else:
            assert differencing_min_units is not None
            stats.update(_bounded_margin(inner, sizes, keep, new, unit, n_units, n_cells, x, ok,
                                         differencing_min_units))
            exact = False
        parts.append(_columns(stats, n_cells, sizes, dims, dim_labels, keep, exact=exact, top_k=top_k))
    if len(parts) == 1:
        cells = pd.DataFrame(parts[0])
    else:  # one frame from the concatenated columns (cheaper than a frame per part and pd.concat)
        cells = pd.DataFrame({name: np.concatenate([part[name] for part in parts]) for name in parts[0]})
    return Evidence(cells, dims, n_units, top_k)


def _bounded_margin(inner: dict[str, np.ndarray], sizes: list[int], keep: tuple[int, ...], new: np.ndarray,
                    unit: np.ndarray, n_units: int, n_cells: int, x: np.ndarray | None,
                    ok: np.ndarray | None, min_units: int) -> dict[str, np.ndarray]:
    """Unit counts of an unpublished margin: bounds, made exact only where they cannot decide."""
    grid = _decompose(np.arange(len(inner["n_units"]), dtype=np.int64), sizes)
    inner_to_margin = np.zeros(len(inner["n_units"]), dtype=np.int64)
    for i in keep:
        inner_to_margin = inner_to_margin * sizes[i] + grid[i]
    out: dict[str, np.ndarray] = {}
    for name in ("n_units", "n_units_any"):
        counts = inner[name]
        lower = np.zeros(n_cells, dtype=np.int64)
        np.maximum.at(lower, inner_to_margin, counts)
        upper = np.bincount(inner_to_margin, weights=counts, minlength=n_cells).astype(np.int64)
        undecided = (lower < min_units) & (upper >= min_units)
        value = np.where(upper < min_units, upper, lower)
        if undecided.any():
            rows = undecided[new]
            if name == "n_units" and ok is not None:
                rows &= ok
            pc, _ = _distinct_pairs(new[rows], unit[rows], n_units, n_cells)
            exact = np.bincount(pc, minlength=n_cells)
            value = np.where(undecided, exact, value)
        out[name] = value
    zeros = np.zeros(n_cells)
    out.update({"abs_total": zeros, "n_negative_units": zeros.astype(np.int64),
                "n_positive_units": zeros.astype(np.int64)})
    return out


def _columns(stats: dict[str, np.ndarray], n_cells: int, sizes: list[int], dims: Sequence[str],
             dim_labels: Sequence[Sequence[str]], keep: tuple[int, ...], *, exact: bool,
             top_k: int) -> dict[str, np.ndarray]:
    """The evidence columns of one part (the inner cells or one margin), in frame order."""
    grid = _decompose(np.arange(n_cells, dtype=np.int64), [sizes[i] for i in keep]) if keep else []
    data: dict[str, np.ndarray] = {}
    for j, name in enumerate(dims):
        if j in keep:
            labels = np.asarray(list(dim_labels[j]), dtype=object)
            data[name] = labels[grid[keep.index(j)]]
        else:
            data[name] = np.full(n_cells, TOTAL, dtype=object)
    full = len(keep) == len(dims)
    data["is_margin"] = np.full(n_cells, not full)
    data["margin_level"] = np.full(n_cells, len(dims) - len(keep))
    data["n_units_exact"] = np.full(n_cells, exact)
    data.update(stats)
    for i in range(top_k):  # margins bounded for differencing carry no contributions
        data.setdefault(f"top_{i + 1}", np.zeros(n_cells))
    return data


def _decompose(cell: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(sizes)
    rest = cell.copy()
    for i in range(len(sizes) - 1, -1, -1):
        out[i] = rest % sizes[i]
        rest = rest // sizes[i]
    return out
