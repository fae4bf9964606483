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
>>> kish_cells(np.array([4.0, 102.0, 0.0]), np.array([4.0, 10002.0, 0.0])).round(3).tolist()
[4.0, 1.04, 0.0]

Where each weighted statistic is checked (docs/estimates.md, "Weights", has the table):
tables' weighted means, rates and sums, and ``rates``/``rate_difference``, suppress a
cell whose Kish size is below the threshold (:func:`kit.core.rules.cellrules.kish_failures`);
a weighted count is a magnitude table (dominance on the weights); a WLS model is refused
when its sample, or the units on either side of a design column, have a Kish size below
the threshold (:func:`weighted_design_failures`). The checker's report shows every
weighted table's per-cell Kish size (:func:`kish_cells`).
"""

from __future__ import annotations

import numpy as np

from kit.errors import SchemaError

__all__ = ["RELATIVE_FLOOR", "kish_cells", "kish_n_eff", "validate_weights", "weighted_design_failures"]

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


def kish_cells(sum_w: np.ndarray, sum_w2: np.ndarray) -> np.ndarray:
    """Kish's effective size per cell from the cells' ``sum w`` and ``sum w^2`` (0 where empty).

    Parameters
    ----------
    sum_w, sum_w2
        Per-cell sums of the weights and of their squares (the evidence's ``sum_w``, ``sum_w2``).

    Returns
    -------
    numpy.ndarray
        ``sum_w**2 / sum_w2`` where ``sum_w2 > 0``, else 0.
    """
    sw = np.asarray(sum_w, dtype=float)
    sw2 = np.asarray(sum_w2, dtype=float)
    safe = np.where(sw2 > 0, sw2, 1.0)
    return np.where(sw2 > 0, sw * sw / safe, 0.0)


def _unit_kish(mask: np.ndarray, w: np.ndarray, unit_codes: np.ndarray, n_units: int) -> float:
    """Kish size of the units behind ``mask`` (a unit's rows are summed first)."""
    per_unit = np.bincount(unit_codes[mask], weights=w[mask], minlength=n_units)
    return kish_n_eff(per_unit[per_unit > 0])


def weighted_design_failures(exog: np.ndarray, w: np.ndarray, unit_codes: np.ndarray, n_units: int,
                             k: int) -> list[int]:
    """Design columns of a weighted fit whose support rests on fewer than ``k`` effective units.

    The weighted analogue of the unweighted support check: a weighted least-squares
    fit whose weights put almost all mass on one unit is that unit's regression (an
    intercept-only WLS with one weight of 1e6 is that person's value). For the whole
    sample (returned as ``-1``) and for each non-constant column, the units holding
    the column's non-modal values and (when more than one row shares it) those holding
    the modal value must each have a Kish effective size (unit weights: the sum of a unit's row weights) of at least
    ``k`` whenever they are not empty. Relative tolerance ``1e-12``.

    Parameters
    ----------
    exog
        Design matrix (rows x columns).
    w
        Row weights (validated: finite, positive).
    unit_codes, n_units
        Unit of each row as codes ``0 .. n_units - 1``.
    k
        Threshold (``min_units`` of the model rules).

    Returns
    -------
    list of int
        ``-1`` when the sample fails, then failing column indices.

    Examples
    --------
    >>> x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1.0]])
    >>> weighted_design_failures(x, np.ones(6), np.arange(6), 6, 3)
    []
    >>> weighted_design_failures(x, np.array([1, 1, 1, 1e6, 1, 1.0]), np.arange(6), 6, 3)
    [-1, 1]
    >>> d = np.column_stack([np.ones(14), [0.0] * 10 + [1.0] * 4])  # 4 units hold d = 1, two weigh 50
    >>> weighted_design_failures(d, np.array([10.0] * 10 + [50, 1, 1, 50]), np.arange(14), 14, 3)
    [1]
    >>> weighted_design_failures(x[:, :1], np.array([1e6, 1, 1, 1, 1, 1.0]), np.arange(6), 6, 3)
    [-1]
    """
    w = np.asarray(w, dtype=float)
    tol = 1 - 1e-12
    out: list[int] = []
    everyone = np.ones(exog.shape[0], dtype=bool)
    if everyone.any() and _unit_kish(everyone, w, unit_codes, n_units) < k * tol:
        out.append(-1)
    for j in range(exog.shape[1]):
        col = exog[:, j]
        values, counts = np.unique(col, return_counts=True)
        if len(values) <= 1:
            continue
        top = int(np.argmax(counts))
        modal = col == values[top]
        # the modal side is a group (an intercept's reference) only when several rows share the value
        sides = (~modal, modal) if counts[top] > 1 else (~modal,)
        for side in sides:
            if side.any() and _unit_kish(side, w, unit_codes, n_units) < k * tol:
                out.append(j)
                break
    return out
