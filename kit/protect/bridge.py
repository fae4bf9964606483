"""Connects evaluated tables to secondary suppression (:mod:`kit.protect`).

A table that publishes margins next to suppressed cells must be protected and
audited before :func:`kit.clear` lets it through. This module builds the
protection problem from the table's published cells and writes the result
(statuses, COMPLEMENTARY reasons, the audit) back into its assessment.

Decisions
---------
* Values: sums are additive and protected as they are, negative cells included
  (income, profit): a sum table with a negative inner cell is protected and
  audited with every inner cell bounded by its sign (``sign_bounded``: the
  attacker is assumed to know which cells are net-negative), never with absolute
  values, which would break additivity. Counts of distinct
  units are sub-additive (a person can be in several cells, e.g. several years),
  and rates and means are not additive at all; for them the problem is built on
  the inner cells' unit counts with every margin set to the sum of its inner
  cells. An attacker who knew those sums exactly would know more than one who
  sees the published distinct counts (which only bound the sum from below), so
  intervals proven on this surrogate are conservative.
* Protection levels follow the rule that made a cell primary (the largest where
  several did), with the rule set's ``secondary.protection_share`` (default
  10 %) as the floor: threshold cells of count tables must reach the threshold
  (``protection_levels(rule="threshold")``); dominance cells the (n,k)-level,
  the upper bound reaching ``(x1+…+xn)/k``; p % cells the p %-level
  ``p·x1 − (X − x1 − x2)``; other primaries the share.
* Empty cells (no contributing unit) are published zeros: their emptiness is
  structural knowledge (a count table over the same grouping shows it), so they
  are not free secondaries unless ``allow_empty_secondaries=True`` (tau-Argus
  status E, GaussSuppression ``secondaryZeros = FALSE``). Opting in lets the
  pattern hide an empty cell that an attacker may know to be zero.
* Time: the protection runs with its improvement phase up to ``time_limit``
  seconds (default ``DEFAULT_TIME_LIMIT``).
* Singleton attacks are on: a one-unit cell can subtract its own contribution.
* A pattern is only accepted with a passed audit; otherwise the table stays
  unprotected and ``clear()`` refuses it (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kit.core.rules.model import RuleKind, Secondary
from kit.core.spec_types import Statistic
from kit.core.status import CellStatus, Reason, ReasonCode, Verdict
from kit.errors import KitError

if TYPE_CHECKING:
    from kit.core.assess import Assessment
    from kit.core.evidence import Evidence
    from kit.core.rules.loader import RuleSet
    from kit.core.spec import TableSpec
    from kit.core.table import Table
    from kit.progress import Progress

__all__ = ["DEFAULT_TIME_LIMIT", "audit_pattern", "protect_cells", "protect_table", "rule_levels"]

log = logging.getLogger(__name__)

#: Seconds for secondary suppression (the optimal MILP, or the improvement phase of the scalable
#: method) when the caller gives none. Wall-clock: a loaded machine gets less done in it.
DEFAULT_TIME_LIMIT = 60.0


def protect_table(table: Table, *, time_limit: float | None = None, allow_empty_secondaries: bool = False,
                  progress: Progress | None = None) -> None:
    """Protect a table with margins in place (no-op when nothing is suppressed)."""
    protect_cells(table.evidence, table.assessment, table.spec, table.rules, time_limit=time_limit,
                  allow_empty_secondaries=allow_empty_secondaries, progress=progress)


def rule_levels(cells: pd.DataFrame, reasons: list[list[Reason]], rules: RuleSet, statistic: Statistic,
                values: np.ndarray, share: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper protection levels per cell from the rules that made it primary.

    ``cells`` are the evidence rows (``n_units``, ``top_1``…), ``values`` the protected values
    in the same order. The share is the floor; levels of cells without a reason are the share.
    A negative value's levels are on its size (and capped so that it keeps its sign).

    Examples
    --------
    >>> import pandas as pd
    >>> from kit.core.rules.loader import load_rule_set
    >>> from kit.core.status import Reason, ReasonCode
    >>> rs = load_rule_set("dst")
    >>> cells = pd.DataFrame({"n_units": [4], "top_1": [80.0], "top_2": [15.0]})
    >>> lo, hi = rule_levels(cells, [[Reason("dst-dominance", ReasonCode.DOMINANCE, "")]], rs,
    ...                      Statistic.SUM, np.array([100.0]), 0.10, 3)
    >>> round(float(hi[0]), 6), round(float(lo[0]), 6)
    (11.764706, 11.764706)
    """
    from kit.core.rules.model import Dominance, PPercent
    from kit.protect import protection_levels

    x = np.asarray(values, dtype=float)
    base = share * np.abs(x)
    lpl, upl = base.copy(), base.copy()
    if statistic is not Statistic.SUM:
        tl, tu = protection_levels(x, "threshold", share=share, threshold=threshold)
        below = cells["n_units"].to_numpy() < threshold
        lpl = np.where(below, tl, lpl)
        upl = np.where(below, tu, upl)
    by_id = {r.id: r.params for r in rules.rules}
    tops = [c for c in cells.columns if str(c).startswith("top_")]
    top = cells[sorted(tops, key=lambda c: int(str(c)[4:]))].to_numpy(dtype=float) if tops else None
    for i, rs in enumerate(reasons):
        for reason in rs:
            params = by_id.get(reason.rule_id)
            need = 0.0
            if reason.code is ReasonCode.DOMINANCE and isinstance(params, Dominance) and top is not None:
                n = min(params.n_units, top.shape[1])
                need = float(np.nansum(top[i, :n])) / params.k_share - abs(x[i])
            elif reason.code is ReasonCode.P_PERCENT and isinstance(params, PPercent) and top is not None \
                    and top.shape[1] >= 2:
                need = params.p_share * top[i, 0] - (abs(x[i]) - top[i, 0] - top[i, 1])
            if need > 0:
                lpl[i] = max(lpl[i], need)
                upl[i] = max(upl[i], need)
    # a cell keeps its sign: a non-negative cell cannot go below 0, a negative one not above 0
    lpl = np.where(x >= 0, np.minimum(lpl, np.abs(x)), lpl)
    upl = np.where(x < 0, np.minimum(upl, np.abs(x)), upl)
    return lpl, upl


