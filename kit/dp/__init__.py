"""Differential privacy: OpenDP releases and the project's privacy-budget ledger.

This package is the only part of the kit that imports OpenDP and polars, and
only inside functions: without the ``dp`` extra the rest of the kit works, the
ledger and the diagnostics work, and DP releases raise
:class:`~kit.errors.OptionalDependencyError`.

Main entry points:

* :class:`BudgetLedger`: the persistent, hash-chained privacy-budget ledger, one per data source
  and project, anchored in the project state folder (:meth:`BudgetLedger.find` finds it);
* :class:`DPConfig`, :class:`DPTableSpec`, :class:`DPRegressionSpec`: public descriptions;
* :func:`preview`: noise, accuracy and cost before spending;
* :func:`dp_table`, :func:`dp_regression`: releases (clear them with :func:`kit.clear`);
* :func:`table_diagnostics`, :func:`model_diagnostics`: DP-style risk diagnostics for classic outputs.

>>> from kit.dp import DPConfig
>>> DPConfig(population=1000).max_contributions
1
"""

from kit.dp.accounting import zcdp_to_epsilon
from kit.dp.diagnostics import model_diagnostics, table_diagnostics
from kit.dp.ledger import BudgetLedger, LedgerIntegrityError, LedgerReport, verify_file
from kit.dp.regression import DPRegressionResult, dp_regression
from kit.dp.release import DPPreview, DPResult, dp_table, preview
from kit.dp.spec import Derive, DPConfig, DPRegressionSpec, DPTableSpec, Mechanism

__all__ = [
    "BudgetLedger",
    "DPConfig",
    "DPPreview",
    "DPRegressionResult",
    "DPRegressionSpec",
    "DPResult",
    "DPTableSpec",
    "Derive",
    "LedgerIntegrityError",
    "LedgerReport",
    "Mechanism",
    "dp_regression",
    "dp_table",
    "model_diagnostics",
    "preview",
    "table_diagnostics",
    "verify_file",
    "zcdp_to_epsilon",
]
