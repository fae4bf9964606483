"""``protect``: choose secondary cells, then audit the pattern.

Methods
-------
``milp``      one MILP over all requirements (:mod:`kit.protect.milp`): least
              cost, for small tables.
``gauss_lp``  the scalable method: sequential protection LPs with witnesses
              (:mod:`kit.protect.repair`), redundancy elimination, and, when
              time is left and the table is small enough, the MILP restricted to
              the cells of the heuristic pattern and their neighbours.
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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.errors import KitError, KitInternalError, SpecError
from kit.protect.audit import AuditResult, audit
from kit.protect.milp import milp_size, solve_milp
from kit.protect.model import DeviationModel
from kit.protect.problem import ProtectionProblem
from kit.protect.repair import redundancy_elimination, sequential_lp
from kit.protect.requirements import prepare
from kit.protect.structure import TableStructure
from kit.status import CellStatus, Reason, ReasonCode

__all__ = ["METHODS", "ProtectionResult", "protect"]

log = logging.getLogger(__name__)

METHODS = ("auto", "milp", "gauss_lp")
#: ``auto`` uses the MILP up to this many model columns.
MILP_AUTO_LIMIT = 60_000
SECONDARY_REASON = Reason("secondary", ReasonCode.COMPLEMENTARY,
                          "suppressed so that suppressed cells cannot be derived from the published ones")


@dataclass(frozen=True, repr=False)
class ProtectionResult:
    """Final statuses, reasons of the secondary cells, and the audit.

    ``suppressed_value`` is the total value of the secondary cells (the
    information loss tau-Argus reports); private, for the checker and benchmarks.
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
            time_limit: float | None = None, *, redundancy: bool = True,
            audit_intervals: str = "all") -> ProtectionResult:
    """Choose secondary suppressions so that every primary cell is interval-protected.

    Parameters
    ----------
    problem
        Structure, values, statuses (``PRIMARY`` / ``FORCED`` / ``NEVER``), levels.
    method
        ``auto``, ``milp`` or ``gauss_lp`` (see the module docs).
    cost
        ``"value"`` (the problem's cost, else the cell value), ``"cells"``,
        ``"log"`` (log(1 + value)) or an array of weights; a tiny per-cell charge
        is added so that free cells are not suppressed needlessly.
    time_limit
        Seconds for the optimisation steps (the MILP, the improvement and the
        redundancy elimination). Protection itself is never cut short.
    redundancy
        Run redundancy elimination (``gauss_lp``).
    audit_intervals
        Passed to :func:`audit` as ``intervals`` for the final audit.

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
    if not prep.requirements:
        supp = prep.must.copy()
    elif chosen == "milp":
        supp, optimal = solve_milp(dm, prep, problem.values, time_limit)
    else:
        supp, wit = sequential_lp(dm, prep, prep.must.copy())
        if redundancy:
            reduced, _ = redundancy_elimination(dm, prep, supp, wit, deadline)
            status, _ = _statuses(problem, reduced)
            if audit(problem.with_status(status), intervals="certify").n_failed == 0:
                supp = reduced
            else:  # keep the unreduced pattern, which has witnesses for every requirement
                log.debug("redundancy elimination reverted: its pattern failed the audit")
    status, reasons = _statuses(problem, supp)
    result_audit = audit(problem.with_status(status), intervals=audit_intervals)
    if result_audit.n_failed:
        raise KitInternalError(f"protect: the {chosen} pattern left {result_audit.n_failed} cell(s) "
                               "under-protected; the pattern was not returned")
    secondary = np.array([s is CellStatus.SECONDARY for s in status])
    newly = secondary & ~problem.mask(CellStatus.SECONDARY)
    return ProtectionResult(problem.structure, status, reasons, result_audit, chosen,
                            time.perf_counter() - t0, int(problem.mask(CellStatus.PRIMARY).sum()),
                            int(newly.sum()), float(problem.values[newly].sum()), optimal)


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
