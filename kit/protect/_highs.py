"""A small re-solvable LP/MILP model on HiGHS (internal).

The audit and the protection methods solve many LPs that differ only in the
objective or a few bounds. :class:`LinearModel` builds the HiGHS model once and
re-solves it warm. It uses ``highspy`` when importable, else the HiGHS binding
that ships inside SciPy (``scipy.optimize._highspy``), else plain
:func:`scipy.optimize.linprog` / :func:`scipy.optimize.milp` (cold solves).

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> m = LinearModel(sp.csr_matrix([[1.0, 1.0]]), [5.0], [5.0], [0.0, 0.0], [np.inf, np.inf])
>>> m.set_cost([-1.0, 0.0])
>>> sol = m.solve()
>>> sol.status, round(sol.objective, 6)
('optimal', -5.0)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

__all__ = ["LinearModel", "Solution", "backend_name"]


def _load_backend() -> tuple[str, Any]:
    try:  # pragma: no cover - highspy is optional
        import highspy

        return "highspy", highspy
    except ImportError:
        pass
    try:
        from scipy.optimize._highspy import _core

        if hasattr(_core, "_Highs") and hasattr(_core, "HighsLp"):
            return "scipy-highs", _core
    except ImportError:  # pragma: no cover
        pass
    return "scipy", None  # pragma: no cover


def backend_name() -> str:
    """Which HiGHS binding is used: ``highspy``, ``scipy-highs`` (warm re-solves) or ``scipy``."""
    return _load_backend()[0]


def _option(h: Any, name: str) -> Any:
    """An option's value (the SciPy binding returns ``(status, value)``, highspy the value)."""
    val = h.getOptionValue(name)
    return val[1] if isinstance(val, tuple) else val


