"""Connects evaluated tables to secondary suppression (:mod:`kit.protect`).

A table that publishes margins next to suppressed cells must be protected and
audited before :func:`kit.clear` lets it through. This module builds the
protection problem from the table's published cells and writes the result
(statuses, COMPLEMENTARY reasons, the audit) back into its assessment.

Decisions
---------
* Values: sums are additive and protected as they are. Counts of distinct
  units are sub-additive (a person can be in several cells, e.g. several years),
  and rates and means are not additive at all; for them the problem is built on
  the inner cells' unit counts with every margin set to the sum of its inner
  cells. An attacker who knew those sums exactly would know more than one who
  sees the published distinct counts (which only bound the sum from below), so
  intervals proven on this surrogate are conservative.
* Protection levels: the rule set's ``secondary.protection_share`` (default 10 %)
  as sliding protection; for cells that fail a threshold, at least what lifts
  the upper bound to the threshold (``protection_levels(rule="threshold")``).
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

from kit.errors import KitError
from kit.rules.model import RuleKind, Secondary
from kit.spec_types import Statistic
from kit.status import CellStatus, Reason, ReasonCode, Verdict

if TYPE_CHECKING:
    from kit.assess import Assessment
    from kit.evidence import Evidence
    from kit.rules.loader import RuleSet
    from kit.spec import TableSpec
    from kit.table import Table

__all__ = ["audit_pattern", "protect_cells", "protect_table"]

log = logging.getLogger(__name__)


def protect_table(table: Table) -> None:
    """Protect a table with margins in place (no-op when nothing is suppressed)."""
    protect_cells(table.evidence, table.assessment, table.spec, table.rules)


def protect_cells(evidence: Evidence, assessment: Assessment, spec: TableSpec, rules: RuleSet,
                  hierarchies: Mapping[str, Any] | None = None) -> None:
    """Run secondary suppression and the audit on published cells; update the assessment.

    ``hierarchies`` maps a dimension to a :class:`kit.protect.Hierarchy` when its codes
    include sub-totals (municipality within region).
    """
    from kit.protect import protect

    assessment.hierarchies = dict(hierarchies) if hierarchies else None
    pub = np.flatnonzero(assessment.published)
    statuses = [assessment.statuses[i] for i in pub]
    if not any(s.suppressed for s in statuses):
        assessment.protected = True
        assessment.protection_method = "none needed"
        return
    search: list[CellStatus] = [CellStatus.SAFE if s is CellStatus.SECONDARY else s for s in statuses]
    problem, positions = _problem(evidence, pub, search, spec, rules, hierarchies)
    try:
        result = protect(problem)
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



def _problem(evidence: Evidence, pub: np.ndarray, statuses: list[CellStatus], spec: TableSpec, rules: RuleSet,
             hierarchies: Mapping[str, Any] | None) -> tuple[Any, np.ndarray]:
    """The protection problem of the published cells with the given statuses, and their positions."""
    from kit.evidence import TOTAL
    from kit.protect import ProtectionProblem, TableStructure, protection_levels

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
    values = np.abs(values)
    status_arr = [CellStatus.SAFE] * n
    for pos, status in zip(positions, statuses):
        status_arr[pos] = status
    n_units = np.zeros(n)
    n_units[positions] = cells["n_units"].to_numpy(dtype=float)
    share = 0.10
    for rule in rules.of_kind(RuleKind.SECONDARY, spec.statistic):
        if isinstance(rule.params, Secondary):
            share = rule.params.protection_share
    if spec.statistic is Statistic.SUM:
        lpl, upl = protection_levels(values, "share", share=share)
    else:
        lpl, upl = protection_levels(values, "threshold", share=share,
                                     threshold=float(rules.min_units(spec.statistic)))
    primary = np.array([s in (CellStatus.PRIMARY, CellStatus.NEVER) for s in status_arr])
    lpl = np.where(primary, lpl, 0.0)
    upl = np.where(primary, upl, 0.0)
    problem = ProtectionProblem(structure, values, np.array(status_arr, dtype=object), lpl, upl,
                                n_units=n_units)
    return problem, positions


def audit_pattern(evidence: Evidence, assessment: Assessment, spec: TableSpec, rules: RuleSet,
                  statuses: tuple[CellStatus, ...],
                  hierarchies: Mapping[str, Any] | None = None) -> bool:
    """Whether a given pattern of the published cells passes the LP audit (used by the release writer).

    ``statuses`` are those of the published cells, in the order of the evidence.
    """
    from kit.protect import audit

    pub = np.flatnonzero(assessment.published)
    problem, _ = _problem(evidence, pub, list(statuses), spec, rules, hierarchies)
    return bool(audit(problem).verdict is Verdict.PASS)
