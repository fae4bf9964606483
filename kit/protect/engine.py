"""``protect``: choose secondary cells, then audit the pattern.

Methods
-------
``milp``      one MILP over all requirements (:mod:`kit.protect.milp`): least
              cost, for small tables.
``gauss_lp``  the scalable method: sequential protection LPs with witnesses
              (:mod:`kit.protect.repair`; on local boxes for tables of more than
              ``LOCAL_CELLS`` cells, :mod:`kit.protect.local`), redundancy
              elimination, and, with a ``time_limit``, an improvement step until
              the time limit: Fischetti-Salazar cut generation over the whole
              table (:mod:`kit.protect.benders`) for tables of up to
              ``BENDERS_CELLS`` cells; larger tables with a hierarchy are
              re-protected branch by branch (:mod:`kit.protect.decompose`),
              others by block-MILP improvement (:mod:`kit.protect.improve`).
``auto``      ``milp`` when the model is small, else ``gauss_lp``.

Every method ends with :func:`~kit.protect.audit.audit`; a pattern that fails
the audit is never returned (an error is raised instead).

Examples
--------
>>> from kit.protect.structure import Dimension, TableStructure
>>> s = TableStructure.from_dimensions([Dimension("r", ("a", "b")), Dimension("c", ("x", "y"))])
>>> vals = [20, 11, 9, 10, 6, 4, 10, 5, 5]   # Total row, then a, then b
>>> prim = [k == ("a", "x") for k in s.keys]
>>> res = protect(ProtectionProblem.build(s, vals, primary=prim), method="milp")
>>> res.n_secondary, res.audit.verdict.value
(3, 'PASS')
>>> sorted(s.keys[i] for i in res.secondary_cells)
[('a', 'y'), ('b', 'x'), ('b', 'y')]
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from kit.core.status import CellStatus, Reason, ReasonCode
from kit.errors import KitError, KitInternalError, SpecError
from kit.protect.audit import AuditResult, audit
from kit.protect.benders import benders
from kit.protect.cubes import Cubes
from kit.protect.decompose import branch_improve, branches
from kit.protect.improve import block_improve
from kit.protect.local import Boxes, redundancy_local, repair_failed, reroute_local, sequential_lp_local
from kit.protect.milp import milp_size, solve_milp
from kit.protect.model import DeviationModel
from kit.protect.problem import ProtectionProblem
from kit.protect.repair import redundancy_elimination, reroute, sequential_lp
from kit.protect.requirements import prepare
from kit.protect.structure import TableStructure
from kit.protect.topdown import subtables, top_down

__all__ = ["METHODS", "ProtectionResult", "protect"]

log = logging.getLogger(__name__)

METHODS = ("auto", "milp", "gauss_lp")
#: ``auto`` uses the MILP up to this many model columns.
MILP_AUTO_LIMIT = 60_000
#: ``gauss_lp`` solves its protection LPs on local boxes above this many cells (:mod:`kit.protect.local`).
LOCAL_CELLS = 20_000
#: On tables solved on local boxes, redundancy elimination gets this share of the time left, the swap
#: search over the suppressed margins (:func:`kit.protect.local.reroute_local`) the rest.
MARGIN_SWAP_AFTER = 0.7
#: Rounds of repair (:func:`kit.protect.local.repair_failed`) when the final audit fails.
REPAIR_ROUNDS = 5
#: ``gauss_lp`` improves tables of up to this many (canonical) cells by cut generation over the whole
#: table (:mod:`kit.protect.benders`), larger ones by the block MILP (:mod:`kit.protect.improve`).
BENDERS_CELLS = 3_000
#: Share of the improvement time for cut generation (the swap search polishes in the rest).
BENDERS_SHARE = 0.95
#: Per-cell charge of the improvement step, as a share of the median weight of the cells that may be
#: suppressed: the step minimises weight + charge per cell (fewer cells for a little more value).
CELL_CHARGE = 0.4
#: The improvement step first re-runs the protection LPs and redundancy elimination with these multiples
#: of the charge per cell (a pattern is kept when cheaper with the charge).
RESTART_CHARGES = (1.0, 2.5)
#: Share of the improvement time for re-protecting the branches of a hierarchical table that is too
#: large for cut generation (:mod:`kit.protect.decompose`); the swap search polishes in the rest.
BRANCH_SHARE = 0.92
#: Strengths of the LP-guided heuristic after the cut generation's LP phase (see ``benders``).
GUIDE = (0.8, 0.95, 1.0)
#: Share of the improvement time for the top-down pass over the subtables of a hierarchical table
#: (:mod:`kit.protect.topdown`); the whole-table improvement starts from the better pattern.
TOPDOWN_SHARE = 0.85
#: The per-cell charge (share of the median weight) with which the top-down pass solves its subtables:
#: on M2d_1768 0.15 gave 57 cells / 159,643 and 0.4 51-52 / 172-176k (subtables of 5-10 s each).
TOPDOWN_CHARGE = 0.15
#: Gap and first time limit (s) of each master MILP of the cut generation: short rounds, many cuts.
MASTER_GAP = 0.05
MASTER_LIMIT = 1.5
#: Local-branching radius of the master rounds (cells that may differ from the incumbent; 0 = off).
MASTER_RADIUS = 10
SECONDARY_REASON = Reason("secondary", ReasonCode.COMPLEMENTARY,
                          "suppressed so that suppressed cells cannot be derived from the published ones")


@dataclass(frozen=True, repr=False)
class ProtectionResult:
    """Final statuses, reasons of the secondary cells, and the audit.

    ``suppressed_value`` is the total value of the secondary cells (the
    information loss tau-Argus reports) and ``table_total`` the sum of the inner
    cells' sizes (the grand total of a non-negative table); ``suppressed_share`` is
    their ratio. Private, for the checker and benchmarks: the sum of the secondary
    cells is one more equation about them, never for a release.
    """

    structure: TableStructure
    status: np.ndarray
    reasons: tuple[tuple[int, Reason], ...]
    audit: AuditResult
    method: str
    seconds: float
    n_primary: int
    n_secondary: int
    suppressed_value: float
    optimal: bool
    table_total: float = 0.0

    @property
    def suppressed_share(self) -> float:
        """Suppressed secondary value as a share of the table's total (0 for an empty table)."""
        return self.suppressed_value / self.table_total if self.table_total > 0 else 0.0

    def __repr__(self) -> str:
        return (f"ProtectionResult(method={self.method!r}, primary={self.n_primary}, "
                f"secondary={self.n_secondary}, audit={self.audit.verdict.value}, "
                f"seconds={self.seconds:.2f})")

    @property
    def secondary_cells(self) -> np.ndarray:
        """Indices of the secondary cells."""
        return np.flatnonzero([s is CellStatus.SECONDARY for s in self.status])

    @property
    def suppressed(self) -> np.ndarray:
        """Mask of all suppressed cells."""
        return np.array([s.suppressed for s in self.status], dtype=bool)

    def codes(self) -> list[str]:
        """tau-Argus / sdcTable status codes in cell order."""
        return [s.code for s in self.status]

    def to_frame(self, column: str = "status") -> pd.DataFrame:
        """Dimension columns and the status code per cell."""
        return self.structure.to_frame(**{column: self.codes()})

    def summary(self) -> str:
        """One line without any cell value."""
        return (f"{self.method}: {self.n_primary} primary, {self.n_secondary} secondary cell(s) in "
                f"{self.seconds:.2f} s{' (optimal)' if self.optimal else ''}; {self.audit.summary()}")


