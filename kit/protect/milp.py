"""Optimal secondary suppression by one MILP (HiGHS via SciPy).

The model has a binary ``x_c`` per cell (1 = suppressed) and, for every primary
and direction, a copy of the deviation model (:mod:`kit.protect.model`) whose
cells may move only when suppressed: ``pos_c ≤ U·x_c``, ``neg_c ≤ min(v_c, U)·x_c``.
The copy must move the primary by its protection level. Minimising ``Σ w_c x_c``
gives a pattern of least cost in which every primary has a witness: interval
protection, as in Fischetti & Salazar (2001), written with one flow copy per
requirement instead of cut generation. ``U`` bounds how far one cell is moved
inside one witness (default: twice the largest cell value plus the level); a
tighter ``U`` can only make the model stricter, never unsafe, because the
pattern is audited afterwards.

Suitable for small tables (hundreds of cells, tens of primaries).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kit.errors import KitError
from kit.protect._highs import LinearModel
from kit.protect.model import DeviationModel
from kit.protect.requirements import UP, Prepared

__all__ = ["milp_size", "solve_milp"]


def milp_size(dm: DeviationModel, prep: Prepared) -> int:
    """Number of columns of the MILP (to choose a method by size)."""
    return int(prep.canon_mask.sum()) + len(prep.requirements) * dm.n_cols


def solve_milp(dm: DeviationModel, prep: Prepared, values: np.ndarray, time_limit: float | None,
               candidates: np.ndarray | None = None, mip_rel_gap: float = 1e-6) -> tuple[np.ndarray, bool]:
    """Suppressed mask (canonical cells) of a least-cost protected pattern.

    ``candidates`` limits the cells that may become secondary (others stay as
    they are in ``prep.must``). Returns the mask and whether optimality was proved.
    """
    cells = np.flatnonzero(prep.canon_mask)
    nx = len(cells)
    xi = np.full(dm.cell_col.shape[0], -1, dtype=np.int64)
    xi[cells] = np.arange(nx)
    reqs = prep.requirements
    nk = len(reqs)
    ncol = nx + nk * dm.n_cols
    big = 2.0 * float(np.abs(values).max(initial=1.0))
    # x bounds
    lo = np.zeros(ncol)
    hi = np.ones(ncol)
    hi[nx:] = np.inf
    lo[:nx][prep.must[cells]] = 1.0
    hi[:nx][prep.forced[cells]] = 0.0
    if candidates is not None:
        hi[:nx][~candidates[cells] & ~prep.must[cells]] = 0.0
    cost = np.zeros(ncol)
    cost[:nx] = prep.weight[cells]
    blocks = []
    rlo = []
    rhi = []
    pcols = dm.cell_col[cells]
    for k, req in enumerate(reqs):
        off = nx + k * dm.n_cols
        # equality rows of the deviation model
        a_eq = sp.hstack([sp.csr_matrix((dm.a.shape[0], nx)),
                          sp.csr_matrix((dm.a.shape[0], k * dm.n_cols)), dm.a,
                          sp.csr_matrix((dm.a.shape[0], (nk - k - 1) * dm.n_cols))], format="csr")
        blocks.append(a_eq)
        rlo.append(np.zeros(dm.a.shape[0]))
        rhi.append(np.zeros(dm.a.shape[0]))
        # linking rows: pos_c - U x_c <= 0 ; neg_c - min(v, U) x_c <= 0
        u = big + req.level
        cap_neg = np.minimum(np.where(np.isfinite(dm.neg_ub[pcols + 1]), dm.neg_ub[pcols + 1], u), u)
        r = np.arange(2 * nx)
        cols_dev = np.concatenate([off + pcols, off + pcols + 1])
        cols_x = np.concatenate([np.arange(nx), np.arange(nx)])
        data = np.concatenate([np.ones(2 * nx), -np.concatenate([np.full(nx, u), cap_neg])])
        link = sp.csr_matrix((data, (np.concatenate([r, r]), np.concatenate([cols_dev, cols_x]))),
                             shape=(2 * nx, ncol))
        blocks.append(link)
        rlo.append(np.full(2 * nx, -np.inf))
        rhi.append(np.zeros(2 * nx))
        # column bounds of this copy
        hi[off:off + dm.n_cols] = dm.neg_ub
        col = dm.cell_col[req.cell]
        pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
        lo[off + pos] = req.level
        hi[off + neg] = 0.0
        avoid = prep.avoid[req.cell]
        hi[off + dm.cell_col[avoid]] = 0.0
        hi[off + dm.cell_col[avoid] + 1] = 0.0
    a = sp.vstack(blocks, format="csr")
    integer = np.zeros(ncol, dtype=np.uint8)
    integer[:nx] = 1
    model = LinearModel(a, np.concatenate(rlo), np.concatenate(rhi), lo, hi, cost, integer=integer,
                        time_limit=time_limit, mip_rel_gap=mip_rel_gap)
    sol = model.solve()
    if sol.x is None:
        if sol.status == "infeasible":
            raise KitError("protect", "no suppression pattern meets the protection requirements with the "
                           "cells that may be suppressed", "release some cells forced public or lower the "
                           "protection levels")
        raise KitError("protect", "the optimal method found no pattern within its time limit",
                       "raise time_limit or use method='gauss_lp'")
    supp = np.zeros(dm.cell_col.shape[0], dtype=bool)
    supp[cells] = sol.x[:nx] > 0.5
    return supp, sol.status == "optimal"
