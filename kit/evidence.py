"""Per-cell evidence: the sufficient statistics every rule and estimate needs.

One grouped pass over the microdata computes, for every cell of a table and of
each requested margin:

* ``n_units``: distinct units (the declared unit column), never rows;
* ``n_records``: rows;
* ``total``: the (unweighted) sum of the measure;
* ``top_1 .. top_k``: the k largest per-unit contributions, where a unit's rows
  in a cell are summed first (absolute values when the rule set says so);
* ``n_negative_units``: units whose contribution is negative;
* ``n_missing``: rows whose measure is missing (they contribute nothing);
* ``n_positive_units``: units with a positive contribution (rates: units with
  the attribute), for group-disclosure checks;
* weighted sums ``sum_w``, ``sum_wx``, ``sum_wx2``, ``sum_w2`` for estimates.

The work is vectorised: dimension values are factorised once (hash-based),
combined into one integer cell id, and the (cell, unit) pairs are made distinct
with one hash pass. Margins are computed from the pair level, which is at most
as large as the row level. No sort of the full data is needed when the largest
two contributions are all the rules use.

Evidence is private (zone 2): :class:`Evidence` shows its shape and column
names in ``repr`` but never values, and has no writer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import KitInternalError

__all__ = ["Evidence", "CellFrame", "compute_cell_stats", "TOTAL", "MISSING"]

#: Label of a margin (total over a dimension).
TOTAL = "Total"
#: Label of the explicit category for missing dimension values.
MISSING = "(missing)"


@dataclass(frozen=True)
class CellFrame:
    """Pair-level input: one row per distinct (cell, unit) pair.

    ``cell`` is the cell id, ``unit`` the unit code, ``x`` the unit's summed
    contribution in the cell, ``records`` its number of rows and ``missing`` its
    rows with a missing measure; ``sw``/``swx``/``swx2``/``sw2`` are weighted sums.
    """

    cell: np.ndarray
    unit: np.ndarray
    x: np.ndarray
    records: np.ndarray
    missing: np.ndarray
    nonmissing: np.ndarray
    sw: np.ndarray
    swx: np.ndarray
    swx2: np.ndarray
    sw2: np.ndarray

    @classmethod
    def from_rows(
        cls,
        cell: np.ndarray,
        unit: np.ndarray,
        n_units: int,
        x: np.ndarray | None,
        w: np.ndarray | None,
    ) -> CellFrame:
        """Collapse rows to distinct (cell, unit) pairs in one hash pass."""
        pair = cell.astype(np.int64) * np.int64(max(n_units, 1)) + unit.astype(np.int64)
        codes, uniques = pd.factorize(pair, sort=False)
        n_pairs = len(uniques)
        records = np.bincount(codes, minlength=n_pairs).astype(np.int64)
        if x is None:
            xs = np.zeros(n_pairs)
            missing = np.zeros(n_pairs, dtype=np.int64)
            nonmissing = records.copy()
            xv = np.zeros(len(codes))
            ok = np.ones(len(codes), dtype=bool)
        else:
            ok = ~np.isnan(x)
            xv = np.where(ok, x, 0.0)
            xs = np.bincount(codes, weights=xv, minlength=n_pairs)
            nonmissing = np.bincount(codes, weights=ok, minlength=n_pairs).astype(np.int64)
            missing = records - nonmissing
        wv = np.where(ok, 1.0 if w is None else w, 0.0)
        if w is None:
            sw = nonmissing.astype(float)
            swx, swx2, sw2 = xs, np.bincount(codes, weights=xv * xv, minlength=n_pairs), sw
        else:
            sw = np.bincount(codes, weights=wv, minlength=n_pairs)
            swx = np.bincount(codes, weights=wv * xv, minlength=n_pairs)
            swx2 = np.bincount(codes, weights=wv * xv * xv, minlength=n_pairs)
            sw2 = np.bincount(codes, weights=wv * wv, minlength=n_pairs)
        uniques = np.asarray(uniques, dtype=np.int64)
        return cls(
            cell=uniques // np.int64(max(n_units, 1)),
            unit=uniques % np.int64(max(n_units, 1)),
            x=xs, records=records, missing=missing, nonmissing=nonmissing,
            sw=sw, swx=swx, swx2=swx2, sw2=sw2,
        )

    def project(self, new_cell: np.ndarray, n_units: int) -> CellFrame:
        """Re-aggregate pairs onto coarser cells (a margin), keeping units distinct."""
        pair = new_cell.astype(np.int64) * np.int64(max(n_units, 1)) + self.unit
        codes, uniques = pd.factorize(pair, sort=False)
        n = len(uniques)

        def agg(v: np.ndarray) -> np.ndarray:
            out = np.bincount(codes, weights=v, minlength=n)
            return out

        uniques = np.asarray(uniques, dtype=np.int64)
        return CellFrame(
            cell=uniques // np.int64(max(n_units, 1)),
            unit=uniques % np.int64(max(n_units, 1)),
            x=agg(self.x),
            records=agg(self.records).astype(np.int64),
            missing=agg(self.missing).astype(np.int64),
            nonmissing=agg(self.nonmissing).astype(np.int64),
            sw=agg(self.sw), swx=agg(self.swx), swx2=agg(self.swx2), sw2=agg(self.sw2),
        )


def compute_cell_stats(frame: CellFrame, n_cells: int, top_k: int, absolute: bool) -> dict[str, np.ndarray]:
    """Per-cell statistics from pair-level data.

    Parameters
    ----------
    frame
        Distinct (cell, unit) pairs.
    n_cells
        Number of cells (ids run from 0 to ``n_cells - 1``; empty cells get zeros).
    top_k
        How many largest per-unit contributions to keep (0 for none).
    absolute
        Rank contributions by absolute value (for negative contributions).

    Examples
    --------
    >>> f = CellFrame.from_rows(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 2]), 3,
    ...                         np.array([5.0, 1.0, 2.0, 7.0]), None)
    >>> s = compute_cell_stats(f, 3, 2, False)
    >>> s["n_units"].tolist(), s["n_records"].tolist(), s["top_1"].tolist(), s["top_2"].tolist()
    ([2, 1, 0], [3, 1, 0], [6.0, 7.0, 0.0], [2.0, 0.0, 0.0])
    """
    cell = frame.cell
    has_measure = frame.nonmissing > 0
    out: dict[str, np.ndarray] = {
        "n_units": np.bincount(cell, weights=has_measure, minlength=n_cells).astype(np.int64),
        "n_units_any": np.bincount(cell, minlength=n_cells).astype(np.int64),
        "n_records": np.bincount(cell, weights=frame.records, minlength=n_cells).astype(np.int64),
        "n_missing": np.bincount(cell, weights=frame.missing, minlength=n_cells).astype(np.int64),
        "total": np.bincount(cell, weights=frame.x, minlength=n_cells),
        "abs_total": np.bincount(cell, weights=np.abs(frame.x), minlength=n_cells),
        "n_negative_units": np.bincount(cell, weights=frame.x < 0, minlength=n_cells).astype(np.int64),
        "n_positive_units": np.bincount(cell, weights=frame.x > 0, minlength=n_cells).astype(np.int64),
        "sum_w": np.bincount(cell, weights=frame.sw, minlength=n_cells),
        "sum_wx": np.bincount(cell, weights=frame.swx, minlength=n_cells),
        "sum_wx2": np.bincount(cell, weights=frame.swx2, minlength=n_cells),
        "sum_w2": np.bincount(cell, weights=frame.sw2, minlength=n_cells),
    }
    if top_k > 0:
        tops = _top_k(cell, np.abs(frame.x) if absolute else frame.x, n_cells, top_k)
        for i in range(top_k):
            out[f"top_{i + 1}"] = tops[:, i]
    return out


def _top_k(cell: np.ndarray, v: np.ndarray, n_cells: int, k: int) -> np.ndarray:
    """The k largest values per cell (0 where a cell has fewer than k units)."""
    tops = np.zeros((n_cells, k))
    if len(cell) == 0:
        return tops
    if k <= 2:
        s = pd.Series(v)
        top1 = s.groupby(cell).max()
        tops[top1.index.to_numpy(), 0] = top1.to_numpy()
        if k == 2:
            t1 = tops[cell, 0]
            is_max = v == t1
            n_max = np.bincount(cell, weights=is_max, minlength=n_cells)
            rest = s[~is_max].groupby(cell[~is_max]).max()
            second = np.full(n_cells, -np.inf)
            second[rest.index.to_numpy()] = rest.to_numpy()
            second = np.where(n_max >= 2, tops[:, 0], second)
            counts = np.bincount(cell, minlength=n_cells)
            tops[:, 1] = np.where(counts >= 2, second, 0.0)
        return tops
    order = np.lexsort((-v, cell))
    sc, sv = cell[order], v[order]
    starts = np.searchsorted(sc, np.arange(n_cells), side="left")
    ends = np.searchsorted(sc, np.arange(n_cells), side="right")
    for i in range(k):
        pos = starts + i
        ok = pos < ends
        tops[ok, i] = sv[pos[ok]]
    return tops


class Evidence:
    """Per-cell evidence of one table and its margins (private zone).

    ``cells`` is a DataFrame with one column per dimension (margins carry
    :data:`TOTAL`), a boolean ``is_margin`` and the statistics listed in the
    module docs. It must never be written or rendered; ``repr`` shows only
    shape and names.
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
    differencing: bool,
    top_k: int,
    absolute: bool,
) -> Evidence:
    """Compute evidence for the full cross product of the dimension code lists.

    ``dim_codes[i]`` holds integer codes into ``dim_labels[i]``; every
    combination of labels becomes a cell (empty cells get zeros), and margin
    cells are added as :func:`margin_subsets` says.
    """
    sizes = [len(labels) for labels in dim_labels]
    n_inner = int(np.prod(sizes)) if sizes else 1
    if n_inner > 50_000_000:
        raise KitInternalError("table too large; the session should have refused it")
    cell = np.zeros(len(unit), dtype=np.int64)
    for codes, size in zip(dim_codes, sizes):
        cell = cell * size + codes
    frame = CellFrame.from_rows(cell, unit, n_units, x, w)
    parts = [_frame_for(frame, n_inner, sizes, dims, dim_labels, tuple(range(len(dims))), top_k,
                        absolute, n_units)]
    for keep in margin_subsets(len(dims), margins, differencing):
        parts.append(_frame_for(frame, n_inner, sizes, dims, dim_labels, keep, top_k, absolute, n_units))
    cells = pd.concat(parts, ignore_index=True)
    return Evidence(cells, dims, n_units, top_k)


