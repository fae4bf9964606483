"""Fischetti-Salazar cut generation for secondary suppression (internal).

The *master* problem has one binary ``y_c`` per candidate cell (1 = suppressed)
and minimises ``Σ w_c y_c`` subject to *attacker cuts*. For a requirement
(primary ``p``, direction, level ``L``) and a pattern ``y``, the attacker LP
maximises the move of ``p`` over the deviations of the table (see
:mod:`kit.protect.model`) in which cell ``c`` moves up by at most ``U⁺_c y_c``
(``U⁺ = ∞``) and down by at most ``U⁻_c y_c`` (``U⁻_c`` = the value in a
non-negative table). When its optimum is below ``L``, the LP dual gives bound
multipliers ``α_c, β_c ≥ 0`` with ``max ≤ Σ_c (α_c U⁺_c + β_c U⁻_c) y_c`` for every
``y`` (dual feasibility does not depend on the bounds), so every protected
pattern satisfies the cut ``Σ_c min(L, α_c U⁺_c + β_c U⁻_c) y_c ≥ L`` (capping a
coefficient at ``L`` is valid for binary ``y``: a cell with a coefficient of at
least ``L`` alone meets the cut). Cuts are generated

* at fractional points of the master LP relaxation, from the attacker LP with the
  bounds capped at the level (``min(L, U)·y``, in units of ``L``), which gives the
  strong cuts (any dual solution gives a valid cut, whatever bounds produced it);
* at integer master solutions, from the exact attacker LP: a master solution
  that violates no cut is a protected pattern, and the attacker's deviations are
  its witnesses.

After the LP phase an *LP-guided heuristic* runs the sequential protection LPs
with the cells the relaxation likes made cheap. The master MILP (HiGHS) is then
re-solved after each round of cuts, started from the best pattern known, with a
time limit; its solutions can be *repaired* into protected patterns (sequential
LPs add cells, redundancy elimination drops some, :mod:`kit.protect.repair`). The
pattern returned is never worse than the start, and a pattern replaces the
incumbent only when ``accept`` (the full audit) passes it. The cost minimised is
``prep.weight`` (the caller may add a per-cell charge).

References
----------
Fischetti, M. and Salazar González, J.J. (2001). Solving the cell suppression
problem on tabular data with linear constraints. *Management Science* 47(7),
1008-1027.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from kit.errors import KitError
from kit.protect._highs import LinearModel
from kit.protect.model import DeviationModel
from kit.protect.repair import MOVED_REL, Witnesses, redundancy_elimination, sequential_lp
from kit.protect.requirements import UP, Prepared, Requirement

__all__ = ["BendersStats", "benders"]

log = logging.getLogger(__name__)

#: relative tolerance of a requirement's level (a move this close to the level counts as reaching it)
LEVEL_TOL = 1e-7
#: master cuts are kept when violated by more than this (cuts are normalised to a right-hand side of 1)
VIOLATION_TOL = 1e-6
#: the LP phase stops when three rounds raise the bound by less than this share
LP_STALL = 0.003
#: relative gap of a local-branching master (see ``benders``' ``radius``)
LOCAL_GAP = 0.02
#: a bound multiplier above this counts as positive (HiGHS's dual feasibility tolerance is 1e-7)
DUAL_TOL = 1e-7


@dataclass
class BendersStats:
    """Counters of one run (for logging and tests)."""

    rounds: int = 0
    lp_rounds: int = 0
    cuts: int = 0
    lower_bound: float = 0.0
    start_cost: float = 0.0
    cost: float = 0.0
    optimal: bool = False
    improved: int = 0
    rejected: int = 0
    seconds: float = 0.0


class _Attacker:
    """Attacker LPs over the deviation model, re-solved with changed bounds (the separation oracle).

    The exact LP works in the table's units (bounds ``∞·y`` up, ``v·y`` down); the capped LP in
    units of the requirement's level (bounds ``y`` up, ``min(1, v/L)·y`` down), so that between
    requirements only the bounds of cells smaller than the level change and re-solves stay warm.
    """

    def __init__(self, dm: DeviationModel, prep: Prepared) -> None:
        self.dm = dm
        self.prep = prep
        self.cells = np.flatnonzero(dm.cell_col >= 0)
        self.pcol = dm.cell_col[self.cells]
        # a priori move bounds: up unbounded, down to zero in a non-negative table
        self.u_down = dm.neg_ub[self.pcol + 1].copy()
        self.u_up = dm.neg_ub[self.pcol].copy()  # inf unless cells keep their sign
        self.fixed = prep.forced[self.cells]
        self.both = np.concatenate([self.pcol, self.pcol + 1])
        self.hi = dm.neg_ub.copy()
        self.lp = LinearModel(dm.a, np.zeros(dm.a.shape[0]), np.zeros(dm.a.shape[0]),
                              np.zeros(dm.n_cols), self.hi, np.zeros(dm.n_cols), resolve="bounds")
        self.cost = np.zeros(dm.n_cols)
        self.witness: np.ndarray | None = None  # cells moved by the last exact LP that met its level

    def set_pattern(self, y: np.ndarray, level: float | None) -> None:
        """Column bounds for pattern ``y`` (per canonical cell, in [0, 1]); scaled and capped when
        ``level`` is given, exact (``y`` read as suppressed when > 0) otherwise."""
        yc = np.where(self.fixed, 0.0, y[self.cells])
        if level is None:
            hi_up = np.where(yc > 0, self.u_up, 0.0)
            hi_down = np.where(yc > 0, self.u_down, 0.0)
        else:
            hi_up = np.minimum(1.0, self.u_up / level) * yc
            hi_down = np.minimum(1.0, self.u_down / level) * yc
        new = np.concatenate([hi_up, hi_down])
        old = self.hi[self.both]
        diff = np.flatnonzero(~((new == old) | (np.isinf(new) & np.isinf(old))))
        self.hi[self.both] = new
        if len(diff):
            self.lp.set_bounds(self.both[diff], 0.0, new[diff])

    def separate(self, req: Requirement, capped: bool) -> tuple[float, np.ndarray | None]:
        """The attacker's best move of ``req``'s cell under the pattern set and, when it falls short, the cut.

        Returns ``(move, coef)`` where ``coef`` (per canonical cell, ``None`` when the requirement
        is met) defines the valid cut ``Σ coef_c y_c ≥ req.level``.
        """
        dm = self.dm
        lvl = req.level
        unit = lvl if capped else 1.0
        col = dm.cell_col[req.cell]
        pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
        av = self.prep.avoid[req.cell]
        av_cols = np.concatenate([dm.cell_col[av], dm.cell_col[av] + 1])
        if len(av_cols):
            self.lp.set_bounds(av_cols, 0.0, 0.0)
        self.lp.set_bounds([pos, neg], [0.0, 0.0], [lvl / unit, 0.0])
        self.cost[pos] = -1.0
        self.lp.set_cost(self.cost)
        self.cost[pos] = 0.0
        sol = self.lp.solve()
        rc = self.lp.reduced_costs() if sol.status == "optimal" else None
        self.lp.set_bounds([pos, neg], [0.0, 0.0], [self.hi[pos], self.hi[neg]])
        if len(av_cols):
            self.lp.set_bounds(av_cols, 0.0, self.hi[av_cols])
        self.witness = None
        if sol.status == "unbounded":
            return np.inf, None
        if sol.status != "optimal" or rc is None:
            raise _SeparationError
        move = -sol.objective * unit
        if move >= lvl * (1.0 - LEVEL_TOL):
            if not capped and sol.x is not None:  # the attacker's deviation is a witness
                dev = dm.cell_deviation(sol.x)
                self.witness = np.flatnonzero(np.abs(dev) > MOVED_REL * lvl)
            return move, None
        # bound multipliers (minimisation: a negative reduced cost prices the upper bound)
        alpha = -rc[self.pcol]
        beta = -rc[self.pcol + 1]
        raw = (np.where(beta > 0, beta, 0.0) * np.where(np.isfinite(self.u_down), self.u_down, 0.0)
               + np.where(alpha > 0, alpha, 0.0) * np.where(np.isfinite(self.u_up), self.u_up, 0.0))
        raw[((alpha > DUAL_TOL) & ~np.isfinite(self.u_up)) | ((beta > DUAL_TOL) & ~np.isfinite(self.u_down))] = lvl
        out = np.zeros(dm.n_cells)
        out[self.cells] = np.minimum(lvl, raw)
        out[req.cell] = 0.0
        out[av] = 0.0
        out[self.cells[self.fixed]] = 0.0
        return move, out


class _SeparationError(Exception):
    """An attacker LP did not solve to optimality (the run stops and keeps its incumbent)."""


@dataclass
class _Master:
    """Cuts over the candidate cells: rows ``Σ a_c y_c ≥ rhs`` (normalised to a level of 1)."""

    cand: np.ndarray                      # candidate canonical cells (master columns)
    weight: np.ndarray
    rows: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)

    def add(self, coef: np.ndarray, level: float, must: np.ndarray) -> bool:
        """Add the cut ``Σ coef_c y_c ≥ level`` (cells of ``must`` count as 1); False if not new."""
        rhs = 1.0 - float(coef[must].sum()) / level
        a = coef[self.cand] / level
        small = (a > 0) & (a < 1e-9)
        rhs -= float(a[small].sum())  # dropping a tiny term: relax the right-hand side by it
        a[small] = 0.0
        nz = np.flatnonzero(a > 0)
        if rhs <= 1e-9:
            return False
        vals = np.minimum(a[nz], rhs)  # a coefficient above the right-hand side can be lowered to it
        key = np.round(np.concatenate([nz.astype(float), vals / rhs]), 9).tobytes()
        if key in self.keys:
            return False
        self.keys.add(key)
        self.rows.append((nz, vals, rhs))
        return True

    def matrix(self) -> tuple[sp.csr_matrix, np.ndarray]:
        if not self.rows:
            return sp.csr_matrix((0, len(self.cand))), np.zeros(0)
        indptr = np.cumsum([0] + [len(r[0]) for r in self.rows])
        a = sp.csr_matrix((np.concatenate([r[1] for r in self.rows]), np.concatenate([r[0] for r in self.rows]),
                           indptr), shape=(len(self.rows), len(self.cand)))
        return a, np.array([r[2] for r in self.rows])

    def solve(self, integer: bool, time_limit: float | None, start: np.ndarray | None = None,
              gap: float = 1e-4, near: tuple[np.ndarray, int] | None = None
              ) -> tuple[str, np.ndarray | None, float]:
        """Solve the master (LP relaxation or MILP); returns status, ``y`` over ``cand`` and the bound.

        ``near = (centre, k)`` adds the local-branching row: at most ``k`` cells differ from the
        pattern ``centre`` (over ``cand``); the bound is then that of the neighbourhood only.
        """
        a, rhs = self.matrix()
        n = len(self.cand)
        rhi = np.full(len(rhs), np.inf)
        if near is not None:
            centre, k = near
            on = np.asarray(centre, dtype=bool)
            a = sp.vstack([a, sp.csr_matrix(np.where(on, -1.0, 1.0)[None, :])], format="csr")
            rhs = np.append(rhs, -np.inf)
            rhi = np.append(rhi, float(k - on.sum()))
        model = LinearModel(a, rhs, rhi, np.zeros(n), np.ones(n), self.weight,
                            integer=np.ones(n, dtype=np.uint8) if integer else None,
                            time_limit=time_limit, mip_rel_gap=gap if integer else None)
        if integer and start is not None:
            model.set_solution(start)
        sol = model.solve()
        bound = sol.objective
        if integer and model._h is not None:
            info = model._h.getInfo()
            bound = float(getattr(info, "mip_dual_bound", sol.objective))
        return sol.status, sol.x, bound


def benders(dm: DeviationModel, prep: Prepared, supp: np.ndarray, witnesses: Witnesses, deadline: float,
            accept: Callable[[np.ndarray], bool] | None = None, candidates: np.ndarray | None = None, *,
            lp_rounds: int = 30, round_limit: float = 3.0, gap: float = 0.01, extra_cuts: int = 2,
            repair_all: bool = False, guide: tuple[float, ...] = (), radius: int = 0,
            pool: list[tuple[np.ndarray, np.ndarray, float]] | None = None
            ) -> tuple[np.ndarray, Witnesses, BendersStats]:
    """Improve a protected pattern by Fischetti-Salazar cut generation until ``deadline``.

    Parameters
    ----------
    dm, prep
        Deviation model and requirements of the problem.
    supp, witnesses
        The incumbent: a protected pattern (canonical cells) and a witness per requirement.
    deadline
        ``time.perf_counter()`` value at which to stop.
    accept
        Decides whether a cheaper pattern replaces the incumbent (e.g. the full audit).
    candidates
        Canonical cells the master may suppress (default: every cell not forced); cells of the
        pattern outside it keep their status.
    lp_rounds
        Maximum rounds of cuts at fractional points (the LP phase also stops when it stalls).
    round_limit
        Time limit of one master MILP (seconds; doubled after a round that found nothing new).
    gap
        Relative gap at which a master MILP counts as solved.
    extra_cuts
        At an integer point, further cuts per requirement that falls short: with the cells of
        the previous cut suppressed, what else the attacker needs.
    repair_all
        Repair every master solution into a protected pattern (sequential LPs, then redundancy
        elimination); otherwise only master solutions that violate no cut are candidates.
    guide
        After the LP phase, one sequential-LP heuristic per entry ``θ`` with cell weights
        ``w·(1 − θ·y*)`` (``y*`` the master's LP solution), each followed by redundancy elimination.
    radius
        Local branching: when positive, the master rounds first search the patterns that differ
        from the incumbent in at most this many cells (the neighbourhood moves with the
        incumbent; the radius doubles when a neighbourhood holds no cheaper protected pattern).
    pool
        A list of cuts (cells, coefficients, level) shared between runs: its cuts seed the
        master and new cuts are appended (cuts hold for the whole table, so any run may reuse them).

    Returns
    -------
    The best pattern, its witnesses and counters.
    """
    t0 = time.perf_counter()
    stats = BendersStats()
    restricted = candidates is not None
    if candidates is None:
        candidates = prep.canon_mask
    cand_mask = candidates & prep.canon_mask & ~prep.must & ~prep.forced
    fixed_on = supp & ~cand_mask & ~prep.must  # suppressed cells the master cannot change
    must_all = prep.must | fixed_on
    cand = np.flatnonzero(cand_mask)
    master = _Master(cand, prep.weight[cand].astype(float))
    if pool is None:
        pool = []
    dense = np.zeros(prep.canon_mask.shape[0])
    for idx, vals, lvl in pool:
        dense[idx] = vals
        master.add(dense, lvl, must_all)
        dense[idx] = 0.0
    att = _Attacker(dm, prep)
    reqs = list(prep.requirements)
    if restricted:
        # requirements whose witness moves no candidate keep it whatever the master decides
        reqs = [r for r in reqs if candidates[r.cell] or (r.cell, r.direction) not in witnesses
                or cand_mask[witnesses[(r.cell, r.direction)]].any()]

    def cost(s: np.ndarray) -> float:
        return float(prep.weight[s & ~prep.must].sum())

    if not len(cand) or not reqs:
        stats.cost = stats.start_cost = cost(supp)
        return supp.copy(), dict(witnesses), stats
    best = supp.copy()
    best_wit = dict(witnesses)
    best_cost = cost(best)
    stats.start_cost = best_cost
    fixed_cost = cost(fixed_on)

    def full(ycand: np.ndarray) -> np.ndarray:
        y = must_all.astype(float)
        y[cand] = ycand
        return np.asarray(y)

    def add_cut(coef: np.ndarray, level: float) -> bool:
        idx = np.flatnonzero(coef)
        pool.append((idx, coef[idx], level))
        return master.add(coef, level, must_all)

    found: Witnesses = {}  # witnesses from the last exact separation

    def separate_all(y: np.ndarray, capped: bool) -> tuple[int, int]:
        """Separate every requirement at ``y``: (requirements short of their level, new violated cuts)."""
        added = short = 0
        found.clear()
        if not capped:
            att.set_pattern(y, None)
        for r in reqs:
            if capped:
                att.set_pattern(y, r.level)
            _, coef = att.separate(r, capped)
            if coef is None:
                if not capped and att.witness is not None:
                    found[(r.cell, r.direction)] = att.witness
                continue
            short += 1
            if add_cut(coef, r.level):
                nz, vals, rhs = master.rows[-1]
                if not capped or float(vals @ y[cand][nz]) < rhs - VIOLATION_TOL:
                    added += 1
            if capped or not extra_cuts:
                continue
            y2 = y.copy()
            for _ in range(extra_cuts):
                y2[coef > 0] = 1.0
                att.set_pattern(y2, None)
                _, coef = att.separate(r, False)
                if coef is None:
                    break
                add_cut(coef, r.level)
            att.set_pattern(y, None)
        return short, added

    def offer(pattern: np.ndarray, wit: Witnesses, what: str) -> None:
        nonlocal best, best_wit, best_cost
        c = cost(pattern)
        if c >= best_cost - 1e-9 * max(best_cost, 1.0):
            return
        if accept is not None and not accept(pattern):
            stats.rejected += 1
            return
        best, best_wit, best_cost = pattern, wit, c
        stats.improved += 1
        log.debug("benders: %s gives %d cells", what, int((pattern & ~prep.must).sum()))  # no costs: values

    def repair(pattern: np.ndarray, weights: Prepared, protected: bool, what: str) -> None:
        """Sequential LPs from ``pattern`` (cells priced by ``weights``), then redundancy elimination."""
        try:
            rep, wit = sequential_lp(dm, weights, pattern)
        except KitError:
            return
        if not protected:
            rep, wit = redundancy_elimination(dm, prep, rep, wit, deadline)
        offer(rep, wit, what)

    def guided_runs(x_lp: np.ndarray | None, thetas: tuple[float, ...]) -> None:
        """LP-guided heuristic: sequential LPs with the cells the relaxation likes made cheap."""
        for theta in thetas:
            if x_lp is None or time.perf_counter() > deadline - 1.0:
                break
            y_lp = full(np.clip(x_lp, 0.0, 1.0))
            w = prep.weight * (1.0 - theta * y_lp) + 1e-9 * prep.weight.max()
            repair(must_all.copy(), replace(prep, weight=w), False, f"LP-guided heuristic ({theta:.2f})")

    try:
        # cuts at the pattern with every secondary published
        separate_all(must_all.astype(float), capped=False)
        # LP phase: cuts at fractional points
        hist: list[float] = []
        x_lp: np.ndarray | None = None
        for _ in range(lp_rounds):
            if time.perf_counter() > deadline - 1.0:
                break
            _, x, bound = master.solve(False, max(deadline - time.perf_counter(), 0.1))
            if x is None:
                break
            x_lp = x
            stats.lp_rounds += 1
            stats.lower_bound = bound + fixed_cost
            _, n_new = separate_all(full(x), capped=True)
            stats.cuts = len(master.rows)
            log.debug("benders LP round %d: %d new cut(s), %d in all", stats.lp_rounds, n_new, len(master.rows))
            hist.append(stats.lower_bound)
            if n_new == 0 or (len(hist) > 3 and hist[-1] - hist[-4] < LP_STALL * max(abs(hist[-1]), 1.0)):
                break
        guided_runs(x_lp, guide)
        # integer phase
        limit = round_limit
        while time.perf_counter() < deadline - 1.0:
            left = deadline - time.perf_counter()
            local = 0 < radius < len(cand)
            near = (best[cand], radius) if local else None
            # a neighbourhood is small: solve its master more exactly
            status, x, bound = master.solve(True, min(limit, left), best[cand].astype(float),
                                            min(gap, LOCAL_GAP) if local else gap, near)
            if x is None:
                if local and status != "time_limit":  # an empty neighbourhood: widen it
                    radius *= 2
                    continue
                break
            stats.rounds += 1
            y = full(np.round(x))
            pattern = y > 0.5
            short, _ = separate_all(y, capped=False)
            stats.cuts = len(master.rows)
            log.debug("benders round %d: master %s%s, %d short, %s the incumbent", stats.rounds, status,
                      f" (radius {radius})" if local else "", short,
                      "below" if cost(pattern) < best_cost else "not below")
            if short == 0:
                before = best_cost
                if len(found) == len(reqs):  # the exact LPs' deviations are the witnesses
                    offer(pattern, {**witnesses, **found}, "master solution")
                else:
                    repair(pattern, prep, True, "master solution")
                if local:
                    if best_cost >= before:  # nothing cheaper found near the incumbent: look further or longer
                        if status == "optimal":
                            radius *= 2
                        else:
                            limit *= 2
                    continue
                if status == "optimal":
                    stats.lower_bound = max(stats.lower_bound, bound + fixed_cost)
                    stats.optimal = True  # within the gap
                    break
                limit *= 2  # nothing new to learn: give the master more time
                continue
            if repair_all:
                repair(pattern, prep, False, "repaired master solution")
            separate_all(y, capped=True)  # cuts of the capped LP at the same point
            if guide and not local and time.perf_counter() < deadline - 1.0:
                # the relaxation with the new cuts guides the heuristic again
                _, x_lp, _ = master.solve(False, max(deadline - time.perf_counter(), 0.1))
                guided_runs(x_lp, guide[-1:])
    except _SeparationError:
        log.debug("benders: an attacker LP did not solve; keeping the incumbent")
    stats.cost = best_cost
    stats.seconds = time.perf_counter() - t0
    return best, best_wit, stats
