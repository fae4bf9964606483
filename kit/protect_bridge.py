"""Connects evaluated tables to secondary suppression (:mod:`kit.protect`).

A table that publishes margins next to suppressed cells must be protected and
audited before :func:`kit.clear` lets it through. This module builds the
protection problem from the table's evidence and writes the result back into
its assessment. Without a passed audit the table stays unprotected and
``clear()`` refuses it (fail closed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kit.assess import Assessment
    from kit.evidence import Evidence
    from kit.rules.loader import RuleSet
    from kit.spec import TableSpec
    from kit.table import Table

__all__ = ["protect_cells", "protect_table"]


def protect_table(table: Table) -> None:
    """Protect a table with margins in place (no-op when nothing is suppressed)."""
    protect_cells(table.evidence, table.assessment, table.spec, table.rules)


def protect_cells(evidence: Evidence, assessment: Assessment, spec: TableSpec, rules: RuleSet) -> None:
    """Run secondary suppression and the audit on published cells; update the assessment."""
    statuses = assessment.statuses
    if not any(s.suppressed for s, p in zip(statuses, assessment.published) if p):
        assessment.protected = True
        assessment.protection_method = "none needed"
        return
