"""Time-boxed block-MILP improvement of a protected pattern (internal).

Given an incumbent pattern in which every requirement has a witness (see
:mod:`kit.protect.repair`), pick a *block* of cells (one branch of a hierarchy
with all codes of the other dimensions, its margins included, or a part of one),
and re-optimise which cells of the block are suppressed with one MILP (HiGHS via
:func:`scipy.optimize.milp`'s solver) while every cell outside the block keeps
its status. The MILP carries a witness copy (the deviation model of
:mod:`kit.protect.model`) for every requirement that lies in the block or whose
current witness uses a cell of the block; all other witnesses stay valid because
no cell they move changes. Moving cells outside the block is allowed where they
are suppressed (free) and impossible where they are published, so each copy is
an exact witness in the full table. A block solution is kept only when it is
cheaper than the incumbent (and, by the caller, when the full audit passes).

The MILP is started from the incumbent (its witnesses are found by one LP with the
block's suppression fixed), so HiGHS only ever returns something at least as good.
Per-cell moves are capped by the requirement's level (the Fischetti-Salazar
capacity ``y ≤ UB·x`` with a tight ``UB``), which makes the relaxation strong;
a tighter cap can only make the model stricter, never unsafe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from kit.protect._highs import LinearModel
from kit.protect.model import DeviationModel
from kit.protect.repair import MOVED_REL, _DevLP, _moved
from kit.protect.requirements import UP, Prepared, Requirement
from kit.protect.structure import TableStructure

__all__ = ["block_improve", "blocks_of"]

log = logging.getLogger(__name__)

Witnesses = dict[tuple[int, int], np.ndarray]

#: Split a block when (candidate cells × requirements touching it) exceeds this.
BLOCK_WORK = 40_000


def _dim_codes(structure: TableStructure) -> list[dict[str, frozenset[int]]]:
    """Per dimension, the leaf positions (along that dimension) under each code."""
    out = []
    nd = len(structure.dims)
    for d in range(nd):
        leaves_of: dict[str, frozenset[int]] = {}
        leaf_pos: dict[str, int] = {}
        for key in structure.atom_keys:
            leaf_pos.setdefault(key[d], len(leaf_pos))
        m = structure.matrix
        for i, key in enumerate(structure.keys):
            if key[d] in leaves_of:
                continue
            if all(key[e] == structure.totals[e] for e in range(nd) if e != d) or nd == 1:
                atoms = m.indices[m.indptr[i]:m.indptr[i + 1]]
                leaves_of[key[d]] = frozenset(leaf_pos[structure.atom_keys[a][d]] for a in atoms)
        # codes never seen with total elsewhere (tables without margins): derive from any cell
        for i, key in enumerate(structure.keys):
            if key[d] not in leaves_of:
                atoms = m.indices[m.indptr[i]:m.indptr[i + 1]]
                leaves_of[key[d]] = frozenset(leaf_pos[structure.atom_keys[a][d]] for a in atoms)
        out.append(leaves_of)
    return out


def top_branches(leaves_of: dict[str, frozenset[int]], root: str) -> tuple[list[str], dict[str, list[str]]]:
    """The top-level codes of one dimension and, for those with codes below them, all codes inside.

    ``leaves_of`` maps each code to its leaf positions (:func:`_dim_codes`); a top-level code is a
    code other than the root that is not strictly inside another one.
    """
    full = leaves_of.get(root, frozenset().union(*leaves_of.values()))
    proper = {c: s for c, s in leaves_of.items() if s != full}
    tops = [c for c, s in proper.items() if not any(s < t for t in proper.values())]
    deep = {c: [x for x, s in proper.items() if s <= proper[c]]
            for c in tops if any(s < proper[c] for s in proper.values())}
    return tops, deep


def blocks_of(structure: TableStructure, max_cells: int | None = None) -> list[np.ndarray]:
    """Cell masks of the improvement blocks.

    For every dimension with a hierarchy of two or more levels: one block per
    top-level branch (the branch's codes × all codes of the other dimensions)
    and one *top* block (the root and the top-level codes × all other codes). A
    table without such a dimension gives slices along its longest dimension.
    Blocks larger than ``max_cells`` are cut along another dimension (chunks of
    its codes, each with the total).
    """
    nd = len(structure.dims)
    codes = _dim_codes(structure)
    keys = structure.keys
    col_codes = [np.array([k[d] for k in keys], dtype=object) for d in range(nd)]
    blocks: list[np.ndarray] = []
    for d in range(nd):
        tops, deep = top_branches(codes[d], structure.totals[d])
        if not deep:
            continue
        for inside in deep.values():
            blocks.append(np.isin(col_codes[d], inside))
        blocks.append(np.isin(col_codes[d], [structure.totals[d], *tops]))
    if not blocks:
        d = int(np.argmax([len(c) for c in codes]))
        for c in codes[d]:
            blocks.append(col_codes[d] == c)
    if max_cells is None:
        return blocks
    out: list[np.ndarray] = []
    for b in blocks:
        if b.sum() <= max_cells:
            out.append(b)
            continue
        # cut along the dimension with the most codes inside the block
        within = [sorted({c for c in col_codes[e][b]} - {structure.totals[e]}) for e in range(nd)]
        # prefer a dimension the block does not restrict (cut a region's block by age, not by municipality)
        whole = [len(within[e]) == len(set(codes[e]) - {structure.totals[e]}) for e in range(nd)]
        order = sorted(range(nd), key=lambda e: (whole[e], len(within[e])), reverse=True)
        cut = False
        for e in order:
            vals = within[e]
            if len(vals) < 2:
                continue
            n_chunks = int(np.ceil(b.sum() / max_cells))
            size = max(1, int(np.ceil(len(vals) / n_chunks)))
            if size >= len(vals):
                continue
            for j in range(0, len(vals), size):
                chunk = [structure.totals[e], *vals[j:j + size]]
                out.append(b & np.isin(col_codes[e], chunk))
            cut = True
            break
        if not cut:
            out.append(b)
    return out


class _Block:
    """The MILP of one block; ``solve`` returns the new pattern and witnesses or ``None``."""

    def __init__(self, dm: DeviationModel, prep: Prepared, supp: np.ndarray, cand: np.ndarray,
                 reqs: list[Requirement], cap_factor: float | None) -> None:
        self.dm = dm
        self.prep = prep
        self.supp = supp
        self.reqs = reqs
        movable = (supp | cand) & prep.canon_mask
        mcells = np.flatnonzero(movable)
        pcols = dm.cell_col[mcells]
        cols = np.sort(np.concatenate([pcols, pcols + 1, dm.latent_cols, dm.latent_cols + 1]))
        colmap = np.full(dm.n_cols, -1, dtype=np.int64)
        colmap[cols] = np.arange(len(cols))
        sub = dm.a[:, cols].tocsr()
        sub = sub[np.diff(sub.indptr) > 0]
        m = len(cols)
        r = sub.shape[0]
        self.m = m
        self.mcells = mcells
        self.mpos = colmap[pcols]
        xcells = np.flatnonzero(cand)
        nx = len(xcells)
        self.xcells = xcells
        nk = len(reqs)
        ncol = nx + nk * m
        xpos = colmap[dm.cell_col[xcells]]
        big = 2.0 * float(max(prep.scale, 1.0))
        a_eq = sp.hstack([sp.csr_matrix((nk * r, nx)), sp.kron(sp.identity(nk, format="csr"), sub)],
                         format="csr")
        lo = np.zeros(ncol)
        hi = np.empty(ncol)
        hi[:nx] = 1.0
        base_hi = dm.neg_ub[cols]
        link_rows = []
        link_cols = []
        link_data = []
        for k, req in enumerate(reqs):
            off = nx + k * m
            hi[off:off + m] = base_hi
            u = big + req.level if cap_factor is None else min(big + req.level, cap_factor * req.level)
            # one capacity row per candidate: pos + neg <= U x (neg <= value is a column bound)
            rr = k * nx + np.arange(nx)
            link_rows += [rr, rr, rr]
            link_cols += [off + xpos, off + xpos + 1, np.arange(nx)]
            link_data += [np.ones(nx), np.ones(nx), np.full(nx, -u)]
            col = colmap[dm.cell_col[req.cell]]
            pos, neg = (col, col + 1) if req.direction == UP else (col + 1, col)
            lo[off + pos] = req.level
            hi[off + neg] = 0.0
            av = prep.avoid[req.cell]
            av_cols = colmap[dm.cell_col[av]]
            av_cols = av_cols[av_cols >= 0]
            hi[off + av_cols] = 0.0
            hi[off + av_cols + 1] = 0.0
        link = sp.csr_matrix((np.concatenate(link_data), (np.concatenate(link_rows), np.concatenate(link_cols))),
                             shape=(nx * nk, ncol))
        self.a = sp.vstack([a_eq, link], format="csr")
        self.rlo = np.concatenate([np.zeros(nk * r), np.full(nx * nk, -np.inf)])
        self.rhi = np.zeros(nk * r + nx * nk)
        self.lo = lo
        self.hi = hi
        self.cost = np.zeros(ncol)
        self.cost[:nx] = prep.weight[xcells]
        self.nx = nx
        self.ncol = ncol

    def start(self) -> np.ndarray | None:
        """A full MILP point for the incumbent (witnesses by one LP), or ``None``."""
        lo = self.lo.copy()
        hi = self.hi.copy()
        inc = self.supp[self.xcells].astype(float)
        lo[:self.nx] = inc
        hi[:self.nx] = inc
        lp = LinearModel(self.a, self.rlo, self.rhi, lo, hi, np.zeros(self.ncol), resolve="bounds")
        sol = lp.solve()
        if sol.status != "optimal" or sol.x is None:
            return None
        x = sol.x.copy()
        x[:self.nx] = inc
        return np.asarray(x)

    def solve(self, time_limit: float) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]] | None:
        x0 = self.start()
        if x0 is None:
            return None
        integer = np.zeros(self.ncol, dtype=np.uint8)
        integer[:self.nx] = 1
        model = LinearModel(self.a, self.rlo, self.rhi, self.lo, self.hi, self.cost, integer=integer,
                            time_limit=max(time_limit, 0.5), mip_rel_gap=1e-4)
        model.set_solution(x0)
        sol = model.solve()
        if sol.x is None:
            return None
        xs = sol.x[:self.nx] > 0.5
        new = self.supp.copy()
        new[self.xcells] = xs
        wit: dict[tuple[int, int], np.ndarray] = {}
        for k, req in enumerate(self.reqs):
            off = self.nx + k * self.m
            dev = sol.x[off + self.mpos] - sol.x[off + self.mpos + 1]
            moved = self.mcells[np.abs(dev) > MOVED_REL * req.level]
            if not new[moved].all():  # a cell moved by rounding noise only: reject the block
                return None
            wit[(req.cell, req.direction)] = moved
        return new, wit


def _solve_lazy(dm: DeviationModel, prep: Prepared, supp: np.ndarray, cand: np.ndarray,
                reqs: list[Requirement], time_limit: float, incumbent: float
                ) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]] | None:
    """Block MILP with requirement generation.

    Starts with one direction per cell (upwards where there is one), checks the
    others by LP on the MILP's pattern and adds the ones without a witness.
    """
    ups = {r.cell for r in reqs if r.direction == UP}
    active = [r for r in reqs if r.direction == UP or r.cell not in ups]
    end = time.perf_counter() + time_limit
    while True:
        left = end - time.perf_counter()
        if left <= 0.2:
            return None
        res = _Block(dm, prep, supp, cand, active, cap_factor=1.0).solve(left)
        if res is None:
            res = _Block(dm, prep, supp, cand, active, cap_factor=None).solve(max(end - time.perf_counter(), 0.2))
        if res is None:
            return None
        new, wit = res
        log.debug("block MILP: %d/%d requirements, %.1f s left", len(active), len(reqs), end - time.perf_counter())
        if float(prep.weight[new & ~prep.must].sum()) >= incumbent - 1e-9 * max(incumbent, 1.0):
            return None
        done = {(r.cell, r.direction) for r in active}
        rest = [r for r in reqs if (r.cell, r.direction) not in done]
        if not rest:
            return new, wit
        chk = _DevLP(dm, prep, new, published_fixed=True)
        missing = []
        for r in rest:
            dev = chk.solve(r, prep.avoid[r.cell])
            if dev is None:
                missing.append(r)
            else:
                wit[(r.cell, r.direction)] = _moved(dev, r)
        if not missing:
            return new, wit
        # repair: give the missing requirements witnesses by adding cells (suppression only grows)
        rep = _DevLP(dm, prep, new, published_fixed=False)
        repaired = new.copy()
        for r in missing:
            dev = rep.solve(r, prep.avoid[r.cell])
            if dev is None:
                repaired = None
                break
            moved = _moved(dev, r)
            add = moved[~repaired[moved]]
            if len(add):
                repaired[add] = True
                rep.set_free(add)
            wit[(r.cell, r.direction)] = moved
        if repaired is not None and (float(prep.weight[repaired & ~prep.must].sum())
                                     < incumbent - 1e-9 * max(incumbent, 1.0)):
            return repaired, wit
        active += missing


def block_improve(structure: TableStructure, dm: DeviationModel, prep: Prepared, supp: np.ndarray,
                  witnesses: Witnesses, deadline: float,
                  accept: Callable[[np.ndarray], bool] | None = None,
                  blocks: list[np.ndarray] | None = None) -> tuple[np.ndarray, Witnesses, dict[str, float]]:
    """Re-optimise blocks of the pattern until ``deadline`` or a pass without gain.

    ``accept(new_supp)`` (e.g. the full audit) decides whether an improvement is
    kept. Returns the pattern, its witnesses and counters.
    """
    supp = supp.copy()
    wit = dict(witnesses)
    canon = structure.canonical
    n_canon = int(prep.canon_mask.sum())
    if blocks is None:
        n_req = max(len(prep.requirements), 1)
        max_cells = max(200, int(BLOCK_WORK * 4 / n_req * n_canon / max(structure.n_cells, 1)))
        blocks = blocks_of(structure, max_cells=max_cells)
    bmasks = []
    for b in blocks:
        cm = np.zeros(structure.n_cells, dtype=bool)
        cm[canon[b]] = True
        cand = cm & prep.canon_mask & ~prep.must & ~prep.forced
        if cand.any():
            bmasks.append(cm)
    reqs_by_key = {(r.cell, r.direction): r for r in prep.requirements}
    stats = {"blocks": 0.0, "improved": 0.0, "rejected": 0.0, "gain": 0.0}

    def cost(s: np.ndarray) -> float:
        return float(prep.weight[s & ~prep.must].sum())

    improved_any = True
    while improved_any and time.perf_counter() < deadline:
        improved_any = False
        # blocks with the costliest secondaries first
        order = sorted(range(len(bmasks)), key=lambda i: -cost(supp & bmasks[i]))
        for i in order:
            left = deadline - time.perf_counter()
            if left <= 0.5:
                break
            cm = bmasks[i]
            cand = cm & prep.canon_mask & ~prep.must & ~prep.forced
            if not (supp & cand).any():
                continue
            reqs = [r for key, r in reqs_by_key.items()
                    if cm[r.cell] or (key in wit and cand[wit[key]].any())]
            if not reqs:
                continue
            stats["blocks"] += 1
            t0 = time.perf_counter()
            res = _solve_lazy(dm, prep, supp, cand, reqs, min(left, max(3.0, left / 4)), cost(supp))
            if res is None:
                continue
            new, new_wit = res
            old_c, new_c = cost(supp), cost(new)
            log.debug("block %d: %d candidates, %d requirements, %.2f s, %s", i, int(cand.sum()), len(reqs),
                      time.perf_counter() - t0, "cheaper" if new_c < old_c else "not cheaper")
            if new_c >= old_c - 1e-9 * max(old_c, 1.0):
                continue
            if accept is not None and not accept(new):
                stats["rejected"] += 1
                continue
            supp = new
            wit.update(new_wit)
            stats["improved"] += 1
            stats["gain"] += old_c - new_c
            improved_any = True
    return supp, wit, stats
