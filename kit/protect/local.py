"""Protection LPs on local boxes, for large tables (internal).

A witness of a primary cell (see :mod:`kit.protect.model`) rarely leaves the
primary's neighbourhood. On a large table, solving each protection LP over the
whole deviation model is slow (tens of thousands of columns), so each LP is
solved over a *box*: the cells that, in at least one dimension, have a code
comparable with the primary's (the same, an ancestor or a descendant), and whose
codes lie in the primary's *family* in every dimension (the code's ancestors and
everything under its parent; a flat dimension is one family). Every column outside
the box is fixed at zero, so a box witness is a witness of the full table.
When the box has none, the full model is used.

:func:`sequential_lp_local` and :func:`redundancy_local` mirror
:func:`kit.protect.repair.sequential_lp` and
:func:`kit.protect.repair.redundancy_elimination`.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from kit.errors import KitError
from kit.protect._highs import LinearModel
from kit.protect.cubes import Cubes
from kit.protect.improve import _dim_codes
from kit.protect.model import DeviationModel
from kit.protect.repair import MOVED_REL, Witnesses, _DevLP, replace_witnesses, witness_cells, witness_users
from kit.protect.requirements import UP, Prepared, Requirement
from kit.protect.structure import TableStructure

__all__ = ["Boxes", "redundancy_local", "reroute_local", "sequential_lp_local"]

log = logging.getLogger(__name__)


class Boxes:
    """Local boxes of cells around each cell of a structure."""

    def __init__(self, structure: TableStructure) -> None:
        self.structure = structure
        nd = len(structure.dims)
        leafsets = _dim_codes(structure)
        self.code_idx = []
        self.family = []
        self.near = []
        for d in range(nd):
            codes = list(leafsets[d])
            pos = {c: i for i, c in enumerate(codes)}
            self.code_idx.append(np.array([pos[k[d]] for k in structure.keys], dtype=np.int64))
            sets = [leafsets[d][c] for c in codes]
            full = frozenset().union(*sets)
            fam = np.zeros((len(codes), len(codes)), dtype=bool)
            near = np.zeros((len(codes), len(codes)), dtype=bool)
            for i, s in enumerate(sets):
                supers = [t for t in sets if s < t and t != full]
                parent = min(supers, key=len) if supers else full
                for j, t in enumerate(sets):
                    fam[i, j] = t >= s or t <= parent
                    near[i, j] = t >= s or t <= s
            self.family.append(fam)
            self.near.append(near)

    def box(self, cell: int) -> np.ndarray:
        """Cell mask of the box around ``cell``."""
        ok = np.ones(self.structure.n_cells, dtype=bool)
        share = np.zeros(self.structure.n_cells, dtype=bool)
        for idx, fam, near in zip(self.code_idx, self.family, self.near):
            c = idx[cell]
            ok &= fam[c, idx]
            share |= near[c, idx]
        return ok & share


class _LocalLP:
    """Deviation LP over the columns of some cells (others fixed at 0)."""

    def __init__(self, dm: DeviationModel, a_csc: sp.csc_matrix, prep: Prepared, cells: np.ndarray,
                 cost: np.ndarray) -> None:
        pcols = dm.cell_col[cells]
        cols = np.sort(np.concatenate([pcols, pcols + 1, dm.latent_cols, dm.latent_cols + 1]))
        colmap = np.full(dm.n_cols, -1, dtype=np.int64)
        colmap[cols] = np.arange(len(cols))
        sub = a_csc[:, cols].tocsr()
        sub = sub[np.diff(sub.indptr) > 0]
        hi = dm.neg_ub[cols].copy()
        forced = cells[prep.forced[cells]]
        fc = colmap[dm.cell_col[forced]]
        hi[fc] = 0.0
        hi[fc + 1] = 0.0
        self.dm = dm
        self.cells = cells
        self.colmap = colmap
        self.hi = hi
        self.cpos = colmap[pcols]
        # scaled like :class:`kit.protect.repair._DevLP`: costs by their median, bounds by the level
        c = cost[cols]
        pos_c = c[c > 0]
        self.cost_scale = float(np.median(pos_c)) if len(pos_c) else 1.0
        self.bound_scale = 1.0
        self.lp = LinearModel(sub, np.zeros(sub.shape[0]), np.zeros(sub.shape[0]), np.zeros(len(cols)), hi,
                              c / self.cost_scale, resolve="bounds", options={"presolve": "off"})

    def _set_bounds(self, cols: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> None:
        self.lp.set_bounds(cols, np.asarray(lo, dtype=float) / self.bound_scale,
                           np.asarray(hi, dtype=float) / self.bound_scale)

    def solve(self, req: Requirement, avoid: np.ndarray) -> np.ndarray | None:
        """Moves of the box cells (aligned with ``cells``) of the cheapest witness, or ``None``."""
        dm = self.dm
        col = self.colmap[dm.cell_col[req.cell]]
        pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
        if self.hi[pos] < req.level:
            return None
        if req.level != self.bound_scale and req.level > 0:
            self.bound_scale = req.level
            self.lp.set_bounds(np.arange(len(self.hi)), 0.0, self.hi / req.level)
        av = self.colmap[dm.cell_col[avoid]]
        av = av[av >= 0]
        both = np.concatenate([av, av + 1])
        self._set_bounds(both, 0.0, 0.0)
        self._set_bounds(np.array([pos, neg]), np.array([req.level, 0.0]), np.array([self.hi[pos], 0.0]))
        sol = self.lp.solve()
        self._set_bounds(np.array([pos, neg]), 0.0, np.array([self.hi[pos], self.hi[neg]]))
        self._set_bounds(both, 0.0, self.hi[both])
        if sol.status != "optimal" or sol.x is None:
            return None
        return np.asarray((sol.x[self.cpos] - sol.x[self.cpos + 1]) * self.bound_scale)

    def moved(self, req: Requirement, avoid: np.ndarray) -> np.ndarray | None:
        """Cells moved by the cheapest box witness (:meth:`solve`), or ``None``."""
        dev = self.solve(req, avoid)
        return None if dev is None else _moved_local(self.cells, dev, req)

    def set_free(self, cells: np.ndarray) -> None:
        """Make moving ``cells`` (those in the box) free."""
        pos = np.searchsorted(self.cells, cells)
        keep = pos < len(self.cells)
        pos = pos[keep]
        pos = pos[self.cells[pos] == cells[keep]]
        if not len(pos):
            return
        cost = np.array(self.lp._c, dtype=float)  # already scaled
        cost[self.cpos[pos]] = 0.0
        cost[self.cpos[pos] + 1] = 0.0
        self.lp.set_cost(cost)


def _moved_local(cells: np.ndarray, dev: np.ndarray, req: Requirement) -> np.ndarray:
    return np.asarray(cells[np.abs(dev) > MOVED_REL * req.level])


def _box_cells(boxes: Boxes, structure: TableStructure, prep: Prepared, cell: int) -> np.ndarray:
    b = boxes.box(cell)
    m = np.zeros(structure.n_cells, dtype=bool)
    m[structure.canonical[b]] = True
    m[cell] = True
    return np.flatnonzero(m & prep.canon_mask)


def _cube_cost(prep: Prepared, supp: np.ndarray, req: Requirement, published_fixed: bool) -> np.ndarray:
    """Per canonical cell: the cost of moving it in a cube witness of ``req`` (``inf``: may not move)."""
    if published_fixed:
        cost = np.where(supp & ~prep.must, prep.weight, np.inf)
        cost[prep.must] = 0.0
    else:
        cost = np.where(supp, 0.0, prep.weight)
    cost[prep.forced] = np.inf
    avoid = prep.avoid.get(req.cell)
    if avoid is not None and len(avoid):
        cost[avoid] = np.inf
    return cost


def cube_witness(cubes: Cubes | None, prep: Prepared, supp: np.ndarray, req: Requirement,
                 published_fixed: bool = False) -> np.ndarray | None:
    """The cheapest cube witness of ``req`` (:mod:`kit.protect.cubes`), or ``None``.

    Only for requirements of inner cells without nested singleton attackers (a cube moves no
    singleton it must avoid, so it is a witness against every attacker the audit tries).
    """
    if cubes is None or len(prep.attackers.get(req.cell, _EMPTY)):
        return None
    if cubes.structure.n_atoms_per_cell[req.cell] != 1:
        return None
    return cubes.cheapest(req.cell, req.direction, req.level, _cube_cost(prep, supp, req, published_fixed),
                          prep.values)


_EMPTY = np.empty(0, dtype=np.int64)


def sequential_lp_local(structure: TableStructure, dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                        boxes: Boxes | None = None, cubes: Cubes | None = None) -> tuple[np.ndarray, Witnesses]:
    """:func:`kit.protect.repair.sequential_lp` with each LP on the primary's box.

    With ``cubes``, a requirement that the suppressed cells cannot meet gets the cheaper of its box
    witness and its cheapest cube witness (cost: the weight of the cells newly suppressed).
    """
    boxes = boxes or Boxes(structure)
    a_csc = dm.a.tocsc()
    supp = suppressed.copy()
    witnesses: Witnesses = {}
    full: _DevLP | None = None
    by_cell: dict[int, list[Requirement]] = {}
    for r in prep.requirements:
        by_cell.setdefault(r.cell, []).append(r)
    # largest levels first, as in sequential_lp
    order = sorted(by_cell, key=lambda c: -max(r.level for r in by_cell[c]))
    failed = 0
    n_full = 0
    lp: _LocalLP | None = None

    def free(moved: np.ndarray) -> None:
        new = moved[~supp[moved]]
        if len(new):
            supp[new] = True
            # later LPs (of this box, and of the full model) treat the new cells as free
            if lp is not None:
                lp.set_free(new)
            if full is not None:
                full.set_free(new)

    for cell in order:
        cells = _box_cells(boxes, structure, prep, cell)
        # first the suppressed cells of the box alone (a small LP): often already enough
        todo = []
        sup_cells = cells[supp[cells]]
        small = _LocalLP(dm, a_csc, prep, sup_cells, np.zeros(dm.n_cols))
        lp = None
        for req in by_cell[cell]:
            moved = witness_cells(req, prep, small.moved)
            if moved is None:
                todo.append(req)
            else:
                witnesses[(req.cell, req.direction)] = moved
        # then the cheapest cube (inner cells only; the box cannot hold its far corner)
        rest = []
        for req in todo:
            cube = cube_witness(cubes, prep, supp, req)
            if cube is None:
                rest.append(req)
                continue
            free(cube)
            witnesses[(req.cell, req.direction)] = cube
        todo = rest
        if not todo:
            continue
        cost = np.zeros(dm.n_cols)
        w = np.where(supp[cells], 0.0, prep.weight[cells])
        cost[dm.cell_col[cells]] = w
        cost[dm.cell_col[cells] + 1] = w
        lp = _LocalLP(dm, a_csc, prep, cells, cost)
        for req in todo:
            moved = witness_cells(req, prep, lp.moved, free)
            if moved is None:  # no witness in the box: the full model
                n_full += 1
                if full is None:
                    full = _DevLP(dm, prep, supp, published_fixed=False)
                else:
                    full.set_free(np.flatnonzero(supp))
                moved = witness_cells(req, prep, full.moved, free, fallback=True)
                if moved is None:
                    failed += 1
                    continue
            witnesses[(req.cell, req.direction)] = moved
    if failed:
        raise KitError("protect", f"{failed} protection requirement(s) cannot be met with the cells that "
                       "may be suppressed", "release some cells forced public, lower the protection "
                       "levels, or publish fewer margins")
    log.debug("local sequential LP: %d requirement(s) needed the full model", n_full)
    return supp, witnesses


def redundancy_local(structure: TableStructure, dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                     witnesses: Witnesses, deadline: float | None = None,
                     boxes: Boxes | None = None, cubes: Cubes | None = None) -> tuple[np.ndarray, Witnesses]:
    """:func:`kit.protect.repair.redundancy_elimination` with each re-found witness on its box.

    A witness that is not re-found in its box keeps the secondary suppressed.
    """
    boxes = boxes or Boxes(structure)
    a_csc = dm.a.tocsc()
    supp = suppressed.copy()
    wit = dict(witnesses)
    reqs = {(r.cell, r.direction): r for r in prep.requirements}
    users = witness_users(wit)
    sec = np.flatnonzero(supp & ~prep.must)
    order = sec[np.argsort(-prep.weight[sec], kind="stable")]
    box_cache: dict[int, np.ndarray] = {}
    for s in order:
        if deadline is not None and time.perf_counter() > deadline:
            break
        keys = sorted(users.get(int(s), set()))
        supp[s] = False
        new_wit: dict[tuple[int, int], np.ndarray] = {}
        ok = True
        for key in keys:
            req = reqs[key]
            if req.cell not in box_cache:
                box_cache[req.cell] = _box_cells(boxes, structure, prep, req.cell)
            cells = box_cache[req.cell]
            cells = cells[supp[cells]]  # published cells cannot move
            cost = np.zeros(dm.n_cols)
            sc = cells[~prep.must[cells]]
            cost[dm.cell_col[sc]] = prep.weight[sc]
            cost[dm.cell_col[sc] + 1] = prep.weight[sc]
            found = cube_witness(cubes, prep, supp, req, published_fixed=True)
            if found is None:
                found = witness_cells(req, prep, _LocalLP(dm, a_csc, prep, cells, cost).moved)
            if found is None:
                ok = False
                break
            new_wit[key] = found
        if not ok:
            supp[s] = True
            continue
        replace_witnesses(wit, users, new_wit)
    return supp, wit


def repair_failed(structure: TableStructure, dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                  failed: np.ndarray, boxes: Boxes | None = None) -> tuple[np.ndarray, int]:
    """Add cells so that every requirement of the ``failed`` cells holds against every attacker.

    Each requirement gets the witnesses of :func:`kit.protect.repair.witness_cells` (one against the
    plain attacker and the singletons it avoids, one more per singleton of the cell's own units that it
    moves, with that singleton fixed and the level the audit asks against it), which is exactly the
    audit's attacker model; first on the cell's box, else on the full model.

    Parameters
    ----------
    structure, dm, prep
        The table, its deviation model and the prepared requirements.
    suppressed
        Mask of suppressed canonical cells.
    failed
        Canonical cells whose requirements the audit found failing.
    boxes
        Local boxes (built when ``None``).

    Returns
    -------
    tuple of numpy.ndarray and int
        The new suppressed mask (a superset) and the number of requirements without witnesses.
    """
    boxes = boxes or Boxes(structure)
    a_csc = dm.a.tocsc()
    supp = suppressed.copy()
    bad = set(int(c) for c in failed)
    full: _DevLP | None = None
    unmet = 0

    def add(moved: np.ndarray) -> None:
        new = moved[~supp[moved]]
        supp[new] = True
        if full is not None and len(new):
            full.set_free(new)

    for req in prep.requirements:
        if req.cell not in bad:
            continue
        cells = _box_cells(boxes, structure, prep, req.cell)
        cost = np.zeros(dm.n_cols)
        w = np.where(supp[cells], 0.0, prep.weight[cells])
        cost[dm.cell_col[cells]] = w
        cost[dm.cell_col[cells] + 1] = w
        lp = _LocalLP(dm, a_csc, prep, cells, cost)

        def add_box(moved: np.ndarray, lp: _LocalLP = lp) -> None:
            add(moved)
            lp.set_free(moved)

        if witness_cells(req, prep, lp.moved, add_box) is not None:
            continue
        if full is None:
            full = _DevLP(dm, prep, supp, published_fixed=False)
        else:
            full.set_free(np.flatnonzero(supp))
        if witness_cells(req, prep, full.moved, add, fallback=True) is None:
            unmet += 1
    log.debug("repair: %d failed cell(s), %d requirement(s) without witnesses", len(bad), unmet)
    return supp, unmet


def reroute_local(structure: TableStructure, dm: DeviationModel, prep: Prepared, suppressed: np.ndarray,
                  witnesses: Witnesses, candidates: np.ndarray, deadline: float | None = None,
                  boxes: Boxes | None = None, cubes: Cubes | None = None) -> tuple[np.ndarray, Witnesses, int]:
    """Swap search on local boxes: publish a suppressed ``candidates`` cell when cheaper cells can replace it.

    For each candidate (costliest first) the cell is fixed published and every requirement whose
    witness moved it is re-protected on its box, where moving a suppressed cell is free and a
    published one costs its weight (cells added for an earlier requirement of the same swap are
    free for the later ones). When all are re-protected and the added cells cost less than the
    candidate, the swap is made. Used with the suppressed *margins* as candidates: on a large table
    the sequential LPs route many witnesses through a margin once it is suppressed (it is then
    free), and a margin costs many inner cells (issue 24).

    Returns
    -------
    tuple
        The new suppressed mask, its witnesses and the number of swaps made.
    """
    boxes = boxes or Boxes(structure)
    a_csc = dm.a.tocsc()
    supp = suppressed.copy()
    wit = dict(witnesses)
    reqs = {(r.cell, r.direction): r for r in prep.requirements}
    users = witness_users(wit)
    cand = np.asarray(candidates, dtype=np.int64)
    cand = cand[supp[cand] & ~prep.must[cand] & ~prep.forced[cand]]
    order = cand[np.argsort(-prep.weight[cand], kind="stable")]
    box_cache: dict[int, np.ndarray] = {}
    swaps = 0
    for s in order:
        if deadline is not None and time.perf_counter() > deadline:
            break
        if not supp[s]:
            continue
        keys = sorted(users.get(int(s), set()))
        budget = float(prep.weight[s])
        supp[s] = False
        added: list[int] = []
        new_wit: dict[tuple[int, int], np.ndarray] = {}
        ok = True
        for key in keys:
            req = reqs[key]
            if req.cell not in box_cache:
                box_cache[req.cell] = _box_cells(boxes, structure, prep, req.cell)
            cells = box_cache[req.cell]
            cells = cells[(cells != s) & ~prep.forced[cells]]
            cost = np.zeros(dm.n_cols)
            taken = supp[cells].copy()
            if added:
                taken |= np.isin(cells, added)
            w = np.where(taken, 0.0, prep.weight[cells])
            cost[dm.cell_col[cells]] = w
            cost[dm.cell_col[cells] + 1] = w
            found = witness_cells(req, prep, _LocalLP(dm, a_csc, prep, cells, cost).moved)
            taken_all = supp.copy()
            if added:
                taken_all[np.array(added, dtype=np.int64)] = True
            cube = cube_witness(cubes, prep, taken_all, req)
            if cube is not None and (found is None or prep.weight[cube[~taken_all[cube]]].sum()
                                     <= prep.weight[found[~taken_all[found]]].sum()):
                found = cube
            if found is None:
                ok = False
                break
            new = [int(c) for c in found if not supp[c] and int(c) not in added]
            added.extend(new)
            if float(prep.weight[added].sum()) >= budget * (1 - 1e-9):
                ok = False
                break
            new_wit[key] = found
        if not ok:
            supp[s] = True
            continue
        if added:
            supp[np.array(added, dtype=np.int64)] = True
        replace_witnesses(wit, users, new_wit)
        swaps += 1
    return supp, wit, swaps
