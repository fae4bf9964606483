"""Which recorded outputs a new output must be compared with: an exact prefilter on cell sketches.

Comparing a new output with every recorded output (:func:`kit.release.set_compare.compare`) reads
every unit of every recorded output. The rule only fires when two sets differ by at most
``k = threshold - 1`` units: a cell against a cell (*pairwise*), or a cell against the union of the
cells of one partition layer of the other output (*union*, both directions). This module decides,
from a small **sketch** per recorded cell, whether a recorded output *can* fire against a new one;
only those are compared exactly. It never skips an output that the exact comparison would flag
(no false negatives; the price of a false positive is one exact comparison).

The sketch
----------
Unit keys are salted 64-bit hashes; bucket ``key % m`` splits every cell into ``m >= k + 1``
parts. Per cell and bucket: the number of units, the sum of their keys (mod 2**64), the
:data:`BOTTOM` smallest and largest keys; per cell its size, layer, published and attribute flags; and the keys of every
*small* cell (at most :data:`SMALL` units, or with an empty bucket: *degenerate*).

Why it is exact
---------------
Two sets with ``|X Δ Y| <= k`` differ in at most ``k`` of the ``m >= k + 1`` buckets, so in some
bucket their parts are equal (*pigeonhole*).

1. *Pairwise* (``|A Δ B| <= k``): in an untouched bucket count and key sum are equal; the bucket
   is non-empty unless both cells are degenerate, which the small-cell keys catch exactly.
2. *Union, new cell A against recorded partition layer L* (``U`` = the cells of L nearly inside
   A): in an untouched bucket, ``A``'s part is exactly the disjoint union of the parts of the cells
   of ``U``, and those are exactly the cells of L whose smallest key in that bucket lies in ``A``
   (a key of ``A`` there is in ``U``; L is a partition). Looking up the recorded minima in ``A``
   gives that set, and its counts and key sums must add up to ``A``'s. A degenerate ``A`` has at
   most :data:`SMALL` - k units (else every recorded output is compared), so every cell of ``U``
   is small and the small-cell keys give ``d`` exactly.
3. *Union, recorded cell B against new partition layer M*: in an untouched bucket the cell of M
   holding ``B``'s smallest key starts at that key and the one holding ``B``'s largest key ends
   at it, and both lie inside ``B`` (counts; the first cell's smallest keys below ``B``'s
   :data:`BOTTOM`-th smallest key are among ``B``'s smallest keys, the same for the largest).
   This test is weak when a new output nearly repeats a
   recorded one (the same cells for a slightly different population): it then passes and the
   output is compared exactly. Degenerate ``B``: exact from the small-cell keys.

Identical cells (republished populations) pass every test; they are risky only when one is
published and the other suppressed, which the sketch's flags decide.

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
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from kit.release.set_compare import OutputCells

__all__ = ["BOTTOM", "SMALL", "NewSide", "OutputSketch", "may_fire"]

#: Cells of at most this many units keep their keys in the sketch.
SMALL = 64
#: Smallest keys kept per cell and bucket.
BOTTOM = 4
_PAD = np.uint64(2**64 - 1)
_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _hash(bucket: np.ndarray, count: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray((total * _H1) ^ (count.astype(np.uint64) * _H2) ^ bucket.astype(np.uint64))


@dataclass(frozen=True)
class OutputSketch:
    """Per-cell bucket sketches of one output and the keys of its small cells (private)."""

    m: int
    count: np.ndarray  # (n_cells, m) int64
    total: np.ndarray  # (n_cells, m) uint64, key sums mod 2**64
    low: np.ndarray  # (n_cells, m) uint64, smallest key (0 when empty)
    high: np.ndarray  # (n_cells, m) uint64, largest key (0 when empty)
    bottom: np.ndarray  # (n_cells, m, BOTTOM) uint64, smallest keys, padded with 2**64-1
    top: np.ndarray  # (n_cells, m, BOTTOM) uint64, largest keys, padded with 0
    layer: np.ndarray
    partition: np.ndarray
    published: np.ndarray
    attribute: np.ndarray
    small_keys: np.ndarray  # sorted
    small_cells: np.ndarray

    def __repr__(self) -> str:
        return f"<OutputSketch: {len(self.layer)} cells, {self.m} buckets; units hidden>"

    @property
    def sizes(self) -> np.ndarray:
        """Units per cell."""
        return np.asarray(self.count.sum(axis=1))

    @property
    def degenerate(self) -> np.ndarray:
        """Cells with an empty bucket (empty cells included)."""
        return np.asarray((self.count == 0).any(axis=1))

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
        bottom = np.full((n * m, BOTTOM), _PAD, dtype=np.uint64)
        top = np.zeros((n * m, BOTTOM), dtype=np.uint64)
        if len(g):
            for r in range(BOTTOM):
                has = start + r <= end
                bottom[g[start[has]], r] = ks[start[has] + r]
                top[g[start[has]], r] = ks[end[has] - r]
        count2 = count.reshape(n, m)
        small = (count2.sum(axis=1) <= SMALL) | (count2 == 0).any(axis=1)
        sel = small[cells.cells] if len(keys) else np.zeros(0, dtype=bool)
        return cls(m, count2, total.reshape(n, m), low.reshape(n, m), high.reshape(n, m),
                   bottom.reshape(n, m, BOTTOM), top.reshape(n, m, BOTTOM), cells.layer.astype(np.int64),
                   cells.partition.astype(bool), cells.published.astype(bool),
                   cells.attribute.astype(bool), keys[sel], cells.cells[sel].astype(np.int64))

    def to_bytes(self) -> bytes:
        """Uncompressed ``.npz`` bytes (read on every check: no inflating)."""
        buf = io.BytesIO()
        np.savez(buf, m=np.int64(self.m), count=self.count.astype(np.int32), total=self.total, low=self.low,
                 high=self.high, bottom=self.bottom, top=self.top, layer=self.layer.astype(np.int32),
                 partition=self.partition,
                 published=self.published, attribute=self.attribute, small_keys=self.small_keys,
                 small_cells=self.small_cells.astype(np.int32))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> OutputSketch:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(data)) as z:
            return cls(int(z["m"]), z["count"].astype(np.int64), z["total"], z["low"], z["high"], z["bottom"], z["top"],
                       z["layer"].astype(np.int64), z["partition"], z["published"], z["attribute"],
                       z["small_keys"], z["small_cells"].astype(np.int64))


def _identical_ok(ca: np.ndarray, cb: np.ndarray, sa: OutputSketch, sb: OutputSketch) -> np.ndarray:
    """For matched cell pairs: the sets are identical (every bucket) and both published or both not
    (then neither rule can fire through this pair)."""
    same = np.all((sa.count[ca] == sb.count[cb]) & (sa.total[ca] == sb.total[cb]), axis=1)
    return np.asarray(same & (sa.published[ca] == sb.published[cb]))


class NewSide:
    """A new output prepared once for many recorded sketches (sorted hashes, extreme keys per layer)."""

    def __init__(self, a: OutputCells, m: int) -> None:
        self.a = a
        self.sk = sk = OutputSketch.of(a, m)
        h = _hash(np.arange(m)[None, :], sk.count, sk.total).ravel()
        self.valid = np.flatnonzero((sk.count > 0).ravel())
        self.order = np.argsort(h[self.valid])
        self.sorted_h = h[self.valid][self.order]
        self.layers: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for layer in np.flatnonzero(sk.partition):
            cells_m = np.flatnonzero(sk.layer == layer)
            for beta in range(m):
                cm = cells_m[sk.count[cells_m, beta] > 0]
                if len(cm) == 0:
                    continue
                lo_sorted = np.argsort(sk.low[cm, beta])
                hi_sorted = np.argsort(sk.high[cm, beta])
                self.layers.append((np.array([beta]), cm[lo_sorted], sk.low[cm, beta][lo_sorted],
                                    cm[hi_sorted], sk.high[cm, beta][hi_sorted]))

    def __repr__(self) -> str:
        return f"<NewSide {self.a.name!r}; units hidden>"


def _pairwise(new: NewSide, sb: OutputSketch) -> bool:
    """Rule 1 on non-degenerate pairs: some bucket with equal count and key sum."""
    sa, m, sorted_a = new.sk, new.sk.m, new.sorted_h
    if len(sorted_a) == 0:
        return False
    hb = _hash(np.arange(m)[None, :], sb.count, sb.total).ravel()
    ib = np.flatnonzero((sb.count > 0).ravel())
    pos = np.searchsorted(sorted_a, hb[ib])
    pos_c = np.minimum(pos, len(sorted_a) - 1)
    hit = (pos < len(sorted_a)) & (sorted_a[pos_c] == hb[ib])
    if not hit.any():
        return False
    # every a-cell with that hash (duplicates: the same population in several layers)
    lo = np.searchsorted(sorted_a, hb[ib][hit], "left")
    hi = np.searchsorted(sorted_a, hb[ib][hit], "right")
    q, idx = _expand(lo, hi)
    cb = ib[hit][q] // m
    ca = new.valid[new.order][idx] // m
    both_attr = sa.attribute[ca] & sb.attribute[cb]
    fine = both_attr | _identical_ok(ca, cb, sa, sb)
    return bool((~fine).any())


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query index, position) for every position in ``[lo[q], hi[q])``."""
    reps = hi - lo
    q = np.repeat(np.arange(len(lo)), reps)
    start = np.repeat(lo - np.r_[0, np.cumsum(reps)[:-1]], reps)
    return q, start + np.arange(int(reps.sum()))


