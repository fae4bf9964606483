"""Differencing between two outputs, on the units their cells count (pure functions, no I/O).

An output is a list of cells, each a sorted array of (salted) unit keys, published or suppressed,
in a *layer*: the cells of one margin pattern of a table (its inner cells, its row totals, ...),
the numerators of a rate table, or one statistic of an estimate. A layer whose cells share no
unit is a *partition*.

For two outputs ``a`` and ``b`` and the threshold ``t``, a cell pair or union is **risky** when

1. *pairwise*: ``A`` in ``a`` and ``B`` in ``b`` share a unit and ``d = |A Δ B|`` is
   ``1 <= d <= t-1`` with both published, or ``d <= t-1`` with one published and one suppressed
   (the published cell then reveals the suppressed one, exactly when ``d = 0``);
2. *union*: ``A`` is compared with ``U``, the union of the cells of one partition layer of ``b``
   that share a unit with ``A`` and have fewer than ``t`` units outside ``A`` (the cells an attacker
   would add up to rebuild ``A``): ``d = |A Δ U| = |U| + |A| - 2 |A ∩ U|``. With ``A`` published it is
   risky when ``d <= t-1`` and (``d >= 1``, or ``U`` holds a suppressed cell and ``b`` does not
   itself publish a cell equal to ``A``); with ``A`` suppressed, when every cell of ``U`` is
   published and ``d <= t-1``;
3. the same with the roles of ``a`` and ``b`` exchanged.

Cells without units never take part (an empty cell discloses nothing by difference). Two
*attribute* cells (the numerators of rates: the units with the attribute) are not compared with
each other: what their difference discloses is governed by their denominators, which are compared;
an attribute cell is compared with every other cell (a count of employed persons against a rate's
numerator).

Examples
--------
>>> import numpy as np
>>> from kit.core.populations import CellPopulations
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
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from kit.core.populations import CellPopulations

if TYPE_CHECKING:
    from kit.release.cellnames import CellCodes

__all__ = ["Comparison", "Link", "LinkKind", "OutputCells", "compare", "risky_links"]


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
    #: The public codes of the cells, for naming findings (:mod:`kit.release.cellnames`); ``None``: unknown.
    codes: CellCodes | None = None

    def __repr__(self) -> str:
        return f"<OutputCells {self.name!r}: {self.n_cells} cells; units hidden>"

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
        attribute: Sequence[bool] | None = None,
    ) -> OutputCells:
        """From populations, a published flag, a layer number and an attribute flag per cell."""
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
        return cls(name, release, keys, cells, pub, lay, partition, attr)


@dataclass(frozen=True)
class Comparison:
    """What comparing two outputs found (counts only)."""

    n_common: int
    n_risky: int
    smallest: int


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


def _union_risk(
    i: np.ndarray, j: np.ndarray, n: np.ndarray, sa: np.ndarray, pa: np.ndarray, sb: np.ndarray,
    pb: np.ndarray, layer_b: np.ndarray, partition_b: np.ndarray, exact_pub: np.ndarray, threshold: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cells of ``a`` risky against the union of the cells of one partition layer of ``b`` that lie
    (nearly) inside them, and their differences."""
    if len(i) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    n_layers = len(partition_b)
    # cells of one partition layer of b nearly inside A: fewer than t of their units outside A
    keep = partition_b[layer_b[j]] & (sb[j] - n <= threshold - 1)
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    group = i * n_layers + layer_b[j]
    keys, inv = _unique_inverse(group)
    union = np.bincount(inv, weights=sb[j]).astype(np.int64)
    inter = np.bincount(inv, weights=n).astype(np.int64)
    n_supp = np.bincount(inv, weights=(~pb[j]).astype(np.int64)).astype(np.int64)
    cell = keys // n_layers
    d = union + sa[cell] - 2 * inter
    near = d <= threshold - 1
    risky_pub = pa[cell] & near & ((d >= 1) | ((n_supp > 0) & ~exact_pub[cell]))
    risky_supp = ~pa[cell] & near & (n_supp == 0)
    hit = risky_pub | risky_supp
    return cell[hit], d[hit]


def compare(a: OutputCells, b: OutputCells, threshold: int) -> Comparison:
    """Compare two outputs (see the module docstring for the rule)."""
    i, j, n = _intersections(a, b)
    sa, sb = a.sizes(), b.sizes()
    pa, pb = a.published, b.published
    # two attribute cells (numerators of rates) are differenced through their denominators only
    keep = ~(a.attribute[i] & b.attribute[j])
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return Comparison(0, 0, 0)
    d = sa[i] + sb[j] - 2 * n
    both = pa[i] & pb[j]
    one = pa[i] ^ pb[j]
    pair_hit = (both & (d >= 1) & (d <= threshold - 1)) | (one & (d <= threshold - 1))
    equal = (d == 0) & both
    exact_a = np.zeros(a.n_cells, dtype=bool)
    exact_a[i[equal]] = True
    exact_b = np.zeros(b.n_cells, dtype=bool)
    exact_b[j[equal]] = True
    cells_a, d_a = _union_risk(i, j, n, sa, pa, sb, pb, b.layer, b.partition, exact_a, threshold)
    cells_b, d_b = _union_risk(j, i, n, sb, pb, sa, pa, a.layer, a.partition, exact_b, threshold)
    risky_a = set(i[pair_hit].tolist()) | set(cells_a.tolist())
    risky_b = set(j[pair_hit].tolist()) | set(cells_b.tolist())
    diffs = np.concatenate([d[pair_hit], d_a, d_b])
    positive = diffs[diffs > 0]
    smallest = int(positive.min()) if len(positive) else 0
    return Comparison(len(i), len(risky_a) + len(risky_b), smallest)


