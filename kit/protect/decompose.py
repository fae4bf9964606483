"""Improvement by decomposition along a hierarchy (HiTaS-like, internal).

A table with a hierarchical dimension (municipality within region) falls into
*branches*: one top-level code (a region) with everything below it, crossed with
all codes of the other dimensions. A branch touches the rest of the table only
through its *boundary*: the cells at the branch's own code (the region's row of
margins), which it shares with the table above. When every boundary cell is
published, a deviation of the branch that leaves its boundary unchanged is a
deviation of the whole table (every cell outside the branch that contains
branch atoms moves exactly as a boundary cell), so the branch can be protected
on its own, like a sub-table of tau-Argus's modular method (HiTaS; de Wolf 2002),
but with the kit's own methods: sequential LPs, redundancy elimination and, for
sub-tables of up to ``BENDERS_CELLS`` cells, Fischetti-Salazar cut generation.

``branch_improve`` re-protects each branch that holds requirements (largest
first, time shared in proportion to their requirements) as a sub-problem with
its boundary forced public and every other cell free, then puts the branch's
pattern into the whole table. Requirements outside the branch whose witnesses
used the branch's old cells get new witnesses by sequential LPs on the whole
table (cells are only added). The result replaces the incumbent only when it is
cheaper and ``accept`` (the full audit) passes it. Branches whose boundary holds
a suppressed cell are left as they are.

Branches are solved by ``BRANCH_WORKERS`` threads at once (HiGHS releases the
GIL while it solves; the merging is sequential).

Why: on the 5,304-cell benchmark table (98 municipalities in 5 regions × 16 age
groups × sex) whole-table local search stalled at 325 secondary cells / 1.53 M;
branch by branch, each region small enough for cut generation, the same 240 s
give 262-274 cells / 1.47-1.50 M (docs/suppression.md). Fixing the region
margins costs little there because no good pattern suppresses them; on the
1,768-cell table, which cut generation handles whole, branches gave 43 cells but
183 k of value against 54 / 166 k, so tables of up to ``BENDERS_CELLS`` cells
are not split.

References
----------
de Wolf, P.P. (2002). HiTaS: a heuristic approach to cell suppression in
hierarchical tables. In *Inference Control in Statistical Databases*, LNCS 2316.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kit.core.status import CellStatus
from kit.errors import KitError, KitInternalError
from kit.protect.improve import _dim_codes, top_branches
from kit.protect.model import DeviationModel
from kit.protect.problem import ProtectionProblem
from kit.protect.repair import Witnesses, sequential_lp
from kit.protect.requirements import Prepared
from kit.protect.structure import TableStructure

__all__ = ["Branch", "branch_improve", "branches"]

log = logging.getLogger(__name__)

#: Threads that solve branches at the same time.
BRANCH_WORKERS = 2
#: Seconds a branch gets at least (branches that would get less are skipped).
MIN_BRANCH_SECONDS = 4.0

#: ``solve(sub_problem, weights, time_limit)`` returns the sub-problem's suppressed mask (all cells).
SubSolver = Callable[[ProtectionProblem, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Branch:
    """Cells of one branch (indices into the table) and which of them are its boundary."""

    cells: np.ndarray
    boundary: np.ndarray  # mask over ``cells``


def branches(structure: TableStructure) -> list[Branch]:
    """The top-level branches of the dimension with the most of them (empty without a hierarchy).

    Only a dimension whose hierarchy has at least two levels below the total has
    branches; the branch of top-level code ``c`` holds every cell whose code in
    that dimension is ``c`` or below it, and its boundary the cells at ``c``.
    """
    nd = len(structure.dims)
    codes = _dim_codes(structure)
    best: list[Branch] = []
    for d in range(nd):
        _, deep = top_branches(codes[d], structure.totals[d])
        if len(deep) < 2:
            continue
        col = np.array([k[d] for k in structure.keys], dtype=object)
        out = []
        for c, inside in deep.items():
            cells = np.flatnonzero(np.isin(col, inside))
            out.append(Branch(cells, col[cells] == c))
        if len(out) > len(best):
            best = out
    return best


def sub_problem(problem: ProtectionProblem, branch: Branch) -> ProtectionProblem | None:
    """The branch as a problem of its own, boundary forced public (``None`` if it cannot be cut out)."""
    s = problem.structure
    cells = branch.cells
    canon = s.canonical
    inside = np.zeros(s.n_cells, dtype=bool)
    inside[cells] = True
    if not inside[canon[cells]].all():  # a branch cell equal to a cell outside (a single top-level code)
        return None
    status = np.array(problem.status[cells], dtype=object)
    bnd = branch.boundary
    if any(st.suppressed for st in status[bnd]):
        return None
    status[bnd] = CellStatus.FORCED
    m = s.matrix[cells]
    atoms = np.unique(m.indices)
    sub_m = m[:, atoms]
    keys = tuple(s.keys[i] for i in cells)
    # the branch's total in each dimension: the code of a boundary cell where the others are totals
    totals = list(s.totals)
    for i in np.flatnonzero(bnd):
        key = keys[i]
        diff = [d for d in range(len(key)) if key[d] != s.totals[d]]
        if len(diff) == 1:
            totals[diff[0]] = key[diff[0]]
            break
    sub_s = TableStructure(s.dims, keys, tuple(s.atom_keys[a] for a in atoms), sub_m, tuple(totals))

    def part(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[cells]

    return ProtectionProblem(sub_s, problem.values[cells], status, problem.lpl[cells], problem.upl[cells],
                             part(problem.cost), part(problem.n_units), part(problem.top1), problem.nonnegative,
                             problem.sign_bounded)


def branch_improve(problem: ProtectionProblem, dm: DeviationModel, prep: Prepared, supp: np.ndarray,
                   witnesses: Witnesses, deadline: float, solve: SubSolver,
                   accept: Callable[[np.ndarray], bool], cost: np.ndarray | None = None,
                   workers: int = BRANCH_WORKERS) -> tuple[np.ndarray, Witnesses, dict[str, float]]:
    """Re-protect every branch on its own and keep what is cheaper (see the module docs).

    ``cost`` (per cell, default ``prep.weight``) is what a branch minimises and what decides
    whether its pattern is kept. Branches are solved by ``workers`` threads (HiGHS releases the
    GIL while it solves); each gets a share of ``workers`` × the time left in proportion to its
    requirements (at most the time left). ``witnesses`` are those of ``supp``. Returns the pattern
    (canonical cells), its witnesses and counters.
    """
    s = problem.structure
    canon = s.canonical
    weight = prep.weight if cost is None else cost
    stats = {"branches": 0.0, "improved": 0.0, "rejected": 0.0, "gain": 0.0}
    req_cells = np.zeros(s.n_cells, dtype=bool)
    req_cells[[r.cell for r in prep.requirements]] = True
    work: list[tuple[int, Branch, ProtectionProblem]] = []
    for br in branches(s):
        n_req = int(req_cells[canon[br.cells[~br.boundary]]].sum())
        if not n_req:
            continue
        # a suppressed boundary cell would have to move with cells outside the branch: leave it as it is
        sub = None if supp[canon[br.cells[br.boundary]]].any() else sub_problem(problem, br)
        if sub is not None:
            work.append((n_req, br, sub))
    if not work:
        return supp.copy(), dict(witnesses), stats
    work.sort(key=lambda t: -t[0])
    total_req = sum(n for n, _, _ in work)
    workers = max(1, min(workers, len(work)))
    span = deadline - time.perf_counter()
    share = {id(br): min(1.0, workers * n / total_req) * span for n, br, _ in work}

    def run(br: Branch, sub: ProtectionProblem) -> np.ndarray | None:
        budget = min(share[id(br)], deadline - time.perf_counter())
        if budget < MIN_BRANCH_SECONDS:
            return None
        try:
            return solve(sub, weight[canon[br.cells]], budget)
        except (KitError, KitInternalError) as exc:  # the whole table keeps its pattern for this branch
            log.debug("a branch has no sub-pattern (%s)", type(exc).__name__)
            return None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, br, sub) for _, br, sub in work]
        results = [f.result() for f in futures]
    supp = supp.copy()
    wit = dict(witnesses)

    def value(mask: np.ndarray) -> float:
        return float(weight[mask & ~prep.must].sum())

    for (n_req, br, _), sub_supp in zip(work, results):
        if sub_supp is None:
            continue
        stats["branches"] += 1
        cand = supp.copy()
        cand[canon[br.cells[~br.boundary]]] = False
        cand[canon[br.cells[sub_supp]]] = True
        cand |= prep.must
        try:
            # requirements outside the branch whose witnesses used its old cells: re-protect (adds cells)
            cand, cand_wit = sequential_lp(dm, prep, cand)
        except KitError:
            continue
        old_c, new_c = value(supp), value(cand)
        log.debug("branch with %d requirement cell(s): %s", n_req, "cheaper" if new_c < old_c else "not cheaper")
        if new_c >= old_c - 1e-9 * max(old_c, 1.0):
            continue
        if not accept(cand):
            stats["rejected"] += 1
            continue
        supp, wit = cand, cand_wit
        stats["improved"] += 1
        stats["gain"] += old_c - new_c
    return supp, wit, stats
