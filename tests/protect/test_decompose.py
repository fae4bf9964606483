"""Decomposition along a hierarchy: branches, sub-problems and the branch improvement."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.core.status import CellStatus, Verdict
from kit.errors import KitError
from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, audit, engine, protect
from kit.protect.decompose import branch_improve, branches, sub_problem
from kit.protect.engine import _statuses
from kit.protect.model import DeviationModel
from kit.protect.repair import redundancy_elimination, sequential_lp
from kit.protect.requirements import prepare

GEO = {"R1": "Total", "R2": "Total", "R3": "Total", "m1": "R1", "m2": "R1", "m3": "R1",
       "m4": "R2", "m5": "R2", "m6": "R2", "m7": "R3", "m8": "R3"}


def _problem(seed: int, singletons: bool = False, only: str | None = None) -> ProtectionProblem:
    """Geography (3 regions) x age x sex with all margins; primaries are inner cells of < 3 units."""
    rng = np.random.default_rng(seed)
    s = TableStructure.from_dimensions([Dimension("geo", hierarchy=Hierarchy.from_parents(GEO)),
                                        Dimension("age", ("a", "b", "c")), Dimension("sex", ("f", "m"))])
    inner = rng.integers(1, 60, size=s.n_atoms).astype(float)
    units = rng.integers(1, 9, size=s.n_atoms).astype(float)
    v = s.matrix @ inner
    n = s.matrix @ units
    prim = (n < 3) & (s.n_atoms_per_cell == 1)
    if only is not None:  # primaries in one region only
        prim &= np.array([GEO.get(k[0]) == only for k in s.keys])
    return ProtectionProblem.build(s, v, primary=prim, n_units=n if singletons else None)


def test_branches_are_the_regions_with_their_margins_as_boundary():
    p = _problem(0)
    s = p.structure
    brs = branches(s)
    assert len(brs) == 3
    for br, region, n_munis in zip(brs, ("R1", "R2", "R3"), (3, 3, 2)):
        keys = [s.keys[i] for i in br.cells]
        # the region and its municipalities, each crossed with 4 age codes x 3 sex codes
        assert len(keys) == (n_munis + 1) * 4 * 3
        assert {k[0] for k in keys} == {region} | {m for m, r in GEO.items() if r == region}
        assert [k for k, b in zip(keys, br.boundary) if b] == [k for k in keys if k[0] == region]


def test_a_table_without_a_deep_hierarchy_has_no_branches():
    s = TableStructure.from_dimensions([Dimension("r", ("a", "b", "c")), Dimension("c", ("x", "y"))])
    assert branches(s) == []


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("singletons", [False, True])
def test_a_branch_protected_alone_is_protected_in_the_whole_table(seed, singletons):
    """The sub-problem's pattern, with everything outside the branch published, passes the full audit."""
    p = _problem(seed, singletons=singletons, only="R1")
    br = branches(p.structure)[0]
    sub = sub_problem(p, br)
    assert sub is not None
    assert all(st is CellStatus.FORCED for st in sub.status[br.boundary])
    res = protect(sub, method="milp")
    supp = np.zeros(p.structure.n_cells, dtype=bool)
    supp[br.cells[res.suppressed]] = True
    status = np.array(p.status, dtype=object)
    for i in np.flatnonzero(supp):
        if status[i] is CellStatus.SAFE:
            status[i] = CellStatus.SECONDARY
    assert audit(p.with_status(status)).verdict is Verdict.PASS


def test_a_branch_with_a_suppressed_boundary_cell_cannot_be_cut_out():
    p = _problem(1)
    br = branches(p.structure)[0]
    status = np.array(p.status, dtype=object)
    status[br.cells[np.flatnonzero(br.boundary)[0]]] = CellStatus.PRIMARY
    assert sub_problem(p.with_status(status), br) is None


def _milp_solver(calls: list[int]):
    def solve(sub: ProtectionProblem, weights: np.ndarray, limit: float) -> np.ndarray:
        calls.append(sub.structure.n_cells)
        return protect(sub, method="milp", cost=weights, time_limit=limit).suppressed
    return solve


