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
    "CellPopulations",
    "LazyTablePopulations",
    "TablePopulations",
    "group_populations",
    "lazy_table_populations",
    "mix64",
    "salted",
    "sorted_unique",
    "table_population_map",
    "table_populations",
    "unit_keys",
]

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
                 attribute: np.ndarray | None) -> None:
        self._ids = ids
        self._inner = inner
        self._sizes = [int(v) for v in sizes]
        self._row_pos = row_pos
        self._attribute = attribute
        self._cache: dict[str, CellPopulations | None] = {}
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
        sizes = self._sizes
        cells_all: list[np.ndarray] = []
        units_all: list[np.ndarray] = []
        present = self._row_pos >= 0
        patterns = sorted({tuple(bool(v) for v in present[:, r]) for r in range(n_out)})
        # the inner cell's code in each dimension
        dim_code = []
        rest = p_cell.copy()
        for size in reversed(sizes):
            dim_code.append(rest % size)
            rest //= size
        dim_code.reverse()
        for pattern in patterns:
            kept = [d for d in range(len(sizes)) if pattern[d]]
            rows = np.flatnonzero(np.all(present == np.array(pattern, dtype=bool)[:, None], axis=0))
            flat = np.zeros(len(p_cell), dtype=np.int64)
            row_flat = np.zeros(len(rows), dtype=np.int64)
            for d in kept:
                flat = flat * sizes[d] + dim_code[d]
                row_flat = row_flat * sizes[d] + self._row_pos[d, rows]
            n_flat = int(np.prod([sizes[d] for d in kept])) if kept else 1
            to_row = np.full(n_flat, -1, dtype=np.int64)
            to_row[row_flat] = rows
            target = to_row[flat]
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
        positive count in no cell).
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
    return TablePopulations(ids, inner, sizes, row_pos, attr)


#: Loads a lazy table's counted (unit id, inner cell, attribute) entries: one per row or per pair.
PairLoader = Callable[[], "tuple[np.ndarray, np.ndarray, np.ndarray | None]"]


class LazyTablePopulations(TablePopulations):
    """Populations of a table over a lazy relation: its (cell, unit) pairs are loaded on first use.

    A table evaluated in DuckDB over Parquet files (:func:`kit.registers.scan`) keeps no unit ids in
    memory; ``load`` (from :mod:`kit.evidence_lazy`) fetches the distinct (unit, inner cell) pairs
    from DuckDB when the release first asks for the populations, and checks them against a print of
    what the evidence counted. The cells are then built exactly as for a DataFrame table.

    >>> load = lambda: (np.array([1, 2, 2, 3]), np.array([0, 0, 1, 1]), None)
    >>> pops = lazy_table_populations(load, [["a", "b"]], [["a", "b", "Total"]], total_label="Total")
    >>> pops
    <LazyTablePopulations: 3 cells; units hidden; not loaded>
    >>> pops.cells.sizes().tolist()
    [2, 2, 3]
    """

    def __init__(self, load: PairLoader, sizes: Sequence[int], row_pos: np.ndarray, rate: bool) -> None:
        super().__init__(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), sizes, row_pos,
                         np.empty(0, dtype=bool) if rate else None)
        self._load: PairLoader | None = load

    def __repr__(self) -> str:
        state = "not loaded" if self._load is not None else "loaded"
        return f"<LazyTablePopulations: {self._row_pos.shape[1]} cells; units hidden; {state}>"

    def _build(self, mask: np.ndarray | None) -> CellPopulations:
        if self._load is not None:
            ids, inner, attribute = self._load()
            if (attribute is None) != (self._attribute is None):  # pragma: no cover - a kit bug
                raise ValueError("the loader's attribute does not match the table's statistic")
            self._ids, self._inner, self._attribute = ids, np.asarray(inner, dtype=np.int64), attribute
            self._load = None
            if mask is not None:
                mask = self._attribute
        return super()._build(mask)


def lazy_table_populations(load: PairLoader, dim_labels: Sequence[Sequence[str]],
                           row_labels: Sequence[Sequence[str]], *, total_label: str,
                           rate: bool = False) -> LazyTablePopulations:
    """:func:`table_populations` of a lazy table: the counted units come from ``load`` on first use.

    ``load()`` returns unit ids, inner cells and (``rate``) the attribute flags of the counted rows or
    (cell, unit) pairs: only rows with a measure and a positive weight. ``dim_labels`` and
    ``row_labels`` are those of the evidence, as for :func:`table_populations`.
    """
    positions = [{lab: i for i, lab in enumerate(labels)} for labels in dim_labels]
    n_out = len(row_labels[0]) if row_labels else 1
    row_pos = np.array(
        [[positions[d].get(lab, -1) if lab != total_label else -1 for lab in row_labels[d]]
         for d in range(len(dim_labels))],
        dtype=np.int64,
    ).reshape(len(dim_labels), n_out)
    return LazyTablePopulations(load, [len(lab) for lab in dim_labels], row_pos, rate)


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
    ``" suppressed"`` (the registry then knows what must not be published elsewhere). ``None``
    when the table carries no populations.
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
    return out