def _forward_union(a: OutputCells, sa: OutputSketch, sb: OutputSketch) -> bool:
    """Rule 2, new non-degenerate cell A against the union of recorded partition-layer cells."""
    m = sa.m
    part = sb.partition[sb.layer] if len(sb.layer) else np.zeros(0, bool)
    cb, beta = np.nonzero((sb.count > 0) & part[:, None])
    if len(cb) == 0 or len(a.keys) == 0:
        return False
    by_key = np.argsort(sb.low[cb, beta])  # sorted queries: searchsorted walks the keys once
    cb, beta = cb[by_key], beta[by_key]
    mins = sb.low[cb, beta]
    lo = np.searchsorted(a.keys, mins, "left")
    hi = np.searchsorted(a.keys, mins, "right")
    q, pos = _expand(lo, hi)
    if len(q) == 0:
        return False
    ca = a.cells[pos].astype(np.int64)
    cbq, bq = cb[q], beta[q]
    keep = ~sa.degenerate[ca]
    ca, cbq, bq = ca[keep], cbq[keep], bq[keep]
    if len(ca) == 0:
        return False
    n_layers = int(sb.layer.max()) + 1
    group = (ca * n_layers + sb.layer[cbq]) * m + bq
    order = np.argsort(group, kind="stable")
    g = group[order]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    cnt = np.add.reduceat(sb.count[cbq, bq][order], start)
    tot = np.add.reduceat(sb.total[cbq, bq][order], start)
    n_members = np.diff(np.r_[start, len(g)])
    gs = g[start]
    cell_a, b_ = gs // (n_layers * m), gs % m
    match = (cnt == sa.count[cell_a, b_]) & (tot == sa.total[cell_a, b_])
    if not match.any():
        return False
    # a single recorded cell identical to A with the same flag cannot fire (see _identical_ok)
    single = match & (n_members == 1)
    if single.any():
        first = order[start[single]]
        ok = _identical_ok(cell_a[single], cbq[first], sa, sb)
        match[np.flatnonzero(single)[ok]] = False
    return bool(match.any())


