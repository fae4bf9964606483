"""Differencing between two outputs, on the units their cells count (pure functions, no I/O).

An output is a list of cells, each a sorted array of (salted) keys, published or suppressed, of a
*kind*, in a *layer*: the cells of one margin pattern of a table (its inner cells, its row totals,
...), the numerators of a rate table, or one statistic of an estimate. A layer whose cells share no
key is a *partition*. Cells are compared only with cells of the same kind:

- :data:`UNITS` (kind 0): the keys are units (:func:`kit.core.populations.salted`); a cell's
  *distance* to another set is the number of keys in their symmetric difference;
- :data:`ELEMENTS` (kind 1): the keys are (unit, exact contribution) elements of a magnitude cell
  (a sum, mean, rate or weighted statistic; :func:`kit.core.populations.element_keys`). Two sets of
  elements are at distance ``d`` = the number of **units** with an element in their symmetric
  difference: a unit in one cell only adds one element, a unit whose contribution differs adds two
  (its old and its new element), and both count as one unit. Two magnitude cells at distance ``d``
  let their difference reveal the summed contributions of ``d`` units.

For two outputs ``a`` and ``b`` and the threshold ``t``, a cell pair or union of the same kind is
**risky** when

1. *pairwise*: ``A`` in ``a`` and ``B`` in ``b`` share a key and their distance ``d`` is
   ``1 <= d <= t-1`` with both published, or ``d <= t-1`` with one published and one suppressed
   (the published cell then reveals the suppressed one, exactly when ``d = 0``);
2. *union*: ``A`` is compared with ``U``, the union of the cells of one partition layer of ``b``
   that share a key with ``A`` and have fewer than ``t`` keys outside ``A`` (the cells an attacker
   would add up to rebuild ``A``): ``d`` is the distance of ``A`` and ``U``. With ``A`` published it
   is risky when ``d <= t-1`` and (``d >= 1``, or ``U`` holds a suppressed cell and ``b`` does not
   itself publish a cell equal to ``A``); with ``A`` suppressed, when every cell of ``U`` is
   published and ``d <= t-1``;
3. the same with the roles of ``a`` and ``b`` exchanged.

Cells without keys never take part (an empty cell discloses nothing by difference). Two
*attribute* cells (the numerators of rates: the units with the attribute) are not compared with
each other; an attribute cell is compared with every other unit cell (a count of employed persons
against a rate's numerator). Two rates over the same persons whose attributes differ for one person
are caught by their element cells (the person's contribution, 0 or 1, differs).

Cost: one sorted join of the two outputs' keys and a sparse product (cells sharing keys). Element
cells are first screened on key counts with the bound ``2 (t-1)`` (``d`` units differ in at most
``2 d`` elements), then the few candidates are settled exactly on their keys.

Limits: the rule compares two outputs at a time, pairwise and through unions of one partition layer
(not through sums and differences of several layers or outputs); element cells compare exact
contributions, so a transformation that changes *every* unit's contribution (``x + 1``,
``2 x``, ``log x``) is not seen as "the same contribution" (see docs/security.md).

Examples
--------
>>> import numpy as np
>>> from kit.core.populations import CellPopulations, element_unit
>>> k = np.arange(10, dtype=np.uint64)
>>> a = OutputCells.build("a", "r1", CellPopulations.from_lists([k]), [True], [0])
>>> b = OutputCells.build("b", "r1", CellPopulations.from_lists([k[1:]]), [True], [0])
>>> compare(a, b, threshold=3).n_risky  # one cell on each side
2
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from kit.core.populations import CellPopulations, element_unit

if TYPE_CHECKING:
    from kit.release.cellnames import CellCodes

__all__ = ["ELEMENTS", "UNITS", "Comparison", "Link", "LinkKind", "OutputCells", "compare", "key_bound", "risky_links"]

#: Kind of a cell whose keys are units.
UNITS = 0
#: Kind of a cell whose keys are (unit, contribution) elements of a magnitude statistic.
ELEMENTS = 1


def key_bound(threshold: int, kinds: np.ndarray | None) -> int:
    """The largest key difference ``|A Δ B|`` at which cells of these kinds can be risky.

    ``threshold - 1`` for unit cells; ``2 (threshold - 1)`` when element cells take part (a unit
    whose contribution changed differs by two elements). A prefilter that rules out pairs from key
    counts (:mod:`kit.release.prefilter`) must use this bound.

    >>> key_bound(3, np.array([0, 0])), key_bound(3, np.array([0, 1]))
    (2, 4)
    """
    k = threshold - 1
    return 2 * k if kinds is not None and bool(np.any(np.asarray(kinds) == ELEMENTS)) else k


@dataclass(frozen=True)
class OutputCells:
    """The cells of one output as the registry keeps them (private; on the server only).

    Stored by unit key, not by cell: ``keys`` is sorted (a unit in several cells repeats) and
    ``cells[k]`` is the cell of ``keys[k]``, so two outputs are joined by a sequential search.
    """

    name: str
    release: str
    keys: np.ndarray
    cells: np.ndarray
    published: np.ndarray
    layer: np.ndarray
    partition: np.ndarray
    attribute: np.ndarray
    kind: np.ndarray | None = None  # per cell: UNITS or ELEMENTS (None: all UNITS)
    #: The public codes of the cells, for naming findings (:mod:`kit.release.cellnames`); ``None``: unknown.
    codes: CellCodes | None = None

    def __repr__(self) -> str:
        return f"<OutputCells {self.name!r}: {self.n_cells} cells; units hidden>"

    @property
    def kinds(self) -> np.ndarray:
        """The kind of every cell (:data:`UNITS` or :data:`ELEMENTS`)."""
        if self.kind is None:
            return np.zeros(self.n_cells, dtype=np.int8)
        return np.asarray(self.kind, dtype=np.int8)

    @cached_property
    def _by_cell(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.cells, kind="stable")  # keys stay sorted inside each cell
        offsets = np.concatenate([[0], np.cumsum(np.bincount(self.cells, minlength=self.n_cells))])
        return self.keys[order], offsets.astype(np.int64)

    def cell_keys(self, i: int) -> np.ndarray:
        """The sorted keys of cell ``i`` (an index built on first use: for the few candidates only)."""
        keys, offsets = self._by_cell
        return keys[offsets[i] : offsets[i + 1]]

    @property
    def n_cells(self) -> int:
        """Number of cells (published and suppressed)."""
        return len(self.published)

    def sizes(self) -> np.ndarray:
        """Distinct units per cell."""
        return np.bincount(self.cells, minlength=self.n_cells).astype(np.int64)

    @classmethod
    def build(
        cls, name: str, release: str, pops: CellPopulations, published: Sequence[bool], layer: Sequence[int],
        attribute: Sequence[bool] | None = None, kind: Sequence[int] | None = None,
    ) -> OutputCells:
        """From populations, a published flag, a layer number, an attribute flag and a kind per cell.

        A layer must hold cells of one kind."""
        lay = np.asarray(layer, dtype=np.int64)
        pub = np.asarray(published, dtype=bool)
        cell_of = np.repeat(np.arange(pops.n_cells, dtype=np.int32), pops.sizes())
        order = np.argsort(pops.values, kind="stable")
        keys, cells = pops.values[order], cell_of[order]
        n_layers = int(lay.max()) + 1 if len(lay) else 0
        partition = np.ones(n_layers, dtype=bool)
        cell_layer = lay[cells] if len(cells) else np.empty(0, dtype=np.int64)
        for L in range(n_layers):
            k = keys[cell_layer == L]
            partition[L] = not bool(np.any(k[1:] == k[:-1]))
        attr = np.zeros(len(pub), dtype=bool) if attribute is None else np.asarray(attribute, dtype=bool)
        kinds = None if kind is None else np.asarray(kind, dtype=np.int8)
        return cls(name, release, keys, cells, pub, lay, partition, attr, kinds)


@dataclass(frozen=True)
class Comparison:
    """What comparing two outputs found (counts only)."""

    n_common: int
    n_risky: int
    smallest: int
    #: The risky cells of ``a`` and of ``b`` by index (for naming them: :func:`risky_links`).
    risky_a: tuple[int, ...] = ()
    risky_b: tuple[int, ...] = ()


def _intersections(a: OutputCells, b: OutputCells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, |A_i ∩ B_j|) for every pair of cells that share a unit."""
    empty = np.empty(0, dtype=np.int64)
    if len(a.keys) == 0 or len(b.keys) == 0:
        return empty, empty, empty
    start = np.empty(len(a.keys), dtype=bool)
    start[0] = True
    np.not_equal(a.keys[1:], a.keys[:-1], out=start[1:])
    ua = a.keys[start]
    ia = np.cumsum(start) - 1
    pos = np.minimum(np.searchsorted(ua, b.keys), len(ua) - 1)  # both sorted: a sequential search
    found = ua[pos] == b.keys
    if not found.any():
        return empty, empty, empty
    ma = sp.csr_matrix((np.ones(len(ia), dtype=np.int64), (a.cells, ia)), shape=(a.n_cells, len(ua)))
    mb = sp.csr_matrix(
        (np.ones(int(found.sum()), dtype=np.int64), (b.cells[found], pos[found])), shape=(b.n_cells, len(ua))
    )
    prod = (ma @ mb.T).tocoo()
    return prod.row.astype(np.int64), prod.col.astype(np.int64), prod.data.astype(np.int64)


