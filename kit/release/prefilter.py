"""Which recorded outputs a new output must be compared with: an exact prefilter on cell sketches.

Comparing a new output with every recorded output (:func:`kit.release.set_compare.compare`) reads
every unit of every recorded output. The rule only fires when two sets differ by at most ``k``
units (``k = threshold - 1`` today; a caller may pass a larger bound, e.g. for another comparison
class): a cell against a cell (*pairwise*), or a cell against the union of the cells of one
partition layer of the other output (*union*, both directions). This module decides, from a small
**sketch** per recorded cell, which recorded outputs *can* fire against a new one; only those are
compared exactly. It never skips an output that the exact comparison would flag (no false
negatives; the price of a false positive is one exact comparison).

The sketches of every recorded output of a project are kept merged, row by row
(:class:`SketchRows`; on disk: :mod:`kit.release.index`), and every test below runs as one
vectorised pass over all of them: the cost of a check is linear in the recorded *cells*, not in
their units, with no per-output step.

The sketch
----------
Unit keys are salted 64-bit hashes; bucket ``key % m`` splits every cell into ``m >= k + 1``
parts. Per cell and bucket: the number of units, the sum of their keys (mod 2**64), the smallest and
the largest key; per cell its layer, published, attribute and partition flags; and the keys of
every *small* cell (at most :data:`SMALL` units, or with an empty bucket: *degenerate*).

Why it is exact
---------------
Two sets with ``|X Δ Y| <= k`` differ in at most ``k`` of the ``m >= k + 1`` buckets, so in some
bucket their parts are equal (*pigeonhole*, an *untouched* bucket).

1. *Pairwise* (``|A Δ B| <= k``): in an untouched bucket count and key sum are equal; the bucket
   is non-empty unless both cells are degenerate, which the small-cell keys catch exactly. Equal
   signatures of two cells identical in every bucket with the same published flag cannot fire
   (a republished population: recognised without reading the data).
2. *Union, new cell A against recorded partition layer L* (``U`` = the cells of L nearly inside
   A): in an untouched bucket, ``A``'s part is exactly the disjoint union of the parts of the cells
   of ``U``, and those are exactly the cells of L whose smallest key in that bucket lies in ``A``
   (a key of ``A`` there is in ``U``; L is a partition). Looking up every recorded minimum in ``A``
   gives that set, and its counts and key sums (compared on their low 48 bits) must add up to
   ``A``'s. A degenerate ``A`` has at most :data:`SMALL` - k units (else every recorded output is
   compared), so every cell of ``U`` is small and the small-cell keys give ``d`` exactly.
3. *Union, recorded cell B against new partition layer M* (``V`` = the cells of M nearly inside
   B): in an untouched bucket the parts of the cells of ``V`` tile ``B``'s part, so the cell ``A0``
   of M holding ``B``'s smallest key starts there, the cell ``A1`` holding ``B``'s largest key ends
   there, both lie inside ``B`` (their counts fit, ``A0`` ends and ``A1`` starts inside ``B``'s
   range), and the rest of ``B``'s part, ``r`` units, is tiled by other cells of M of at most ``r``
   units each: M must have such cells adding up to at least ``r`` (``r = 0``: the key sums add up).
   This residual test is what rules out a new output that nearly repeats a recorded one (the same
   cells for a slightly different population: ``A0 = A1`` covers nearly all of ``B``, and no cell of
   M is small enough to fill the rest). Degenerate ``B``: exact from the small-cell keys.

Examples
--------
>>> import numpy as np
>>> from kit.core.populations import CellPopulations
>>> from kit.release.set_compare import OutputCells
>>> k = np.arange(1, 400, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
>>> a = OutputCells.build("a", "r", CellPopulations.from_lists([k[:200], k[200:]]), [True, True], [0, 0])
>>> b = OutputCells.build("b", "r", CellPopulations.from_lists([k[:199], k[300:]]), [True, True], [0, 0])
>>> c = OutputCells.build("c", "r", CellPopulations.from_lists([k[:150], k[250:]]), [True, True], [0, 0])
>>> may_fire(a, OutputSketch.of(b, 3), threshold=3)
True
>>> may_fire(a, OutputSketch.of(c, 3), threshold=3)
False
>>> rows = SketchRows.concat([OutputSketch.of(b, 3), OutputSketch.of(c, 3)])
>>> firing_outputs(NewSide(a, 3), rows, bound=2).tolist()
[True, False]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from kit.release.set_compare import OutputCells

__all__ = ["FLAG_ATTRIBUTE", "FLAG_PARTITION", "FLAG_PUBLISHED", "SMALL", "NewSide", "OutputSketch", "SketchRows",
           "bucket_count", "firing_outputs", "may_fire"]

#: Cells of at most this many units keep their keys in the sketch.
SMALL = 64
#: Bits of the per-cell flags byte (room for more per-cell metadata bits).
FLAG_PUBLISHED = 1
FLAG_ATTRIBUTE = 2
FLAG_PARTITION = 4
_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xC2B2AE3D27D4EB4F)
_LOW48 = np.uint64(2**48 - 1)
#: Rows (cell × bucket) per vectorised pass; bounds the memory of one check (about 1 GiB peak).
CHUNK_ROWS = 3_000_000
_DENSE = 2**24
#: ``fill`` of a cell no other cell of its layer can complement (no union through it).
FILL_NONE = 2**31 - 1
_BITS = 20
_SHIFT = np.uint64(64 - _BITS)


def _slot(values: np.ndarray) -> np.ndarray:
    """Slot of uint64 values in a :func:`_bitmap` (mixed first: smallest keys are not uniform)."""
    with np.errstate(over="ignore"):
        return np.asarray((values * _H1) >> _SHIFT)


def _bitmap(values: np.ndarray) -> np.ndarray:
    """A membership prefilter of uint64 values: ``bits[_slot(x)]`` is true for every value."""
    b = np.zeros(1 << _BITS, dtype=bool)
    b[_slot(values)] = True
    return b


def _full_hash(count: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Per cell a hash of every bucket's count and key sum: equal for identical sets."""
    m = count.shape[1] if count.ndim == 2 else 0
    with np.errstate(over="ignore"):
        h = _hash(np.arange(m)[None, :], count, total) * (np.arange(m, dtype=np.uint64) * np.uint64(2) + _H1)[None, :]
        return np.asarray(h.sum(axis=1, dtype=np.uint64)) if m else np.zeros(len(count), dtype=np.uint64)


