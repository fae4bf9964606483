"""How a dimension's values become cell codes: one text form shared by every engine.

The pandas engine (:class:`kit.Session`), the DuckDB engine (:mod:`kit.evidence_lazy`) and the
estimators (:mod:`kit.estimate.prepare`) key cells by the same text, so their tables line up.

>>> code_text(2011.0), code_text(7), code_text("A")
('2011', '7', 'A')
>>> sorted_codes(["10", "9", "2"]), sorted_codes(["b", "a"])
(['2', '9', '10'], ['a', 'b'])
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MAX_CELLS", "code_text", "sorted_codes"]

#: A table with more inner cells than this is refused.
MAX_CELLS = 2_000_000


def code_text(value: Any) -> str:
    """A code as text: integral floats lose their '.0' (2011.0 -> '2011')."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def sorted_codes(codes: list[str]) -> list[str]:
    """Codes in numeric order when every code is a number, else in text order."""
    try:
        return sorted(codes, key=lambda c: (float(c), c))
    except ValueError:
        return sorted(codes)