def _reverse_union(new: NewSide, sb: OutputSketch) -> bool:
    """Rule 2, recorded non-degenerate cell B against the union of new partition-layer cells."""
    sa = new.sk
    rec_ok = ~sb.degenerate
    for beta_arr, lo_cells, lows, hi_cells, highs in new.layers:
        beta = int(beta_arr[0])
        rb = np.flatnonzero(rec_ok & (sb.count[:, beta] > 0))
        if len(rb) == 0:
            continue
        pl = np.minimum(np.searchsorted(lows, sb.low[rb, beta]), len(lows) - 1)
        ph = np.minimum(np.searchsorted(highs, sb.high[rb, beta]), len(highs) - 1)
        found = (lows[pl] == sb.low[rb, beta]) & (highs[ph] == sb.high[rb, beta])
        rb, p, q = rb[found], lo_cells[pl[found]], hi_cells[ph[found]]
        if len(rb) == 0:
            continue
        cb_ = sb.count[rb, beta]
        cp, cq = sa.count[p, beta], sa.count[q, beta]
        fits = np.where(p == q, cp <= cb_, cp + cq <= cb_) & (sa.high[p, beta] <= sb.high[rb, beta])
        same = (p == q) & (cp == cb_)
        fits &= ~same | (sa.total[p, beta] == sb.total[rb, beta])
        fits &= ~(same & _identical_ok(p, rb, sa, sb))
        fits &= ~(sb.attribute[rb] & sa.attribute[p])
        rb, p, q = rb[fits], p[fits], q[fits]  # the rest on the survivors only
        if len(rb) == 0:
            continue
        fits = np.ones(len(rb), dtype=bool)
        # A_p and A_q inside B: their smallest keys below B's BOTTOM-th smallest key are among B's
        # smallest keys, their largest keys above B's BOTTOM-th largest among B's largest
        bb, bt = sb.bottom[rb, beta], sb.top[rb, beta]
        for c in (p, q):
            ab, at = sa.bottom[c, beta], sa.top[c, beta]
            listed = (ab[:, :, None] == bb[:, None, :]).any(axis=2)
            fits &= np.all(listed | (ab > bb[:, -1:]) | (ab == _PAD), axis=1)
            listed = (at[:, :, None] == bt[:, None, :]).any(axis=2)
            fits &= np.all(listed | (at < bt[:, -1:]) | (at == 0), axis=1)
        if bool(fits.any()):
            return True
    return False