def protect_cells(evidence: Evidence, assessment: Assessment, spec: TableSpec, rules: RuleSet,
                  hierarchies: Mapping[str, Any] | None = None, *, time_limit: float | None = None,
                  allow_empty_secondaries: bool = False, progress: Progress | None = None) -> None:
    """Run secondary suppression and the audit on published cells; update the assessment.

    ``hierarchies`` maps a dimension to a :class:`kit.protect.Hierarchy` when its codes
    include sub-totals (municipality within region). ``time_limit`` (seconds, default
    ``DEFAULT_TIME_LIMIT``) bounds the optimisation; ``allow_empty_secondaries`` lets empty
    cells be secondary suppressions (see the module docs for the risk); ``progress`` reports
    the step (:mod:`kit.progress`).
    """
    from kit.progress import start
    from kit.protect import protect

    assessment.hierarchies = dict(hierarchies) if hierarchies else None
    pub = np.flatnonzero(assessment.published)
    statuses = [assessment.statuses[i] for i in pub]
    if not any(s.suppressed for s in statuses):
        assessment.protected = True
        assessment.protection_method = "none needed"
        return
    search: list[CellStatus] = [CellStatus.SAFE if s is CellStatus.SECONDARY else s for s in statuses]
    problem, positions = _problem(evidence, pub, search, [list(assessment.reasons[i]) for i in pub], spec,
                                  rules, hierarchies, allow_empty_secondaries)
    try:
        with start(progress, f"secondary suppression and audit of '{spec.name}'", total=1, unit="tables") as task:
            result = protect(problem, time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit)
            task.advance()
    except KitError:
        # Fail closed without stopping the session: the table stays unprotected, its verdict
        # FAIL, and clear() refuses it with the reason below.
        log.info("secondary suppression found no protected pattern for table %s", spec.name)
        assessment.protected = False
        assessment.verdict = Verdict.FAIL
        assessment.table_reasons.append(Reason(
            "secondary", ReasonCode.AUDIT_FAILED,
            "no suppression pattern protects every primary cell (with singleton attacks) while "
            "the margins are published; publish the table without margins or with coarser groups"))
        return
    if result.audit.verdict is not Verdict.PASS:
        assessment.audit = result.audit
        assessment.protected = False
        return
    reason_at = {cell: reason for cell, reason in result.reasons}
    new_statuses = list(assessment.statuses)  # statuses are tuples: build new ones
    new_reasons = [list(r) for r in assessment.reasons]
    for k, i in enumerate(pub):
        pos = positions[k]
        new = CellStatus(result.status[pos]) if not isinstance(result.status[pos], CellStatus) else result.status[pos]
        if new is CellStatus.SECONDARY and new_statuses[i] is CellStatus.SAFE:
            new_statuses[i] = CellStatus.SECONDARY
            reason = reason_at.get(pos)
            new_reasons[i].append(reason if isinstance(reason, Reason) else
                                  Reason("secondary", ReasonCode.COMPLEMENTARY, "protects a suppressed cell"))
    assessment.statuses = tuple(new_statuses)
    assessment.reasons = tuple(tuple(r) for r in new_reasons)
    assessment.audit = result.audit
    assessment.protected = True
    assessment.protection_method = f"{result.method} ({result.n_secondary} secondary)"
    assessment.suppressed_value = result.suppressed_value
    assessment.suppressed_share = result.suppressed_share


