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

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from kit.errors import KitError
from kit.protect._highs import LinearModel
from kit.protect.model import DeviationModel
from kit.protect.requirements import UP, Prepared, Requirement

__all__ = ["milp_size", "solve_milp"]


def milp_size(dm: DeviationModel, prep: Prepared) -> int:
    """Number of columns of the MILP (to choose a method by size)."""
    return int(prep.canon_mask.sum()) + len(prep.requirements) * dm.n_cols


#: A cell moves at most this many times the requirement's level in a witness copy.
CAP_LEVELS = 64.0
#: Factor by which the caps are widened when the capped model is infeasible.
CAP_RETRY = 1e3


#: Rounds of the singleton loop (copies added for the singleton attackers the audit finds).
SINGLETON_ROUNDS = 8

Copy = tuple[Requirement, np.ndarray]


def solve_milp(dm: DeviationModel, prep: Prepared, values: np.ndarray, time_limit: float | None,
               candidates: np.ndarray | None = None, mip_rel_gap: float = 1e-6,
               failing: Callable[[np.ndarray], set[int]] | None = None) -> tuple[np.ndarray, bool]:
    """Suppressed mask (canonical cells) of a least-cost protected pattern.

    ``candidates`` limits the cells that may become secondary (others stay as
    they are in ``prep.must``). Returns the mask and whether optimality was proved.

    Singletons: with ``failing`` (a pattern -> the requirement cells its audit fails), the model is
    the audit's: each requirement has a plain witness copy, and for a suppressed singleton cell ``k``
    that the audit finds breaking it, a copy that leaves ``k`` unmoved (with the level the audit asks
    against ``k``). Copies are added lazily, round by round, until the audit passes. Without it, or
    when the rounds run out, every copy avoids all singletons at once (stricter than the audit).
    """
    t0 = time.perf_counter()
    has_singletons = any(len(prep.avoid.get(r.cell, ())) or len(prep.attackers.get(r.cell, ()))
                         for r in prep.requirements)
    strict: list[Copy] = [(r, np.asarray(prep.avoid[r.cell], dtype=np.int64)) for r in prep.requirements]
    if failing is None or not has_singletons:
        return _capped(dm, prep, strict, time_limit, candidates, mip_rel_gap)
    copies: list[Copy] = [(r, _NONE) for r in prep.requirements]
    have: set[tuple[int, int, int]] = set()
    optimal = False
    for _ in range(SINGLETON_ROUNDS):
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            break
        supp, optimal = _capped(dm, prep, copies, left, candidates, mip_rel_gap)
        bad = failing(supp)
        if not bad:
            return supp, optimal
        added = 0
        for r in prep.requirements:
            if r.cell not in bad:
                continue
            for k in np.concatenate([prep.avoid.get(r.cell, _NONE), prep.attackers.get(r.cell, _NONE)]):
                k = int(k)
                if not supp[k] or (r.cell, r.direction, k) in have:
                    continue
                have.add((r.cell, r.direction, k))
                level = prep.attacker_level(r, k)
                if level > 0:
                    copies.append((Requirement(r.cell, r.direction, level, r.exact_only), np.array([k])))
                    added += 1
        if not added:
            break
    left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - t0))
    return _capped(dm, prep, strict, left, candidates, mip_rel_gap)


_NONE = np.empty(0, dtype=np.int64)


def _capped(dm: DeviationModel, prep: Prepared, copies: list[Copy], time_limit: float | None,
            candidates: np.ndarray | None, mip_rel_gap: float) -> tuple[np.ndarray, bool]:
    try:
        return _solve(dm, prep, copies, time_limit, candidates, mip_rel_gap, CAP_LEVELS)
    except _Infeasible:
        pass
    try:
        return _solve(dm, prep, copies, time_limit, candidates, mip_rel_gap, CAP_LEVELS * CAP_RETRY)
    except _Infeasible:
        raise KitError("protect", "no suppression pattern meets the protection requirements with the "
                       "cells that may be suppressed", "release some cells forced public or lower the "
                       "protection levels") from None


class _Infeasible(Exception):
    pass


def _solve(dm: DeviationModel, prep: Prepared, copies: list[Copy], time_limit: float | None,
           candidates: np.ndarray | None, mip_rel_gap: float, cap: float) -> tuple[np.ndarray, bool]:
    cells = np.flatnonzero(prep.canon_mask)
    nx = len(cells)
    reqs = [r for r, _ in copies]
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
        avoid = copies[k][1]
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
