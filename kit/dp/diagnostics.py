"""DP-style risk diagnostics for classically checked outputs (no OpenDP needed).

These are *diagnostics, not guarantees*: they show how far one person can move
a published value (the local sensitivity of the cell), and whether that moves
the value past a rounding unit. They go into the checker's report, which stays
on the server.

* count of distinct units: ±1 per person;
* sum: the largest absolute per-unit contribution in the cell (``top_1`` in the
  evidence; when the rule set did not ask for it, the column is missing);
* mean: ``(|top_1| + |mean|)/(n − 1)``: removing or changing one contribution
  moves the mean by at most this;
* without ``top_1`` in the evidence, the bound ``sqrt(Σx²)`` replaces it when
  each unit has one row (otherwise the shift is missing);
* rate: ``max(p, 1 − p)/(n − 1)``.

For linear models, :func:`model_diagnostics` gives the largest exact
leave-one-out change (DFBETA, from the hat matrix) of each coefficient in
standard-error units; with ``groups`` it leaves out a whole person.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.column_stack([np.ones(50), rng.normal(size=50)])
>>> y = X @ [1.0, 2.0] + rng.normal(size=50)
>>> beta = np.linalg.lstsq(X, y, rcond=None)[0]
>>> d = model_diagnostics(X, y - X @ beta, ["const", "x"])
>>> list(d.columns)
['term', 'max_abs_dfbeta', 'se', 'max_shift_in_se', 'label']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.errors import SpecError

__all__ = ["DIAGNOSTIC_LABEL", "model_diagnostics", "table_diagnostics"]

#: The label every diagnostic carries.
DIAGNOSTIC_LABEL = "diagnostic (not a guarantee)"

#: Default rounding unit of the published value per statistic.
DEFAULT_RESOLUTION = {"count": 1.0, "sum": 1.0, "mean": 0.01, "rate": 0.001}


def _rounded(v: np.ndarray, unit: float) -> np.ndarray:
    return np.floor(v / unit + 0.5) * unit


def table_diagnostics(table: Any, resolution: float | Mapping[str, float] | None = None) -> pd.DataFrame:
    """How far one person can move each published cell of a classic table.

    Parameters
    ----------
    table
        A :class:`kit.core.table.Table` evaluated in a Session (private zone).
    resolution
        The rounding unit of the published value (a number, or a mapping by
        statistic). Default: the rule set's ``report_n`` rounding for counts,
        1 for sums, 0.01 for means, 0.001 for rates.

    Returns
    -------
    DataFrame
        One row per published cell: the dimension codes, ``statistic``,
        ``n_units``, ``value``, ``one_person_shift`` (the local sensitivity),
        ``basis`` (how it was computed), ``changes_rounded`` (whether value ±
        shift rounds differently) and ``label``. Private: for the checker's
        report only.
    """
    spec = table.spec
    stat = spec.statistic.value
    cells = table.evidence.cells
    est = table.estimates
    published = np.asarray(table.assessment.published, dtype=bool)
    unit = _resolution(table, stat, resolution)
    n = cells["n_units"].to_numpy(dtype=float)
    weighted = bool(spec.weight)
    if stat == "count":
        value = est["value"].to_numpy(dtype=float)
        shift = np.ones(len(cells))
        basis = "one unit: ±1"
        if weighted:
            shift = np.full(len(cells), np.nan)
            basis = "weighted count: largest weight not in the evidence"
    elif stat == "sum":
        value = est["value"].to_numpy(dtype=float)
        shift, basis = _largest_contribution(cells)
    elif stat in ("mean", "rate"):
        value = est["estimate"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.where(n > 1, n - 1, np.nan)
            if stat == "rate":
                shift = np.maximum(value, 1 - value) / denom
                basis = "max(p, 1-p)/(n-1)"
            else:
                top, top_basis = _largest_contribution(cells)
                shift = (top + np.abs(value)) / denom
                basis = f"(|largest contribution| + |mean|)/(n-1); largest contribution: {top_basis}"
        if weighted:
            basis += " (unweighted approximation)"
    else:
        raise SpecError("table diagnostics", f"no diagnostic for statistic '{stat}'",
                        "diagnostics cover count, sum, mean and rate tables")
    with np.errstate(invalid="ignore"):
        base = _rounded(value, unit)
        changes = (_rounded(value + shift, unit) != base) | (_rounded(value - shift, unit) != base)
    changes = np.where(np.isnan(shift) | np.isnan(value), False, changes)
    out = cells.loc[published, list(spec.dims)].reset_index(drop=True)
    out["statistic"] = stat
    out["n_units"] = n[published].astype(np.int64)
    out["value"] = value[published]
    out["one_person_shift"] = shift[published]
    out["resolution"] = unit
    out["changes_rounded"] = changes[published].astype(bool)
    out["basis"] = basis
    out["label"] = DIAGNOSTIC_LABEL
    return out


def _largest_contribution(cells: pd.DataFrame) -> tuple[np.ndarray, str]:
    """The largest absolute per-unit contribution per cell, or an upper bound of it."""
    if "top_1" in cells.columns:
        return np.abs(cells["top_1"].to_numpy(dtype=float)), "top_1 from the evidence"
    one_row = (cells["n_records"].to_numpy() == cells["n_units"].to_numpy())
    bound = np.sqrt(np.maximum(cells["sum_wx2"].to_numpy(dtype=float), 0.0))
    return (np.where(one_row, bound, np.nan),
            "upper bound sqrt(sum of squares) (no top_1 in the evidence; one row per unit only)")


def _resolution(table: Any, stat: str, resolution: float | Mapping[str, float] | None) -> float:
    if isinstance(resolution, (int, float)):
        return float(resolution)
    if isinstance(resolution, Mapping) and stat in resolution:
        return float(resolution[stat])
    unit = DEFAULT_RESOLUTION.get(stat, 1.0)
    if stat == "count":
        try:
            from kit.core.rules.model import ReportN, RuleKind

            for rule in table.rules.of_kind(RuleKind.REPORT_N, table.spec.statistic):
                if isinstance(rule.params, ReportN):
                    unit = max(unit, float(rule.params.round_to))
        except Exception:  # pragma: no cover - a rule set without report_n
            pass
    return unit


def model_diagnostics(X: np.ndarray, residuals: np.ndarray, names: Sequence[str], *,
                      se: np.ndarray | None = None, groups: np.ndarray | None = None,
                      weights: np.ndarray | None = None) -> pd.DataFrame:
    """Largest leave-one-out change of each coefficient of a linear model, in SE units.

    Call it with the design matrix and residuals *before* the fitted model
    object (which holds microdata) is dropped; only the returned summary is kept.

    Parameters
    ----------
    X
        The design matrix (n × k) as fitted (including the constant).
    residuals
        The residuals (n).
    names
        Coefficient names (k).
    se
        Standard errors to scale by (e.g. the model's robust ones); default the
        classical OLS standard errors ``sqrt(s² diag((X'X)^-1))``.
    groups
        Optional person ids (n): leave out a whole person (all their rows)
        instead of one row: ``DFBETA_g = (X'X)^-1 X_g' (I - H_gg)^-1 e_g``.
    weights
        Optional regression weights (WLS): rows are scaled by ``sqrt(w)``.

    Returns
    -------
    DataFrame
        ``term``, ``max_abs_dfbeta``, ``se``, ``max_shift_in_se`` and ``label``;
        no observation is identified.
    """
    X = np.asarray(X, dtype=float)
    e = np.asarray(residuals, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != e.shape[0] or X.shape[1] != len(names):
        raise SpecError("model diagnostics", "X, residuals and names do not match in shape",
                        "pass X (n × k), residuals (n) and k names")
    if weights is not None:
        sw = np.sqrt(np.asarray(weights, dtype=float).ravel())
        X, e = X * sw[:, None], e * sw
    n, k = X.shape
    xtx_inv = np.linalg.pinv(X.T @ X)
    if se is None:
        s2 = float(e @ e) / max(n - k, 1)
        se_arr = np.sqrt(np.maximum(np.diag(xtx_inv) * s2, 0.0))
    else:
        se_arr = np.asarray(se, dtype=float).ravel()
    A = X @ xtx_inv                      # row i: x_i' (X'X)^-1
    if groups is None:
        h = np.einsum("ij,ij->i", A, X)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(h < 1 - 1e-12, e / (1 - h), np.nan)
        dfbeta = A * scale[:, None]       # n × k
        max_abs = np.nanmax(np.abs(dfbeta), axis=0) if n else np.zeros(k)
    else:
        g = np.asarray(groups).ravel()
        codes, uniq = pd.factorize(g)
        max_abs = np.zeros(k)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
        for j in range(len(uniq)):
            idx = order[bounds[j]:bounds[j + 1]]
            Xg, Ag, eg = X[idx], A[idx], e[idx]
            Hgg = Ag @ Xg.T
            try:
                u = np.linalg.solve(np.eye(len(idx)) - Hgg, eg)
            except np.linalg.LinAlgError:
                continue
            d = xtx_inv @ (Xg.T @ u)
            max_abs = np.maximum(max_abs, np.abs(d))
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(se_arr > 0, max_abs / se_arr, np.nan)
    return pd.DataFrame({"term": list(names), "max_abs_dfbeta": max_abs, "se": se_arr,
                         "max_shift_in_se": shift, "label": DIAGNOSTIC_LABEL})
