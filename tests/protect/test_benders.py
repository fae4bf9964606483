"""Fischetti-Salazar cut generation (kit.protect.benders): optimal on small tables, valid cuts, audit-clean."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.core.status import Verdict
from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, audit, protect
from kit.protect.benders import _Attacker, benders
from kit.protect.engine import CELL_CHARGE, _statuses
from kit.protect.milp import solve_milp
from kit.protect.model import DeviationModel
from kit.protect.repair import redundancy_elimination, sequential_lp
from kit.protect.requirements import prepare


def _table(rows: int, cols: int, seed: int, n_primary: int) -> ProtectionProblem:
    rng = np.random.default_rng(seed)
    s = TableStructure.from_dimensions([Dimension("r", tuple(f"r{i}" for i in range(rows))),
                                        Dimension("c", tuple(f"c{j}" for j in range(cols)))])
    inner = rng.integers(1, 60, size=s.n_atoms).astype(float)
    v = s.matrix @ inner
    prim = np.zeros(s.n_cells, dtype=bool)
    inner_cells = np.flatnonzero(s.n_atoms_per_cell == 1)
    prim[rng.choice(inner_cells, size=n_primary, replace=False)] = True
    return ProtectionProblem.build(s, v, primary=prim, share=0.25)


def _hier(seed: int) -> ProtectionProblem:
    rng = np.random.default_rng(seed)
    geo = Hierarchy.from_parents({"R1": "Total", "R2": "Total", "m1": "R1", "m2": "R1", "m3": "R1",
                                  "m4": "R2", "m5": "R2"})
    s = TableStructure.from_dimensions([Dimension("geo", hierarchy=geo), Dimension("age", ("a", "b", "c"))])
    inner = rng.integers(1, 40, size=s.n_atoms).astype(float)
    v = s.matrix @ inner
    inner_cells = np.flatnonzero(s.n_atoms_per_cell == 1)
    prim = np.zeros(s.n_cells, dtype=bool)
    prim[rng.choice(inner_cells, size=3, replace=False)] = True
    return ProtectionProblem.build(s, v, primary=prim)


def _start(p: ProtectionProblem):
    prep = prepare(p, "value")
    dm = DeviationModel.build(p)
    supp, wit = sequential_lp(dm, prep, prep.must.copy())
    supp, wit = redundancy_elimination(dm, prep, supp, wit)
    return prep, dm, supp, wit


def _cost(prep, supp: np.ndarray) -> float:
    return float(prep.weight[supp & ~prep.must].sum())


def _passes(p: ProtectionProblem, supp: np.ndarray) -> bool:
    st_, _ = _statuses(p, supp)
    return audit(p.with_status(st_)).verdict is Verdict.PASS


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(2, 4), cols=st.integers(2, 4), seed=st.integers(0, 10_000), n_primary=st.integers(1, 3))
def test_benders_reaches_the_milp_optimum(rows: int, cols: int, seed: int, n_primary: int) -> None:
    p = _table(rows, cols, seed, n_primary)
    prep, dm, supp, wit = _start(p)
    best, _, stats = benders(dm, prep, supp, wit, deadline=float("inf"), gap=1e-9, repair_all=True)
    opt, proved = solve_milp(dm, prep, p.values, None)
    assert proved
    assert stats.optimal
    assert abs(_cost(prep, best) - _cost(prep, opt)) < 1e-6
    assert _passes(p, best)


def test_benders_on_a_hierarchy_is_optimal_and_clean() -> None:
    for seed in range(3):
        p = _hier(seed)
        prep, dm, supp, wit = _start(p)
        best, _, stats = benders(dm, prep, supp, wit, deadline=float("inf"), gap=1e-9)
        opt, proved = solve_milp(dm, prep, p.values, None)
        assert proved and stats.optimal
        assert abs(_cost(prep, best) - _cost(prep, opt)) < 1e-6
        assert _cost(prep, best) <= _cost(prep, supp) + 1e-9
        assert _passes(p, best)


def test_cuts_are_valid_for_the_optimal_pattern() -> None:
    # every cut generated at any pattern holds at a protected pattern (here the MILP optimum)
    p = _hier(4)
    prep, dm, _, _ = _start(p)
    opt, _ = solve_milp(dm, prep, p.values, None)
    att = _Attacker(dm, prep)
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = (prep.must | (rng.random(dm.n_cells) < 0.2)) & prep.canon_mask
        for capped in (False, True):
            yf = y.astype(float) * (0.5 if capped else 1.0)
            yf[prep.must] = 1.0
            for r in prep.requirements:
                att.set_pattern(yf, r.level if capped else None)
                _, coef = att.separate(r, capped)
                if coef is None:
                    continue
                if not capped:  # an exact cut is violated at the pattern that was attacked
                    assert float(coef @ yf) < r.level
                assert float(coef[opt].sum()) >= r.level * (1 - 1e-7)


def test_protect_with_a_time_limit_improves_value_plus_cell_charge() -> None:
    # the improvement step (cut generation on small tables) minimises cost + CELL_CHARGE x median cost per cell
    for seed in range(3):
        p = _hier(seed)
        prep = prepare(p, "value")
        free = prep.canon_mask & ~prep.must & ~prep.forced
        charge = CELL_CHARGE * float(np.median(prep.weight[free]))
        plain = protect(p, method="gauss_lp")
        improved = protect(p, method="gauss_lp", time_limit=3.0)
        assert improved.audit.verdict is Verdict.PASS
        cost = [float(prep.weight[r.secondary_cells].sum()) + charge * len(r.secondary_cells)
                for r in (plain, improved)]
        assert cost[1] <= cost[0] + 1e-6


def test_local_branching_still_reaches_the_milp_optimum() -> None:
    # master rounds restricted to a radius around the incumbent widen it until the master is global
    for seed in range(3):
        p = _hier(seed)
        prep, dm, supp, wit = _start(p)
        best, _, stats = benders(dm, prep, supp, wit, deadline=float("inf"), gap=1e-9, repair_all=True,
                                 radius=1, accept=lambda s, p=p: _passes(p, s))
        opt, proved = solve_milp(dm, prep, p.values, None)
        assert proved and stats.optimal
        assert abs(_cost(prep, best) - _cost(prep, opt)) < 1e-6
        assert _passes(p, best)
