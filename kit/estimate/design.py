"""Disclosure checks on a model's design matrix (whatever formula, coding or transformation built it).

A fitted model satisfies its score equations ``X'(y - fitted) = 0`` (OLS, WLS
with ``W X`` in place of ``X``, and the canonical-link GLMs alike). So for every
vector ``v = X c`` in the column space of the design, ``v'y = v'fitted``: an
attacker who knows the regressors of the units where ``v`` is non-zero gets
``v'y`` from the published coefficients. If such a ``v`` is non-zero on fewer
than ``k`` units it discloses one unit's value (``Intercept + d`` for a dummy
held by one person), or a combination of fewer than ``k`` units' values. The
kit adds the constant to the design (the cell total is public through a mean
table) and refuses the model when

1. a column's non-modal values are held by fewer than ``k`` distinct units
   (:func:`sparse_columns`: the column minus its mode is such a ``v``);
2. deleting some set of fewer than ``k`` units lowers the rank of ``[1, X]``
   (:func:`isolated_units`): this is exactly the existence of such a ``v``,
   whatever contrast coding (Treatment, Sum, Helmert, Diff, Poly), ``I(...)``,
   interaction or spline produced the columns; a saturated fit of ``x`` and
   ``x**2`` on three values of ``x`` is caught like a dummy;
3. rows with identical regressors all fit exactly (zero residuals): their common
   value is the fitted value (:func:`exact_fit_groups`).

The test for 2 uses leverages: with ``Q`` an orthonormal basis of the column
space, deleting the rows ``T`` lowers the rank iff the largest singular value
of ``Q_T`` is 1, and that value squared is at most the sum of the rows'
leverages. Only sets whose leverages add up to about 1 are examined exactly;
when there are too many the model is refused (fail closed).

Examples
--------
>>> import numpy as np
>>> n = 30
>>> x = np.linspace(0, 1, n); d = np.zeros(n); d[4] = 1
>>> units = np.arange(n)
>>> isolated_units(np.column_stack([np.ones(n), x]), units, n, 3)
False
>>> isolated_units(np.column_stack([np.ones(n), x, d]), units, n, 3)
True
>>> sparse_columns(np.column_stack([np.ones(n), x, d]), units, n, 3)
[2]
"""

from __future__ import annotations

import numpy as np

__all__ = ["ISOLATION_TOL", "MAX_SUBSETS", "exact_fit_groups", "isolated_units", "sparse_columns"]

#: A set of units counts as isolated when its largest squared singular value in ``Q`` reaches ``1 - ISOLATION_TOL``.
ISOLATION_TOL = 1e-6
#: Largest number of candidate sets examined exactly before the kit refuses the model.
MAX_SUBSETS = 20_000


def _units_holding(mask: np.ndarray, unit_codes: np.ndarray, n_units: int) -> int:
    if not mask.any():
        return 0
    return int(np.count_nonzero(np.bincount(unit_codes[mask], minlength=n_units)))


def sparse_columns(exog: np.ndarray, unit_codes: np.ndarray, n_units: int, k: int) -> list[int]:
    """Columns whose values other than the most frequent one are held by 1 to ``k - 1`` distinct units."""
    out = []
    for j in range(exog.shape[1]):
        col = exog[:, j]
        values, counts = np.unique(col, return_counts=True)
        if len(values) <= 1:
            continue
        mode = values[int(np.argmax(counts))]
        held = _units_holding(col != mode, unit_codes, n_units)
        if 0 < held < k:
            out.append(j)
    return out