def _small(a: OutputCells, sa: OutputSketch, sb: OutputSketch, k: int) -> bool:
    """Every rule where a degenerate cell takes part, exactly, from the small cells' keys."""
    if len(sb.small_keys) == 0 or len(a.keys) == 0:
        return False
    lo = np.searchsorted(a.keys, sb.small_keys, "left")
    hi = np.searchsorted(a.keys, sb.small_keys, "right")
    q, pos = _expand(lo, hi)
    if len(q) == 0:
        return False
    ca = a.cells[pos].astype(np.int64)
    cb = sb.small_cells[q]
    n_b = len(sb.layer)
    pair = ca * n_b + cb
    uniq, n = np.unique(pair, return_counts=True)
    ca, cb = uniq // n_b, uniq % n_b
    size_a, size_b = sa.sizes, sb.sizes
    not_both_attr = ~(sa.attribute[ca] & sb.attribute[cb])
    ca, cb, n = ca[not_both_attr], cb[not_both_attr], n[not_both_attr]
    d = size_a[ca] + size_b[cb] - 2 * n
    pair_risky = (d <= k) & ~_identical_ok(ca, cb, sa, sb)
    if pair_risky.any():
        return True
    # forward: degenerate A against the recorded partition-layer cells nearly inside it (all small)
    deg_a, deg_b = sa.degenerate, sb.degenerate
    for cell_of, other, layer_of, part, size_u, size_x, deg in (
        (ca, cb, sb.layer, sb.partition, size_b, size_a, deg_a),
        (cb, ca, sa.layer, sa.partition, size_a, size_b, deg_b),
    ):
        inside = deg[cell_of] & part[layer_of[other]] & (size_u[other] - n <= k)
        if not inside.any():
            continue
        x, y, nn = cell_of[inside], other[inside], n[inside]
        n_layers = int(layer_of.max()) + 1
        grp = x * n_layers + layer_of[y]
        keys_, inv = np.unique(grp, return_inverse=True)
        union = np.bincount(inv, weights=size_u[y])
        inter = np.bincount(inv, weights=nn)
        dd = union + size_x[keys_ // n_layers] - 2 * inter
        if bool((dd <= k).any()):
            return True
    return False


def may_fire(a: OutputCells | NewSide, sb: OutputSketch, threshold: int) -> bool:
    """Whether comparing new output ``a`` with the recorded output sketched by ``sb`` can find a risky
    cell; ``False`` proves that :func:`~kit.release.set_compare.compare` finds none.

    The recorded output itself is not read. Pass a :class:`NewSide` (``NewSide(a, sb.m)``) to
    prepare the new output once for many recorded sketches.
    """
    k = threshold - 1
    if k < 0:
        return False
    if sb.m < k + 1:
        return True  # too few buckets for this threshold: compare exactly
    new = a if isinstance(a, NewSide) and a.sk.m == sb.m else NewSide(a.a if isinstance(a, NewSide) else a, sb.m)
    sa = new.sk
    if bool((sa.degenerate & (sa.sizes > SMALL - k)).any()):
        return True  # a large degenerate cell (vanishingly rare): its union may use large cells
    return (_pairwise(new, sb) or _small(new.a, sa, sb, k) or _forward_union(new.a, sa, sb)
            or _reverse_union(new, sb))
