"""Issue 15, item 3: in singleton mode the MILP asks no more than the audit checks.

Two one-unit secondaries S1 and S2, each on one cheap rectangle around the primary: against S1 the
rectangle through S2 still moves the primary, and against S2 the one through S1. A witness avoiding
both at once (what the MILP asked before) needs an expensive cell. The test's own attacker
(``linprog``, each singleton's cell fixed in turn) checks the cheap pattern.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from kit.protect import Dimension, ProtectionProblem, TableStructure, protect

TOTAL = "Total"


def test_milp_singleton_model_is_the_audit_model() -> None:
    rows, cols = ["R1", "R2", "R3", "R4"], ["C1", "C2", "C3", "C4"]
    val = np.full((4, 4), 1000.0)
    units = np.full((4, 4), 50.0)
    val[0, 0] = 50.0  # the primary
    for i, j in [(0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (2, 2)]:
        val[i, j] = 10.0
    units[1, 1] = units[2, 2] = 1.0  # S1, S2: one unit each
    s = TableStructure.from_dimensions([Dimension("R", tuple(rows)), Dimension("C", tuple(cols))])
    keys = list(s.keys)
    atoms = [(r, c) for r in rows for c in cols]
    m = np.array([[float(k[0] in (TOTAL, a[0]) and k[1] in (TOTAL, a[1])) for a in atoms] for k in keys])
    values = m @ val.ravel()
    n_units = m @ units.ravel()
    p_cell = keys.index(("R1", "C1"))
    prim = np.arange(len(keys)) == p_cell
    p = ProtectionProblem.build(s, values, primary=prim, share=0.10, n_units=n_units)
    res = protect(p, method="milp", time_limit=30)
    cost = float(values[res.suppressed & ~prim].sum())
    assert cost <= 100.0, f"the pattern costs {cost:.0f}: its witnesses avoid every singleton at once"
    sup = res.suppressed
    truth = val.ravel()
    for fixed in ([], [keys.index(("R2", "C2"))], [keys.index(("R3", "C3"))]):
        rows_eq = list(np.flatnonzero(~sup)) + [f for f in fixed if sup[f]]
        ext = []
        for sign in (1.0, -1.0):
            r = linprog(sign * m[p_cell], A_eq=m[rows_eq], b_eq=np.zeros(len(rows_eq)),
                        bounds=[(-t, None) for t in truth], method="highs")
            assert r.status in (0, 3)
            ext.append(-sign * np.inf if r.status == 3 else sign * r.fun)
        assert ext[1] >= 5.0 * (1 - 1e-9) and ext[0] <= -5.0 * (1 - 1e-9), f"attacker {fixed}: {ext}"
