"""Protection levels from the rule that made a cell primary.

The attacker's feasible interval of a primary cell with value ``X`` must reach
``X − lpl`` below and ``X + upl`` above. Definitions (docs/suppression.md has
the derivations and sources):

``share``      (sliding protection; tau-Argus "protection level %"):
               ``upl = lpl = s·X`` (default ``s`` = 10 %).
``threshold``  (count tables, fewer than ``t`` units): the interval must reach
               the threshold, so an attacker cannot tell that the cell is below
               it: ``upl = max(s·X, t − X)``, ``lpl = min(X, s·X)``.
``p_percent``  (p % rule, Hundepool et al. 2012 §4.2.3): the second-largest
               contributor must not estimate the largest ``x1`` closer than
               ``p %``: ``upl = lpl = p·x1 − (X − x1 − x2)`` (capped at ``X`` below).
``nk``         ((n,k) dominance rule, Hundepool et al. 2012 §4.2.2): the interval
               must reach a total at which the ``n`` largest are ≤ ``k %``:
               ``upl = lpl = (x1 + … + xn)/k − X`` (capped at ``X`` below).

Each rule gives levels ≥ 0; cells that do not fail the rule get 0. A floor of
``s·X`` (``share``) applies to every rule unless ``share=0``.

Examples
--------
>>> lo, hi = protection_levels([2.0, 10.0], rule="threshold", threshold=3, share=0.1)
>>> hi.tolist(), lo.tolist()
([1.0, 1.0], [0.2, 1.0])
>>> lo, hi = protection_levels([100.0], rule="p_percent", p=0.1, top=[[95.0, 3.0]], share=0)
>>> round(float(hi[0]), 6)
7.5
>>> lo, hi = protection_levels([100.0], rule="nk", n=1, k=0.5, top=[[80.0]], share=0)
>>> hi.tolist()
[60.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kit.errors import SpecError

__all__ = ["protection_levels"]

RULES = ("share", "threshold", "p_percent", "nk")


def protection_levels(values: Any, rule: str = "share", *, share: float = 0.10,
                      threshold: float | None = None, p: float | None = None,
                      n: int | None = None, k: float | None = None,
                      top: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper protection levels per cell.

    Parameters
    ----------
    values
        Cell values ``X`` (counts for ``threshold``, magnitudes otherwise).
    rule
        One of ``share``, ``threshold``, ``p_percent``, ``nk`` (see the module docs).
    share
        Sliding protection share ``s`` (a fraction, 0.10 = 10 %); also the floor.
    threshold
        Minimum count ``t`` for ``threshold``.
    p
        The ``p`` of the p % rule as a fraction (0.10 = 10 %).
    n, k
        The (n,k) rule: ``k`` as a fraction (0.85 = 85 %).
    top
        Largest contributions per cell, descending (a 2-D array, one row per
        cell; at least 2 columns for ``p_percent``, ``n`` for ``nk``).

    Returns
    -------
    (lpl, upl)
        Arrays of the levels, ≥ 0.
    """
    x = np.asarray(values, dtype=float).reshape(-1)
    if rule not in RULES:
        raise SpecError("protection levels", f"unknown rule {rule!r}", f"use one of {', '.join(RULES)}")
    if not 0 <= share < 1:
        raise SpecError("protection levels", "share must be in [0, 1)", "give a fraction, e.g. 0.10")
    base = share * np.abs(x)
    if rule == "share":
        return base.copy(), base.copy()
    if rule == "threshold":
        if threshold is None:
            raise SpecError("protection levels", "rule 'threshold' needs threshold=", "pass the minimum count")
        upl = np.maximum(base, float(threshold) - x)
        lpl = np.minimum(np.abs(x), base)
        return lpl, np.maximum(upl, 0.0)
    t = None if top is None else np.asarray(top, dtype=float)
    if t is None or t.ndim != 2 or t.shape[0] != x.shape[0]:
        raise SpecError("protection levels", f"rule {rule!r} needs top= (largest contributions per cell)",
                        "pass a 2-D array with one row per cell, largest first")
    t = np.nan_to_num(t, nan=0.0)
    if rule == "p_percent":
        if p is None or t.shape[1] < 2:
            raise SpecError("protection levels", "rule 'p_percent' needs p= and the two largest contributions",
                            "pass p as a fraction and top with 2 columns")
        need = p * t[:, 0] - (x - t[:, 0] - t[:, 1])
    else:
        if n is None or k is None or not 0 < k <= 1 or t.shape[1] < n:
            raise SpecError("protection levels", "rule 'nk' needs n=, k= in (0, 1] and n top contributions",
                            "pass k as a fraction (0.85) and top with n columns")
        need = t[:, :n].sum(axis=1) / k - x
    need = np.maximum(need, 0.0)
    upl = np.maximum(need, base)
    lpl = np.minimum(np.maximum(need, base), np.abs(x))
    return lpl, upl