def _basis(design: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space (rows x rank), from the SVD of the column-scaled design.

    The rank tolerance is numpy's ``matrix_rank`` default (``s_max * max(n, p) * eps``), the one
    statsmodels' rank check uses. It is applied to the singular values, not to the Gram matrix's
    eigenvalues (their squares): a tolerance of 1e-10 on the eigenvalues dropped the direction of a
    one-person dummy hidden as ``x = z + 1e-5 d`` next to ``z``, which the fit still uses (her row
    fits exactly; tests/adversarial/test_red6_models.py).
    """
    scale = np.sqrt((design * design).sum(axis=0))
    scale[scale == 0] = 1.0
    z = design / scale
    u, sv, _ = np.linalg.svd(z, full_matrices=False)
    tol = max(sv.max(initial=0.0), np.finfo(float).tiny) * max(z.shape) * np.finfo(float).eps
    return np.asarray(u[:, sv > tol])


def _with_constant(q: np.ndarray) -> np.ndarray:
    """``q`` with the constant's direction added when it is not in the column space already."""
    ones = np.ones(q.shape[0])
    r = ones - q @ (q.T @ ones)
    norm = float(np.linalg.norm(r))
    if norm <= 1e-8 * np.sqrt(q.shape[0]):
        return q
    return np.column_stack([q, r / norm])


def isolated_units(exog: np.ndarray, unit_codes: np.ndarray, n_units: int, k: int) -> bool:
    """Whether deleting some set of fewer than ``k`` units lowers the rank of ``[1, exog]``.

    Fails closed (returns True) when more than :data:`MAX_SUBSETS` candidate sets
    would have to be examined.
    """
    if k <= 1:
        return False
    q = _basis(exog)
    if q.shape[1] < exog.shape[1]:
        # a direction too weak to resolve: the fit may still use it (pinv), so it could hold a
        # dummy of one unit; OLS/WLS refuse such designs as collinear anyway
        return True
    q = _with_constant(q)
    lev_rows = (q * q).sum(axis=1)
    lev = np.bincount(unit_codes, weights=lev_rows, minlength=n_units)
    order = np.argsort(-lev, kind="stable")
    lev_sorted = lev[order]
    slots = k - 1
    need = 1.0 - ISOLATION_TOL
    if lev_sorted[:slots].sum() < need:
        return False  # no set of fewer than k units can reach singular value 1
    rows_of: dict[int, np.ndarray] = {}

    def rows(u: int) -> np.ndarray:
        if u not in rows_of:
            rows_of[u] = np.flatnonzero(unit_codes == u)
        return rows_of[u]

    examined = 0

    def search(chosen: list[int], start: int, acc: float) -> bool:
        nonlocal examined
        if chosen and acc >= need:
            examined += 1
            if examined > MAX_SUBSETS:
                raise _TooMany
            sub = q[np.concatenate([rows(int(order[i])) for i in chosen])]
            if np.linalg.norm(sub, 2) ** 2 >= need:
                return True
        if len(chosen) == slots:
            return False
        free = slots - len(chosen)
        for i in range(start, len(order)):
            if acc + lev_sorted[i] * free < need:
                break  # sorted: no later unit can complete a set
            if search([*chosen, i], i + 1, acc + lev_sorted[i]):
                return True
        return False

    try:
        return search([], 0, 0.0)
    except _TooMany:
        return True


class _TooMany(Exception):
    """Too many candidate sets: refuse rather than guess."""


def exact_fit_groups(exog: np.ndarray, resid: np.ndarray, scale: float) -> bool:
    """Whether some group of two or more rows with identical regressors all have zero residuals.

    ``scale`` is the outcome's scale (e.g. its largest absolute value); a residual
    counts as zero below ``1e-9 * scale``.
    """
    zero = np.abs(resid) <= 1e-9 * max(scale, np.finfo(float).tiny)
    if zero.sum() < 2:
        return False
    import pandas as pd

    pattern = pd.DataFrame(exog).groupby(list(range(exog.shape[1])), sort=False).ngroup().to_numpy()
    size = np.bincount(pattern)
    zero_in = np.bincount(pattern, weights=zero.astype(float), minlength=len(size))
    return bool(np.any((size >= 2) & (zero_in == size)))
