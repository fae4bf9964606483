"""Worksheet: optimal patterns of tiny tables by exhaustive search (independent of kit.protect).

For every subset of candidate cells (smallest cost first) the pattern is checked with
plain scipy.optimize.linprog over the dense relation matrix: each primary's min and max
subject to the published values and non-negativity. The first subset that protects all
primaries is optimal. Run it to regenerate the expected figures in test_reference.py.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog


def interval(m: np.ndarray, values: np.ndarray, published: np.ndarray, cell: int) -> tuple[float, float]:
    out = []
    for sign in (1.0, -1.0):
        r = linprog(sign * m[cell], A_eq=m[published], b_eq=values[published], bounds=(0, None),
                    method="highs")
        if r.status == 0:
            out.append(sign * r.fun)
        elif r.status == 3:  # unbounded: the min is -inf, the max +inf
            out.append(-np.inf if sign > 0 else np.inf)
        else:
            raise AssertionError("the published values are inconsistent")
    return out[0], out[1]


def protected(m, values, supp, primaries, lpl, upl) -> bool:
    pub = ~supp
    for p in primaries:
        lo, hi = interval(m, values, pub, p)
        if hi < values[p] + upl[p] - 1e-7 or lo > values[p] - lpl[p] + 1e-7:
            return False
    return True


def optimum(m, values, primaries, lpl, upl, cost, max_size=6):
    n = len(values)
    cand = [i for i in range(n) if i not in set(primaries)]
    best = None
    for k in range(max_size + 1):
        for sub in itertools.combinations(cand, k):
            c = float(sum(cost[i] for i in sub))
            if best is not None and c >= best[0]:
                continue
            supp = np.zeros(n, dtype=bool)
            supp[list(primaries) + list(sub)] = True
            if protected(m, values, supp, primaries, lpl, upl):
                best = (c, tuple(sub))
    return best


if __name__ == "__main__":  # pragma: no cover
    from kit.protect import Dimension, TableStructure

    s = TableStructure.from_dimensions([Dimension("r", ("a", "b", "c")), Dimension("k", ("x", "y", "z"))])
    inner = np.array([[5, 1, 7], [3, 8, 2], [6, 4, 9]], dtype=float)
    vals = (s.matrix @ inner.ravel())
    print(vals.tolist())
