"""Top-down protection over the non-hierarchical subtables (HiTaS, issue 24).

Every pattern is re-attacked by the test's own LP (scipy ``linprog`` over the raw
relations: every published cell fixed, atoms ≥ 0), independent of ``kit.protect.audit``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.optimize import linprog

from kit.core.status import CellStatus, Verdict
from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, engine, protect
from kit.protect.requirements import prepare
from kit.protect.topdown import subtables, top_down

GEO = {"R1": "Total", "R2": "Total", "R3": "Total", "m1": "R1", "m2": "R1", "m3": "R1",
       "m4": "R2", "m5": "R2", "m6": "R2", "m7": "R3", "m8": "R3"}


def _problem(seed: int, three_d: bool = False, singletons: bool = False) -> ProtectionProblem:
    """Geography (3 regions) x age (x sex) with all margins; primaries: inner cells of < 3 units."""
    rng = np.random.default_rng(seed)
    dims = [Dimension("geo", hierarchy=Hierarchy.from_parents(GEO)), Dimension("age", ("a", "b", "c", "d"))]
    if three_d:
        dims.append(Dimension("sex", ("f", "m")))
    s = TableStructure.from_dimensions(dims)
    inner = rng.integers(1, 80, size=s.n_atoms).astype(float)
    units = rng.integers(1, 9, size=s.n_atoms).astype(float)
    v = s.matrix @ inner
    n = s.matrix @ units
    prim = (n < 3) & (s.n_atoms_per_cell == 1)
    return ProtectionProblem.build(s, v, primary=prim, n_units=n if singletons else None)


def _under_protected(p: ProtectionProblem, suppressed: np.ndarray) -> list[int]:
    """Primaries whose interval (plain attacker, own LP) misses value - lpl or value + upl."""
    m = p.structure.matrix.tocsr()
    pub = ~suppressed
    a_eq = m[pub]
    bad = []
    for c in np.flatnonzero(p.mask(CellStatus.PRIMARY)):
        row = m[c].toarray().ravel()
        lo = linprog(row, A_eq=a_eq, b_eq=p.values[pub], bounds=(0, None), method="highs")
        hi = linprog(-row, A_eq=a_eq, b_eq=p.values[pub], bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status == 0
        tol = 1e-7 * max(1.0, abs(p.values[c]))
        if lo.fun > p.values[c] - p.lpl[c] + tol or -hi.fun < p.values[c] + p.upl[c] - tol:
            bad.append(int(c))
    return bad


def test_subtables_are_parent_codes_with_their_children_top_down():
    s = _problem(0).structure
    tabs = subtables(s)
    # geo: Total (regions), R1, R2, R3 (municipalities); age is flat: one parent (its total)
    assert [t.parents[0] for t in tabs] == ["Total", "R1", "R2", "R3"]
    assert [t.depth for t in tabs] == [0, 1, 1, 1]
    top = {s.keys[i] for i in tabs[0].cells}
    assert top == {(g, a) for g in ("Total", "R1", "R2", "R3") for a in ("Total", "a", "b", "c", "d")}
    r3 = tabs[3]
    assert {s.keys[i][0] for i in r3.cells} == {"R3", "m7", "m8"}
    assert {s.keys[i] for i, inner in zip(r3.cells, r3.inner) if inner} == {
        (g, a) for g in ("m7", "m8") for a in ("a", "b", "c", "d")}


def test_a_flat_table_is_one_subtable():
    s = TableStructure.from_dimensions([Dimension("r", ("a", "b", "c")), Dimension("c", ("x", "y"))])
    tabs = subtables(s)
    assert len(tabs) == 1 and len(tabs[0].cells) == s.n_cells


def _solver(calls: list[int]):
    def solve(sub: ProtectionProblem, weights: np.ndarray, limit: float | None) -> np.ndarray:
        calls.append(sub.structure.n_cells)
        return protect(sub, method="milp", cost=weights, time_limit=limit).suppressed
    return solve


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("three_d", [False, True])
def test_top_down_pattern_withstands_an_independent_attacker(seed, three_d):
    p = _problem(seed, three_d)
    prep = prepare(p, "value")
    calls: list[int] = []
    supp, stats = top_down(p, prep, _solver(calls), None)
    assert calls and stats["solved"] == len(calls)
    suppressed = supp[p.structure.canonical]
    assert suppressed[p.mask(CellStatus.PRIMARY)].all()
    # no whole-table repair here: the subtables' patterns protect the table on their own (a lower
    # subtable protects the margins the upper one suppressed, with the upper one's levels)
    assert _under_protected(p, suppressed) == []


def test_top_down_keeps_margins_the_top_table_published():
    """Primaries only in R1's municipalities, none at region level: the regions' row stays published."""
    p = _problem(5)
    s = p.structure
    prim = np.array([k[0] == "m1" and k[1] in ("a", "b") for k in s.keys])
    p = ProtectionProblem.build(s, p.values, primary=prim)
    supp, _ = top_down(p, prepare(p, "value"), _solver([]), None)
    region_rows = np.array([GEO.get(k[0]) == "Total" or k[0] == "Total" for k in s.keys])
    assert not supp[s.canonical][region_rows].any()
    assert _under_protected(p, supp[s.canonical]) == []


@pytest.mark.parametrize("singletons", [False, True])
def test_protect_uses_the_top_down_pass_and_stays_protected(singletons, caplog):
    p = _problem(7, three_d=True, singletons=singletons)
    with caplog.at_level(logging.DEBUG, logger="kit.protect.engine"):
        res = protect(p, method="gauss_lp", time_limit=8.0)
    assert any(r.getMessage().startswith("top-down:") for r in caplog.records)
    assert res.audit.verdict is Verdict.PASS
    assert _under_protected(p, res.suppressed) == []


def test_the_benchmark_pattern_with_the_top_down_pass_withstands_the_attacker(monkeypatch):
    """M2d_1768 (shared benchmark): the pattern with the top-down pass withstands the own attacker."""
    from tests.protect.conftest import load_bench

    s, p = load_bench("M2d_1768")
    p = ProtectionProblem(s, p.values, p.status, p.lpl, p.upl)  # singletons off, as the anchors
    monkeypatch.setattr(engine, "TOPDOWN_SHARE", 0.9)
    res = protect(p, method="gauss_lp", time_limit=12.0)
    assert res.audit.verdict is Verdict.PASS
    assert _under_protected(p, res.suppressed) == []
