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
Dimension values are factorised once and combined into one integer cell id.
Row-level sums are ``numpy.bincount`` calls. Distinct (cell, unit) pairs come
from one sort of a 64-bit pair key (vectorised, no hashing); when every pair
is unique (the usual case: one row per unit and cell) per-unit contributions
are the rows themselves and no aggregation is needed. Margins that are only
needed for the differencing rule are bounded first (a margin holds at least
as many units as its largest inner cell and at most their sum) and counted
exactly only where the bounds do not decide the rule; such margins carry
``n_units_exact = False`` where only the bound is known.

Evidence is private (zone 2): :class:`Evidence` shows its shape and column
names in ``repr`` but never values, and has no writer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MISSING", "TOTAL", "Evidence", "build_evidence", "margin_subsets", "unit_contributions"]

#: Label of a margin (total over a dimension).
TOTAL = "Total"
#: Label of the explicit category for missing dimension values.
MISSING = "(missing)"


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


@dataclass(frozen=True)
class _Pairs:
    """Distinct (cell, unit) pairs with each unit's summed contribution."""

    cell: np.ndarray
    unit: np.ndarray
    x: np.ndarray | None


def _distinct_pairs(cell: np.ndarray, unit: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (cell, unit) pairs by one sort of the 64-bit pair key.

    >>> c, u = _distinct_pairs(np.array([1, 0, 1, 1]), np.array([2, 0, 2, 1]), 3)
    >>> c.tolist(), u.tolist()
    ([0, 1, 1], [0, 1, 2])
    """
    base = np.int64(max(n_units, 1))
    key = np.sort(cell.astype(np.int64, copy=False) * base + unit.astype(np.int64, copy=False))
    if len(key):
        keep = np.empty(len(key), dtype=bool)
        keep[0] = True
        np.not_equal(key[1:], key[:-1], out=keep[1:])
        key = key[keep]
    return key // base, key % base


def unit_contributions(cell: np.ndarray, unit: np.ndarray, n_units: int, x: np.ndarray,
                       keys: tuple[np.ndarray, np.ndarray] | None = None) -> _Pairs:
    """Each unit's summed contribution per cell.

    Rows whose (cell, unit) pair is unique are contributions as they are; only
    the rows of repeated pairs are aggregated, so the cost stays near one sort
    of the pair key even on large inputs. ``keys`` passes the pair keys and their
    sorted copy when the caller has them already.

    >>> p = unit_contributions(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 2]), 3,
    ...                        np.array([5.0, 1.0, 2.0, 7.0]))
    >>> sorted(zip(p.cell.tolist(), p.unit.tolist(), p.x.tolist()))
    [(0, 0, 6.0), (0, 1, 2.0), (1, 2, 7.0)]
    """
    base = np.int64(max(n_units, 1))
    if keys is None:
        key = cell.astype(np.int64, copy=False) * base + unit.astype(np.int64, copy=False)
        skey = np.sort(key)
    else:
        key, skey = keys
    repeated = skey[1:][skey[1:] == skey[:-1]]
    if len(repeated) == 0:
        return _Pairs(cell, unit, x)
    is_dup = pd.Series(key).isin(np.unique(repeated)).to_numpy()
    dkey, dx = key[is_dup], x[is_dup]
    order = np.argsort(dkey)
    dkey, dx = dkey[order], dx[order]
    starts = np.flatnonzero(np.concatenate(([True], dkey[1:] != dkey[:-1])))
    sums = np.add.reduceat(dx, starts)
    uniq = dkey[starts]
    single = ~is_dup
    return _Pairs(np.concatenate((cell[single], uniq // base)),
                  np.concatenate((unit[single], uniq % base)),
                  np.concatenate((x[single], sums)))


def _top_k(cell: np.ndarray, v: np.ndarray, n_cells: int, k: int) -> np.ndarray:
    """The k largest values per cell (0 where a cell has fewer than k units).

    Linear time when ``cell`` is sorted (as the pair arrays are): each rank is a
    ``maximum.reduceat`` over the cells' contiguous segments, after masking one
    occurrence of the previous rank's maximum.

    >>> _top_k(np.array([0, 0, 0, 1]), np.array([3.0, 9.0, 9.0, 2.0]), 3, 2).tolist()
    [[9.0, 9.0], [2.0, 0.0], [0.0, 0.0]]
    """
    tops = np.zeros((n_cells, k))
    if len(cell) == 0 or k == 0:
        return tops
    unsorted = bool(np.any(cell[1:] < cell[:-1]))
    if unsorted and k <= 2:
        return _top_2_unsorted(cell, v.astype(float), n_cells, k)
    if unsorted:
        order = np.argsort(cell, kind="stable")
        cell, v = cell[order], v[order]
    starts = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
    seg_cell = cell[starts]
    seg_len = np.diff(np.append(starts, len(cell)))
    seg_of_row = np.repeat(np.arange(len(starts)), seg_len)
    work = v.astype(float, copy=True)
    for i in range(k):
        best = np.maximum.reduceat(work, starts)
        has = seg_len > i
        tops[seg_cell[has], i] = best[has]
        if i + 1 < k:
            hit = work == best[seg_of_row]
            # mask the first occurrence of the maximum in each segment
            first = np.flatnonzero(hit)
            first = first[np.concatenate(([True], seg_of_row[first][1:] != seg_of_row[first][:-1]))]
            work[first] = -np.inf
    return np.where(np.isfinite(tops), tops, 0.0)


def _top_2_unsorted(cell: np.ndarray, v: np.ndarray, n_cells: int, k: int) -> np.ndarray:
    """Largest (and second largest) value per cell without sorting (``ufunc.at``)."""
    top1 = np.full(n_cells, -np.inf)
    np.maximum.at(top1, cell, v)
    counts = np.bincount(cell, minlength=n_cells)
    tops = np.zeros((n_cells, k))
    tops[:, 0] = np.where(counts > 0, top1, 0.0)
    if k == 2:
        is_max = v == top1[cell]
        n_max = np.bincount(cell, weights=is_max, minlength=n_cells)
        second = np.full(n_cells, -np.inf)
        rest = ~is_max
        np.maximum.at(second, cell[rest], v[rest])
        second = np.where(n_max >= 2, top1, second)
        tops[:, 1] = np.where((counts >= 2) & np.isfinite(second), second, 0.0)
    return tops


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
        out["sum_wx2"] = np.bincount(cell, weights=xv * xv, minlength=n_cells)
        out["sum_w2"] = out["sum_w"]
        return out
    wv = np.where(ok, w, 0.0)
    out["sum_w"] = np.bincount(cell, weights=wv, minlength=n_cells)
    out["sum_wx"] = np.bincount(cell, weights=wv * xv, minlength=n_cells)
    out["sum_wx2"] = np.bincount(cell, weights=wv * xv * xv, minlength=n_cells)
    out["sum_w2"] = np.bincount(cell, weights=wv * wv, minlength=n_cells)
    return out


def _unit_stats(cell: np.ndarray, unit: np.ndarray, n_units: int, n_cells: int, x: np.ndarray | None,
                ok: np.ndarray | None, top_k: int, absolute: bool, contributions: bool) -> dict[str, np.ndarray]:
    """Unit-level statistics per cell: distinct units and per-unit contributions."""
    out: dict[str, np.ndarray] = {}
    base = np.int64(max(n_units, 1))
    pair_key = cell.astype(np.int64, copy=False) * base + unit.astype(np.int64, copy=False)
    sorted_key = np.sort(pair_key)
    distinct = sorted_key
    if len(sorted_key):
        distinct = sorted_key[np.concatenate(([True], sorted_key[1:] != sorted_key[:-1]))]
    pc = distinct // base
    out["n_units_any"] = np.bincount(pc, minlength=n_cells).astype(np.int64)
    if x is None:
        out["n_units"] = out["n_units_any"]
        out["abs_total"] = np.zeros(n_cells)
        out["n_negative_units"] = np.zeros(n_cells, dtype=np.int64)
        out["n_positive_units"] = out["n_units"]
        return out
    assert ok is not None
    all_ok = bool(ok.all())
    c_ok, u_ok, x_ok = (cell, unit, x) if all_ok else (cell[ok], unit[ok], x[ok])
    if not contributions:
        pc_ok = pc if all_ok else _distinct_pairs(c_ok, u_ok, n_units)[0]
        out["n_units"] = np.bincount(pc_ok, minlength=n_cells).astype(np.int64)
        xs = np.where(ok, x, 0.0)
        out["abs_total"] = np.bincount(cell, weights=np.abs(xs), minlength=n_cells)
        out["n_negative_units"] = np.bincount(cell, weights=xs < 0, minlength=n_cells).astype(np.int64)
        out["n_positive_units"] = np.zeros(n_cells, dtype=np.int64)
        return out
    if all_ok and len(pc) == len(cell):  # one row per unit and cell: rows are the contributions
        pairs = _Pairs(cell, unit, x)
    else:
        pairs = unit_contributions(np.asarray(c_ok), np.asarray(u_ok), n_units, np.asarray(x_ok),
                                   (pair_key, sorted_key) if all_ok else None)
    assert pairs.x is not None
    out["n_units"] = np.bincount(pairs.cell, minlength=n_cells).astype(np.int64)
    out["abs_total"] = np.bincount(pairs.cell, weights=np.abs(pairs.x), minlength=n_cells)
    out["n_negative_units"] = np.bincount(pairs.cell, weights=pairs.x < 0, minlength=n_cells).astype(np.int64)
    out["n_positive_units"] = np.bincount(pairs.cell, weights=pairs.x > 0, minlength=n_cells).astype(np.int64)
    if top_k:
        tops = _top_k(pairs.cell, np.abs(pairs.x) if absolute else pairs.x, n_cells, top_k)
        for i in range(top_k):
            out[f"top_{i + 1}"] = tops[:, i]
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
        cell = cell * size + codes
    ok = None if x is None else ~np.isnan(x)
    inner = _row_sums(cell, n_inner, x, w, ok)
    inner.update(_unit_stats(cell, unit, n_units, n_inner, x, ok, top_k, absolute, contributions))
    parts = [_frame(inner, n_inner, sizes, dims, dim_labels, tuple(range(len(dims))), exact=True)]
    subsets = margin_subsets(len(dims), margins, differencing_min_units is not None)
    per_dim = _decompose(cell, sizes) if subsets else []
    for keep in subsets:
        new = np.zeros(len(cell), dtype=np.int64)
        for i in keep:
            new = new * sizes[i] + per_dim[i]
        n_cells = int(np.prod([sizes[i] for i in keep])) if keep else 1
        stats = _row_sums(new, n_cells, x, w, ok)
        if margins:
            stats.update(_unit_stats(new, unit, n_units, n_cells, x, ok, top_k, absolute, contributions))
            exact = True
        else:
            assert differencing_min_units is not None
            stats.update(_bounded_margin(inner, sizes, keep, new, unit, n_units, n_cells, x, ok,
                                         differencing_min_units))
            exact = False
        parts.append(_frame(stats, n_cells, sizes, dims, dim_labels, keep, exact=exact))
    cells = pd.concat(parts, ignore_index=True)
    for i in range(top_k):
        cells[f"top_{i + 1}"] = cells.get(f"top_{i + 1}", pd.Series(0.0, index=cells.index)).fillna(0.0)
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
            pc, _ = _distinct_pairs(new[rows], unit[rows], n_units)
            exact = np.bincount(pc, minlength=n_cells)
            value = np.where(undecided, exact, value)
        out[name] = value
    zeros = np.zeros(n_cells)
    out.update({"abs_total": zeros, "n_negative_units": zeros.astype(np.int64),
                "n_positive_units": zeros.astype(np.int64)})
    return out


def _frame(stats: dict[str, np.ndarray], n_cells: int, sizes: list[int], dims: Sequence[str],
           dim_labels: Sequence[Sequence[str]], keep: tuple[int, ...], *, exact: bool) -> pd.DataFrame:
    grid = _decompose(np.arange(n_cells, dtype=np.int64), [sizes[i] for i in keep]) if keep else []
    data: dict[str, object] = {}
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
    return pd.DataFrame(data)


def _decompose(cell: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(sizes)
    rest = cell.copy()
    for i in range(len(sizes) - 1, -1, -1):
        out[i] = rest % sizes[i]
        rest = rest // sizes[i]
    return out
