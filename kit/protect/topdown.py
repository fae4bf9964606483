"""Top-down protection of a hierarchical table, subtable by subtable (HiTaS, internal).

tau-Argus's modular method (HiTaS; de Wolf 2002) cuts a hierarchical table into
*non-hierarchical subtables*: one parent code per dimension (the total of a flat
dimension) with its direct children, crossed. The region × age table of a
municipality × age table is one, and each region with its municipalities × age
another. The subtables are protected top-down (by the depth of their parent
codes): a cell keeps the status the first subtable holding it gave it, so a
lower subtable finds its margins decided: a margin suppressed above is a
requirement of the subtable (it must be movable as the table above moved it),
a published one is forced public. Each subtable is small and solved by
:func:`kit.protect.engine.protect` itself (the MILP where it fits).

The assembled pattern is not guaranteed to protect the whole table (a
subtable's witnesses need not combine); :func:`kit.protect.engine.protect`
gives every requirement a witness on the whole table afterwards (sequential
LPs, which only add cells), then eliminates redundant cells, and the final
audit judges the result.

A passed-down margin gets, in both directions, the largest level of the
requirements of the subtable that suppressed it (its witnesses moved it by
about that much), downwards capped at its value.

Examples
--------
>>> from kit.protect.structure import Dimension, TableStructure
>>> from kit.protect.hierarchy import Hierarchy
>>> geo = Hierarchy.from_parents({"R1": "Total", "R2": "Total", "a": "R1", "b": "R1", "c": "R2", "d": "R2"})
>>> s = TableStructure.from_dimensions([Dimension("geo", hierarchy=geo), Dimension("sex", ("F", "M"))])
>>> [tuple(sorted({s.keys[i][0] for i in t.cells})) for t in subtables(s)]
[('R1', 'R2', 'Total'), ('R1', 'a', 'b'), ('R2', 'c', 'd')]

References
----------
de Wolf, P.P. (2002). HiTaS: a heuristic approach to cell suppression in
hierarchical tables. In *Inference Control in Statistical Databases*, LNCS 2316.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from kit.core.status import CellStatus
from kit.errors import KitError, KitInternalError
from kit.protect.improve import _dim_codes
from kit.protect.problem import ProtectionProblem
from kit.protect.requirements import Prepared
from kit.protect.structure import TableStructure

__all__ = ["SubTable", "subtables", "top_down"]

log = logging.getLogger(__name__)

#: ``solve(sub_problem, weights, time_limit)`` returns the sub-problem's suppressed mask (all cells).
#: Threads that solve subtables of the same depth at once (HiGHS releases the GIL while it solves).
TOPDOWN_WORKERS = 2
#: Seconds a subtable gets at least.
MIN_SECONDS = 0.5

SubSolver = Callable[[ProtectionProblem, np.ndarray, float | None], np.ndarray]


@dataclass(frozen=True)
class SubTable:
    """One non-hierarchical subtable: its cells (indices into the table), parent codes and depth."""

    cells: np.ndarray
    parents: tuple[str, ...]
    depth: int
    #: per cell of ``cells``: whether it is an inner cell of the subtable (every code a child)
    inner: np.ndarray


def _trees(structure: TableStructure) -> list[tuple[dict[str, str], dict[str, list[str]]]] | None:
    """Per dimension, parent and children maps derived from the leaf sets (``None`` without margins)."""
    out = []
    for d, leaves_of in enumerate(_dim_codes(structure)):
        root = structure.totals[d]
        if root not in leaves_of:
            return None
        parent: dict[str, str] = {}
        for c, s in leaves_of.items():
            if c == root:
                continue
            # the parent: the smallest strict superset (ties: the root, then by code order)
            sup = [(len(t), x) for x, t in leaves_of.items() if x != c and s < t]
            if not sup:  # same leaves as the root (a one-child total): a duplicate, treated as the root's child
                parent[c] = root
                continue
            parent[c] = min(sup)[1]
        children: dict[str, list[str]] = {}
        for c, p in parent.items():
            children.setdefault(p, []).append(c)
        out.append((parent, children))
    return out


def subtables(structure: TableStructure) -> list[SubTable]:
    """The non-hierarchical subtables, top-down (by the summed depth of their parent codes).

    Empty when a dimension has no total code among the cells.
    """
    trees = _trees(structure)
    if trees is None:
        return []
    nd = len(structure.dims)
    depth: list[dict[str, int]] = []
    for d, (parent, _) in enumerate(trees):
        dep = {structure.totals[d]: 0}
        for c in parent:
            k, x = 0, c
            while x in parent:
                x = parent[x]
                k += 1
            dep[c] = k
        depth.append(dep)
    keys = structure.keys
    cols = [np.array([k[d] for k in keys], dtype=object) for d in range(nd)]
    heads = [sorted(children, key=depth[d].__getitem__) for d, (_, children) in enumerate(trees)]
    out: list[SubTable] = []
    for combo in itertools.product(*heads):
        inside = np.ones(len(keys), dtype=bool)
        inner = np.ones(len(keys), dtype=bool)
        for d, p in enumerate(combo):
            kids = trees[d][1][p]
            inside &= np.isin(cols[d], [p, *kids])
            inner &= np.isin(cols[d], kids)
        cells = np.flatnonzero(inside)
        out.append(SubTable(cells, tuple(combo), sum(depth[d][p] for d, p in enumerate(combo)), inner[cells]))
    out.sort(key=lambda t: t.depth)
    return out


def _sub_structure(structure: TableStructure, t: SubTable) -> TableStructure:
    """The subtable as a table of its own: its inner cells are its atoms."""
    keys = tuple(structure.keys[i] for i in t.cells)
    atoms = [k for k, inn in zip(keys, t.inner) if inn]
    pos = {k: j for j, k in enumerate(atoms)}
    rows, cols = [], []
    nd = len(structure.dims)
    for i, k in enumerate(keys):
        for a in atoms:
            if all(k[d] == t.parents[d] or k[d] == a[d] for d in range(nd)):
                rows.append(i)
                cols.append(pos[a])
    m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(keys), len(atoms)))
    return TableStructure(structure.dims, keys, tuple(atoms), m, t.parents)


def top_down(problem: ProtectionProblem, prep: Prepared, solve: SubSolver, deadline: float | None,
             workers: int = TOPDOWN_WORKERS) -> tuple[np.ndarray, dict[str, float]]:
    """Protect the subtables top-down (see the module docs); returns the pattern (canonical cells).

    ``solve`` protects one subtable (a :class:`ProtectionProblem` over it, the weights of its cells,
    a time limit or ``None``). A subtable that cannot be protected with its published margins forced
    is solved again with them free (suppressing more never unprotects a cell). Subtables of the same
    depth that share no undecided cell are solved by ``workers`` threads at once, each with a share of
    the time left in proportion to its cells. Raises :class:`KitError` when a subtable cannot be
    protected at all.
    """
    s = problem.structure
    canon = s.canonical
    supp = prep.must.copy()
    decided = np.zeros(s.n_cells, dtype=bool)
    level_of = np.zeros(s.n_cells)  # per canonical cell suppressed above: the level passed down
    stats = {"subtables": 0.0, "solved": 0.0, "relaxed": 0.0}
    work = [t for t in subtables(s) if len(t.cells)]
    cells_left = float(sum(len(t.cells) for t in work))

    def job(t: SubTable, budget: float | None) -> tuple[np.ndarray, float]:
        cc = canon[t.cells]
        status = np.array(problem.status[t.cells], dtype=object)
        lpl = np.array(problem.lpl[t.cells], dtype=float)
        upl = np.array(problem.upl[t.cells], dtype=float)
        vals = problem.values[t.cells]
        passed = supp[cc] & ~np.array([st.suppressed for st in status])
        for j in np.flatnonzero(passed):
            status[j] = CellStatus.PRIMARY
            lev = level_of[cc[j]]
            lpl[j] = min(lev, abs(vals[j]))
            upl[j] = lev
        is_req = np.array([st is CellStatus.PRIMARY for st in status])
        if not is_req.any():
            return np.zeros(len(t.cells), dtype=bool), 0.0
        fixed_pub = decided[cc] & ~supp[cc] & np.array([st is CellStatus.SAFE for st in status])
        sub_s = _sub_structure(s, t)

        def part(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a)[t.cells]

        for relax in (False, True):
            st2 = status.copy()
            if not relax:
                st2[fixed_pub] = CellStatus.FORCED
            sub = ProtectionProblem(sub_s, vals, st2, lpl, upl, part(problem.cost), part(problem.n_units),
                                    part(problem.top1), problem.nonnegative, problem.sign_bounded)
            try:
                out = solve(sub, prep.weight[cc], budget)
            except (KitError, KitInternalError) as exc:
                log.debug("subtable %s: %s%s", t.parents, type(exc).__name__, "" if relax else "; margins freed")
                stats["relaxed"] += 1
                continue
            stats["solved"] += 1
            return out, float(np.max(np.maximum(lpl, upl)[is_req], initial=0.0))
        raise KitError("protect", "a subtable of the hierarchy cannot be protected",
                       "check the forced cells of the table")

    i = 0
    while i < len(work):
        # a wave: subtables of one depth whose undecided cells do not overlap
        wave = [work[i]]
        taken = set(canon[work[i].cells][~decided[canon[work[i].cells]]].tolist())
        i += 1
        while i < len(work) and work[i].depth == wave[0].depth and len(wave) < max(1, workers):
            own = set(canon[work[i].cells][~decided[canon[work[i].cells]]].tolist())
            if own & taken:
                break
            taken |= own
            wave.append(work[i])
            i += 1
        budgets: list[float | None] = []
        for t in wave:
            if deadline is None:
                budgets.append(None)
            else:
                left = deadline - time.perf_counter()
                budgets.append(max(MIN_SECONDS, min(left, left * len(wave) * len(t.cells) / max(cells_left, 1.0))))
        if len(wave) > 1:
            with ThreadPoolExecutor(max_workers=len(wave)) as pool:
                results = list(pool.map(job, wave, budgets))
        else:
            results = [job(wave[0], budgets[0])]
        for t, (sub_supp, req_lev) in zip(wave, results):
            stats["subtables"] += 1
            cells_left -= len(t.cells)
            cc = canon[t.cells]
            for j in np.flatnonzero(sub_supp & ~supp[cc]):
                level_of[cc[j]] = max(level_of[cc[j]], req_lev)
            supp[cc[sub_supp]] = True
            decided[cc] = True
    return supp, stats
