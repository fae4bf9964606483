"""Secondary cell suppression and its LP audit.

Build a :class:`TableStructure` (dimensions, hierarchies, linked tables), a
:class:`ProtectionProblem` (values, statuses, protection levels), then call
:func:`protect` (which ends with :func:`audit`) or audit a pattern made
elsewhere. See ``docs/suppression.md``.

Examples
--------
>>> from kit.protect import Dimension, TableStructure, ProtectionProblem, protect
>>> s = TableStructure.from_dimensions([Dimension("r", ("a", "b")), Dimension("c", ("x", "y"))])
>>> p = ProtectionProblem.build(s, [20, 11, 9, 10, 6, 4, 10, 5, 5],
...                             primary=[k == ("a", "x") for k in s.keys])
>>> protect(p).audit.verdict.value
'PASS'
"""

from kit.protect.audit import AuditResult, audit
from kit.protect.engine import METHODS, ProtectionResult, protect
from kit.protect.exchange import read_status_codes, write_status_codes
from kit.protect.hierarchy import Hierarchy
from kit.protect.levels import protection_levels
from kit.protect.problem import ProtectionProblem
from kit.protect.requirements import CostModel
from kit.protect.structure import Dimension, TableStructure, link

__all__ = [
    "METHODS",
    "AuditResult",
    "CostModel",
    "Dimension",
    "Hierarchy",
    "ProtectionProblem",
    "ProtectionResult",
    "TableStructure",
    "audit",
    "link",
    "protect",
    "protection_levels",
    "read_status_codes",
    "write_status_codes",
]