def _frame_for(frame: CellFrame, n_inner: int, sizes: list[int], dims: Sequence[str],
               dim_labels: Sequence[Sequence[str]], keep: tuple[int, ...], top_k: int,
               absolute: bool, n_units: int) -> pd.DataFrame:
    full = len(keep) == len(dims)
    if full:
        sub, n_cells = frame, n_inner
    else:
        # decompose cell ids into per-dimension codes, then recombine the kept ones
        codes = _decompose(frame.cell, sizes)
        new = np.zeros(len(frame.cell), dtype=np.int64)
        for i in keep:
            new = new * sizes[i] + codes[i]
        n_cells = int(np.prod([sizes[i] for i in keep])) if keep else 1
        sub = frame.project(new, n_units)
    stats = compute_cell_stats(sub, n_cells, top_k, absolute)
    grid = _grid([sizes[i] for i in keep], n_cells)
    data: dict[str, object] = {}
    for j, name in enumerate(dims):
        if j in keep:
            pos = keep.index(j)
            labels = np.asarray(list(dim_labels[j]), dtype=object)
            data[name] = labels[grid[pos]]
        else:
            data[name] = np.full(n_cells, TOTAL, dtype=object)
    data["is_margin"] = np.full(n_cells, not full)
    data["margin_level"] = np.full(n_cells, len(dims) - len(keep))
    data.update(stats)
    return pd.DataFrame(data)


def _decompose(cell: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(sizes)
    rest = cell.copy()
    for i in range(len(sizes) - 1, -1, -1):
        out[i] = rest % sizes[i]
        rest = rest // sizes[i]
    return out


def _grid(sizes: list[int], n_cells: int) -> list[np.ndarray]:
    ids = np.arange(n_cells, dtype=np.int64)
    return _decompose(ids, sizes) if sizes else []
