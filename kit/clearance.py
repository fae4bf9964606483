"""``kit.clear``: the only door from private results to cleared output.

:func:`clear` accepts any private result that knows how to clear itself (it
has a ``_build_cleared(gate, ...)`` method: tables, estimates, DP results) and
passes it the gate object that cleared types demand. Anything else, and any
result whose checks failed, raises :class:`~kit.errors.DisclosureError`.
Already-cleared objects pass through unchanged.

>>> try:
...     clear("a string")
... except DisclosureError as err:
...     print(err.problem)
a str is not a result the kit can clear
"""

from __future__ import annotations

from typing import Any

from kit.cleared import _GATE, ClearedEstimate, ClearedTable
from kit.errors import DisclosureError

__all__ = ["clear"]


def clear(result: Any, *, allow_review: bool = False) -> ClearedTable | ClearedEstimate:
    """Turn a checked private result into a cleared object.

    Parameters
    ----------
    result
        A :class:`~kit.table.Table`, an estimate result or a DP result.
    allow_review
        Clear a result whose assessment asks for review (after an output checker
        has looked at it). Recorded in the output's notes by the builder.

    Raises
    ------
    DisclosureError
        When the result is not clearable or its checks did not pass.
    """
    if isinstance(result, (ClearedTable, ClearedEstimate)):
        return result
    builder = getattr(type(result), "_build_cleared", None)
    if builder is None:
        raise DisclosureError("clear", f"a {type(result).__name__} is not a result the kit can clear",
                              "pass a table or estimate evaluated in a kit.Session")
    cleared = builder(result, _GATE, allow_review=allow_review)
    if not isinstance(cleared, (ClearedTable, ClearedEstimate)):
        raise DisclosureError("clear", "the result did not produce a cleared object",
                              "this is a bug in the kit; please report it")
    return cleared
