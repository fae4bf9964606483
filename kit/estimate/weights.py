"""Weights that cannot hide a unit: validation and the Kish effective sample size.

A weight decides how much a unit counts in an estimate, so a weight of 0 (or
1e-12) removes a unit from the estimate while the threshold still counts it,
and one huge weight makes a weighted mean one unit's value. The kit therefore
accepts only weights that are finite, positive and not below
:data:`RELATIVE_FLOOR` times the median weight: every unit the thresholds count
then carries a weight, and thresholds on distinct units are thresholds on units
with positive weight. Very large weights are left to the estimate's own checks
(Kish effective size below the threshold, dominance of a weighted count).

Errors give counts, never a weight.

Examples
--------
>>> import numpy as np
>>> validate_weights(np.array([1.0, 2.0, 0.5]), "w", "demo").tolist()
[1.0, 2.0, 0.5]
>>> validate_weights(np.array([1.0, 0.0, 2.0]), "w", "demo")
Traceback (most recent call last):
...
kit.errors.SchemaError: demo: 1 weight(s) in 'w' are zero or negative...
>>> round(kish_n_eff(np.array([1.0, 1.0, 1.0, 1.0])), 6), round(kish_n_eff(np.array([100.0, 1.0, 1.0])), 3)
(4.0, 1.04)
"""

from __future__ import annotations

import numpy as np

from kit.errors import SchemaError

__all__ = ["RELATIVE_FLOOR", "kish_n_eff", "validate_weights"]

#: Smallest weight accepted, as a share of the median weight (1 in 1,000).
RELATIVE_FLOOR = 1e-3


def validate_weights(w: np.ndarray, name: str, where: str) -> np.ndarray:
    """The weights as float when every one is finite, positive and not below the relative floor.

    Parameters
    ----------
    w
        Weights, one per row.
    name
        Column name (for the message).
    where
        What is being evaluated (for the message).

    Raises
    ------
    SchemaError
        Missing, infinite, zero or negative weights, or weights below
        ``RELATIVE_FLOOR`` times the median weight (counts only).
    """
    w = np.asarray(w, dtype=float)
    if w.size == 0:
        return w
    n_nan = int(np.isnan(w).sum())
    if n_nan:
        raise SchemaError(where, f"{n_nan} weight(s) in '{name}' are missing", "every row needs a weight")
    n_inf = int(np.isinf(w).sum())
    if n_inf:
        raise SchemaError(where, f"{n_inf} weight(s) in '{name}' are infinite", "use finite weights")
    n_bad = int((w <= 0).sum())
    if n_bad:
        raise SchemaError(
            where,
            f"{n_bad} weight(s) in '{name}' are zero or negative; a unit with no weight is counted by "
            "the thresholds but absent from the estimate",
            "drop those rows before estimating (the kit then counts only the units that carry weight)",
        )
    floor = RELATIVE_FLOOR * float(np.median(w))
    n_low = int((w < floor).sum())
    if n_low:
        raise SchemaError(
            where,
            f"{n_low} weight(s) in '{name}' are below {RELATIVE_FLOOR:g} times the median weight; such a "
            "unit is counted by the thresholds but hardly enters the estimate",
            "drop or trim those rows (see docs/estimates.md, 'Weights'); to total a magnitude such as "
            "turnover use stat='sum' with it as the measure",
        )
    return w


def kish_n_eff(w: np.ndarray) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (0 for no weights)."""
    w = np.asarray(w, dtype=float)
    s2 = float((w * w).sum())
    return float(w.sum()) ** 2 / s2 if s2 > 0 else 0.0