@pytest.mark.parametrize("seed", range(4))
def test_branch_improve_never_worsens_and_stays_protected(seed):
    p = _problem(seed)
    prep = prepare(p, "value")
    dm = DeviationModel.build(p)
    supp, wit = sequential_lp(dm, prep, prep.must.copy())
    supp, wit = redundancy_elimination(dm, prep, supp, wit)

    def passes(c: np.ndarray) -> bool:
        st, _ = _statuses(p, c)
        return audit(p.with_status(st)).verdict is Verdict.PASS

    calls: list[int] = []
    new, _, stats = branch_improve(p, dm, prep, supp, wit, deadline=float("inf"), solve=_milp_solver(calls),
                                   accept=passes)
    assert calls, "no branch was solved"
    assert float(prep.weight[new & ~prep.must].sum()) <= float(prep.weight[supp & ~prep.must].sum()) + 1e-9
    assert passes(new)
    assert stats["branches"] == len(calls)


def test_branch_improve_leaves_a_branch_with_a_suppressed_boundary_alone():
    p = _problem(2)
    prep = prepare(p, "value")
    dm = DeviationModel.build(p)
    supp, wit = sequential_lp(dm, prep, prep.must.copy())
    brs = branches(p.structure)
    canon = p.structure.canonical
    for br in brs:  # suppress a boundary cell of every branch: nothing can be solved
        supp[canon[br.cells[np.flatnonzero(br.boundary)[0]]]] = True
    calls: list[int] = []
    new, _, _ = branch_improve(p, dm, prep, supp, wit, deadline=float("inf"), solve=_milp_solver(calls),
                               accept=lambda c: True)
    assert calls == []
    assert (new == supp).all()


def test_protect_re_protects_branches_of_tables_too_large_for_cut_generation(monkeypatch, caplog):
    p = _problem(3, singletons=True)
    monkeypatch.setattr(engine, "BENDERS_CELLS", 20)
    with caplog.at_level(logging.DEBUG, logger="kit.protect.engine"):
        res = protect(p, method="gauss_lp", time_limit=30.0)
    assert res.audit.verdict is Verdict.PASS
    assert any(r.getMessage().startswith("branches:") for r in caplog.records)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(munis=st.lists(st.integers(2, 3), min_size=2, max_size=3), ages=st.integers(2, 4),
       seed=st.integers(0, 10_000), singletons=st.booleans())
def test_branch_patterns_pass_the_whole_table_audit(munis: list[int], ages: int, seed: int,
                                                    singletons: bool) -> None:
    """Property: every branch protected alone, put together, gives an audit-clean whole table."""
    rng = np.random.default_rng(seed)
    parents = {f"R{r}": "Total" for r in range(len(munis))}
    parents.update({f"m{r}_{j}": f"R{r}" for r, n in enumerate(munis) for j in range(n)})
    s = TableStructure.from_dimensions([Dimension("geo", hierarchy=Hierarchy.from_parents(parents)),
                                        Dimension("age", tuple(f"a{i}" for i in range(ages)))])
    inner = rng.integers(0, 50, size=s.n_atoms).astype(float)
    units = rng.integers(1, 7, size=s.n_atoms).astype(float)
    n = s.matrix @ units
    prim = (n < 3) & (s.n_atoms_per_cell == 1)
    p = ProtectionProblem.build(s, s.matrix @ inner, primary=prim, n_units=n if singletons else None)
    status = np.array(p.status, dtype=object)
    solved = np.zeros(s.n_cells, dtype=bool)
    for br in branches(s):
        sub = sub_problem(p, br)
        assert sub is not None  # primaries are inner cells: no boundary is suppressed
        try:
            res = protect(sub, method="milp")
        except KitError:  # with its margins fixed a branch may have no pattern (branch_improve skips it)
            continue
        solved[br.cells] = True
        for i in br.cells[res.suppressed]:
            if status[i] is CellStatus.SAFE:
                status[i] = CellStatus.SECONDARY
    failed = audit(p.with_status(status)).failed_cells
    assert not solved[failed].any()
