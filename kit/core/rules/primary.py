"""Primary checks as pure functions of per-cell evidence.

Every function takes NumPy arrays of evidence (one entry per cell) and the
rule's typed parameters, and returns a boolean array: ``True`` where the cell
FAILS. They do no I/O, read no global state and never see microdata. The
boundary of each comparison is documented in :mod:`kit.core.rules.model` and
tested on both sides.

A cell with no units at all (an empty cell) is judged by the ``zeros`` rule
only: a threshold rule concerns cells that rest on some units.

Examples
--------
>>> import numpy as np
>>> from kit.core.rules.model import Threshold
>>> threshold_fails(np.array([0, 1, 2, 3, 4]), Threshold(min_units=3)).tolist()
[False, True, True, False, False]
"""

from __future__ import annotations

import numpy as np

from kit.core.rules.model import (
    Differencing,
    Dominance,
    FailsWhen,
    GroupDisclosure,
    PPercent,
    Threshold,
    Zeros,
)

__all__ = [
    "category_group_fails",
    "differencing_fails",
    "dominance_fails",
    "negative_flags",
    "p_percent_fails",
    "rate_group_fails",
    "threshold_fails",
    "zero_fails",
]


def threshold_fails(n_units: np.ndarray, params: Threshold) -> np.ndarray:
    """Cells with at least one but fewer than ``min_units`` distinct units."""
    return (n_units > 0) & (n_units < params.min_units)


def differencing_fails(n_units_margin: np.ndarray, params: Differencing) -> np.ndarray:
    """Margin cells (one grouping left out) with at least one but fewer than ``min_units`` units."""
    return (n_units_margin > 0) & (n_units_margin < params.min_units)


def dominance_fails(tops: np.ndarray, total: np.ndarray, n_units: np.ndarray,
                    params: Dominance) -> np.ndarray:
    """(n, k) dominance: the ``n_units`` largest contributions' share of the total.

    ``tops`` has one column per rank (largest first) and at least ``n_units``
    columns; ``total`` is the cell total (of absolute values when negatives are
    judged on absolute values). A non-empty cell whose total is not positive
    cannot be judged and fails (fail closed).

    >>> import numpy as np
    >>> from kit.core.rules.model import Dominance, FailsWhen
    >>> rule = Dominance(n_units=2, k_share=0.85, fails_when=FailsWhen.ABOVE, unit_types=())
    >>> tops = np.array([[50.0, 35.0], [50.0, 36.0]])
    >>> dominance_fails(tops, np.array([100.0, 100.0]), np.array([5, 5]), rule).tolist()
    [False, True]
    """
    n = min(params.n_units, tops.shape[1])
    top_sum = tops[:, :n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, top_sum / np.where(total > 0, total, 1.0), np.inf)
    fails = share > params.k_share if params.fails_when is FailsWhen.ABOVE else share >= params.k_share
    return (n_units > 0) & fails


def p_percent_fails(top1: np.ndarray, top2: np.ndarray, total: np.ndarray, n_units: np.ndarray,
                    params: PPercent) -> np.ndarray:
    """p % rule: the second largest contributor could estimate the largest too closely.

    Fails when ``total - top1 - top2 < p_share * top1`` (equality passes).

    >>> import numpy as np
    >>> from kit.core.rules.model import PPercent
    >>> p_percent_fails(np.array([100.0, 100.0]), np.array([50.0, 50.0]),
    ...                 np.array([160.0, 159.0]), np.array([4, 4]), PPercent(p_share=0.10)).tolist()
    [False, True]
    """
    remainder = total - top1 - top2
    return np.asarray((n_units > 0) & (remainder < params.p_share * top1))


def zero_fails(n_units: np.ndarray, structural: np.ndarray, params: Zeros) -> np.ndarray:
    """Observed (not structural) empty cells, when the rule calls them disclosive."""
    if not params.observed_zero_disclosive:
        return np.zeros(len(n_units), dtype=bool)
    return np.asarray((n_units == 0) & ~structural)


def rate_group_fails(n_units: np.ndarray, n_positive: np.ndarray, params: GroupDisclosure) -> np.ndarray:
    """Rates where one outcome holds ``max_category_share`` or more of the units.

    With the default share 1.0 this is a rate of exactly 0 or 1: everyone in
    the cell has (or lacks) the attribute.

    >>> import numpy as np
    >>> from kit.core.rules.model import GroupDisclosure
    >>> rate_group_fails(np.array([5, 5, 5, 0]), np.array([5, 0, 4, 0]),
    ...                  GroupDisclosure(max_category_share=1.0)).tolist()
    [True, True, False, False]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.maximum(n_positive, n_units - n_positive) / np.where(n_units > 0, n_units, 1)
    return np.asarray((n_units > 0) & (share >= params.max_category_share))


def category_group_fails(n_units: np.ndarray, n_units_group: np.ndarray,
                         params: GroupDisclosure) -> np.ndarray:
    """Count cells holding ``max_category_share`` or more of their group's units.

    ``n_units_group`` is, per cell, the number of units of the group the cell
    belongs to (the margin over the attribute dimension).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        share = n_units / np.where(n_units_group > 0, n_units_group, 1)
    return (n_units > 0) & (n_units_group > 0) & (share >= params.max_category_share)


def negative_flags(n_negative_units: np.ndarray) -> np.ndarray:
    """Cells with at least one unit whose contribution is negative."""
    return n_negative_units > 0


def describe_threshold(params: Threshold | Differencing) -> str:
    """Detail text for a reason (parameters only, no data)."""
    return f"fewer than {params.min_units} distinct units"
