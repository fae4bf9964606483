"""Sequential protection LPs with witnesses, and redundancy elimination.

For each primary and direction, one LP finds the cheapest deviation of the
table (see :mod:`kit.protect.model`) that moves the primary by its protection
level, where moving an already suppressed cell is free and moving a published
cell costs its weight per unit. The published cells it moves become secondary;
the deviation is kept as the primary's *witness*, which stays valid because
suppression only grows. Witnesses avoid moving other singleton cells, so they
hold against an attacker who knows a singleton's value. A singleton nested in
the primary (a unit of the primary itself) may be moved, but that unit alone
knows its cell: a witness that moves it is backed by a second witness that
does not (:func:`witness_cells`), as the audit attacks with each such unit.

Redundancy elimination then tries to publish each secondary cell, costliest
first: it stays published when every witness that used it can be re-found
among the remaining suppressed cells.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from kit.errors import KitError
from kit.protect._highs import LinearModel
from kit.protect.model import DeviationModel
from kit.protect.requirements import UP, Prepared, Requirement

__all__ = ["Witnesses", "redundancy_elimination", "replace_witnesses", "reroute", "sequential_lp",
           "witness_cells"]

log = logging.getLogger(__name__)

Witnesses = dict[tuple[int, int], np.ndarray]
#: ``solve(requirement, avoid)``: the cells moved by a cheapest witness that moves no ``avoid`` cell, or ``None``
Solver = Callable[[Requirement, np.ndarray], "np.ndarray | None"]

_NONE = np.empty(0, dtype=np.int64)


def witness_users(witnesses: Witnesses) -> dict[int, set[tuple[int, int]]]:
    """For each cell, the requirements (cell, direction) whose witness moves it."""
    users: dict[int, set[tuple[int, int]]] = {}
    for key, moved in witnesses.items():
        for c in moved:
            users.setdefault(int(c), set()).add(key)
    return users


def witness_cells(req: Requirement, prep: Prepared, solve: Solver, on_new: Callable[[np.ndarray], None] | None = None,
                  fallback: bool = False) -> np.ndarray | None:
    """Cells moved by the witnesses that protect ``req`` against the plain and every singleton attacker.

    The main witness moves no singleton of ``prep.avoid`` (when ``fallback`` and there is none, any
    witness). A singleton ``k`` it does move (one nested in the cell, or any with the fallback) is known
    to its unit: against that unit alone (``k`` fixed) the main witness does not hold, so a second
    witness that leaves ``k`` unmoved is found (avoiding ``prep.avoid`` too where possible). Each such
    witness also holds against every other attacker it leaves unmoved (with a level at least theirs).
    This is exactly what the audit checks per singleton attacker.

    Parameters
    ----------
    req
        The requirement (canonical cell, direction, level).
    prep
        Prepared problem: ``avoid`` and ``attackers`` per requirement cell, values for the levels.
    solve
        ``solve(requirement, avoid)``: the cells moved by a cheapest witness that moves no cell of
        ``avoid`` (on a box or the full model), or ``None``.
    on_new
        Receives the moved cells of each witness as soon as it is found (so that later solves can
        treat them as suppressed).
    fallback
        When no main witness avoids ``prep.avoid``, accept any and back it per singleton it moves.

    Returns
    -------
    numpy.ndarray or None
        The union of the cells moved by the witnesses, or ``None`` when some attacker cannot be met.
    """
    avoid = prep.avoid.get(req.cell, _NONE)
    strict = True
    moved = solve(req, avoid)
    if moved is None and fallback and len(avoid):
        strict = False
        moved = solve(req, _NONE)
    if moved is None:
        return None
    if on_new is not None:
        on_new(moved)
    att = prep.attackers.get(req.cell, _NONE)
    cand = np.concatenate([att, avoid]) if not strict else att
    hit = cand[np.isin(cand, moved)] if len(cand) else _NONE
    if not len(hit):
        return moved
    parts = [moved]
    backs: list[tuple[float, np.ndarray]] = []
    tiny = 1e-9 * req.level  # relative to the requirement, not the table
    # largest level first: its witness may cover the others
    levels = {int(k): prep.attacker_level(req, int(k)) for k in hit}
    for k in sorted(levels, key=lambda k_: -levels[k_]):
        level = levels[k]
        if level <= tiny or any(lv >= level - tiny and not np.any(mv == k) for lv, mv in backs):
            continue
        sub = Requirement(req.cell, req.direction, level)
        mk = solve(sub, np.append(avoid, k)) if strict else None
        if mk is None:
            mk = solve(sub, np.array([k], dtype=np.int64))
        if mk is None:
            return None
        if on_new is not None:
            on_new(mk)
        backs.append((level, mk))
        parts.append(mk)
    return np.unique(np.concatenate(parts))


def replace_witnesses(wit: Witnesses, users: dict[int, set[tuple[int, int]]],
                      new_wit: dict[tuple[int, int], np.ndarray]) -> None:
    """Replace witnesses in place and keep ``users`` (cell -> requirements whose witness moves it) in step."""
    for key, moved in new_wit.items():
        for c in wit[key]:
            users.get(int(c), set()).discard(key)
        wit[key] = moved
        for c in moved:
            users.setdefault(int(c), set()).add(key)


class _DevLP:
    """One HiGHS model of the deviation LP, re-solved with changed costs and bounds.

    The LP HiGHS sees is scaled so that its absolute tolerances (1e-7 on bounds and reduced
    costs) are relative to the quantities they judge: costs are divided by ``cost_scale`` (the
    median positive weight of the cells), and for each requirement all column bounds are divided
    by the requirement's level (the primary must then move by 1). Unscaled, a table at 1e10 had
    costs of 1e12 and a warm re-solve reported a bounded LP "unbounded" (issue 24); a level far
    below the table's values was judged with the same absolute tolerance as a large one.
    """

    def __init__(self, dm: DeviationModel, prep: Prepared, suppressed: np.ndarray, published_fixed: bool) -> None:
        self.dm = dm
        self.prep = prep
        hi = dm.neg_ub.copy()
        cells = np.flatnonzero(dm.cell_col >= 0)
        cols = dm.cell_col[cells]
        fixed = prep.forced[cells] | (published_fixed & ~suppressed[cells])
        hi[cols[fixed]] = 0.0
        hi[cols[fixed] + 1] = 0.0
        self.base_hi = hi
        w = prep.weight[cells]
        pos_w = w[w > 0]
        self.cost_scale = float(np.median(pos_w)) if len(pos_w) else 1.0
        self.bound_scale = 1.0
        cost = np.zeros(dm.n_cols)
        self.weight_col = np.zeros(dm.n_cols)
        self.weight_col[cols] = w
        self.weight_col[cols + 1] = w
        cost[:] = self.weight_col
        sup_cols = cols[suppressed[cells]]
        cost[sup_cols] = 0.0
        cost[sup_cols + 1] = 0.0
        self.cost = cost
        self.lp = LinearModel(dm.a, np.zeros(dm.a.shape[0]), np.zeros(dm.a.shape[0]),
                              np.zeros(dm.n_cols), hi, cost / self.cost_scale, resolve="bounds")

    def _set_bounds(self, cols: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> None:
        """Set raw (unscaled) bounds of some columns."""
        self.lp.set_bounds(cols, np.asarray(lo, dtype=float) / self.bound_scale,
                           np.asarray(hi, dtype=float) / self.bound_scale)

    def _rescale(self, level: float) -> None:
        """Measure the columns in units of ``level`` (all bounds divided by it)."""
        if level == self.bound_scale or not level > 0:
            return
        self.bound_scale = level
        self.lp.set_bounds(np.arange(self.dm.n_cols), 0.0, self.base_hi / level)

    def set_free(self, cells: np.ndarray) -> None:
        cols = self.dm.cell_col[cells]
        self.cost[cols] = 0.0
        self.cost[cols + 1] = 0.0
        self.set_cost(self.cost)

    def set_cost(self, cost: np.ndarray) -> None:
        """Replace the (raw) costs; the LP gets them divided by ``cost_scale``."""
        self.cost = cost
        self.lp.set_cost(cost / self.cost_scale)

    def fix(self, cells: np.ndarray, fixed: bool) -> None:
        cols = self.dm.cell_col[cells]
        both = np.concatenate([cols, cols + 1])
        if fixed:
            self._set_bounds(both, 0.0, 0.0)
        else:
            self._set_bounds(both, 0.0, self.base_hi[both])
        if not fixed:
            return
        # keep base bounds in sync for later restores
        self.base_hi[both] = 0.0

    def unfix_base(self, cells: np.ndarray) -> None:
        cols = self.dm.cell_col[cells]
        self.base_hi[cols] = self.dm.neg_ub[cols]
        self.base_hi[cols + 1] = self.dm.neg_ub[cols + 1]
        both = np.concatenate([cols, cols + 1])
        self._set_bounds(both, 0.0, self.base_hi[both])

    def solve(self, req: Requirement, avoid: np.ndarray) -> np.ndarray | None:
        """Cell deviations of the cheapest witness for ``req`` (``None`` if there is none)."""
        dm = self.dm
        col = dm.cell_col[req.cell]
        pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
        hi = self.base_hi
        if hi[pos] < req.level:
            return None
        self._rescale(req.level)
        avoid_cols = dm.cell_col[avoid]
        avoid_both = np.concatenate([avoid_cols, avoid_cols + 1])
        self._set_bounds(avoid_both, 0.0, 0.0)
        self._set_bounds(np.array([pos, neg]), np.array([req.level, 0.0]), np.array([hi[pos], 0.0]))
        sol = self.lp.solve()
        self._set_bounds(np.array([pos, neg]), 0.0, np.array([hi[pos], hi[neg]]))
        self._set_bounds(avoid_both, 0.0, hi[avoid_both])
        self.last_status = sol.status
        if sol.status != "optimal" or sol.x is None:
            return None
        return dm.cell_deviation(sol.x) * self.bound_scale

    def moved(self, req: Requirement, avoid: np.ndarray) -> np.ndarray | None:
        """Cells moved by the cheapest witness (:meth:`solve`), or ``None``."""
        dev = self.solve(req, avoid)
        return None if dev is None else _moved(dev, req)


#: a cell is moved by a witness when its deviation exceeds this share of the requirement's level
MOVED_REL = 1e-6


def _moved(dev: np.ndarray, req: Requirement) -> np.ndarray:
    return np.flatnonzero(np.abs(dev) > MOVED_REL * req.level)


def sequential_lp(dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                  deadline: float | None = None) -> tuple[np.ndarray, Witnesses]:
    """Add secondary cells until every requirement has a witness.

    Returns the new suppressed mask (canonical cells) and the witnesses.
    Raises :class:`KitError` when a requirement cannot be met (forced cells).
    """
    supp = suppressed.copy()
    lp = _DevLP(dm, prep, supp, published_fixed=False)
    witnesses: Witnesses = {}
    failed = 0

    def free(moved: np.ndarray) -> None:
        new = moved[~supp[moved]]
        if len(new):
            supp[new] = True
            lp.set_free(new)

    for req in prep.requirements:
        moved = witness_cells(req, prep, lp.moved, free, fallback=True)
        if moved is None:
            failed += 1
            continue
        witnesses[(req.cell, req.direction)] = moved
        if deadline is not None and time.perf_counter() > deadline:
            log.debug("sequential LP past its deadline; continuing to protect (never unprotected)")
    if failed:
        raise KitError("protect", f"{failed} protection requirement(s) cannot be met with the cells that "
                       "may be suppressed", "release some cells forced public, lower the protection "
                       "levels, or publish fewer margins")
    return supp, witnesses


def redundancy_elimination(dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                           witnesses: Witnesses, deadline: float | None = None) -> tuple[np.ndarray, Witnesses]:
    """Publish secondary cells (costliest first) whose witnesses can be re-found without them."""
    supp = suppressed.copy()
    wit = dict(witnesses)
    lp = _DevLP(dm, prep, supp, published_fixed=True)
    # witnesses prefer cheap secondaries (those tried last)
    cost = np.zeros(dm.n_cols)
    sec = supp & ~prep.must
    cells = np.flatnonzero(sec)
    cols = dm.cell_col[cells]
    cost[cols] = prep.weight[cells]
    cost[cols + 1] = prep.weight[cells]
    lp.set_cost(cost)
    reqs = {(r.cell, r.direction): r for r in prep.requirements}
    users = witness_users(wit)
    order = cells[np.argsort(-prep.weight[cells], kind="stable")]
    for s in order:
        if deadline is not None and time.perf_counter() > deadline:
            break
        keys = sorted(users.get(int(s), set()))
        lp.fix(np.array([s]), True)
        new_wit: dict[tuple[int, int], np.ndarray] = {}
        ok = True
        for key in keys:
            found = witness_cells(reqs[key], prep, lp.moved)  # no fallback: witnesses avoid singleton cells
            if found is None:
                ok = False
                break
            new_wit[key] = found
        if not ok:
            lp.unfix_base(np.array([s]))
            continue
        supp[s] = False
        cost[dm.cell_col[s]] = 0.0
        cost[dm.cell_col[s] + 1] = 0.0
        replace_witnesses(wit, users, new_wit)
    return supp, wit


def reroute(dm: DeviationModel, prep: Prepared, suppressed: np.ndarray, witnesses: Witnesses,
            deadline: float | None = None) -> tuple[np.ndarray, Witnesses]:
    """Swap search: publish a secondary when its users can be re-protected by cheaper new cells.

    For each secondary cell (costliest first), fix it published and re-find the witnesses that
    used it, where moving a suppressed cell is free and a published one costs its weight. When the
    published cells those witnesses need cost less than the secondary, swap. Redundancy
    elimination is the special case where no new cell is needed.
    """
    supp = suppressed.copy()
    wit = dict(witnesses)
    lp = _DevLP(dm, prep, supp, published_fixed=False)
    reqs = {(r.cell, r.direction): r for r in prep.requirements}
    users = witness_users(wit)

    def set_cost(cells: np.ndarray, free: bool) -> None:
        cols = dm.cell_col[cells]
        w = 0.0 if free else prep.weight[cells]
        lp.cost[cols] = w
        lp.cost[cols + 1] = w
        lp.set_cost(lp.cost)

    sec = np.flatnonzero(supp & ~prep.must)
    for s in sec[np.argsort(-prep.weight[sec], kind="stable")]:
        if deadline is not None and time.perf_counter() > deadline:
            break
        if not supp[s]:
            continue
        keys = sorted(users.get(int(s), set()))
        lp.fix(np.array([s]), True)
        added: list[int] = []
        new_wit: dict[tuple[int, int], np.ndarray] = {}
        ok = True

        def take(moved: np.ndarray, added: list[int] = added) -> None:
            new = [int(c) for c in moved if not supp[c] and c not in added]
            if new:
                added.extend(new)
                set_cost(np.array(new), True)

        for key in keys:
            found = witness_cells(reqs[key], prep, lp.moved, take)
            if found is None or prep.weight[added].sum() >= prep.weight[s]:
                ok = False
                break
            new_wit[key] = found
        lp.unfix_base(np.array([s]))
        if not ok or prep.weight[added].sum() >= prep.weight[s] * (1 - 1e-9):
            if added:
                set_cost(np.array(added), False)
            continue
        supp[s] = False
        set_cost(np.array([s]), False)
        if added:
            supp[np.array(added)] = True
        replace_witnesses(wit, users, new_wit)
    return supp, wit
