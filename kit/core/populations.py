"""Which units each published number counts: per-cell unit populations (private, zone 2).

The differencing registry (:mod:`kit.release.registry`) compares outputs on the *units* behind
their numbers, never on labels. This module computes those populations from the same inputs the
evidence uses, in a separate pass, so :mod:`kit.core.evidence` stays untouched.

Unit keys
---------
A unit id becomes a 64-bit **unit key** (:func:`unit_keys`): integer ids and strings of digits
(a CPR/PNR number with or without leading zeros, as text or as an integer) map through their
integer value, other ids through SipHash of their text; then a fixed bijective mix scrambles the
value, so a private result never holds the ids themselves. The registry salts the keys again with
a per-project secret before it stores them (:func:`salted`), so keys of two projects do not link.
Two different ids share a key with probability about ``n**2 / 2**65`` (6 M units: 1e-6).

Populations of a table
----------------------
:func:`table_populations` returns, aligned with the rows of the evidence frame (inner cells and
margins), the sorted unit keys of every cell: the units with at least one row in the cell, a
non-missing measure and (weighted tables) a positive weight. Rate tables also get the units with
the attribute (their numerators).

Contributions of magnitude tables
---------------------------------
Two sum (or mean, rate, weighted) tables over the *same* units can still be differenced when one
unit's contribution differs between them (a top-coded measure, a weight not 1): the unit sets are
equal, the sums differ by one person's value. Magnitude tables therefore also carry, per cell and
unit, a 64-bit **contribution tag** (:func:`contribution_tags`) of the unit's exact contribution to
the cell: ``(sum of w * x, sum of w)`` over the unit's rows in the cell, each summed in a canonical
order (rows sorted by value), so the same rows give the same bits in every table whatever its other
dimensions. :class:`CellElements` holds (unit key, tag) per cell; the registry turns them into
*element keys* (:func:`element_keys`) that identify (unit, contribution).

Examples
--------
>>> import numpy as np
>>> keys = unit_keys(np.array([7, 7, 8]))
>>> bool(keys[0] == keys[1]), bool(keys[0] == keys[2])
(True, False)
>>> bool(unit_keys(np.array(["0007"]))[0] == keys[0])
True
>>> pops = CellPopulations.from_lists([keys[:1], keys[1:]])
>>> pops.sizes().tolist()
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ELEMENTS_SUFFIX",
    "CellElements",
    "CellPopulations",
    "LazyTablePopulations",
    "TablePopulations",
    "contribution_tags",
    "design_populations",
    "element_keys",
    "element_unit",
    "group_populations",
    "lazy_table_populations",
    "mix64",
    "salted",
    "sorted_unique",
    "table_population_map",
    "table_populations",
    "unit_keys",
]

#: Protocol labels ending in this carry (unit key, contribution tag) rows of a magnitude statistic.
ELEMENTS_SUFFIX = " elements"
_SIP_KEY = "kit-unit-key-v1."  # 16 characters: pandas' SipHash key (fixed: keys are salted later)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijection of uint64 that scrambles every bit.

    >>> mix64(np.array([0, 1], dtype=np.uint64)).tolist()
    [0, 6238072747940578789]
    """
    z = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return np.asarray(z)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` through a sort: NumPy 2.4's hash path is ~100x slower here).

    >>> sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(np.asarray(x), kind="stable" if np.asarray(x).dtype.kind not in "iuf" else None)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unit_keys(ids: np.ndarray | pd.Series) -> np.ndarray:
    """64-bit keys of unit ids (see the module docstring); same length and order as ``ids``.

    >>> unit_keys(pd.Series(["12", "x"])).dtype.name
    'uint64'
    """
    s = pd.Series(ids) if not isinstance(ids, pd.Series) else ids
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
        raw = s.to_numpy().astype(np.int64).view(np.uint64)
        return mix64(raw)
    if isinstance(s.dtype, np.dtype) and s.dtype.kind == "f":
        v = s.to_numpy()
        if np.all(np.isfinite(v)) and np.all(v == np.round(v)):
            return mix64(v.astype(np.int64).view(np.uint64))
    codes, uniques = pd.factorize(s, sort=False)
    text = pd.Series(uniques).astype(str)
    digits = text.str.fullmatch(r"\d{1,18}")
    out = np.empty(len(text), dtype=np.uint64)
    if digits.all():
        out[:] = text.astype(np.int64).to_numpy().view(np.uint64)
    else:
        d = digits.to_numpy()
        out[d] = text[d].astype(np.int64).to_numpy().view(np.uint64)
        out[~d] = pd.util.hash_array(text[~d].to_numpy(dtype=object), hash_key=_SIP_KEY)
    return np.asarray(mix64(out)[codes])


def salted(keys: np.ndarray, salt: bytes) -> np.ndarray:
    """Keys mixed with a per-project salt (two rounds of :func:`mix64` around the salt words).

    >>> a = salted(np.array([1], dtype=np.uint64), b"a" * 16)
    >>> b = salted(np.array([1], dtype=np.uint64), b"b" * 16)
    >>> bool(a[0] != b[0])
    True
    """
    if len(salt) < 16:
        raise ValueError("the salt must have at least 16 bytes")  # pragma: no cover - a kit bug
    k1, k2 = np.frombuffer(salt[:16], dtype="<u8")
    return mix64(mix64(np.asarray(keys, dtype=np.uint64) ^ k1) ^ k2)


def contribution_tags(sum_wx: np.ndarray, sum_w: np.ndarray) -> np.ndarray:
    """64-bit tags of exact contributions ``(sum of w * x, sum of w)``: equal bits, equal tag.

    ``-0.0`` and ``0.0`` get one tag. Unsalted (the registry salts them with the unit key).

    >>> t = contribution_tags(np.array([1.0, 1.0, -0.0]), np.array([1.0, 2.0, 1.0]))
    >>> bool(t[0] != t[1]), bool(contribution_tags(np.array([0.0]), np.array([1.0]))[0] == t[2])
    (True, True)
    """
    a = (np.asarray(sum_wx, dtype=np.float64) + 0.0).view(np.uint64)
    b = (np.asarray(sum_w, dtype=np.float64) + 0.0).view(np.uint64)
    with np.errstate(over="ignore"):
        return mix64(mix64(a) ^ (b * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)))


def element_keys(units: np.ndarray, tags: np.ndarray, salt: bytes) -> np.ndarray:
    """Salted keys of (unit, contribution) elements: the high 32 bits are the salted unit key's (so a
    key names its unit: :func:`element_unit`), the low 32 bits a salted hash of unit and tag.

    >>> u = np.array([5, 5, 6], dtype=np.uint64)
    >>> k = element_keys(u, np.array([1, 2, 1], dtype=np.uint64), b"s" * 16)
    >>> bool(k[0] != k[1]), bool(element_unit(k)[0] == element_unit(k)[1]), bool(k[0] != k[2])
    (True, True, True)
    """
    su = salted(np.asarray(units, dtype=np.uint64), salt)
    low = mix64(su ^ mix64(np.asarray(tags, dtype=np.uint64))) >> np.uint64(32)
    return np.asarray((su & np.uint64(0xFFFFFFFF00000000)) | low)


def element_unit(keys: np.ndarray) -> np.ndarray:
    """The unit part of element keys (:func:`element_keys`)."""
    return np.asarray(np.asarray(keys, dtype=np.uint64) >> np.uint64(32))


@dataclass(frozen=True)
class CellElements:
    """Per cell, the units and the tags of their exact contributions (CSR layout; private).

    ``units[offsets[i]:offsets[i + 1]]`` are the sorted unit keys of cell ``i`` and ``tags`` the
    contribution tags aligned with them (:func:`contribution_tags`).
    """

    units: np.ndarray
    tags: np.ndarray
    offsets: np.ndarray

    def __repr__(self) -> str:
        return f"<CellElements: {self.n_cells} cells; units and values hidden>"

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.offsets) - 1

    def cell(self, i: int) -> np.ndarray:
        """An ``(n, 2)`` uint64 array of (unit key, tag) of cell ``i`` (the protocol's element rows)."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return np.column_stack([self.units[lo:hi], self.tags[lo:hi]]).astype(np.uint64)


@dataclass(frozen=True)
class CellPopulations:
    """Sorted unit keys per cell in one flat array (CSR layout); private, never released.

    ``values[offsets[i]:offsets[i + 1]]`` are the sorted, distinct keys of cell ``i``.
    """

    values: np.ndarray
    offsets: np.ndarray

    def __repr__(self) -> str:
        return f"<CellPopulations: {self.n_cells} cells; units hidden>"

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.offsets) - 1

    def sizes(self) -> np.ndarray:
        """Distinct units per cell."""
        return np.diff(self.offsets)

    def cell(self, i: int) -> np.ndarray:
        """The sorted keys of cell ``i``."""
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def from_lists(cls, cells: Sequence[np.ndarray]) -> CellPopulations:
        """Build from one key array per cell (deduplicated and sorted here)."""
        parts = [sorted_unique(np.asarray(c, dtype=np.uint64)) for c in cells]
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        values = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
        return cls(values.astype(np.uint64), offsets)

    @classmethod
    def from_pairs(cls, cell: np.ndarray, keys: np.ndarray, n_cells: int) -> CellPopulations:
        """Build from (cell, key) pairs (duplicates allowed); cells ``0..n_cells-1``."""
        cell = np.asarray(cell, dtype=np.int64)
        keys = np.asarray(keys, dtype=np.uint64)
        order = np.lexsort((keys, cell))
        c, k = cell[order], keys[order]
        keep = np.ones(len(c), dtype=bool)
        keep[1:] = (c[1:] != c[:-1]) | (k[1:] != k[:-1])
        c, k = c[keep], k[keep]
        counts = np.bincount(c, minlength=n_cells) if len(c) else np.zeros(n_cells, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(k, offsets)


class TablePopulations:
    """Populations of a table's evidence rows: every cell, and (rates) the units with the attribute.

    Captured cheaply when the table is evaluated (the unit ids of the counted rows and their inner
    cell); the per-cell key arrays are computed on first use (at release), so evaluating a table
    costs almost nothing more.
    """

    def __init__(self, ids: np.ndarray, inner: np.ndarray, sizes: Sequence[int], row_pos: np.ndarray,
                 attribute: np.ndarray | None,
                 contributions: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self._ids = ids
        self._inner = inner
        self._sizes = [int(v) for v in sizes]
        self._row_pos = row_pos
        self._attribute = attribute
        self._contributions = contributions
        self._cache: dict[str, CellPopulations | None] = {}
        self._elements: CellElements | None = None
        self._owner: str | None = None

    @property
    def owner(self) -> str | None:
        """Seal of the table these populations were counted for (set once by :class:`kit.core.table.Table`)."""
        return self._owner

    @owner.setter
    def owner(self, value: str) -> None:
        if self._owner is not None:
            from kit.errors import DisclosureError

            raise DisclosureError("unit populations", "they already belong to a table",
                                  "evaluate the table again in a Session")
        self._owner = value

    def __repr__(self) -> str:
        return f"<TablePopulations: {self._row_pos.shape[1]} cells; units hidden>"

    @property
    def cells(self) -> CellPopulations:
        """Sorted unit keys of every evidence row."""
        if "cells" not in self._cache:
            self._cache["cells"] = self._build(None)
        out = self._cache["cells"]
        assert out is not None
        return out

    @property
    def positive(self) -> CellPopulations | None:
        """Rates: sorted unit keys of the units with the attribute per evidence row (else ``None``)."""
        if "positive" not in self._cache:
            self._cache["positive"] = None if self._attribute is None else self._build(self._attribute)
        return self._cache["positive"]

    @property
    def elements(self) -> CellElements | None:
        """Magnitude tables: per evidence row, the units and the tags of their exact contributions
        (:func:`contribution_tags`); ``None`` for tables without contributions (unweighted counts)."""
        if self._contributions is None:
            return None
        if self._elements is None:
            self._elements = self._build_elements(*self._contributions)
        return self._elements

    def _targets(self, inner: np.ndarray) -> list[np.ndarray]:
        """Per margin pattern, the evidence row of every entry of ``inner`` (``-1``: none)."""
        n_out = self._row_pos.shape[1]
        sizes = self._sizes
        present = self._row_pos >= 0
        patterns = sorted({tuple(bool(v) for v in present[:, r]) for r in range(n_out)})
        dim_code = []  # the inner cell's code in each dimension
        rest = np.asarray(inner, dtype=np.int64).copy()
        for size in reversed(sizes):
            dim_code.append(rest % size)
            rest //= size
        dim_code.reverse()
        out = []
        for pattern in patterns:
            kept = [d for d in range(len(sizes)) if pattern[d]]
            rows = np.flatnonzero(np.all(present == np.array(pattern, dtype=bool)[:, None], axis=0))
            flat = np.zeros(len(inner), dtype=np.int64)
            row_flat = np.zeros(len(rows), dtype=np.int64)
            for d in kept:
                flat = flat * sizes[d] + dim_code[d]
                row_flat = row_flat * sizes[d] + self._row_pos[d, rows]
            n_flat = int(np.prod([sizes[d] for d in kept])) if kept else 1
            to_row = np.full(n_flat, -1, dtype=np.int64)
            to_row[row_flat] = rows
            out.append(to_row[flat])
        return out

    def _build_elements(self, wx: np.ndarray, w: np.ndarray) -> CellElements:
        n_out = self._row_pos.shape[1]
        if len(self._ids) == 0:
            empty = np.empty(0, dtype=np.uint64)
            return CellElements(empty, empty, np.zeros(n_out + 1, dtype=np.int64))
        dense, uniques = pd.factorize(pd.Series(self._ids), sort=False)
        keys = unit_keys(pd.Series(uniques))
        rank = np.empty(len(keys), dtype=np.int64)
        rank[np.argsort(keys, kind="stable")] = np.arange(len(keys))
        n_u = len(keys)
        targets = self._targets(self._inner)
        sel = [t >= 0 for t in targets]
        group = np.concatenate([t[s] * n_u + rank[dense[s]] for t, s in zip(targets, sel)])
        vx = np.concatenate([wx[s] for s in sel]).astype(np.float64)
        vw = np.concatenate([w[s] for s in sel]).astype(np.float64)
        # canonical order: by (row, unit), then by value, so the same rows sum to the same bits
        order = np.lexsort((vw, vx, group))
        group, vx, vw = group[order], vx[order], vw[order]
        start = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        g = group[start]
        sx = np.add.reduceat(vx, start)
        sw = np.add.reduceat(vw, start)
        row, unit = g // n_u, g % n_u
        counts = np.bincount(row, minlength=n_out)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return CellElements(keys[np.argsort(keys, kind="stable")][unit], contribution_tags(sx, sw), offsets)

    def _build(self, mask: np.ndarray | None) -> CellPopulations:
        n_out = self._row_pos.shape[1]
        ids = self._ids if mask is None else self._ids[mask]
        inner = self._inner if mask is None else self._inner[mask]
        if len(ids) == 0:
            return CellPopulations(np.empty(0, dtype=np.uint64), np.zeros(n_out + 1, dtype=np.int64))
        dense, uniques = pd.factorize(pd.Series(ids), sort=False)
        keys = unit_keys(pd.Series(uniques))
        order = np.argsort(keys, kind="stable")
        rank = np.empty(len(keys), dtype=np.int64)
        rank[order] = np.arange(len(keys))
        sorted_keys = keys[order]
        n_u = len(keys)
        pairs = sorted_unique(inner.astype(np.int64) * n_u + rank[dense])  # distinct (inner cell, unit)
        p_cell, p_unit = pairs // n_u, pairs % n_u
        cells_all: list[np.ndarray] = []
        units_all: list[np.ndarray] = []
        for target in self._targets(p_cell):
            sel = target >= 0
            cells_all.append(target[sel])
            units_all.append(p_unit[sel])
        cell = np.concatenate(cells_all)
        unit = np.concatenate(units_all)
        combined = sorted_unique(cell * n_u + unit)  # sorted by row, then by key rank
        cell, unit = combined // n_u, combined % n_u
        counts = np.bincount(cell, minlength=n_out)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return CellPopulations(sorted_keys[unit], offsets)


def table_populations(
    unit_ids: np.ndarray | pd.Series,
    dim_codes: Sequence[np.ndarray],
    dim_labels: Sequence[Sequence[str]],
    row_labels: Sequence[Sequence[str]],
    x: np.ndarray | None,
    w: np.ndarray | None,
    *,
    total_label: str,
    rate: bool = False,
) -> TablePopulations:
    """Unit populations aligned with the evidence rows of a table.

    Parameters
    ----------
    unit_ids
        The unit column, one value per input row.
    dim_codes, dim_labels
        Per dimension: integer codes per input row into its labels (as for the evidence).
    row_labels
        Per dimension: the label of every evidence row; ``total_label`` in a margin row marks a
        dimension summed over.
    x, w
        Measure and weight per input row (rows with a missing measure or a weight that is not
        positive count in no cell). With either, the table also gets the exact contributions of
        its units (:attr:`TablePopulations.elements`).
    total_label
        The margin label of the evidence.
    rate
        Also compute the units with the attribute (``x == 1``) per cell.

    Examples
    --------
    >>> pops = table_populations(np.array([1, 2, 2, 3]), [np.array([0, 0, 1, 1])], [["a", "b"]],
    ...                          [["a", "b", "Total"]], None, None, total_label="Total")
    >>> pops.cells.sizes().tolist()
    [2, 2, 3]
    """
    ids = np.asarray(unit_ids)
    ok: np.ndarray | None = None
    if x is not None and np.isnan(x).any():
        ok = ~np.isnan(x)
    if w is not None:
        positive = np.asarray(w, dtype=float) > 0
        ok = positive if ok is None else ok & positive
    sizes = [len(lab) for lab in dim_labels]
    inner = np.zeros(len(ids), dtype=np.int64)
    for codes, size in zip(dim_codes, sizes):
        inner *= size
        inner += codes
    if ok is not None:
        ids, inner = ids[ok], inner[ok]
    else:
        ids = ids.copy()  # the caller's frame may change later
    positions = [{lab: i for i, lab in enumerate(labels)} for labels in dim_labels]
    n_out = len(row_labels[0]) if row_labels else 1
    row_pos = np.array(
        [[positions[d].get(lab, -1) if lab != total_label else -1 for lab in row_labels[d]]
         for d in range(len(dim_labels))],
        dtype=np.int64,
    ).reshape(len(dim_labels), n_out)
    attr = None
    if rate and x is not None:
        xv = np.asarray(x)
        attr = (xv[ok] if ok is not None else xv) == 1
    contributions = None
    if x is not None or w is not None:  # magnitude or weighted: (w * x, w) per counted row
        xv = np.ones(len(unit_ids)) if x is None else np.asarray(x, dtype=np.float64)
        wv = np.ones(len(unit_ids)) if w is None else np.asarray(w, dtype=np.float64)
        if ok is not None:
            xv, wv = xv[ok], wv[ok]
        contributions = (np.asarray(wv * xv, dtype=np.float64), np.asarray(wv, dtype=np.float64).copy())
    return TablePopulations(ids, inner, sizes, row_pos, attr, contributions)


#: Loads a lazy table's counted (unit id, inner cell, attribute) entries: one per row or per pair;
#: tables with contributions get one entry per row and a fourth item ``(w * x, w)`` per row.
PairLoader = Callable[[], "tuple[np.ndarray, ...] | tuple[np.ndarray, np.ndarray, np.ndarray | None]"]


class LazyTablePopulations(TablePopulations):
    """Populations of a table over a lazy relation: its (cell, unit) pairs are loaded on first use.

    A table evaluated in DuckDB over Parquet files (:func:`kit.registers.scan`) keeps no unit ids in
    memory; ``load`` (from :mod:`kit.evidence_lazy`) fetches the distinct (unit, inner cell) pairs
    (magnitude tables: the counted rows with their contributions) from DuckDB when the release first
    asks for the populations, and checks them against a print of what the evidence counted. The
    cells are then built exactly as for a DataFrame table.

    >>> load = lambda: (np.array([1, 2, 2, 3]), np.array([0, 0, 1, 1]), None)
    >>> pops = lazy_table_populations(load, [["a", "b"]], [["a", "b", "Total"]], total_label="Total")
    >>> pops
    <LazyTablePopulations: 3 cells; units hidden; not loaded>
    >>> pops.cells.sizes().tolist()
    [2, 2, 3]
    """

    def __init__(self, load: PairLoader, sizes: Sequence[int], row_pos: np.ndarray, rate: bool,
                 contributions: bool = False) -> None:
        empty = np.empty(0, dtype=np.float64)
        super().__init__(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), sizes, row_pos,
                         np.empty(0, dtype=bool) if rate else None, (empty, empty) if contributions else None)
        self._load: PairLoader | None = load

    def __repr__(self) -> str:
        state = "not loaded" if self._load is not None else "loaded"
        return f"<LazyTablePopulations: {self._row_pos.shape[1]} cells; units hidden; {state}>"

    def _ensure_loaded(self) -> None:
        if self._load is None:
            return
        got = self._load()
        ids, inner, attribute = got[0], got[1], got[2]
        contrib = got[3] if len(got) > 3 else None
        if (attribute is None) != (self._attribute is None):  # pragma: no cover - a kit bug
            raise ValueError("the loader's attribute does not match the table's statistic")
        if (contrib is None) != (self._contributions is None):  # pragma: no cover - a kit bug
            raise ValueError("the loader's contributions do not match the table's statistic")
        self._ids, self._inner, self._attribute = ids, np.asarray(inner, dtype=np.int64), attribute
        if contrib is not None:
            self._contributions = (np.asarray(contrib[0], dtype=np.float64), np.asarray(contrib[1], dtype=np.float64))
        self._load = None

    @property
    def elements(self) -> CellElements | None:
        """As :attr:`TablePopulations.elements` (loads the rows first)."""
        self._ensure_loaded()
        return super().elements

    def _build(self, mask: np.ndarray | None) -> CellPopulations:
        if self._load is not None:
            self._ensure_loaded()
            if mask is not None:
                mask = self._attribute
        return super()._build(mask)


def lazy_table_populations(load: PairLoader, dim_labels: Sequence[Sequence[str]],
                           row_labels: Sequence[Sequence[str]], *, total_label: str,
                           rate: bool = False, contributions: bool = False) -> LazyTablePopulations:
    """:func:`table_populations` of a lazy table: the counted units come from ``load`` on first use.

    ``load()`` returns unit ids, inner cells and (``rate``) the attribute flags of the counted rows or
    (cell, unit) pairs: only rows with a measure and a positive weight. ``dim_labels`` and
    ``row_labels`` are those of the evidence, as for :func:`table_populations`. With
    ``contributions`` (a measure or a weight), ``load()`` returns the counted rows and a fourth item
    ``(w * x, w)`` per row.
    """
    positions = [{lab: i for i, lab in enumerate(labels)} for labels in dim_labels]
    n_out = len(row_labels[0]) if row_labels else 1
    row_pos = np.array(
        [[positions[d].get(lab, -1) if lab != total_label else -1 for lab in row_labels[d]]
         for d in range(len(dim_labels))],
        dtype=np.int64,
    ).reshape(len(dim_labels), n_out)
    return LazyTablePopulations(load, [len(lab) for lab in dim_labels], row_pos, rate, contributions)


def group_populations(unit_ids: np.ndarray | pd.Series, groups: Sequence[np.ndarray | pd.Series],
                      prefix: str = "") -> dict[str, np.ndarray]:
    """Unit keys per combination of group columns (for estimators implementing the populations protocol).

    >>> pops = group_populations(np.array([1, 2, 3]), [np.array(["a", "a", "b"])])
    >>> {k: len(v) for k, v in pops.items()}
    {'a': 2, 'b': 1}
    """
    keys = unit_keys(unit_ids)
    if not groups:
        return {prefix or "all": sorted_unique(keys)}
    frame = pd.DataFrame({f"g{i}": np.asarray(g).astype(str) for i, g in enumerate(groups)})
    frame["_k"] = keys
    out: dict[str, np.ndarray] = {}
    for label, part in frame.groupby([f"g{i}" for i in range(len(groups))], sort=True)["_k"]:
        text = "|".join(label) if isinstance(label, tuple) else str(label)
        out[prefix + text] = sorted_unique(part.to_numpy(dtype=np.uint64))
    return out


def table_population_map(table: Any) -> dict[str, np.ndarray] | None:
    """Label -> unit keys of the cells of a private table (and, for rates, their numerators).

    For estimators built on :meth:`kit.Session.table` (rates, means by group): the populations
    protocol in one call. Numerators of suppressed rate cells are included with labels ending in
    ``" suppressed"`` (the registry then knows what must not be published elsewhere). Magnitude
    and weighted tables add, per cell, an ``(n, 2)`` array of (unit key, contribution tag) under a
    label ending in ``" elements"`` (then ``" suppressed"`` for a suppressed cell). ``None`` when the
    table carries no populations.
    """
    pops = getattr(table, "unit_populations", None)
    if pops is None:
        return None
    assessment = table.assessment
    out: dict[str, np.ndarray] = {}
    for i in range(pops.cells.n_cells):
        if not bool(assessment.published[i]):
            continue
        tail = " suppressed" if assessment.statuses[i].suppressed else ""
        if not tail:  # a suppressed rate or mean hides its value, not its number of units
            out[f"cell {i}"] = pops.cells.cell(i)
        if pops.positive is not None:
            out[f"cell {i} numerator{tail}"] = pops.positive.cell(i)
        elements = pops.elements
        if elements is not None:  # (unit, contribution) rows: the value is compared, not only the units
            out[f"cell {i}{ELEMENTS_SUFFIX}{tail}"] = elements.cell(i)
    return out


def _element_rows(keys: np.ndarray, y: np.ndarray, w: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(unit key, contribution tag) per unit of the selected rows: ``(sum of w * y, sum of w)``."""
    k, yy, ww = keys[rows], y[rows] * w[rows], w[rows]
    order = np.lexsort((ww, yy, k))  # canonical order: the same rows give the same bits
    k, yy, ww = k[order], yy[order], ww[order]
    if len(k) == 0:
        return np.empty((0, 2), dtype=np.uint64)
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    tags = contribution_tags(np.add.reduceat(yy, start), np.add.reduceat(ww, start))
    return np.column_stack([k[start], tags]).astype(np.uint64)


def design_populations(unit_ids: np.ndarray | pd.Series, exog: np.ndarray, names: Sequence[str],
                       y: np.ndarray, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The populations protocol of a regression: its estimation sample, the support of every 0/1
    design column and the reference group of every factor, each with its units and (label ending in
    :data:`ELEMENTS_SUFFIX`) their exact outcome contributions.

    A model with a categorical regressor publishes, through its coefficients and standard errors,
    the mean outcome and the size of every level: two models whose samples differ by many units but
    one level by a single person give that person's outcome. The support of each dummy (units with
    the column = 1) and each factor's reference level (units with all its dummies = 0) are therefore
    cells of their own. Columns are grouped into factors by their name without the bracketed level
    (``C(KOM)[T.K1]`` -> ``C(KOM)[]``); a group is a factor when no row has two of its columns at 1.

    >>> exog = np.array([[1, 0], [1, 1], [1, 1], [1, 0]], dtype=float)
    >>> pops = design_populations(np.array([1, 2, 3, 4]), exog, ["Intercept", "C(g)[T.b]"], np.zeros(4))
    >>> {k: len(v) for k, v in pops.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'estimation sample': 4, 'estimation sample elements': 4, 'support C(g)[T.b]': 2,
     'support C(g)[T.b] elements': 2, 'reference C(g)[]': 2, 'reference C(g)[] elements': 2}
    """
    import re

    keys = unit_keys(unit_ids)
    x = np.asarray(exog, dtype=float)
    yv = np.asarray(y, dtype=np.float64)
    w = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
    out: dict[str, np.ndarray] = {}

    def add(label: str, rows: np.ndarray) -> None:
        out[label] = sorted_unique(keys[rows])
        out[label + ELEMENTS_SUFFIX] = _element_rows(keys, yv, w, rows)

    add("estimation sample", np.arange(len(keys)))
    binary = [j for j in range(x.shape[1]) if np.all((x[:, j] == 0) | (x[:, j] == 1))]
    groups: dict[str, list[int]] = {}
    for j in binary:
        if np.all(x[:, j] == 1):
            continue  # the intercept: its support is the sample
        add(f"support {names[j]}", np.flatnonzero(x[:, j] == 1))
        if "[" in names[j]:
            groups.setdefault(re.sub(r"\[[^\]]*\]", "[]", names[j]), []).append(j)
    for group, cols in sorted(groups.items()):
        hits = x[:, cols].sum(axis=1)
        if np.all(hits <= 1):
            add(f"reference {group}", np.flatnonzero(hits == 0))
    return out
