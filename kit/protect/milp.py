"""Optimal secondary suppression by one MILP (HiGHS via SciPy).

The model has a binary ``x_c`` per cell (1 = suppressed) and, for every primary
and direction, a copy of the deviation model (:mod:`kit.protect.model`) whose
cells may move only when suppressed: ``pos_c ≤ U_c·x_c``, ``neg_c ≤ D_c·x_c``.
The copy must move the primary by its protection level. Minimising ``Σ w_c x_c``
gives a pattern of least cost in which every primary has a witness: interval
protection, as in Fischetti & Salazar (2001), written with one flow copy per
requirement instead of cut generation.

Capacities (Fischetti-Salazar) are bounded by what the requirement needs: each
copy is written in units of its level ``L`` (the primary moves by 1) and a cell
moves at most ``min(its own bound, CAP_LEVELS·L)``. A capacity tied to the
table's largest value instead (``2·max|value|``) lets ``x_c`` of about
``L / (2·max)`` carry the whole move, which HiGHS's integrality tolerance (1e-6)
rounds to 0: the MILP then reports an optimal pattern without the cells its
witnesses use. A tighter cap can only make the model stricter, never unsafe
(the pattern is audited afterwards); if the capped model is infeasible, the caps
are widened once (``CAP_RETRY``).

Exact-only requirements (levels 0) get a binary direction ``z``: the copy moves
the cell up by at least ``L`` when ``z = 1`` and down when ``z = 0`` (``L`` is
``EXACT_MODEL_REL`` of the cell's magnitude), i.e. "interval width > 0".

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


#: A cell moves at most this many times the requirement's level in a witness copy.
CAP_LEVELS = 64.0
#: Factor by which the caps are widened when the capped model is infeasible.
CAP_RETRY = 1e3


def solve_milp(dm: DeviationModel, prep: Prepared, values: np.ndarray, time_limit: float | None,
               candidates: np.ndarray | None = None, mip_rel_gap: float = 1e-6) -> tuple[np.ndarray, bool]:
    """Suppressed mask (canonical cells) of a least-cost protected pattern.

    ``candidates`` limits the cells that may become secondary (others stay as
    they are in ``prep.must``). Returns the mask and whether optimality was proved.
    """
    try:
        return _solve(dm, prep, time_limit, candidates, mip_rel_gap, CAP_LEVELS)
    except _Infeasible:
        pass
    try:
        return _solve(dm, prep, time_limit, candidates, mip_rel_gap, CAP_LEVELS * CAP_RETRY)
    except _Infeasible:
        raise KitError("protect", "no suppression pattern meets the protection requirements with the "
                       "cells that may be suppressed", "release some cells forced public or lower the "
                       "protection levels") from None


class _Infeasible(Exception):
    pass


def _solve(dm: DeviationModel, prep: Prepared, time_limit: float | None, candidates: np.ndarray | None,
           mip_rel_gap: float, cap: float) -> tuple[np.ndarray, bool]:
    cells = np.flatnonzero(prep.canon_mask)
    nx = len(cells)
    reqs = prep.requirements
    nk = len(reqs)
    exact = [k for k, r in enumerate(reqs) if r.exact_only]
    nz = len(exact)
    ncol = nx + nk * dm.n_cols + nz
    zcol = {k: nx + nk * dm.n_cols + j for j, k in enumerate(exact)}
    lo = np.zeros(ncol)
    hi = np.ones(ncol)
    hi[nx:nx + nk * dm.n_cols] = np.inf
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
        lvl = req.level
        # equality rows of the deviation model (homogeneous: the copy may be scaled by 1 / level)
        a_eq = sp.hstack([sp.csr_matrix((dm.a.shape[0], nx)),
                          sp.csr_matrix((dm.a.shape[0], k * dm.n_cols)), dm.a,
                          sp.csr_matrix((dm.a.shape[0], ncol - nx - (k + 1) * dm.n_cols))], format="csr")
        blocks.append(a_eq)
        rlo.append(np.zeros(dm.a.shape[0]))
        rhi.append(np.zeros(dm.a.shape[0]))
        # linking rows in units of the level: pos_c - U x_c <= 0 ; neg_c - D x_c <= 0
        ub = dm.neg_ub / lvl
        cap_pos = np.minimum(ub[pcols], cap)
        cap_neg = np.minimum(ub[pcols + 1], cap)
        r = np.arange(2 * nx)
        cols_dev = np.concatenate([off + pcols, off + pcols + 1])
        cols_x = np.concatenate([np.arange(nx), np.arange(nx)])
        data = np.concatenate([np.ones(2 * nx), -np.concatenate([cap_pos, cap_neg])])
        link = sp.csr_matrix((data, (np.concatenate([r, r]), np.concatenate([cols_dev, cols_x]))),
                             shape=(2 * nx, ncol))
        blocks.append(link)
        rlo.append(np.full(2 * nx, -np.inf))
        rhi.append(np.zeros(2 * nx))
        # column bounds of this copy
        hi[off:off + dm.n_cols] = np.minimum(ub, np.inf)
        col = dm.cell_col[req.cell]
        if req.exact_only:
            # either direction: pos >= z, neg >= 1 - z, pos <= cap z, neg <= cap (1 - z)
            zc = zcol[k]
            rows = sp.csr_matrix(([1.0, -1.0, 1.0, 1.0, 1.0, -cap, 1.0, cap],
                                  ([0, 0, 1, 1, 2, 2, 3, 3], [off + col, zc, off + col + 1, zc, off + col, zc,
                                                              off + col + 1, zc])), shape=(4, ncol))
            blocks.append(rows)
            rlo.append(np.array([0.0, 1.0, -np.inf, -np.inf]))
            rhi.append(np.array([np.inf, np.inf, 0.0, cap]))
        else:
            pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
            lo[off + pos] = 1.0
            hi[off + neg] = 0.0
        avoid = prep.avoid[req.cell]
        hi[off + dm.cell_col[avoid]] = 0.0
        hi[off + dm.cell_col[avoid] + 1] = 0.0
    a = sp.vstack(blocks, format="csr")
    integer = np.zeros(ncol, dtype=np.uint8)
    integer[:nx] = 1
    integer[nx + nk * dm.n_cols:] = 1
    model = LinearModel(a, np.concatenate(rlo), np.concatenate(rhi), lo, hi, cost, integer=integer,
                        time_limit=time_limit, mip_rel_gap=mip_rel_gap)
    sol = model.solve()
    if sol.x is None:
        if sol.status == "infeasible":
            raise _Infeasible
        raise KitError("protect", "the optimal method found no pattern within its time limit",
                       "raise time_limit or use method='gauss_lp'")
    supp = np.zeros(dm.cell_col.shape[0], dtype=bool)
    supp[cells] = sol.x[:nx] > 0.5
    return supp, sol.status == "optimal"
