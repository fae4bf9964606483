"""Least squares on a group × period cell table (sufficient statistics).

With group and period fixed effects and treatment dummies that are functions
of the (group, period) cell, every regressor of the event-study model is
constant within a cell. The OLS normal equations on the person-level data
then depend on the data only through cell sums:

    Z'Z = sum_c n_c z_c z_c'            Z'y = sum_c z_c S_y,c

where ``z_c`` is the cell's row of the design, ``n_c`` its number of rows and
``S_y,c`` its sum of the outcome. With covariates ``x`` (person level) the
blocks ``sum_c z_c S_x,c'`` and ``X'X``, ``X'y`` are added, so the full OLS
(coefficients and cluster-robust errors) is computed from

* per cell: ``n``, ``S_y``, ``S_x`` (vector);
* per cluster (group): ``X'X_g``, ``X'y_g``.

The cluster-robust covariance is statsmodels' CR1:
``G/(G-1) * (N-1)/(N-K) * B^-1 (sum_g s_g s_g') B^-1`` with the cluster
score ``s_g = [sum_{c in g} z_c e_c ; X'y_g - sum_{c in g} S_x,c z_c'theta_z - X'X_g theta_x]``
and ``e_c = S_y,c - n_c z_c'theta_z - S_x,c'theta_x`` the cell sum of residuals.
It is tested equal to ``statsmodels.OLS(...).fit(cov_type="cluster")`` on
person-level data to 1e-8 (tests/estimate/test_event_study.py).

Examples
--------
>>> import numpy as np
>>> cells = CellStats(g=np.array([0, 0, 1, 1]), t=np.array([0, 1, 0, 1]),
...                   n=np.array([2., 2., 2., 2.]), sy=np.array([2., 4., 2., 2.]))
>>> z = np.array([[1, 0, 0, 0], [1, 0, 1, 1], [0, 1, 0, 0], [0, 1, 1, 0]], dtype=float)
>>> fit = solve(cells, z)
>>> round(float(fit.theta[3]), 6)   # (2 - 1) - (1 - 1): the 2x2 difference in differences
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.errors import SpecError

__all__ = ["CellFit", "CellStats", "cluster_cov", "solve"]


@dataclass
class CellStats:
    """Sufficient statistics per non-empty cell (private).

    ``g`` and ``t`` are group and period codes; ``n`` rows, ``sy`` outcome sums,
    ``sx`` covariate sums (cells × p); ``xx_g`` (groups × p × p) and ``xy_g``
    (groups × p) per-group cross products of the covariates.
    """

    g: np.ndarray
    t: np.ndarray
    n: np.ndarray
    sy: np.ndarray
    sx: np.ndarray | None = None
    xx_g: np.ndarray | None = None
    xy_g: np.ndarray | None = None
    syy: np.ndarray | None = None

    @property
    def p(self) -> int:
        """Number of covariates."""
        return 0 if self.sx is None else int(self.sx.shape[1])

    def subset(self, mask: np.ndarray) -> CellStats:
        """Cells in ``mask`` (per-group covariate blocks are kept whole)."""
        return CellStats(
            self.g[mask],
            self.t[mask],
            self.n[mask],
            self.sy[mask],
            None if self.sx is None else self.sx[mask],
            self.xx_g,
            self.xy_g,
            None if self.syy is None else self.syy[mask],
        )


@dataclass
class CellFit:
    """Coefficients of a cell-level fit and what the sandwich needs."""

    theta: np.ndarray
    bread: np.ndarray
    n_obs: float
    k: int


def _blocks(cells: CellStats, z: np.ndarray, groups_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    zn = z * cells.n[:, None]
    a = z.T @ zn
    b = z.T @ cells.sy
    if cells.p == 0:
        return a, b
    assert cells.sx is not None and cells.xx_g is not None and cells.xy_g is not None
    zx = z.T @ cells.sx
    xx = cells.xx_g[groups_in].sum(axis=0)
    xy = cells.xy_g[groups_in].sum(axis=0)
    top = np.hstack([a, zx])
    bottom = np.hstack([zx.T, xx])
    return np.vstack([top, bottom]), np.concatenate([b, xy])


def solve(cells: CellStats, z: np.ndarray, where: str = "event study") -> CellFit:
    """OLS coefficients ``theta = [theta_z, theta_x]`` from cell statistics.

    Raises
    ------
    SpecError
        When the design is rank deficient (perfect collinearity).
    """
    groups_in = np.unique(cells.g)
    a, b = _blocks(cells, z, groups_in)
    scale = np.sqrt(np.clip(np.diag(a), 1e-300, None))
    a_s = a / scale[:, None] / scale[None, :]
    eig = np.linalg.eigvalsh(a_s)
    if eig[0] <= 1e-11 * max(eig[-1], 1.0):
        raise SpecError(
            where,
            "the design is perfectly collinear (a fixed effect, an effect or a covariate "
            "is a combination of the others)",
            "drop collinear covariates, or check that every period has comparison observations",
        )
    inv = np.linalg.inv(a_s) / scale[:, None] / scale[None, :]
    theta = inv @ b
    return CellFit(theta=theta, bread=inv, n_obs=float(cells.n.sum()), k=a.shape[0])


def cluster_cov(cells: CellStats, z: np.ndarray, fit: CellFit) -> np.ndarray:
    """CR1 cluster-robust covariance (clusters = groups), as statsmodels computes it."""
    q = z.shape[1]
    tz = fit.theta[:q]
    pred = z @ tz
    e = cells.sy - cells.n * pred
    if cells.p:
        assert cells.sx is not None and cells.xx_g is not None and cells.xy_g is not None
        tx = fit.theta[q:]
        e = e - cells.sx @ tx
    groups = np.unique(cells.g)
    gi = np.searchsorted(groups, cells.g)
    n_g = len(groups)
    scores = np.zeros((n_g, fit.k))
    np.add.at(scores[:, :q], gi, z * e[:, None])
    if cells.p:
        assert cells.sx is not None and cells.xx_g is not None and cells.xy_g is not None
        part = np.zeros((n_g, cells.p))
        np.add.at(part, gi, cells.sx * pred[:, None])
        scores[:, q:] = cells.xy_g[groups] - part - cells.xx_g[groups] @ tx
    meat = scores.T @ scores
    corr = (n_g / (n_g - 1.0)) * (fit.n_obs - 1.0) / (fit.n_obs - fit.k)
    cov: np.ndarray = corr * fit.bread @ meat @ fit.bread
    return cov