def _unique_inverse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(x, return_inverse=True)`` through one sort (none when ``x`` is already sorted)."""
    ordered = bool(np.all(x[1:] >= x[:-1]))
    order = None if ordered else np.argsort(x, kind="stable")
    s = x if order is None else x[order]
    start = np.empty(len(s), dtype=bool)
    start[:1] = True
    np.not_equal(s[1:], s[:-1], out=start[1:])
    rank = np.cumsum(start) - 1
    if order is None:
        return s[start], rank
    inv = np.empty(len(s), dtype=np.int64)
    inv[order] = rank
    return s[start], inv


def _units_apart(x: np.ndarray, y: np.ndarray) -> int:
    """Units with an element in the symmetric difference of two sorted element-key arrays."""
    sym = np.setxor1d(x, y, assume_unique=True)
    return len(np.unique(element_unit(sym)))


def _union_risk(
    a: OutputCells, b: OutputCells, i: np.ndarray, j: np.ndarray, n: np.ndarray, exact_pub: np.ndarray,
    threshold: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells of ``a`` risky against the union of the cells of one partition layer of ``b`` that lie
    (nearly) inside them, and their distances."""
    empty = np.empty(0, dtype=np.int64)
    if len(i) == 0:
        return empty, empty
    sa, pa, sb, pb = a.sizes(), a.published, b.sizes(), b.published
    layer_b, partition_b = b.layer, b.partition
    elem_a = a.kinds == ELEMENTS
    k = threshold - 1
    n_layers = len(partition_b)
    # cells of one partition layer of b nearly inside A: fewer than t of their keys outside A (an
    # element cell has one key per unit, so: fewer than t of its units not matched in A)
    keep = partition_b[layer_b[j]] & (sb[j] - n <= k)
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return empty, empty
    group = i * n_layers + layer_b[j]
    keys, inv = _unique_inverse(group)
    union = np.bincount(inv, weights=sb[j]).astype(np.int64)
    inter = np.bincount(inv, weights=n).astype(np.int64)
    n_supp = np.bincount(inv, weights=(~pb[j]).astype(np.int64)).astype(np.int64)
    cell = keys // n_layers
    d = union + sa[cell] - 2 * inter
    # element cells: screened on keys (2 (t-1)), then settled on units
    for g in np.flatnonzero(elem_a[cell] & (d >= 1) & (d <= 2 * k)):
        members = j[inv == g]
        u = np.concatenate([b.cell_keys(int(m)) for m in members])
        d[g] = _units_apart(a.cell_keys(int(cell[g])), np.sort(u))
    near = d <= k
    risky_pub = pa[cell] & near & ((d >= 1) | ((n_supp > 0) & ~exact_pub[cell]))
    risky_supp = ~pa[cell] & near & (n_supp == 0)
    hit = risky_pub | risky_supp
    return cell[hit], d[hit]