class Status(str, enum.Enum):
    """Outcome of a solve."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    OTHER = "other"


@dataclass(frozen=True)
class Solution:
    """Status, point (``None`` when there is none) and objective of one solve."""

    status: str
    x: np.ndarray | None
    objective: float


class LinearModel:
    """``min c·x  s.t.  rlo ≤ A x ≤ rhi,  lo ≤ x ≤ hi`` (optionally some x integer)."""

    def __init__(self, a: sp.spmatrix, rlo: Any, rhi: Any, lo: Any, hi: Any,
                 cost: Any = None, integer: Any = None, time_limit: float | None = None,
                 mip_rel_gap: float | None = None, resolve: str = "cost",
                 options: dict[str, Any] | None = None) -> None:
        self._a = sp.csc_matrix(a, dtype=float)
        self.n_rows, self.n_cols = self._a.shape
        self._rlo = np.asarray(rlo, dtype=float).copy()
        self._rhi = np.asarray(rhi, dtype=float).copy()
        self._lo = np.asarray(lo, dtype=float).copy()
        self._hi = np.asarray(hi, dtype=float).copy()
        self._c = np.zeros(self.n_cols) if cost is None else np.asarray(cost, dtype=float).copy()
        self._int = None if integer is None else np.asarray(integer, dtype=np.uint8).copy()
        self._time_limit = time_limit
        self._gap = mip_rel_gap
        self._resolve = resolve
        self._options = dict(options or {})
        self._kind, mod = _load_backend()
        self._h: Any = None
        if mod is not None:
            self._build(mod)

    # ------------------------------------------------------------------ backend
    def _build(self, mod: Any) -> None:
        self._mod = mod
        h = mod.Highs() if self._kind == "highspy" else mod._Highs()
        h.setOptionValue("output_flag", False)
        if self._time_limit is not None:
            h.setOptionValue("time_limit", float(self._time_limit))
        if self._gap is not None:
            h.setOptionValue("mip_rel_gap", float(self._gap))
        h.setOptionValue("threads", 1)
        for key, val in self._options.items():
            h.setOptionValue(key, val)
        if (self._int is None or not self._int.any()) and self._resolve == "cost":
            # primal simplex re-solves warm after an objective change (the basis stays feasible)
            h.setOptionValue("simplex_strategy", 4)
        lp = mod.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = self._c
        lp.col_lower_ = self._lo
        lp.col_upper_ = self._hi
        lp.row_lower_ = self._rlo
        lp.row_upper_ = self._rhi
        lp.a_matrix_.format_ = mod.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self._a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = self._a.indices.astype(np.int32)
        lp.a_matrix_.value_ = self._a.data
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        if self._int is not None:
            lp.integrality_ = [mod.HighsVarType.kInteger if v else mod.HighsVarType.kContinuous
                               for v in self._int]
        h.passModel(lp)
        self._h = h

    # ------------------------------------------------------------------ changes
    def set_cost(self, cost: Any) -> None:
        """Replace the whole objective."""
        c = np.asarray(cost, dtype=float)
        changed = np.flatnonzero(c != self._c)
        self._c = c.copy()
        if self._h is not None and len(changed):
            self._h.changeColsCost(len(changed), changed.astype(np.int32), c[changed])

    def set_bounds(self, idx: Any, lo: Any, hi: Any) -> None:
        """Change the bounds of some columns."""
        idx = np.atleast_1d(np.asarray(idx, dtype=np.int64))
        lo_a = np.broadcast_to(np.asarray(lo, dtype=float), idx.shape).copy()
        hi_a = np.broadcast_to(np.asarray(hi, dtype=float), idx.shape).copy()
        self._lo[idx] = lo_a
        self._hi[idx] = hi_a
        if self._h is not None and len(idx):
            self._h.changeColsBounds(len(idx), idx.astype(np.int32), lo_a, hi_a)

    def set_row_bounds(self, row: int, lo: float, hi: float) -> None:
        """Change the bounds of one row."""
        self._rlo[row] = lo
        self._rhi[row] = hi
        if self._h is not None:
            self._h.changeRowBounds(int(row), float(lo), float(hi))

    def set_solution(self, x: Any) -> None:
        """Offer a starting point to the MIP solver (ignored without a warm-start backend)."""
        if self._h is not None and hasattr(self._h, "setSolution"):
            sol = self._mod.HighsSolution()
            sol.col_value = np.asarray(x, dtype=float)
            sol.value_valid = True
            self._h.setSolution(sol)

    def reduced_costs(self) -> np.ndarray | None:
        """Reduced costs of the columns at the last LP solve (``None`` without a HiGHS binding or duals).

        In a minimisation, a negative entry is the multiplier of the column's upper bound and a
        positive one that of its lower bound; for cut generation from the LP dual.
        """
        if self._h is None:  # pragma: no cover
            return None
        sol = self._h.getSolution()
        if not sol.dual_valid:
            return None
        return np.asarray(sol.col_dual, dtype=float)

    # ------------------------------------------------------------------ solve
    def solve(self) -> Solution:
        """Solve (warm where the backend allows) and return status, point and objective."""
        if self._h is not None:
            return self._solve_highs()
        return self._solve_scipy()  # pragma: no cover

    def _solve_highs(self) -> Solution:
        h = self._h
        h.run()
        ms = h.getModelStatus()
        st = self._mod.HighsModelStatus
        if ms not in (st.kOptimal, st.kInfeasible, st.kUnbounded, st.kTimeLimit):
            # a warm start went wrong: solve again from scratch with the default strategy
            strategy = _option(h, "simplex_strategy")
            h.setOptionValue("simplex_strategy", 0)
            h.clearSolver()
            h.run()
            h.setOptionValue("simplex_strategy", strategy)
            ms = h.getModelStatus()
        if ms == st.kOptimal:
            status = Status.OPTIMAL
        elif ms == st.kInfeasible:
            status = Status.INFEASIBLE
        elif ms in (st.kUnbounded, st.kUnboundedOrInfeasible):
            if ms == st.kUnboundedOrInfeasible:
                # decide with a cold re-solve without presolve
                h.setOptionValue("presolve", "off")
                h.clearSolver()
                h.run()
                h.setOptionValue("presolve", "choose")
                ms = h.getModelStatus()
                status = Status.UNBOUNDED if ms == st.kUnbounded else (
                    Status.INFEASIBLE if ms == st.kInfeasible else Status.OTHER)
            else:
                status = Status.UNBOUNDED
        elif ms == st.kTimeLimit:
            status = Status.TIME_LIMIT
        else:
            status = Status.OTHER
        x = None
        obj = float("nan")
        if status in (Status.OPTIMAL, Status.TIME_LIMIT):
            sol = h.getSolution()
            if sol.value_valid:
                x = np.asarray(sol.col_value, dtype=float)
                obj = float(self._c @ x)
        return Solution(status.value, x, obj)

    def solve_cold(self, feasibility_tolerance: float | None = None) -> Solution:
        """Solve from scratch (default strategy, presolve on), optionally with a looser primal
        feasibility tolerance; for a warm re-solve that reported a doubtful infeasibility."""
        if self._h is None:  # pragma: no cover
            return self._solve_scipy()
        h = self._h
        strategy = _option(h, "simplex_strategy")
        tol = _option(h, "primal_feasibility_tolerance")
        h.setOptionValue("simplex_strategy", 0)
        if feasibility_tolerance is not None:
            h.setOptionValue("primal_feasibility_tolerance", float(feasibility_tolerance))
        h.clearSolver()
        try:
            return self._solve_highs()
        finally:
            h.setOptionValue("simplex_strategy", strategy)
            h.setOptionValue("primal_feasibility_tolerance", tol)

    def _solve_scipy(self) -> Solution:  # pragma: no cover - used only without a HiGHS binding
        a = sp.csr_matrix(self._a)
        opts: dict[str, Any] = {}
        if self._time_limit is not None:
            opts["time_limit"] = self._time_limit
        if self._int is not None and self._int.any():
            if self._gap is not None:
                opts["mip_rel_gap"] = self._gap
            res = milp(self._c, constraints=LinearConstraint(a, self._rlo, self._rhi),
                       bounds=Bounds(self._lo, self._hi), integrality=self._int, options=opts)
            codes = {0: Status.OPTIMAL, 1: Status.TIME_LIMIT, 2: Status.INFEASIBLE, 3: Status.UNBOUNDED}
        else:
            eq = self._rlo == self._rhi
            ub_rows = []
            ub_rhs = []
            fin_hi = ~eq & np.isfinite(self._rhi)
            fin_lo = ~eq & np.isfinite(self._rlo)
            if fin_hi.any():
                ub_rows.append(a[fin_hi])
                ub_rhs.append(self._rhi[fin_hi])
            if fin_lo.any():
                ub_rows.append(-a[fin_lo])
                ub_rhs.append(-self._rlo[fin_lo])
            res = linprog(self._c,
                          A_ub=sp.vstack(ub_rows) if ub_rows else None,
                          b_ub=np.concatenate(ub_rhs) if ub_rhs else None,
                          A_eq=a[eq] if eq.any() else None, b_eq=self._rlo[eq] if eq.any() else None,
                          bounds=np.column_stack([self._lo, self._hi]), method="highs", options=opts)
            codes = {0: Status.OPTIMAL, 1: Status.TIME_LIMIT, 2: Status.INFEASIBLE, 3: Status.UNBOUNDED}
        status = codes.get(res.status, Status.OTHER)
        x = None if res.x is None else np.asarray(res.x, dtype=float)
        obj = float(self._c @ x) if x is not None else float("nan")
        return Solution(status.value, x, obj)