def protect(problem: ProtectionProblem, method: str = "auto", cost: Any = "value",
            time_limit: float | None = None, *, redundancy: bool = True, improve: bool = True,
            audit_intervals: str = "all", cell_charge: float = CELL_CHARGE) -> ProtectionResult:
    """Choose secondary suppressions so that every primary cell is interval-protected.

    Parameters
    ----------
    problem
        Structure, values, statuses (``PRIMARY`` / ``FORCED`` / ``NEVER``), levels.
    method
        ``auto``, ``milp`` or ``gauss_lp`` (see the module docs).
    cost
        A :class:`~kit.protect.requirements.CostModel` or its name: ``"value"``
        (default: the problem's cost column, else the cell value), ``"frequency"``
        (contributing units), ``"unity"`` (1 per cell; ``"cells"`` too), ``"log"``
        (log(1 + value)); or an array of weights, one per cell. A tiny per-cell
        charge is added so that free cells are not suppressed needlessly.
    time_limit
        Seconds for the optimisation steps (the MILP, the improvement and the
        redundancy elimination). Protection itself is never cut short.
    redundancy
        Run redundancy elimination (``gauss_lp``).
    improve
        With ``gauss_lp`` and a ``time_limit``: improve the pattern until the time
        limit by cut generation (:mod:`kit.protect.benders`), branch by branch
        (:mod:`kit.protect.decompose`, two threads) or by block MILPs
        (:mod:`kit.protect.improve`), for the cost plus a per-cell charge of
        ``CELL_CHARGE`` times the median cost (fewer cells for a little more
        value); an improvement is kept only when the full audit passes.
    audit_intervals
        Passed to :func:`audit` as ``intervals`` for the final audit.
    cell_charge
        The improvement step's charge per cell, as a share of the median weight of the cells that
        may be suppressed (default ``CELL_CHARGE``; the top-down pass solves its subtables with
        ``TOPDOWN_CHARGE``).

    Raises
    ------
    KitError
        When no pattern can protect the primaries (e.g. forced cells block it).
    """
    if method not in METHODS:
        raise SpecError("protect", f"unknown method {method!r}", f"use one of {', '.join(METHODS)}")
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    prep = prepare(problem, cost)
    dm = DeviationModel.build(problem)
    chosen = method
    if method == "auto":
        chosen = "milp" if milp_size(dm, prep) <= MILP_AUTO_LIMIT else "gauss_lp"
    optimal = False
    before_swaps: np.ndarray | None = None
    if not prep.requirements:
        supp = prep.must.copy()
    elif chosen == "milp":
        def failing(candidate: np.ndarray) -> set[int]:
            st, _ = _statuses(problem, candidate)
            res = audit(problem.with_status(st), intervals="certify")
            return {int(c) for c in problem.structure.canonical[res.failed_cells]}

        # singletons: the MILP asks what the audit checks (copies against the attackers it finds)
        supp, optimal = solve_milp(dm, prep, problem.values, time_limit, failing=failing)
    else:
        local = problem.structure.n_cells > LOCAL_CELLS
        log.debug("gauss_lp: %d requirement(s), %s LPs", len(prep.requirements), "local" if local else "full")
        if local:
            boxes = Boxes(problem.structure)
            # cube witnesses (inner cells only) where the box would need a margin; non-negative tables
            cubes = Cubes(problem.structure) if problem.nonnegative else None
            supp, wit = sequential_lp_local(problem.structure, dm, prep, prep.must.copy(), boxes, cubes)
        else:
            supp, wit = sequential_lp(dm, prep, prep.must.copy())
        log.debug("sequential LP: %d suppressed after %.1f s", int(supp.sum()), time.perf_counter() - t0)
        # a hierarchical table too large for cut generation is re-protected branch by branch, each branch
        # with its own redundancy elimination: the whole-table pass would be spent on cells about to change
        improving = improve and not local and deadline is not None and time.perf_counter() < deadline - 1.0
        split = branches(problem.structure) if improving and int(prep.canon_mask.sum()) > BENDERS_CELLS else []
        # a hierarchical table is protected top-down too (HiTaS); its pattern replaces the first if cheaper
        hitas = improving and problem.nonnegative and any(t.depth > 0 for t in subtables(problem.structure))
        if redundancy and not split and not hitas:
            if local:
                red_end = None if deadline is None else time.perf_counter() + MARGIN_SWAP_AFTER * max(
                    0.0, deadline - time.perf_counter())
                reduced, wit_r = redundancy_local(problem.structure, dm, prep, supp, wit, red_end, boxes, cubes)
            else:
                reduced, wit_r = redundancy_elimination(dm, prep, supp, wit, deadline)
            status, _ = _statuses(problem, reduced)
            if audit(problem.with_status(status), intervals="certify").n_failed == 0:
                supp, wit = reduced, wit_r
            else:  # keep the unreduced pattern, which has witnesses for every requirement
                log.debug("redundancy elimination reverted: its pattern failed the audit")
            log.debug("redundancy elimination: %d suppressed after %.1f s", int(supp.sum()), time.perf_counter() - t0)
        if local and deadline is not None and time.perf_counter() < deadline - 1.0:
            # swap suppressed margins for cheaper inner cells (cubes, box LPs) in the time left; the final
            # audit judges the result, and the pattern before the swaps is kept if it fails
            margins = np.flatnonzero(problem.structure.n_atoms_per_cell > 1)
            swapped, wit_s, n_swaps = reroute_local(problem.structure, dm, prep, supp, wit, margins, deadline,
                                                    boxes, cubes)
            log.debug("margin swaps: %d (%d suppressed) after %.1f s", n_swaps, int(swapped.sum()),
                      time.perf_counter() - t0)
            if n_swaps:
                before_swaps = supp
                supp, wit = swapped, wit_s
        # the block MILP is for tables solved with the full LPs (blocks of a large table are too big)
        if improving and deadline is not None:
            def passes(candidate: np.ndarray) -> bool:
                st, _ = _statuses(problem, candidate)
                return audit(problem.with_status(st), intervals="certify").n_failed == 0

            # improve for the cost plus a per-cell charge: fewer cells for a little more value
            free = prep.canon_mask & ~prep.must & ~prep.forced
            charge = cell_charge * float(np.median(prep.weight[free])) if free.any() else 0.0
            prep_c = replace(prep, weight=prep.weight + charge)

            def swap(until: float) -> None:
                nonlocal supp, wit
                swapped, wit_s = reroute(dm, prep_c, supp, wit, until)
                if prep_c.weight[swapped].sum() < prep_c.weight[supp].sum() and passes(swapped):
                    supp, wit = swapped, wit_s
                log.debug("swap search: %d suppressed after %.1f s", int(supp.sum()), time.perf_counter() - t0)

            if hitas and deadline is not None:
                def solve_td(sub: ProtectionProblem, weights: np.ndarray, limit: float | None) -> np.ndarray:
                    return protect(sub, method="gauss_lp", cost=weights, time_limit=limit,
                                   audit_intervals="certify", cell_charge=TOPDOWN_CHARGE).suppressed

                td_end = time.perf_counter() + TOPDOWN_SHARE * (deadline - time.perf_counter())
                try:
                    td, td_stats = top_down(problem, prep, solve_td, td_end)
                    td, td_wit = sequential_lp(dm, prep, td | prep.must)  # witnesses on the whole table
                except KitError:
                    td_stats = {}
                else:
                    if prep_c.weight[td].sum() < prep_c.weight[supp].sum() and passes(td):
                        supp, wit = td, td_wit
                log.debug("top-down: %s; %d suppressed after %.1f s", td_stats, int(supp.sum()),
                          time.perf_counter() - t0)
            for mult in RESTART_CHARGES if charge > 0 and not split and not hitas else ():
                # the protection LPs again, priced with a charge per cell: they then prefer fewer, larger cells
                if time.perf_counter() > deadline - 1.0:
                    break
                prep_m = replace(prep, weight=prep.weight + mult * charge)
                restart, wit_r = sequential_lp(dm, prep_m, prep.must.copy())
                restart, wit_r = redundancy_elimination(dm, prep_m, restart, wit_r, deadline)
                log.debug("restart with %.1f x the charge: %d suppressed after %.1f s", mult, int(restart.sum()),
                          time.perf_counter() - t0)
                if prep_c.weight[restart].sum() < prep_c.weight[supp].sum() and passes(restart):
                    supp, wit = restart, wit_r
            if int(prep.canon_mask.sum()) <= BENDERS_CELLS:
                # cut generation over the whole table (LP phase, LP-guided heuristic, master rounds with
                # repair); the swap search polishes its pattern in the time left
                cut_deadline = time.perf_counter() + BENDERS_SHARE * (deadline - time.perf_counter())
                supp, wit, bstats = benders(dm, prep_c, supp, wit, cut_deadline, accept=passes, repair_all=True,
                                            guide=GUIDE, gap=MASTER_GAP, round_limit=MASTER_LIMIT,
                                            radius=MASTER_RADIUS)
                log.debug("cut generation: %s", bstats)
                swap(deadline)
            elif split:
                # a hierarchical table: each branch re-protected on its own (cut generation on sub-tables),
                # the swap search polishes the whole table in the time left
                def solve_sub(sub: ProtectionProblem, weights: np.ndarray, limit: float) -> np.ndarray:
                    return protect(sub, method="gauss_lp", cost=weights, time_limit=limit,
                                   audit_intervals="certify").suppressed

                branch_end = time.perf_counter() + BRANCH_SHARE * (deadline - time.perf_counter())
                supp, wit, dstats = branch_improve(problem, dm, prep, supp, wit, branch_end, solve_sub, passes,
                                                   cost=prep_c.weight)
                log.debug("branches: %s", dstats)
                if redundancy:  # cells outside the branches, and branches that were not improved
                    reduced, wit_r = redundancy_elimination(dm, prep_c, supp, wit, deadline)
                    if prep_c.weight[reduced].sum() < prep_c.weight[supp].sum() and passes(reduced):
                        supp, wit = reduced, wit_r
                    log.debug("redundancy elimination: %d suppressed after %.1f s", int(supp.sum()),
                              time.perf_counter() - t0)
                swap(deadline)
            else:
                # the swap search gets a quarter of the time left; the block MILP the rest
                swap(time.perf_counter() + 0.25 * (deadline - time.perf_counter()))
                supp, wit, stats = block_improve(problem.structure, dm, prep_c, supp, wit, deadline, accept=passes)
                log.debug("block MILP: %s", stats)
    status, reasons = _statuses(problem, supp)
    log.debug("%s: pattern after %.1f s; final audit", chosen, time.perf_counter() - t0)
    result_audit = audit(problem.with_status(status), intervals=audit_intervals)
    if result_audit.n_failed and before_swaps is not None:  # the margin swaps broke something: undo them
        log.debug("margin swaps reverted: their pattern failed the audit")
        supp = before_swaps
        status, reasons = _statuses(problem, supp)
        result_audit = audit(problem.with_status(status), intervals=audit_intervals)
    # repair: witnesses against the exact attackers of the failing cells (see repair_failed), then audit
    # again; every round only adds cells, and a round that adds none cannot help
    # (the MILP's witnesses avoid the same singletons as the LPs' main witnesses, so it may need it too)
    for _ in range(REPAIR_ROUNDS if result_audit.n_failed else 0):
        log.debug("final audit failed on %d cell(s); repairing", result_audit.n_failed)
        repaired, unmet = repair_failed(problem.structure, dm, prep, supp,
                                        problem.structure.canonical[result_audit.failed_cells])
        if unmet or not (repaired & ~supp).any():
            log.debug("repair found no witnesses for %d requirement(s) and added %d cell(s); giving up",
                      unmet, int((repaired & ~supp).sum()))
            break
        supp = repaired
        optimal = False
        status, reasons = _statuses(problem, supp)
        result_audit = audit(problem.with_status(status), intervals=audit_intervals)
        if not result_audit.n_failed:
            break
    if result_audit.n_failed:
        raise KitInternalError(f"protect: the {chosen} pattern left {result_audit.n_failed} cell(s) "
                               "under-protected; the pattern was not returned")
    secondary = np.array([s is CellStatus.SECONDARY for s in status])
    newly = secondary & ~problem.mask(CellStatus.SECONDARY)
    inner = problem.structure.n_atoms_per_cell == 1
    return ProtectionResult(problem.structure, status, reasons, result_audit, chosen,
                            time.perf_counter() - t0, int(problem.mask(CellStatus.PRIMARY).sum()),
                            int(newly.sum()), float(problem.values[newly].sum()), optimal,
                            float(np.abs(problem.values[inner & (problem.structure.canonical
                                                                 == np.arange(problem.structure.n_cells))]).sum()))


def _statuses(problem: ProtectionProblem, supp_canon: np.ndarray) -> tuple[np.ndarray, tuple[tuple[int, Reason], ...]]:
    canon = problem.structure.canonical
    status = np.array(problem.status, dtype=object)
    reasons: list[tuple[int, Reason]] = []
    for i in range(len(status)):
        if supp_canon[canon[i]] and not status[i].suppressed:
            if status[i] is CellStatus.FORCED:
                raise KitError("protect", "a cell forced public would have to be suppressed",
                               "release the forced status")
            status[i] = CellStatus.SECONDARY
            reasons.append((i, SECONDARY_REASON))
    status.setflags(write=False)
    return status, tuple(reasons)