class LinkKind(enum.Enum):
    """Which rule of :func:`compare` a :class:`Link` comes from (and which side holds the risky cell)."""

    PAIR = "pair"  # one cell each; both are risky
    A_VS_UNION = "a vs union"  # the cell of a is risky against the union of cells of b
    UNION_VS_B = "union vs b"  # the cell of b is risky against the union of cells of a


@dataclass(frozen=True)
class Link:
    """One risky finding of :func:`risky_links`: cells of ``a`` and of ``b`` by index (one cell on
    each side, or one cell against the union of cells of one partition layer of the other)."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    kind: LinkKind = LinkKind.PAIR


def _union_links(
    i: np.ndarray, j: np.ndarray, n: np.ndarray, sa: np.ndarray, pa: np.ndarray, sb: np.ndarray,
    pb: np.ndarray, layer_b: np.ndarray, partition_b: np.ndarray, exact_pub: np.ndarray, threshold: int,
) -> list[tuple[int, tuple[int, ...]]]:
    """The cells of ``a`` that :func:`_union_risk` finds risky, each with the cells of ``b`` in its union."""
    n_layers = len(partition_b)
    if len(i) == 0 or n_layers == 0:
        return []
    keep = partition_b[layer_b[j]] & (sb[j] - n <= threshold - 1)
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return []
    group = i * n_layers + layer_b[j]
    keys, inv = _unique_inverse(group)
    union = np.bincount(inv, weights=sb[j]).astype(np.int64)
    inter = np.bincount(inv, weights=n).astype(np.int64)
    n_supp = np.bincount(inv, weights=(~pb[j]).astype(np.int64)).astype(np.int64)
    cell = keys // n_layers
    d = union + sa[cell] - 2 * inter
    near = d <= threshold - 1
    hit = (pa[cell] & near & ((d >= 1) | ((n_supp > 0) & ~exact_pub[cell]))) | (~pa[cell] & near & (n_supp == 0))
    out = []
    for g in np.flatnonzero(hit):
        members = tuple(sorted(int(x) for x in j[inv == g]))
        out.append((int(cell[g]), members))
    return out


def risky_links(a: OutputCells, b: OutputCells, threshold: int, limit: int = 100) -> tuple[Link, ...]:
    """The risky cells of :func:`compare` as links between cells of ``a`` and ``b`` (at most ``limit``).

    Used to name a blocking pair's cells in messages and reports (by
    :class:`kit.release.cellnames.CellCodes`); the distinct cells on each side of the links are
    the ``n_risky`` cells :func:`compare` counts. No count or unit is returned.

    >>> import numpy as np
    >>> from kit.core.populations import CellPopulations
    >>> k = np.arange(10, dtype=np.uint64)
    >>> a = OutputCells.build("a", "r1", CellPopulations.from_lists([k[:5], k[5:]]), [True, True], [0, 0])
    >>> b = OutputCells.build("b", "r1", CellPopulations.from_lists([k[:5], k[6:]]), [True, True], [0, 0])
    >>> risky_links(a, b, threshold=3)
    (Link(a=(1,), b=(1,), kind=<LinkKind.PAIR: 'pair'>),)
    """
    i, j, n = _intersections(a, b)
    keep = ~(a.attribute[i] & b.attribute[j])
    i, j, n = i[keep], j[keep], n[keep]
    if len(i) == 0:
        return ()
    sa, sb = a.sizes(), b.sizes()
    pa, pb = a.published, b.published
    d = sa[i] + sb[j] - 2 * n
    both = pa[i] & pb[j]
    one = pa[i] ^ pb[j]
    pair_hit = (both & (d >= 1) & (d <= threshold - 1)) | (one & (d <= threshold - 1))
    equal = (d == 0) & both
    exact_a = np.zeros(a.n_cells, dtype=bool)
    exact_a[i[equal]] = True
    exact_b = np.zeros(b.n_cells, dtype=bool)
    exact_b[j[equal]] = True
    links = [Link((int(x),), (int(y),)) for x, y in zip(i[pair_hit], j[pair_hit], strict=True)]
    links += [Link((c,), members, LinkKind.A_VS_UNION) for c, members in
              _union_links(i, j, n, sa, pa, sb, pb, b.layer, b.partition, exact_a, threshold)]
    links += [Link(members, (c,), LinkKind.UNION_VS_B) for c, members in
              _union_links(j, i, n, sb, pb, sa, pa, a.layer, a.partition, exact_b, threshold)]
    pairs = {(k.a, k.b) for k in links if k.kind is LinkKind.PAIR}
    links = [k for k in links if k.kind is LinkKind.PAIR or (k.a, k.b) not in pairs]  # a one-cell union: the pair
    return tuple(links[:limit])
