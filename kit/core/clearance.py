"""``kit.clear``: the only door from private results to cleared output.

:func:`clear` accepts the kit's own private results (tables, estimates, DP
results: classes defined in a kit module with a ``_build_cleared(gate, ...)``
method; a look-alike class of the caller's is refused), opens the clearance
window in which cleared types may be built, and seals the result to the
private object it came from (see :mod:`kit.core.cleared`). Anything else, and any
result whose checks failed, raises :class:`~kit.errors.DisclosureError`.
Already-cleared objects pass through unchanged (the writer verifies them).

>>> try:
...     clear("a string")
... except DisclosureError as err:
...     print(err.problem)
a str is not a result the kit can clear
"""

from __future__ import annotations

from typing import Any, cast

from kit.core.cleared import _GATE, ClearedEstimate, ClearedTable, _clearance, _module_class, _seal
from kit.errors import DisclosureError

__all__ = ["clear"]


def clear(result: Any, *, allow_review: bool = False) -> ClearedTable | ClearedEstimate:
    """Turn a checked private result into a cleared object.

    Parameters
    ----------
    result
        A :class:`~kit.core.table.Table`, an estimate result or a DP result.
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
    if not _module_class(type(result)):
        raise DisclosureError("clear", f"a {type(result).__name__} is not one of the kit's private results",
                              "pass a table or estimate evaluated in a kit.Session")
    with _clearance():
        cleared = builder(result, _GATE, allow_review=allow_review)
        if type(cleared) not in (ClearedTable, ClearedEstimate):
            raise DisclosureError("clear", "the result did not produce a cleared object",
                                  "this is a bug in the kit; please report it")
        _seal(cleared, result)
    return cast("ClearedTable | ClearedEstimate", cleared)