def _fill(count: np.ndarray, layer: np.ndarray, partition_cell: np.ndarray) -> np.ndarray:
    """Per cell and bucket: its count plus the smallest non-empty count of another cell of its
    partition layer (:data:`FILL_NONE` when there is none): the least a union through it holds."""
    n, m = count.shape
    fill = np.full((n, m), FILL_NONE, dtype=np.int64)
    cell, beta = np.nonzero((count > 0) & partition_cell[:, None])
    if len(cell) == 0:
        return fill
    group = layer[cell] * m + beta
    c = count[cell, beta].astype(np.int64)
    order = np.lexsort((c, group))
    g, cs, cl = group[order], c[order], cell[order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    size = np.diff(np.r_[start, len(g)])
    first = np.repeat(start, size)
    smallest, first_cell = cs[first], cl[first]
    second = np.where(np.repeat(size, size) > 1, cs[np.minimum(first + 1, len(cs) - 1)], FILL_NONE)
    other = np.where(cl == first_cell, second, smallest)
    fill[cl, beta[order]] = np.minimum(cs + other, FILL_NONE)
    return fill


def bucket_count(bound: int) -> int:
    """Buckets needed to prove pairs within ``bound`` units exact (``bound + 1``, at least 2).

    >>> bucket_count(2)
    3
    """
    return max(int(bound) + 1, 2)


def _hash(bucket: np.ndarray, count: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray((total * _H1) ^ (count.astype(np.uint64) * _H2) ^ bucket.astype(np.uint64))


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, position) for every position in ``[lo[q], hi[q])``."""
    reps = hi - lo
    q = np.repeat(np.arange(len(lo)), reps)
    start = np.repeat(lo - np.r_[0, np.cumsum(reps)[:-1]], reps)
    return q, start + np.arange(int(reps.sum()))


@dataclass(frozen=True)
class OutputSketch:
    """Per-cell bucket sketches of one output and the keys of its small cells (private)."""

    m: int
    count: np.ndarray  # (n_cells, m) int64
    total: np.ndarray  # (n_cells, m) uint64, key sums mod 2**64
    low: np.ndarray  # (n_cells, m) uint64, smallest key (0 when empty)
    high: np.ndarray  # (n_cells, m) uint64, largest key (0 when empty)
    layer: np.ndarray  # (n_cells,) layer of each cell
    partition: np.ndarray  # (n_layers,) the layer's cells share no unit
    published: np.ndarray
    attribute: np.ndarray
    small_keys: np.ndarray  # sorted
    small_cells: np.ndarray

    def __repr__(self) -> str:
        return f"<OutputSketch: {len(self.layer)} cells, {self.m} buckets; units hidden>"

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.partition)

    @property
    def partition_cell(self) -> np.ndarray:
        """Per cell: its layer is a partition."""
        return self.partition[self.layer] if len(self.layer) else np.zeros(0, dtype=bool)

    @property
    def full_hash(self) -> np.ndarray:
        """Per cell a hash of the whole set (every bucket): identical sets, equal hashes."""
        return _full_hash(self.count, self.total)

    @property
    def fill(self) -> np.ndarray:
        """Per cell and bucket the least count of a union of its partition layer through it (see :func:`_fill`)."""
        return _fill(self.count, self.layer, self.partition_cell)

    @property
    def flags(self) -> np.ndarray:
        """Per cell the flags byte (:data:`FLAG_PUBLISHED`, :data:`FLAG_ATTRIBUTE`, :data:`FLAG_PARTITION`)."""
        part = self.partition[self.layer] if len(self.layer) else np.zeros(0, dtype=bool)
        return (self.published.astype(np.uint8) * FLAG_PUBLISHED + self.attribute.astype(np.uint8) * FLAG_ATTRIBUTE
                + part.astype(np.uint8) * FLAG_PARTITION).astype(np.uint8)

    @classmethod
    def of(cls, cells: OutputCells, m: int) -> OutputSketch:
        """The sketch of an output with ``m`` buckets."""
        n = cells.n_cells
        keys = cells.keys
        group = cells.cells.astype(np.int64) * m + (keys % np.uint64(m)).astype(np.int64)
        order = np.argsort(group, kind="stable")  # keys stay sorted inside each group
        g, ks = group[order], keys[order]
        count = np.bincount(g, minlength=n * m).astype(np.int64)
        total = np.zeros(n * m, dtype=np.uint64)
        low = np.zeros(n * m, dtype=np.uint64)
        high = np.zeros(n * m, dtype=np.uint64)
        if len(g):
            start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
            end = np.r_[start[1:], len(g)] - 1
            total[g[start]] = np.add.reduceat(ks, start)
            low[g[start]] = ks[start]
            high[g[start]] = ks[end]
        count2 = count.reshape(n, m)
        small = (count2.sum(axis=1) <= SMALL) | (count2 == 0).any(axis=1)
        sel = small[cells.cells] if len(keys) else np.zeros(0, dtype=bool)
        return cls(m, count2, total.reshape(n, m), low.reshape(n, m), high.reshape(n, m),
                   cells.layer.astype(np.int64), cells.partition.astype(bool), cells.published.astype(bool),
                   cells.attribute.astype(bool), keys[sel], cells.cells[sel].astype(np.int64))


@dataclass(frozen=True)
class SketchRows:
    """The sketches of many recorded outputs (one bucket count), merged row by row (private).

    ``cell_start``, ``small_start`` and ``layer_start`` (one more entry than outputs) give each
    output's range of cells, small-cell keys and layers; ``layer`` holds layer numbers local to
    the output and ``small_cells`` cell numbers local to the output (arrays may be memory-mapped).
    """

    m: int
    cell_start: np.ndarray
    small_start: np.ndarray
    layer_start: np.ndarray
    count: np.ndarray  # (n, m)
    total: np.ndarray  # (n, m)
    low: np.ndarray  # (n, m)
    high: np.ndarray  # (n, m)
    layer: np.ndarray  # (n,) local
    flags: np.ndarray  # (n,) uint8
    full_hash: np.ndarray  # (n,) uint64
    fill: np.ndarray  # (n, m) int32
    small_keys: np.ndarray
    small_cells: np.ndarray  # local

    def __repr__(self) -> str:
        return f"<SketchRows: {self.n_outputs} output(s), {len(self.layer)} cells, {self.m} buckets; units hidden>"

    @property
    def n_outputs(self) -> int:
        """Number of outputs."""
        return len(self.cell_start) - 1

    @classmethod
    def concat(cls, sketches: Sequence[OutputSketch]) -> SketchRows:
        """Merge sketches of one bucket count (in memory; the registry keeps them on disk)."""
        ms = {s.m for s in sketches}
        if len(ms) > 1:
            raise ValueError("sketches of different bucket counts cannot be merged")
        m = ms.pop() if ms else 2

        def starts(sizes: list[int]) -> np.ndarray:
            return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)

        def cat(arrays: list[np.ndarray], dtype: type, shape: tuple[int, ...] = ()) -> np.ndarray:
            return np.concatenate(arrays).astype(dtype) if arrays else np.zeros((0, *shape), dtype=dtype)

        return cls(
            m, starts([len(s.layer) for s in sketches]), starts([len(s.small_keys) for s in sketches]),
            starts([s.n_layers for s in sketches]),
            cat([s.count for s in sketches], np.int32, (m,)), cat([s.total for s in sketches], np.uint64, (m,)),
            cat([s.low for s in sketches], np.uint64, (m,)), cat([s.high for s in sketches], np.uint64, (m,)),
            cat([s.layer for s in sketches], np.int32), cat([s.flags for s in sketches], np.uint8),
            cat([s.full_hash for s in sketches], np.uint64), cat([s.fill for s in sketches], np.int32, (m,)),
            cat([s.small_keys for s in sketches], np.uint64), cat([s.small_cells for s in sketches], np.int32),
        )

    def chunks(self, max_rows: int) -> Iterator[_Chunk]:
        """Consecutive groups of whole outputs of about ``max_rows`` rows (cells × buckets), read into memory."""
        n_out = self.n_outputs
        first = 0
        while first < n_out:
            last = first + 1
            limit = self.cell_start[first] + max(max_rows // self.m, 1)
            while last < n_out and self.cell_start[last + 1] <= limit:
                last += 1
            yield _Chunk.of(self, first, last)
            first = last


@dataclass(frozen=True)
class _Chunk:
    """Whole outputs ``first .. last - 1`` of :class:`SketchRows` in memory, with chunk-wide numbering."""

    first: int
    output: np.ndarray  # (n,) global output number of each cell
    count: np.ndarray
    total: np.ndarray
    low: np.ndarray
    high: np.ndarray
    layer: np.ndarray  # (n,) chunk-wide layer number
    layer_output: np.ndarray  # (n_layers,) global output number of each layer
    published: np.ndarray
    attribute: np.ndarray
    partition: np.ndarray  # per cell
    full_hash: np.ndarray
    fill: np.ndarray
    small_keys: np.ndarray
    small_cells: np.ndarray  # chunk-wide cell number

    @classmethod
    def of(cls, rows: SketchRows, first: int, last: int) -> _Chunk:
        c0, c1 = int(rows.cell_start[first]), int(rows.cell_start[last])
        s0, s1 = int(rows.small_start[first]), int(rows.small_start[last])
        l0 = int(rows.layer_start[first])
        n_cells = np.diff(rows.cell_start[first:last + 1])
        n_small = np.diff(rows.small_start[first:last + 1])
        n_layers = np.diff(rows.layer_start[first:last + 1])
        outputs = np.arange(first, last, dtype=np.int64)
        layer_off = np.repeat(rows.layer_start[first:last] - l0, n_cells)
        cell_off = np.repeat(rows.cell_start[first:last] - c0, n_small)
        flags = np.asarray(rows.flags[c0:c1])
        return cls(
            first, np.repeat(outputs, n_cells), np.asarray(rows.count[c0:c1], dtype=np.int64),
            np.asarray(rows.total[c0:c1]), np.asarray(rows.low[c0:c1]), np.asarray(rows.high[c0:c1]),
            np.asarray(rows.layer[c0:c1], dtype=np.int64) + layer_off, np.repeat(outputs, n_layers),
            (flags & FLAG_PUBLISHED) > 0, (flags & FLAG_ATTRIBUTE) > 0, (flags & FLAG_PARTITION) > 0,
            np.asarray(rows.full_hash[c0:c1]), np.asarray(rows.fill[c0:c1], dtype=np.int64),
            np.asarray(rows.small_keys[s0:s1]), np.asarray(rows.small_cells[s0:s1], dtype=np.int64) + cell_off,
        )

    @property
    def m(self) -> int:
        return int(self.count.shape[1])

    @property
    def n_layers(self) -> int:
        return len(self.layer_output)


class NewSide:
    """A new output prepared once for the recorded sketches of one bucket count (lookup tables)."""

    def __init__(self, a: OutputCells, m: int) -> None:
        self.a = a
        self.m = m
        self.sk = sk = OutputSketch.of(a, m)
        self.sizes = sk.count.sum(axis=1)
        self.degenerate = (sk.count == 0).any(axis=1)
        self.part_cell = sk.partition[sk.layer] if len(sk.layer) else np.zeros(0, dtype=bool)
        # pairwise: sorted signatures of the non-empty buckets
        h = _hash(np.arange(m)[None, :], sk.count, sk.total).ravel()
        valid = np.flatnonzero((sk.count > 0).ravel())
        order = np.argsort(h[valid], kind="stable")
        self.sig = h[valid][order]
        self.sig_cell = valid[order] // m
        # reverse union: the non-empty buckets of partition-layer cells by smallest and by largest key
        cell, beta = np.nonzero((sk.count > 0) & self.part_cell[:, None])
        by_low = np.argsort(sk.low[cell, beta], kind="stable")
        self.p_low, self.p_low_cell = sk.low[cell, beta][by_low], cell[by_low]
        by_high = np.argsort(sk.high[cell, beta], kind="stable")
        self.p_high, self.p_high_cell = sk.high[cell, beta][by_high], cell[by_high]
        self.p_need = _fill(sk.count, sk.layer, self.part_cell)[cell, beta][by_low]
        self.p_low_bits = _bitmap(self.p_low)
        self.min_need = np.full(m, FILL_NONE, dtype=np.int64)
        np.minimum.at(self.min_need, beta[by_low], self.p_need)
        # republished populations: the (full hash, published) of each new cell whose bucket signatures
        # no other new cell shares; a recorded cell with one of them matches that cell only, and is fine
        self.full_hash = _full_hash(sk.count, sk.total)
        dup = np.zeros(len(self.sig), dtype=bool)
        eq = self.sig[1:] == self.sig[:-1]
        dup[1:] |= eq
        dup[:-1] |= eq
        unique_sigs = np.ones(len(sk.layer), dtype=bool)
        unique_sigs[self.sig_cell[dup]] = False
        self.fhp = np.sort(_fhp(self.full_hash, sk.published)[unique_sigs])
        self.fhp_bits = _bitmap(self.fhp)
        self.sig_bits = _bitmap(self.sig)
        # forward union: the smallest key of every bucket of the non-degenerate new cells
        cell_n, beta_n = np.nonzero(~self.degenerate[:, None] & (sk.count > 0))
        by_key = np.argsort(sk.low[cell_n, beta_n], kind="stable")
        self.n_low, self.n_low_cell = sk.low[cell_n, beta_n][by_key], cell_n[by_key]
        self.n_low_bits = _bitmap(self.n_low)
        self.max_count = np.full(m, -1, dtype=np.int64)
        np.maximum.at(self.max_count, beta_n, sk.count[cell_n, beta_n])
        # per (layer, bucket) the sorted cell counts and their running sums (the residual test)
        group = sk.layer[cell] * m + beta
        comp = (group.astype(np.int64) << 32) | sk.count[cell, beta].astype(np.int64)
        self.comp = np.sort(comp)
        self.comp_sum = np.r_[0, np.cumsum(self.comp & 0xFFFFFFFF)]

    def __repr__(self) -> str:
        return f"<NewSide {self.a.name!r}; units hidden>"

    def available(self, layer: np.ndarray, beta: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Units in the cells of at most ``r`` units of partition layer ``layer`` in bucket ``beta``."""
        g = (layer.astype(np.int64) * self.m + beta) << 32
        lo = np.searchsorted(self.comp, g | 1, "left")
        hi = np.searchsorted(self.comp, g | np.minimum(r, 0xFFFFFFFF).astype(np.int64), "right")
        return np.asarray(self.comp_sum[hi] - self.comp_sum[lo])


def _fhp(full_hash: np.ndarray, published: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(full_hash ^ (published.astype(np.uint64) * _H2))


def _member(sorted_values: np.ndarray, bits: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Whether each query is in ``sorted_values`` (``bits``: its :func:`_bitmap`)."""
    out = np.asarray(bits[_slot(queries)], dtype=bool)
    idx = np.flatnonzero(out)
    if len(idx) and len(sorted_values):
        pos = np.minimum(np.searchsorted(sorted_values, queries[idx]), len(sorted_values) - 1)
        out[idx] = sorted_values[pos] == queries[idx]
    return out


def _identical_ok(new: NewSide, ca: np.ndarray, rec: _Chunk, cb: np.ndarray) -> np.ndarray:
    """For matched cell pairs: the sets are identical (every bucket) and both published or both not
    (then neither rule can fire through this pair)."""
    sa = new.sk
    same = np.all((sa.count[ca] == rec.count[cb]) & (sa.total[ca] == rec.total[cb]), axis=1)
    return np.asarray(same & (sa.published[ca] == rec.published[cb]))


def _pairwise(new: NewSide, rec: _Chunk) -> np.ndarray:
    """Rule 1 on non-degenerate pairs: some bucket with equal count and key sum; recorded cells of the
    outputs that may fire."""
    m, sig = new.m, new.sig
    if len(sig) == 0:
        return np.empty(0, dtype=np.int64)
    republished = _member(new.fhp, new.fhp_bits, _fhp(rec.full_hash, rec.published))
    cells = np.flatnonzero(~republished)
    count, total = (rec.count, rec.total) if len(cells) == len(rec.layer) else (rec.count[cells], rec.total[cells])
    hb = _hash(np.arange(m)[None, :], count, total)
    r, beta = np.nonzero((count > 0) & new.sig_bits[_slot(hb)])
    hb = hb[r, beta]
    lo = np.searchsorted(sig, hb, "left")
    hi = np.searchsorted(sig, hb, "right")
    hit = hi > lo
    if not hit.any():
        return np.empty(0, dtype=np.int64)
    q, idx = _expand(lo[hit], hi[hit])
    cb = cells[r[hit][q]]
    ca = new.sig_cell[idx]
    fine = (new.sk.attribute[ca] & rec.attribute[cb]) | _identical_ok(new, ca, rec, cb)
    return np.asarray(cb[~fine])


def _bincount_groups(
    group: np.ndarray, space: int, weights: Sequence[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Distinct groups (of ``0 .. space - 1``) and per group the sums of each weight (float sums: exact
    for integer weights below 2**24 and fewer than 2**29 rows per group)."""
    if space <= _DENSE:
        sums = [np.bincount(group, weights=w, minlength=space) for w in weights]
        present = np.flatnonzero(np.bincount(group, minlength=space))
        return present, [x[present] for x in sums]
    keys, inv = np.unique(group, return_inverse=True)
    return keys, [np.bincount(inv, weights=w, minlength=len(keys)) for w in weights]


def _forward_union(new: NewSide, rec: _Chunk) -> np.ndarray:
    """Rule 2, new non-degenerate cell A against the union of recorded partition-layer cells; layers
    (chunk-wide) that may fire."""
    a, sa, m = new.a, new.sk, new.m
    # stage 1 (necessary): the recorded cell C0 holding A's smallest key in the untouched bucket starts
    # there, and either equals A's part there (then the pairwise test sees it) or leaves room for at
    # least one other cell of its layer: its fill fits in A's count
    cb, beta = np.nonzero((rec.fill <= new.max_count[None, :]) & (rec.count > 0) & rec.partition[:, None])
    if len(cb) == 0 or len(a.keys) == 0:
        return np.empty(0, dtype=np.int64)
    lows = rec.low[cb, beta]
    maybe = new.n_low_bits[_slot(lows)]
    cb, beta, lows = cb[maybe], beta[maybe], lows[maybe]
    q, pos = _lookup(new.n_low, lows)
    cand_a = new.n_low_cell[pos]
    ok = rec.fill[cb[q], beta[q]] <= sa.count[cand_a, beta[q]]
    if not ok.any():
        return np.empty(0, dtype=np.int64)
    n_layers = rec.n_layers
    triples = np.unique((cand_a[ok] * n_layers + rec.layer[cb[q][ok]]) * m + beta[q][ok])
    layers = np.unique((triples // m) % n_layers)
    # stage 2: the complete test for the candidate (A, layer, bucket) triples: every cell of the
    # layer whose smallest key in the bucket lies in A
    cells_a = np.unique(triples // (n_layers * m))
    in_a = np.isin(a.cells, cells_a)
    keys_a, cells_of_a = a.keys[in_a], a.cells[in_a]
    bits_a = _bitmap(keys_a)
    cb, beta = np.nonzero((rec.count > 0) & (rec.partition & np.isin(rec.layer, layers))[:, None])
    mins = rec.low[cb, beta]
    maybe = bits_a[_slot(mins)]
    cb, beta, mins = cb[maybe], beta[maybe], mins[maybe]
    q, pos = _lookup(keys_a, mins)
    if len(q) == 0:
        return np.empty(0, dtype=np.int64)
    cb, beta = cb[q], beta[q]
    ca = cells_of_a[pos].astype(np.int64)
    group = (ca * n_layers + rec.layer[cb]) * m + beta
    keep = np.isin(group, triples)
    ca, cb, beta, group = ca[keep], cb[keep], beta[keep], group[keep]
    if len(ca) == 0:
        return np.empty(0, dtype=np.int64)
    tot = rec.total[cb, beta]
    weights = [rec.count[cb, beta].astype(np.float64), (tot & np.uint64(0xFFFFFF)).astype(np.float64),
               ((tot >> np.uint64(24)) & np.uint64(0xFFFFFF)).astype(np.float64), np.ones(len(cb)),
               cb.astype(np.float64)]
    gs, (cnt, t_lo, t_mid, members, member) = _bincount_groups(group, len(new.sizes) * n_layers * m, weights)
    cell_a, b_ = gs // (n_layers * m), gs % m
    t48 = (t_lo.astype(np.uint64) + (t_mid.astype(np.uint64) << np.uint64(24))) & _LOW48
    match = (cnt.astype(np.int64) == sa.count[cell_a, b_]) & (t48 == (sa.total[cell_a, b_] & _LOW48))
    # a single recorded cell identical to A with the same flag cannot fire (see _identical_ok)
    single = np.flatnonzero(match & (members == 1))
    if len(single):
        ok = _identical_ok(new, cell_a[single], rec, member[single].astype(np.int64))
        match[single[ok]] = False
    return np.asarray((gs[match] // m) % n_layers)


def _lookup(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, position) of every exact match of each query in ``sorted_keys``."""
    lo = np.searchsorted(sorted_keys, queries, "left")
    hi = np.searchsorted(sorted_keys, queries, "right")
    hit = np.flatnonzero(hi > lo)
    q, pos = _expand(lo[hit], hi[hit])
    return hit[q], pos


def _reverse_union(new: NewSide, rec: _Chunk) -> np.ndarray:
    """Rule 2, recorded non-degenerate cell B against the union of new partition-layer cells;
    recorded cells of the outputs that may fire."""
    sa = new.sk
    if len(new.p_low) == 0:
        return np.empty(0, dtype=np.int64)
    # stage 1 (necessary): the new cell A0 holding B's smallest key in the untouched bucket starts
    # there, and either equals B's part there (then the pairwise test sees it) or B leaves room for
    # at least one other cell of A0's layer: B's count reaches A0's fill
    nondeg = np.asarray((rec.count > 0).all(axis=1))
    cb, beta = np.nonzero(nondeg[:, None] & (rec.count >= new.min_need[None, :]))
    lows = rec.low[cb, beta]
    maybe = new.p_low_bits[_slot(lows)]
    cb, beta, lows = cb[maybe], beta[maybe], lows[maybe]
    q, pos = _lookup(new.p_low, lows)
    ok = rec.count[cb[q], beta[q]] >= new.p_need[pos]
    cb, beta = cb[q][ok], beta[q][ok]
    if len(cb) == 0:
        return np.empty(0, dtype=np.int64)
    # stage 2. A0: the new partition-layer cell whose smallest key in the bucket is B's smallest there
    q, pos = _lookup(new.p_low, rec.low[cb, beta])
    cb, beta, p = cb[q], beta[q], new.p_low_cell[pos]
    fits = ~(rec.attribute[cb] & sa.attribute[p]) & (sa.count[p, beta] <= rec.count[cb, beta])
    fits &= sa.high[p, beta] <= rec.high[cb, beta]
    cb, beta, p = cb[fits], beta[fits], p[fits]
    if len(cb) == 0:
        return np.empty(0, dtype=np.int64)
    # A1: the cell of the same layer whose largest key in the bucket is B's largest there
    q, pos = _lookup(new.p_high, rec.high[cb, beta])
    cb, beta, p, qq = cb[q], beta[q], p[q], new.p_high_cell[pos]
    same_layer = sa.layer[qq] == sa.layer[p]
    cb, beta, p, qq = cb[same_layer], beta[same_layer], p[same_layer], qq[same_layer]
    if len(cb) == 0:
        return np.empty(0, dtype=np.int64)
    two = p != qq
    cp, cq, cbb = sa.count[p, beta], sa.count[qq, beta], rec.count[cb, beta]
    r = cbb - cp - np.where(two, cq, 0)
    fits = (r >= 0) & ~(rec.attribute[cb] & sa.attribute[qq]) & (sa.low[qq, beta] >= rec.low[cb, beta])
    with np.errstate(over="ignore"):
        sums = sa.total[p, beta] + np.where(two, sa.total[qq, beta], np.uint64(0))
    exact = fits & (r == 0)
    fits_exact = exact & (sums == rec.total[cb, beta])
    # B's part is exactly A0's part: A0 is all of V, so identical with the same flag cannot fire
    lone = np.flatnonzero(fits_exact & ~two)
    if len(lone):
        fits_exact[lone[_identical_ok(new, p[lone], rec, cb[lone])]] = False
    rest = fits & (r > 0)
    idx = np.flatnonzero(rest)
    if len(idx):
        avail = new.available(sa.layer[p[idx]], beta[idx], r[idx])
        avail -= np.where(cp[idx] <= r[idx], cp[idx], 0)
        avail -= np.where(two[idx] & (cq[idx] <= r[idx]), cq[idx], 0)
        rest[idx] = avail >= r[idx]
    return np.asarray(cb[fits_exact | rest])


def _small(new: NewSide, rec: _Chunk, k: int) -> np.ndarray:
    """Every rule where a degenerate cell takes part, exactly, from the small cells' keys; outputs that
    may fire."""
    a, sa = new.a, new.sk
    if len(rec.small_keys) == 0 or len(a.keys) == 0:
        return np.empty(0, dtype=np.int64)
    q, pos = _lookup(a.keys, rec.small_keys)
    if len(q) == 0:
        return np.empty(0, dtype=np.int64)
    ca = a.cells[pos].astype(np.int64)
    cb = rec.small_cells[q]
    n_b = len(rec.layer)
    uniq, n = np.unique(ca * n_b + cb, return_counts=True)
    ca, cb = uniq // n_b, uniq % n_b
    size_a, size_b = new.sizes, rec.count.sum(axis=1)
    not_both_attr = ~(sa.attribute[ca] & rec.attribute[cb])
    ca, cb, n = ca[not_both_attr], cb[not_both_attr], n[not_both_attr]
    d = size_a[ca] + size_b[cb] - 2 * n
    found = [cb[(d <= k) & ~_identical_ok(new, ca, rec, cb)]]
    deg_b = (rec.count == 0).any(axis=1)
    found = [rec.output[x] for x in found]
    # forward: degenerate A against the recorded partition-layer cells nearly inside it (all small)
    inside = new.degenerate[ca] & rec.partition[cb] & (size_b[cb] - n <= k)
    if inside.any():
        x, y, nn = ca[inside], cb[inside], n[inside]
        grp = x * rec.n_layers + rec.layer[y]
        keys_, inv = np.unique(grp, return_inverse=True)
        union = np.bincount(inv, weights=size_b[y])
        inter = np.bincount(inv, weights=nn)
        dd = union + size_a[keys_ // rec.n_layers] - 2 * inter
        found.append(rec.layer_output[keys_[dd <= k] % rec.n_layers])
    # reverse: degenerate B against the new partition-layer cells nearly inside it
    inside = deg_b[cb] & new.part_cell[ca] & (size_a[ca] - n <= k)
    if inside.any():
        x, y, nn = cb[inside], ca[inside], n[inside]
        n_la = max(sa.n_layers, 1)
        grp = x * n_la + sa.layer[y]
        keys_, inv = np.unique(grp, return_inverse=True)
        union = np.bincount(inv, weights=size_a[y])
        inter = np.bincount(inv, weights=nn)
        dd = union + size_b[keys_ // n_la] - 2 * inter
        found.append(rec.output[keys_[dd <= k] // n_la])
    return np.concatenate(found).astype(np.int64)


def firing_outputs(new: NewSide, rows: SketchRows, bound: int, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Per recorded output of ``rows``, whether comparing new output ``new`` with it can find a risky
    cell (pairs within ``bound`` units); ``False`` proves that :func:`~kit.release.set_compare.compare`
    finds none. The recorded outputs' units are not read.

    Parameters
    ----------
    new
        The new output prepared for ``rows.m`` buckets.
    rows
        The merged sketches of the recorded outputs.
    bound
        The largest difference (in units) any comparison class may flag (``threshold - 1`` today).
    chunk_rows
        Rows per vectorised pass (memory bound).
    """
    n_out = rows.n_outputs
    fire = np.zeros(n_out, dtype=bool)
    k = int(bound)
    if k < 0 or n_out == 0:
        return fire
    if rows.m < k + 1 or new.m != rows.m:
        fire[:] = True  # too few buckets for this bound: compare exactly
        return fire
    if bool((new.degenerate & (new.sizes > SMALL - k)).any()):
        fire[:] = True  # a large degenerate cell (vanishingly rare): its union may use large cells
        return fire
    for chunk in rows.chunks(chunk_rows):
        cells = np.concatenate([_pairwise(new, chunk), _reverse_union(new, chunk)])
        fire[chunk.output[cells]] = True
        fire[chunk.layer_output[_forward_union(new, chunk)]] = True
        fire[_small(new, chunk, k)] = True
    return fire


def may_fire(a: OutputCells | NewSide, sb: OutputSketch, threshold: int) -> bool:
    """Whether comparing new output ``a`` with the recorded output sketched by ``sb`` can find a risky
    cell; ``False`` proves that :func:`~kit.release.set_compare.compare` finds none.

    The recorded output itself is not read. Pass a :class:`NewSide` (``NewSide(a, sb.m)``) to
    prepare the new output once for many recorded sketches.
    """
    new = a if isinstance(a, NewSide) and a.m == sb.m else NewSide(a.a if isinstance(a, NewSide) else a, sb.m)
    return bool(firing_outputs(new, SketchRows.concat([sb]), threshold - 1)[0])