def compare(a: OutputCells, b: OutputCells, threshold: int) -> Comparison:
    """Compare two outputs (see the module docstring for the rule)."""
    i, j, n = _intersections(a, b)
    sa, sb = a.sizes(), b.sizes()
    pa, pb = a.published, b.published
    keep = a.kinds[i] == b.kinds[j]  # units with units, elements with elements
    # two attribute cells (numerators of rates) are differenced through their denominators and
    # through the rates' element cells (a person whose attribute differs is a changed contribution)
    keep &= ~(a.attribute[i] & b.attribute[j])
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return Comparison(0, 0, 0)
    k = threshold - 1
    elem = a.kinds[i] == ELEMENTS
    d = sa[i] + sb[j] - 2 * n
    both = pa[i] & pb[j]
    one = pa[i] ^ pb[j]
    # element pairs: screened on keys (a unit differs by at most 2 elements), then counted in units
    for p in np.flatnonzero(elem & (d >= 1) & (d <= 2 * k) & (both | one)):
        d[p] = _units_apart(a.cell_keys(int(i[p])), b.cell_keys(int(j[p])))
    pair_hit = (both & (d >= 1) & (d <= k)) | (one & (d <= k))
    equal = (d == 0) & both
    exact_a = np.zeros(a.n_cells, dtype=bool)
    exact_a[i[equal]] = True
    exact_b = np.zeros(b.n_cells, dtype=bool)
    exact_b[j[equal]] = True
    cells_a, d_a = _union_risk(a, b, i, j, n, exact_a, threshold)
    cells_b, d_b = _union_risk(b, a, j, i, n, exact_b, threshold)
    risky_a = set(i[pair_hit].tolist()) | set(cells_a.tolist())
    risky_b = set(j[pair_hit].tolist()) | set(cells_b.tolist())
    diffs = np.concatenate([d[pair_hit], d_a, d_b])
    positive = diffs[diffs > 0]
    smallest = int(positive.min()) if len(positive) else 0
    return Comparison(len(i), len(risky_a) + len(risky_b), smallest, tuple(sorted(risky_a)), tuple(sorted(risky_b)))


