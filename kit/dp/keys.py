"""Keys are never released keys: DP tables refuse identifier columns as dimensions.

Differential privacy hides whether one person is in the data; it does not make a person
number publishable. A DP table keyed by ``CPR`` (observed keys) would list person numbers
from the data, and one keyed by a public list of person numbers would publish that list,
so a dimension (or the source of a derived dimension) is refused when it is

* the session's unit column,
* a declared key of the session's schema (role ``unit`` or ``key``:
  :meth:`kit.core.schema.DatasetSchema.key_columns`), or
* named like a DST identifier (:func:`kit.core.schema.looks_like_key`: PNR, CPR, CVR, ARBNR,
  BOPIKOM, FAMILIE_ID and their pseudonymised forms).

A rule set's ``key_columns`` rule with ``allow = true`` (a local set) does not lift this for
DP outputs: no shipped set allows keys, and a DP release has no review step where a checker
could catch it.

Examples
--------
>>> key_dimensions(["KOM", "cpr", "year"], unit="PNR")
['cpr']
>>> key_dimensions(["KOM"], unit="KOM")
['KOM']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kit.core.schema import looks_like_key
from kit.errors import SpecError

__all__ = ["key_dimensions", "refuse_key_dimensions"]


def key_dimensions(columns: Sequence[str], *, unit: str, schema: Any = None) -> list[str]:
    """The columns among ``columns`` that are identifiers (see the module docs).

    Parameters
    ----------
    columns
        Column names to check.
    unit
        The session's unit column.
    schema
        Optional :class:`~kit.core.schema.DatasetSchema` whose declared keys count too.
    """
    declared = {unit.casefold()}
    if schema is not None:
        declared |= {str(c).casefold() for c in schema.key_columns()}
    return [c for c in columns if c.casefold() in declared or looks_like_key(c)]


def refuse_key_dimensions(dims: Sequence[str], derived_sources: Sequence[tuple[str, str]], *, unit: str,
                          schema: Any, where: str) -> None:
    """Raise :class:`~kit.errors.SpecError` when a dimension is (or is derived from) a key column.

    Parameters
    ----------
    dims
        The table's dimensions.
    derived_sources
        ``(derived name, source column)`` of the derived columns used as dimensions.
    unit, schema
        As in :func:`key_dimensions`.
    where
        The output, for the message.
    """
    keys = key_dimensions(dims, unit=unit, schema=schema)
    if keys:
        raise SpecError(where, f"dimension(s) {keys} are identifier or key columns; a DP table keyed by them "
                        "would publish person (or enterprise, address) numbers",
                        "group by a coarser public variable (area, age group, year) instead; keys are "
                        "never released, whatever the noise")
    sources = key_dimensions([s for _, s in derived_sources], unit=unit, schema=schema)
    if sources:
        names = [n for n, s in derived_sources if s in sources]
        raise SpecError(where, f"derived dimension(s) {names} are recoded from key column(s) {sources}; the "
                        "public mapping would list identifiers", "derive from a grouping column instead")
