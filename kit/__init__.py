"""kit: a privacy-preserving analysis kit for secure research environments.

Describe first, evaluate later: a :class:`Session` reads microdata under a rule
set, evaluates table and model specs, and only :func:`clear` turns checked
results into cleared output that templates and the release writer accept.

>>> import kit
>>> kit.load_rule_set("dst").min_units()
3
"""

__version__ = "0.1.0"

from kit.core.clearance import clear
from kit.core.cleared import ClearedEstimate, ClearedTable, Provenance
from kit.core.rules import RuleSet, list_rule_sets, load_rule_set
from kit.core.schema import Column, ColumnRole, DatasetSchema
from kit.core.spec import Statistic, TableSpec, UnitType
from kit.core.status import CellStatus, Reason, ReasonCode, Verdict
from kit.errors import (
    BudgetExceededError,
    DisclosureError,
    KitError,
    OutputExistsError,
    RuleSetError,
    SchemaError,
    SpecError,
)
from kit.session import Session

__all__ = [
    "BudgetExceededError",
    "CellStatus",
    "ClearedEstimate",
    "ClearedTable",
    "Column",
    "ColumnRole",
    "DatasetSchema",
    "DisclosureError",
    "KitError",
    "OutputExistsError",
    "Provenance",
    "Reason",
    "ReasonCode",
    "RuleSet",
    "RuleSetError",
    "SchemaError",
    "Session",
    "SpecError",
    "Statistic",
    "TableSpec",
    "UnitType",
    "Verdict",
    "__version__",
    "clear",
    "list_rule_sets",
    "load_rule_set",
]
