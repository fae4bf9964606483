"""Deviation model shared by the protection methods (internal).

A *deviation* of the table is a change ``d`` of the atoms that keeps every
additive relation: each cell moves by the sum of its atoms' moves. Cell ``c``
can move only if it is suppressed (published cells are fixed), cannot go below
zero (``d_c ≥ −value_c`` when non-negative) and a forced cell never moves.
Primary ``p`` is protected upwards exactly when some deviation moves ``p`` by
at least ``upl_p`` (a *witness*): then ``value + d`` is a table an attacker
cannot rule out.

Columns: for every canonical cell ``c`` a pair ``(pos_c, neg_c) ≥ 0`` with
``d_c = pos_c − neg_c``; inner cells use their atom's pair, aggregates their own
pair tied to their atoms by one equality row. Atoms that are no cell (unpublished
parts of linked tables) get a free pair without cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kit.protect.problem import ProtectionProblem

__all__ = ["DeviationModel"]


@dataclass(frozen=True)
class DeviationModel:
    """Index maps and the equality rows of the deviation model."""

    n_cells: int
    cell_col: np.ndarray      # canonical cell -> index of its pos column (neg = pos + 1); -1 for non-canonical
    latent_cols: np.ndarray   # pos columns of latent atoms
    n_cols: int
    a: sp.csr_matrix          # equality rows (= 0)
    neg_ub: np.ndarray        # per column upper bound from the cells' bounds (pos columns: inf unless sign-bounded)

    @classmethod
    def build(cls, problem: ProtectionProblem) -> DeviationModel:
        s = problem.structure
        m = s.matrix
        canon = s.canonical
        n = s.n_cells
        n_at = s.n_atoms_per_cell
        is_canon = canon == np.arange(n)
        atom_col = np.full(s.n_atoms, -1, dtype=np.int64)
        cell_col = np.full(n, -1, dtype=np.int64)
        col = 0
        for c in np.flatnonzero(is_canon & (n_at == 1)):
            atom_col[m.indices[m.indptr[c]]] = col
            cell_col[c] = col
            col += 2
        latent = np.flatnonzero(atom_col < 0)
        atom_col[latent] = col + 2 * np.arange(len(latent))
        latent_cols = atom_col[latent].copy()
        col += 2 * len(latent)
        aggs = np.flatnonzero(is_canon & (n_at > 1))
        rows, cols, vals = [], [], []
        for r, c in enumerate(aggs):
            cell_col[c] = col
            rows += [r, r]
            cols += [col, col + 1]
            vals += [1.0, -1.0]
            at = atom_col[m.indices[m.indptr[c]:m.indptr[c + 1]]]
            rows += [r] * (2 * len(at))
            cols += np.column_stack([at, at + 1]).ravel().tolist()
            vals += [-1.0, 1.0] * len(at)
            col += 2
        a = sp.csr_matrix((vals, (rows, cols)), shape=(len(aggs), col))
        neg_ub = np.full(col, np.inf)
        if problem.nonnegative:
            cc = np.flatnonzero(is_canon)
            neg_ub[cell_col[cc] + 1] = problem.values[cc]
        elif problem.sign_bounded:
            # every inner cell keeps its sign (the audit's bounds): a cell ≥ 0 moves down at most its
            # value, a negative one up at most its size; aggregates are bounded through their atoms
            cc = np.flatnonzero(is_canon & (n_at == 1))
            v = problem.values[cc]
            neg_ub[cell_col[cc[v >= 0]] + 1] = v[v >= 0]
            neg_ub[cell_col[cc[v < 0]]] = -v[v < 0]
        return cls(n, cell_col, latent_cols, col, a, neg_ub)

    def cell_deviation(self, x: np.ndarray) -> np.ndarray:
        """Deviation of every canonical cell (0 for non-canonical) from a solution."""
        out = np.zeros(self.n_cells)
        ok = self.cell_col >= 0
        out[ok] = x[self.cell_col[ok]] - x[self.cell_col[ok] + 1]
        return out
