"""Issue 15: secondary suppression holds at every scale (property test with an independent attacker).

Random 2-D and 3-D magnitude tables with margins (the first dimension optionally a two-level
hierarchy), values scaled by 10^k for k in -3..12. For every pattern the kit returns, the test's
own attacker (``scipy.optimize.linprog`` over the published cells' relations, built from the test's
own parent maps, inner cells ≥ 0) computes each primary's feasible interval; none may be narrower
than its protection interval (tolerance relative to the cell's level, never to the table). The
optimal method's pattern costs the same share at every scale (its quality does not depend on the
unit of the values). Variants: exact-only protection (levels 0: the interval must not be a point)
and singletons (a one-unit inner cell is known to its unit, who may attack every other primary).

The default run draws a few random cases plus the named regressions (about 15 s); set
``KIT_LONG_PROPERTY=1`` for the long run (60 random cases; docs/suppression.md, *Tests*).
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, protect

TOTAL = "Total"


def make_table(seed: int, three_d: bool, hierarchy: bool) -> tuple[TableStructure, list[dict[str, str]],
                                                                   dict[tuple[str, ...], float]]:
    rng = np.random.default_rng(seed)
    sizes = [4 if hierarchy else int(rng.integers(2, 4)), int(rng.integers(2, 4))] + (
        [2] if three_d else [])
    parents: list[dict[str, str]] = []
    dims = []
    for d, k in enumerate(sizes):
        leaves = [f"d{d}c{i}" for i in range(k)]
        if d == 0 and hierarchy:
            par = {leaves[0]: "A", leaves[1]: "A", leaves[2]: "B", leaves[3]: "B", "A": TOTAL, "B": TOTAL}
            dims.append(Dimension(f"D{d}", None, Hierarchy.from_parents(par)))
        else:
            par = {c: TOTAL for c in leaves}
            dims.append(Dimension(f"D{d}", tuple(leaves)))
        parents.append(par)
    s = TableStructure.from_dimensions(dims)
    leaves_per_dim = [[c for c in par if c not in set(par.values())] for par in parents]
    inner = {}
    for key in itertools.product(*leaves_per_dim):
        inner[key] = float(rng.choice([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]))
    return s, parents, inner


def ancestors(code: str, par: dict[str, str]) -> set[str]:
    out = {code}
    while code in par:
        code = par[code]
        out.add(code)
    return out


def attacker(keys: list[tuple[str, ...]], parents: list[dict[str, str]], inner: dict[tuple[str, ...], float],
             published: np.ndarray, targets: list[int], fixed: list[int] = ()) -> dict[int, tuple[float, float]]:
    """Feasible intervals of ``targets``; ``fixed`` are suppressed cells the attacker knows (singletons)."""
    atoms = list(inner)
    anc = [[ancestors(a, par) for a, par in zip(atom, parents)] for atom in atoms]
    m = np.array([[float(all(k in an for k, an in zip(key, a_anc))) for a_anc in anc] for key in keys])
    truth = np.array([inner[a] for a in atoms])
    rows = np.flatnonzero(published).tolist() + list(fixed)
    a_eq = m[rows]
    bounds = [(-t, None) for t in truth]
    out = {}
    for c in targets:
        ext = []
        for sign in (1.0, -1.0):
            r = linprog(sign * m[c], A_eq=a_eq, b_eq=np.zeros(len(rows)), bounds=bounds, method="highs")
            assert r.status in (0, 3), r.message
            ext.append(-sign * np.inf if r.status == 3 else sign * r.fun)
        out[c] = (float(m[c] @ truth) + ext[0], float(m[c] @ truth) + ext[1])
    return out


def check_pattern(s: TableStructure, parents: list[dict[str, str]], inner: dict[tuple[str, ...], float],
                  p: ProtectionProblem, suppressed: np.ndarray, singletons: bool) -> None:
    keys = list(s.keys)
    values = np.asarray(p.values)
    prim = [int(c) for c in np.flatnonzero(np.asarray([st_.value == "u" for st_ in p.status]))]
    attackers: list[list[int]] = [[]]
    if singletons and p.n_units is not None:
        attackers += [[int(k)] for k in np.flatnonzero((np.asarray(p.n_units) == 1) & suppressed)]
    atoms = list(inner)
    anc = [[ancestors(a, par) for a, par in zip(atom, parents)] for atom in atoms]
    cover = [frozenset(j for j, a_anc in enumerate(anc) if all(k in an for k, an in zip(key, a_anc)))
             for key in keys]
    units = None if p.n_units is None else np.asarray(p.n_units)

    def same_unit(k: int, c: int) -> bool:
        # a one-unit cell nested in or containing a one-unit primary is that primary's own unit
        return units is not None and units[c] == 1 and (cover[k] <= cover[c] or cover[c] <= cover[k])

    for fixed in attackers:
        targets = [c for c in prim if c not in fixed and not any(same_unit(k, c) for k in fixed)]
        for c, (lo, hi) in attacker(keys, parents, inner, ~suppressed, targets, fixed).items():
            v = values[c]
            if p.lpl[c] <= 0 and p.upl[c] <= 0:
                assert hi - lo > 1e-9 * abs(v), f"primary {keys[c]} is exactly recoverable"
                continue
            assert hi >= v + p.upl[c] * (1 - 1e-6), f"primary {keys[c]}: upper {hi - v:.6g} < {p.upl[c]:.6g}"
            assert lo <= v - p.lpl[c] * (1 - 1e-6), f"primary {keys[c]}: lower {v - lo:.6g} < {p.lpl[c]:.6g}"


def build(s: TableStructure, parents: list[dict[str, str]], inner: dict[tuple[str, ...], float], scale: float,
          primary_idx: list[int], exact_only: bool, singletons: bool) -> ProtectionProblem:
    keys = list(s.keys)
    atoms = list(inner)
    anc = [[ancestors(a, par) for a, par in zip(atom, parents)] for atom in atoms]
    m = np.array([[float(all(k in an for k, an in zip(key, a_anc))) for a_anc in anc] for key in keys])
    values = m @ np.array([inner[a] for a in atoms]) * scale
    inner_cells = [i for i, k in enumerate(keys) if k in inner and values[i] > 0]
    prim = np.zeros(len(keys), dtype=bool)
    for j in primary_idx:
        prim[inner_cells[j % len(inner_cells)]] = True
    share = 0.0 if exact_only else 0.10
    n_units = None
    if singletons:
        units = m @ np.array([max(1.0, inner[a] // 4) if inner[a] > 0 else 0.0 for a in atoms])
        n_units = units
    return ProtectionProblem.build(s, values, primary=prim, share=share, n_units=n_units)


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, bool, bool, int, list[int], bool, bool]:
    return (draw(st.integers(0, 2**31 - 1)), draw(st.booleans()), draw(st.booleans()),
            draw(st.integers(-3, 12)), draw(st.lists(st.integers(0, 50), min_size=1, max_size=3)),
            draw(st.booleans()), draw(st.booleans()))


def run_case(case: tuple[int, bool, bool, int, list[int], bool, bool]) -> None:
    seed, three_d, hierarchy, k, primary_idx, exact_only, singletons = case
    s, parents, inner = make_table(seed, three_d, hierarchy)
    if sum(v > 0 for v in inner.values()) < 2:
        return
    scale = 10.0 ** k
    p_scaled = build(s, parents, inner, scale, primary_idx, exact_only, singletons)
    p_unit = build(s, parents, inner, 1.0, primary_idx, exact_only, singletons)
    try:
        res = protect(p_scaled, method="milp", time_limit=20)
    except Exception as exc:  # an unprotectable table must be refused the same way at every scale
        with pytest.raises(type(exc)):
            protect(p_unit, method="milp", time_limit=20)
        return
    inner_scaled = {a: v * scale for a, v in inner.items()}
    check_pattern(s, parents, inner_scaled, p_scaled, res.suppressed, singletons)
    ref = protect(p_unit, method="milp", time_limit=20)
    if res.optimal and ref.optimal:  # the same quality class: the optimum's share does not depend on the unit
        cost_s = float(np.asarray(p_scaled.values)[res.suppressed].sum()) / scale
        cost_u = float(np.asarray(p_unit.values)[ref.suppressed].sum())
        assert abs(cost_s - cost_u) <= 1e-3 * max(cost_u, 1.0) + 1e-6 * cost_u * len(inner)
    # the scalable method too (sequential protection LPs, no improvement step)
    res_g = protect(p_scaled, method="gauss_lp")
    check_pattern(s, parents, inner_scaled, p_scaled, res_g.suppressed, singletons)


#: issue 24: the sequential protection LPs' costs were the cell values (1e12 at scale 1e10) and HiGHS
#: reported a bounded LP "unbounded": gauss_lp refused a protectable table at 1e10 and 1e11 only
REGRESSION_1E10 = (2980959, True, False, 10, [0, 6], False, False)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
@example(case=REGRESSION_1E10)
def test_protection_holds_at_every_scale(case: tuple[int, bool, bool, int, list[int], bool, bool]) -> None:
    run_case(case)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KIT_LONG_PROPERTY"), reason="long property run: set KIT_LONG_PROPERTY=1")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_protection_holds_at_every_scale_long(case: tuple[int, bool, bool, int, list[int], bool, bool]) -> None:
    run_case(case)


@pytest.mark.parametrize("k", [9, 10, 11, 12])
def test_gauss_lp_protects_the_1e10_table(k: int) -> None:
    """The table of the regression: gauss_lp must protect it at every scale (it raised at 1e10, 1e11)."""
    seed, three_d, hierarchy, _, primary_idx, exact_only, singletons = REGRESSION_1E10
    s, parents, inner = make_table(seed, three_d, hierarchy)
    p = build(s, parents, inner, 10.0 ** k, primary_idx, exact_only, singletons)
    res = protect(p, method="gauss_lp")
    check_pattern(s, parents, {a: v * 10.0 ** k for a, v in inner.items()}, p, res.suppressed, singletons)


@pytest.mark.parametrize("k", [-3, 6, 12])  # small, middle, large (1e10 and 1e11: the regression above)
@pytest.mark.parametrize("exact_only", [False, True])
def test_fixed_scales(k: int, exact_only: bool) -> None:
    run_case((12345, False, True, k, [0, 7], exact_only, False))
    run_case((777, True, False, k, [3], exact_only, True))
