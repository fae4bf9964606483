"""Primary checks that rates and means need beyond the cell threshold.

Pure functions of per-cell evidence, run by :func:`kit.core.assess.assess` after
the rule set's own rules. Each returns ``(mask, rule_id, code, detail)`` with
``mask`` True where a cell fails; details hold rule parameters only.

* **Rates** are count tables in disguise: ``p = a / n`` with ``n`` published
  gives ``a`` and ``n - a``. Both the numerator (units with the attribute) and
  the complement (units without it) must hold the threshold's ``min_units``
  (DST's 3-unit rule applied to the count form of the cell).
* **Means of identical values** (zero variance within the cell) give every
  unit's value, whatever their number: the cell is suppressed (group
  disclosure for magnitudes).
* **Weighted rates, means and sums** whose Kish effective size
  ``(sum w)^2 / sum w^2`` is below ``min_units`` rest, in effect, on fewer
  units than the threshold: suppressed.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from kit.core.rules import load_rule_set
>>> cells = pd.DataFrame({"n_units": [5, 5, 6], "n_positive_units": [1, 4, 3],
...                       "sum_w": [5.0, 5.0, 6.0], "sum_w2": [5.0, 5.0, 6.0]})
>>> [m.tolist() for m, *_ in rate_failures(cells, load_rule_set("dst"), weighted=False)]
[[True, True, False]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.core.rules.loader import RuleSet
from kit.core.rules.model import RuleKind, Threshold
from kit.core.spec_types import Statistic
from kit.core.status import ReasonCode

__all__ = ["estimate_cell_failures", "kish_failures", "rate_failures", "zero_variance"]

Failure = tuple[np.ndarray, str, ReasonCode, str]

#: Relative size of a within-cell variance that counts as zero (values identical up to rounding).
ZERO_VARIANCE_RTOL = 1e-9


def _thresholds(rules: RuleSet, stat: Statistic) -> list[tuple[str, int]]:
    return [
        (r.id, r.params.min_units)
        for r in rules.of_kind(RuleKind.THRESHOLD, stat)
        if isinstance(r.params, Threshold) and r.params.min_units > 1
    ]


def rate_failures(cells: pd.DataFrame, rules: RuleSet, weighted: bool) -> list[Failure]:
    """Rate cells whose numerator or complement has fewer than ``min_units`` units."""
    n = cells["n_units"].to_numpy()
    a = cells["n_positive_units"].to_numpy()
    out: list[Failure] = []
    for rid, k in _thresholds(rules, Statistic.RATE):
        bad = (n > 0) & ((a < k) | ((n - a) < k))
        out.append((bad, rid, ReasonCode.BELOW_MIN_UNITS,
                    f"the numerator or its complement has fewer than {k} distinct units"))
    if weighted:
        out += kish_failures(cells, rules, Statistic.RATE)
    return out


def zero_variance(cells: pd.DataFrame) -> np.ndarray:
    """Non-empty cells whose (weighted) values are all equal, judged relative to their size.

    >>> zero_variance(pd.DataFrame({"sum_w": [3.0, 3.0, 0.0], "sum_wx": [15.0, 16.0, 0.0],
    ...                             "sum_wx2": [75.0, 90.0, 0.0]})).tolist()
    [True, False, False]
    """
    sw, swx, swx2 = (cells[c].to_numpy(dtype=float) for c in ("sum_w", "sum_wx", "sum_wx2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sw > 0, swx / np.where(sw > 0, sw, 1.0), 0.0)
        second = np.where(sw > 0, swx2 / np.where(sw > 0, sw, 1.0), 0.0)
    var = second - mean * mean
    return np.asarray((sw > 0) & (var <= ZERO_VARIANCE_RTOL * np.maximum(second, np.finfo(float).tiny)))


def kish_failures(cells: pd.DataFrame, rules: RuleSet, stat: Statistic) -> list[Failure]:
    """Weighted cells whose Kish effective size is below ``min_units``."""
    sw, sw2 = cells["sum_w"].to_numpy(dtype=float), cells["sum_w2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1.0), 0.0)
    out: list[Failure] = []
    for rid, k in _thresholds(rules, stat):
        bad = (sw2 > 0) & (n_eff < k * (1 - 1e-12))
        out.append((bad, rid, ReasonCode.BELOW_MIN_UNITS,
                    f"the weights concentrate the cell on fewer than {k} effective units (Kish)"))
    return out


def estimate_cell_failures(cells: pd.DataFrame, stat: Statistic, rules: RuleSet, weighted: bool) -> list[Failure]:
    """All extra failures of a rate or mean table (empty for other statistics)."""
    if stat is Statistic.RATE:
        return rate_failures(cells, rules, weighted)
    if stat is Statistic.MEAN:
        out: list[Failure] = []
        if _thresholds(rules, stat) or rules.of_kind(RuleKind.GROUP_DISCLOSURE):
            out.append((zero_variance(cells), "kit", ReasonCode.GROUP_DISCLOSURE,
                        "every unit in the cell has the same value"))
        if weighted:
            out += kish_failures(cells, rules, stat)
        return out
    if stat is Statistic.SUM and weighted:
        # a weighted sum with one heavy weight is that unit's value times its weight
        return kish_failures(cells, rules, stat)
    return []
