"""Cheapest *cube* witnesses of inner cells (internal, for large tables).

In a table of ``n`` dimensions with every margin published, the smallest deviations
that move an inner cell ``(c_1, ..., c_n)`` are *cubes*: pick in each dimension
one sibling code ``c'_d`` (a code with the same parent, so that every sub-total
and total stays unchanged) and move each of the ``2^n`` corners by
``±level``, the sign alternating with the number of dimensions in which the corner
differs from the cell. A rectangle in 2-D, a 2×2×2 cube in 3-D. A corner that moves
down must hold at least the level (cells are non-negative); forced cells and the
singletons a witness must avoid are excluded.

The local boxes of :mod:`kit.protect.local` hold the cells that share at least one
code with the primary, so the corner that differs in every dimension is never in
the box: on a 3-D table each box witness then needs a margin instead (issue 24: on
L3d_38896 1,155 margins held 19 % of the table's total). :class:`Cubes` finds the
cheapest cube by enumerating every choice of sibling codes at once (numpy), which
is cheap (a few thousand choices per cell) and gives witnesses of inner cells only.

Examples
--------
>>> import numpy as np
>>> from kit.protect.structure import Dimension, TableStructure
>>> s = TableStructure.from_dimensions([Dimension("r", ("a", "b", "c")), Dimension("k", ("x", "y"))])
>>> cubes = Cubes(s)
>>> cell = s.index(("a", "x"))
>>> values = np.ones(s.n_cells) * 10
>>> cost = np.ones(s.n_cells); cost[s.index(("c", "y"))] = 0.0
>>> moved = cubes.cheapest(cell, 1, 2.0, cost, values)
>>> sorted(s.keys[i] for i in moved)
[('a', 'x'), ('a', 'y'), ('c', 'x'), ('c', 'y')]
"""

from __future__ import annotations

import itertools

import numpy as np

from kit.protect.improve import _dim_codes
from kit.protect.structure import TableStructure

__all__ = ["Cubes"]


class Cubes:
    """Cube witnesses of the inner cells of a cross-classified table (see the module docs)."""

    def __init__(self, structure: TableStructure) -> None:
        self.structure = structure
        nd = len(structure.dims)
        self.nd = nd
        leafsets = _dim_codes(structure)
        self.codes: list[list[str]] = []
        self.siblings: list[list[np.ndarray]] = []
        self.is_leaf: list[np.ndarray] = []
        pos: list[dict[str, int]] = []
        for d in range(nd):
            codes = list(leafsets[d])
            sets = [leafsets[d][c] for c in codes]
            parent = []
            for s in sets:
                supers = [(len(t), j) for j, t in enumerate(sets) if s < t]
                parent.append(min(supers)[1] if supers else -1)
            leaf = np.array([len(s) == 1 for s in sets])
            sib = []
            for i in range(len(codes)):
                if not leaf[i] or parent[i] < 0:
                    sib.append(np.empty(0, dtype=np.int64))
                    continue
                sib.append(np.array([j for j in range(len(codes)) if j != i and leaf[j] and parent[j] == parent[i]],
                                    dtype=np.int64))
            self.codes.append(codes)
            self.siblings.append(sib)
            self.is_leaf.append(leaf)
            pos.append({c: i for i, c in enumerate(codes)})
        shape = tuple(len(c) for c in self.codes)
        self.cell_at = np.full(shape, -1, dtype=np.int64)
        canon = structure.canonical
        self.code_idx = np.zeros((structure.n_cells, nd), dtype=np.int64)
        for i, key in enumerate(structure.keys):
            idx = tuple(pos[d][key[d]] for d in range(nd))
            self.code_idx[i] = idx
            self.cell_at[idx] = canon[i]
        self.subsets = [t for r in range(1, nd + 1) for t in itertools.combinations(range(nd), r)]

    def cheapest(self, cell: int, direction: int, level: float, cost: np.ndarray, values: np.ndarray
                 ) -> np.ndarray | None:
        """Cells of the cheapest cube moving ``cell`` by ``level`` in ``direction`` (``None`` if none).

        Parameters
        ----------
        cell
            A canonical inner cell.
        direction
            +1 (up) or -1 (down).
        level
            The move.
        cost
            Cost of moving each canonical cell (0 for a suppressed one, ``inf`` for one that may
            not move: forced, published in a fixed pattern, or a singleton to avoid).
        values
            Cell values (a corner that moves down must hold the level; the table is non-negative).
        """
        own = self.code_idx[cell]
        sib = [self.siblings[d][own[d]] for d in range(self.nd)]
        if any(not len(s) for s in sib):
            return None
        if direction < 0 and values[cell] < level:
            return None
        total = np.zeros(tuple(len(s) for s in sib))
        corner_idx: dict[tuple[int, ...], np.ndarray] = {}
        for t in self.subsets:
            index = [np.array([own[d]]) if d not in t else sib[d] for d in range(self.nd)]
            cells = self.cell_at[np.ix_(*index)]  # shape: 1 along dims outside t
            if (cells < 0).any():
                return None
            c = cost[cells].astype(float)
            down = direction * (-1) ** len(t) < 0
            if down:
                c = np.where(values[cells] >= level, c, np.inf)
            total = total + c
            corner_idx[t] = cells
        best = int(np.argmin(total))
        if not np.isfinite(total.flat[best]):
            return None
        choice = np.unravel_index(best, total.shape)
        moved = [cell]
        for cells in corner_idx.values():
            at = tuple(0 if cells.shape[d] == 1 else choice[d] for d in range(self.nd))
            moved.append(int(cells[at]))
        return np.unique(np.array(moved, dtype=np.int64))
