"""The core model of a disclosure check: data-free descriptions and the judgment on them.

Specs and schemas (:mod:`~kit.core.spec`, :mod:`~kit.core.spec_types`, :mod:`~kit.core.schema`),
rule sets (:mod:`kit.core.rules`), per-cell evidence (:mod:`~kit.core.evidence`), statuses and
reasons (:mod:`~kit.core.status`), the assessment (:mod:`~kit.core.assess`), the private table
(:mod:`~kit.core.table`), the units behind each number (:mod:`~kit.core.populations`), the
cleared types and the clearance gate (:mod:`~kit.core.cleared`, :mod:`~kit.core.clearance`).

The core imports nothing from the rest of the kit except :mod:`kit.errors`, :mod:`kit.resources`
and :mod:`kit.state` (see docs/architecture.md; checked by tests/unit/test_architecture.py).
"""