class LinkKind(enum.Enum):
    """How a :class:`Link` pairs a risky cell with the cells it can be differenced against."""

    PAIR = "pair"  # a cell of a and a cell of b
    A_VS_UNION = "a vs union"  # a risky cell of a and the cells of one layer of b that add up to (nearly) it
    UNION_VS_B = "union vs b"  # the cells of one layer of a that add up to (nearly) a risky cell of b


@dataclass(frozen=True)
class Link:
    """A risky cell of :func:`compare` with the cells of the other output it can be differenced against
    (cells by index)."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    kind: LinkKind = LinkKind.PAIR


def _partners(x: int, own: np.ndarray, other: np.ndarray, n: np.ndarray, s_own: np.ndarray,
              s_other: np.ndarray, layer_other: np.ndarray, threshold: int) -> tuple[tuple[int, ...], bool]:
    """The cells of the other output a risky cell ``x`` is differenced against: the cells within
    ``t-1`` units of it (a pair each), else the cells of one layer that lie (nearly) inside it and
    add up closest to it (a union), else the cell sharing most units with it."""
    sel = own == x
    js, ns = other[sel], n[sel]
    if len(js) == 0:
        return (), False
    d = s_own[x] + s_other[js] - 2 * ns
    close = js[d <= threshold - 1]
    if len(close):
        return tuple(sorted(int(v) for v in close)), False
    inside = s_other[js] - ns <= threshold - 1
    best: tuple[int, tuple[int, ...]] | None = None
    for layer in np.unique(layer_other[js[inside]]):
        members = inside & (layer_other[js] == layer)
        dist = int(s_other[js[members]].sum() + s_own[x] - 2 * ns[members].sum())
        if best is None or dist < best[0]:
            best = (dist, tuple(sorted(int(v) for v in js[members])))
    if best is not None:
        return best[1], len(best[1]) > 1
    return (int(js[np.argmax(ns)]),), False


def risky_links(a: OutputCells, b: OutputCells, threshold: int, found: Comparison | None = None,
                limit: int = 100) -> tuple[Link, ...]:
    """The risky cells of :func:`compare` (``found``), each linked with the cells of the other output it
    can be differenced against (at most ``limit`` links).

    Every risky cell of ``found`` is in a link; which cells it is linked with is for the reader (the
    rule that found it is :func:`compare`'s): the cells within ``t-1`` units of it, else the cells of
    one layer of the other output that add up (nearly) to it. No count or unit is returned.

    >>> import numpy as np
    >>> from kit.core.populations import CellPopulations
    >>> k = np.arange(10, dtype=np.uint64)
    >>> a = OutputCells.build("a", "r1", CellPopulations.from_lists([k[:5], k[5:]]), [True, True], [0, 0])
    >>> b = OutputCells.build("b", "r1", CellPopulations.from_lists([k[:5], k[6:]]), [True, True], [0, 0])
    >>> risky_links(a, b, threshold=3)
    (Link(a=(1,), b=(1,), kind=<LinkKind.PAIR: 'pair'>),)
    """
    found = compare(a, b, threshold) if found is None else found
    if not found.n_risky:
        return ()
    i, j, n = _intersections(a, b)
    sa, sb = a.sizes(), b.sizes()
    links: list[Link] = []
    covered_b: set[int] = set()
    for x in found.risky_a:
        partners, union = _partners(x, i, j, n, sa, sb, b.layer, threshold)
        if not union:
            links.extend(Link((x,), (y,)) for y in partners)
            covered_b.update(y for y in partners if y in found.risky_b)
        else:
            links.append(Link((x,), partners, LinkKind.A_VS_UNION))
        if not partners:
            links.append(Link((x,), ()))
    for y in found.risky_b:
        if y in covered_b:
            continue
        partners, union = _partners(y, j, i, n, sb, sa, a.layer, threshold)
        if union:
            links.append(Link(partners, (y,), LinkKind.UNION_VS_B))
        else:
            links.extend(Link((x,), (y,)) for x in partners if Link((x,), (y,)) not in links)
        if not partners:
            links.append(Link((), (y,)))
    return tuple(links[:limit])