def _problem(evidence: Evidence, pub: np.ndarray, statuses: list[CellStatus], reasons: list[list[Reason]],
             spec: TableSpec, rules: RuleSet, hierarchies: Mapping[str, Any] | None,
             allow_empty_secondaries: bool) -> tuple[Any, np.ndarray]:
    """The protection problem of the published cells with the given statuses, and their positions."""
    from kit.core.evidence import TOTAL
    from kit.protect import ProtectionProblem, TableStructure

    dims = list(spec.dims)
    cells = evidence.cells.iloc[pub]
    frame = pd.DataFrame({d: cells[d].astype(str).to_numpy() for d in dims})
    structure = TableStructure.from_frame(frame, dims, total_label=TOTAL, hierarchies=hierarchies)
    positions = structure.positions(frame)
    n = structure.n_cells
    inner_is = ~cells["is_margin"].to_numpy()
    if spec.statistic is Statistic.SUM:
        values = np.zeros(n)
        values[positions] = cells["total"].to_numpy(dtype=float)
    else:
        atom_values = np.zeros(n)
        atom_values[positions[inner_is]] = cells["n_units"].to_numpy(dtype=float)[inner_is]
        # margins = sums of their inner cells (the conservative additive surrogate)
        matrix = structure.matrix
        atom_of = {key: i for i, key in enumerate(structure.atom_keys)}
        atoms = np.zeros(structure.n_atoms)
        for pos in positions[inner_is]:
            atoms[atom_of[structure.keys[pos]]] = atom_values[pos]
        values = np.asarray(matrix @ atoms).ravel()
    signed = bool((values < 0).any())
    status_arr = [CellStatus.SAFE] * n
    for pos, status in zip(positions, statuses):
        status_arr[pos] = status
    n_units = np.zeros(n)
    n_units[positions] = cells["n_units"].to_numpy(dtype=float)
    if not allow_empty_secondaries:
        # an empty cell is structurally known (published zero): never a free secondary
        empty = positions[(cells["n_units"].to_numpy() == 0)]
        for pos in empty:
            if status_arr[pos] is CellStatus.SAFE:
                status_arr[pos] = CellStatus.FORCED
    share = 0.10
    for rule in rules.of_kind(RuleKind.SECONDARY, spec.statistic):
        if isinstance(rule.params, Secondary):
            share = rule.params.protection_share
    lvl_lo, lvl_hi = rule_levels(cells.reset_index(drop=True), reasons, rules, spec.statistic,
                                 values[positions], share, float(rules.min_units(spec.statistic)))
    lpl = np.zeros(n)
    upl = np.zeros(n)
    lpl[positions] = lvl_lo
    upl[positions] = lvl_hi
    primary = np.array([s in (CellStatus.PRIMARY, CellStatus.NEVER) for s in status_arr])
    lpl = np.where(primary, lpl, 0.0)
    upl = np.where(primary, upl, 0.0)
    problem = ProtectionProblem(structure, values, np.array(status_arr, dtype=object), lpl, upl,
                                n_units=n_units, nonnegative=not signed, sign_bounded=signed)
    return problem, positions


def audit_pattern(evidence: Evidence, assessment: Assessment, spec: TableSpec, rules: RuleSet,
                  statuses: tuple[CellStatus, ...],
                  hierarchies: Mapping[str, Any] | None = None) -> bool:
    """Whether a given pattern of the published cells passes the LP audit (used by the release writer).

    ``statuses`` are those of the published cells, in the order of the evidence.
    """
    from kit.protect import audit

    pub = np.flatnonzero(assessment.published)
    problem, _ = _problem(evidence, pub, list(statuses), [list(assessment.reasons[i]) for i in pub], spec,
                          rules, hierarchies, allow_empty_secondaries=True)
    return bool(audit(problem).verdict is Verdict.PASS)
