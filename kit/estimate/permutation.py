"""Randomisation (permutation) inference over a comparison pool.

With few treated clusters, cluster-robust errors are unreliable (the treated
cluster's own residuals do not enter its effect's variance). Randomisation
inference asks instead: how unusual is the observed effect among the effects
we get when we pretend that other groups were treated?

* **Assignments.** A placebo assignment picks ``n_treated`` groups from the
  comparison pool (the real treated groups are left out of placebo runs).
  When the number of distinct assignments ``C(M, n_treated)`` is at most the
  requested number of permutations, every assignment is enumerated (exact);
  otherwise ``permutations`` assignments are drawn at random with a seeded
  :class:`numpy.random.Generator` (with replacement between draws).
* **p-value.** Two-sided, on the absolute effect:
  ``p = (1 + #{|placebo| >= |observed|}) / (1 + B)`` where ``B`` is the number
  of placebo assignments. Ties count against the observed effect (a relative
  tolerance of 1e-12 guards against rounding). The smallest attainable
  p-value is ``1 / (1 + B)``, which the notes state.

Examples
--------
>>> a = assignments(4, 2, permutations=999, seed=0)
>>> a.exact, len(a.sets)
(True, 6)
>>> float(permutation_p(np.array([3.0]), np.array([[1.0], [-3.0], [0.5]]))[0])
0.5
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Assignments", "assignments", "permutation_p"]


@dataclass(frozen=True)
class Assignments:
    """Placebo assignments: tuples of positions in the comparison pool."""

    sets: tuple[tuple[int, ...], ...]
    exact: bool
    n_possible: int

    def describe(self) -> str:
        """Public description for the notes."""
        if self.exact:
            return f"all {len(self.sets)} placebo assignments enumerated (exact)"
        return (
            f"{len(self.sets)} placebo assignments drawn at random (seeded) out of {self.n_possible} possible"
        )


def assignments(pool_size: int, n_treated: int, permutations: int, seed: int) -> Assignments:
    """Placebo assignments of ``n_treated`` groups out of a pool of ``pool_size``.

    Exact enumeration when ``C(pool_size, n_treated) <= permutations``, else
    ``permutations`` seeded random draws.
    """
    if n_treated < 1 or pool_size < n_treated or permutations < 1:
        return Assignments((), True, 0)
    n_possible = math.comb(pool_size, n_treated)
    if n_possible <= permutations:
        return Assignments(tuple(itertools.combinations(range(pool_size), n_treated)), True, n_possible)
    rng = np.random.default_rng(seed)
    draws = tuple(
        tuple(sorted(int(i) for i in rng.choice(pool_size, size=n_treated, replace=False)))
        for _ in range(permutations)
    )
    return Assignments(draws, False, n_possible)


def permutation_p(observed: np.ndarray, placebo: np.ndarray) -> np.ndarray:
    """Two-sided permutation p-values, one per statistic.

    Parameters
    ----------
    observed
        Observed statistics, shape ``(k,)``.
    placebo
        Placebo statistics, shape ``(B, k)``; NaN entries (not estimable in a
        placebo run) are left out of that statistic's reference set.
    """
    obs = np.abs(np.asarray(observed, dtype=float))
    plc = np.abs(np.asarray(placebo, dtype=float))
    if plc.size == 0:
        return np.full(obs.shape, np.nan)
    valid = ~np.isnan(plc)
    tol = 1e-12 * np.maximum(obs, 1.0)
    hits = ((plc >= obs[None, :] - tol[None, :]) & valid).sum(axis=0)
    b = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (1.0 + hits) / (1.0 + b)
    p = np.where(np.isnan(obs) | (b == 0), np.nan, p)
    return np.asarray(p, dtype=float)
