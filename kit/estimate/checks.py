"""Output checks for estimates, as small pure functions of counts and rules.

* :func:`dof_reasons`: residual degrees of freedom against ``residual_dof``.
* :func:`term_unit_reasons`: distinct units behind a categorical model term
  (and within each outcome class) against ``model_term_units``.
* :func:`cell_reasons`: the table rules' verdict on each cell of a
  :class:`~kit.core.table.Table` (for event-study cells).
* :func:`term_action`: whether a failing term is suppressed or blocks the model.

Reason details are built from rule parameters only, never from data.

Examples
--------
>>> from kit.core.rules import load_rule_set
>>> rs = load_rule_set("dst")
>>> [r.code.value for r in dof_reasons(rs, 9)]
['DOF_TOO_LOW']
>>> dof_reasons(rs, 10)
[]
>>> [r.code.value for r in term_unit_reasons(rs, 2)], term_unit_reasons(rs, 3)
(['TERM_TOO_FEW_UNITS'], [])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kit.core.rules.loader import RuleSet
from kit.core.rules.model import KeyColumns, ModelTermUnits, ResidualDof, RuleKind, TermAction
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.errors import SpecError

__all__ = [
    "cell_reasons",
    "count_distinct",
    "dof_reasons",
    "min_term_units",
    "refuse_key_columns",
    "term_action",
    "term_unit_reasons",
]


def dof_reasons(rules: RuleSet, dof: float) -> list[Reason]:
    """Reasons when residual degrees of freedom fall below a ``residual_dof`` rule.

    A model fails when ``dof < min_dof`` (exactly ``min_dof`` passes).
    """
    out = []
    for rule in rules.of_kind(RuleKind.RESIDUAL_DOF, Statistic.MODEL):
        p = rule.params
        if isinstance(p, ResidualDof) and dof < p.min_dof:
            out.append(
                Reason(rule.id, ReasonCode.DOF_TOO_LOW, f"fewer than {p.min_dof} residual degrees of freedom")
            )
    return out


def min_term_units(rules: RuleSet) -> int:
    """The strictest ``model_term_units`` minimum (1 when the set has none)."""
    vals = [
        r.params.min_units
        for r in rules.of_kind(RuleKind.MODEL_TERM_UNITS, Statistic.MODEL)
        if isinstance(r.params, ModelTermUnits)
    ]
    return max(vals, default=1)


def term_action(rules: RuleSet) -> TermAction:
    """``BLOCK`` when any applicable ``model_term_units`` rule blocks, else ``SUPPRESS``."""
    for r in rules.of_kind(RuleKind.MODEL_TERM_UNITS, Statistic.MODEL):
        if isinstance(r.params, ModelTermUnits) and r.params.action is TermAction.BLOCK:
            return TermAction.BLOCK
    return TermAction.SUPPRESS


def term_unit_reasons(rules: RuleSet, n_units: int, within: str = "") -> list[Reason]:
    """Reasons when a categorical term rests on fewer than ``min_units`` distinct units.

    ``within`` names the subset counted (e.g. ``"outcome class 0"``) for the detail text.
    """
    out = []
    for rule in rules.of_kind(RuleKind.MODEL_TERM_UNITS, Statistic.MODEL):
        p = rule.params
        if isinstance(p, ModelTermUnits) and n_units < p.min_units:
            where = f" {within}" if within else ""
            out.append(
                Reason(
                    rule.id,
                    ReasonCode.TERM_TOO_FEW_UNITS,
                    f"the term rests on fewer than {p.min_units} distinct units{where}",
                )
            )
    return out


def count_distinct(unit_codes: np.ndarray, mask: np.ndarray, n_units: int) -> int:
    """Distinct units among the rows in ``mask`` (``unit_codes`` are 0..n_units-1).

    >>> count_distinct(np.array([0, 0, 1, 2]), np.array([True, True, False, True]), 3)
    2
    """
    if not mask.any():
        return 0
    return int(np.count_nonzero(np.bincount(unit_codes[mask], minlength=n_units)))


def cell_reasons(table: Any) -> dict[tuple[str, ...], list[Reason]]:
    """Suppression reasons of each inner cell of an evaluated table, keyed by its codes.

    Cells that pass map to an empty list. Margins are left out.
    """
    cells = table.evidence.cells
    dims = list(table.spec.dims)
    out: dict[tuple[str, ...], list[Reason]] = {}
    is_margin = cells["is_margin"].to_numpy()
    cols = [cells[d].astype(str).to_numpy() for d in dims]
    for i in np.flatnonzero(~is_margin):
        key = tuple(c[i] for c in cols)
        status = table.assessment.statuses[i]
        out[key] = list(table.assessment.reasons[i]) if status.suppressed else []
    return out


def key_columns_allowed(rules: RuleSet) -> bool:
    """False when any ``key_columns`` rule of the set forbids releasing keys."""
    return all(not isinstance(r.params, KeyColumns) or r.params.allow for r in rules.of_kind(RuleKind.KEY_COLUMNS))


def is_key_column(session: Any, column: str) -> bool:
    """Whether ``column`` is the unit id, looks like a DST key or is declared a key in the schema.

    The same test as :meth:`kit.session.Session.table` applies to dimensions.
    """
    from kit.core.schema import ColumnRole, looks_like_key

    if column == session.unit:
        return True
    schema = getattr(session, "schema", None)
    if schema is not None:
        if column in set(schema.key_columns()):
            return True
        if column in schema and schema[column].role is ColumnRole.KEY:
            return True
    return looks_like_key(column)


def refuse_key_columns(session: Any, columns: Any, where: str, role: str = "row key") -> None:
    """Raise :class:`~kit.errors.SpecError` when a column used as ``role`` is a key column.

    The unit column is always refused; other keys (names like PNR, CVR, workplace
    and address numbers, or keys declared in the schema) where the rule set's
    ``key_columns`` rule forbids them.

    >>> import kit
    >>> refuse_key_columns(kit.Session("dst", unit="PNR"), ["area"], "demo")
    >>> refuse_key_columns(kit.Session("dst", unit="PNR"), ["CVRNR"], "demo")
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: demo: the column 'CVRNR' used as a row key is an identifier or key column...
    """
    allowed = key_columns_allowed(session.rules)
    for col in [columns] if isinstance(columns, str) else list(columns or ()):
        if col is None:
            continue
        if col == session.unit or (not allowed and is_key_column(session, str(col))):
            raise SpecError(
                where,
                f"the column '{col}' used as a {role} is an identifier or key column",
                "keys are microdata and are never released; map it to an area or group first",
            )
