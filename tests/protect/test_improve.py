"""Block-MILP improvement, local-box LPs and the vectorised singleton exclusions."""

from __future__ import annotations

import numpy as np

from kit.core.status import Verdict
from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, audit, protect
from kit.protect.engine import _statuses
from kit.protect.improve import block_improve, blocks_of
from kit.protect.local import Boxes, redundancy_local, sequential_lp_local
from kit.protect.model import DeviationModel
from kit.protect.repair import redundancy_elimination, sequential_lp
from kit.protect.requirements import nested, prepare, same_unit


def _hier_problem(seed: int, singletons: bool = True) -> ProtectionProblem:
    rng = np.random.default_rng(seed)
    geo = Hierarchy.from_parents({"R1": "Total", "R2": "Total", "m1": "R1", "m2": "R1", "m3": "R1",
                                  "m4": "R2", "m5": "R2", "m6": "R2"})
    s = TableStructure.from_dimensions([Dimension("geo", hierarchy=geo), Dimension("age", ("a", "b", "c", "d"))])
    inner = rng.integers(1, 40, size=s.n_atoms).astype(float)
    units = rng.integers(1, 6, size=s.n_atoms).astype(float)
    v = s.matrix @ inner
    n = s.matrix @ units
    prim = (n < 3) & (s.n_atoms_per_cell == 1)
    return ProtectionProblem.build(s, v, primary=prim, n_units=n if singletons else None)


def test_blocks_follow_the_hierarchy():
    p = _hier_problem(0)
    blocks = blocks_of(p.structure)
    sizes = sorted(int(b.sum()) for b in blocks)
    # two regions (4 codes x 5 ages) and the top block (Total, R1, R2 x 5 ages)
    assert sizes == [15, 20, 20]


def test_block_improve_never_worsens_and_stays_protected():
    for seed in range(4):
        p = _hier_problem(seed)
        prep = prepare(p, "value")
        dm = DeviationModel.build(p)
        supp, wit = sequential_lp(dm, prep, prep.must.copy())
        supp, wit = redundancy_elimination(dm, prep, supp, wit)
        before = float(prep.weight[supp & ~prep.must].sum())
        new, _, _ = block_improve(p.structure, dm, prep, supp, wit, deadline=float("inf"))
        after = float(prep.weight[new & ~prep.must].sum())
        assert after <= before + 1e-9
        st, _ = _statuses(p, new)
        assert audit(p.with_status(st)).verdict is Verdict.PASS


def test_protect_with_time_limit_runs_the_block_step():
    p = _hier_problem(1)
    res = protect(p, method="gauss_lp", time_limit=5.0)
    assert res.audit.verdict is Verdict.PASS


def test_local_boxes_give_an_audit_clean_pattern():
    for seed in range(3):
        p = _hier_problem(seed)
        prep = prepare(p, "value")
        dm = DeviationModel.build(p)
        boxes = Boxes(p.structure)
        supp, wit = sequential_lp_local(p.structure, dm, prep, prep.must.copy(), boxes)
        supp, _ = redundancy_local(p.structure, dm, prep, supp, wit, None, boxes)
        st, _ = _statuses(p, supp)
        assert audit(p.with_status(st)).verdict is Verdict.PASS


def test_vectorised_avoid_matches_the_definition():
    p = _hier_problem(2)
    s = p.structure
    prep = prepare(p, "value")
    sing = prep.singleton
    for r in prep.requirements:
        ref = [k for k in np.flatnonzero(sing) if not same_unit(s.matrix, sing, int(k), r.cell)
               and not nested(s.matrix, int(k), r.cell)]
        assert prep.avoid[r.cell].tolist() == ref


def test_swap_search_never_worsens():
    from kit.protect.repair import reroute

    for seed in range(4):
        p = _hier_problem(seed)
        prep = prepare(p, "value")
        dm = DeviationModel.build(p)
        supp, wit = sequential_lp(dm, prep, prep.must.copy())
        new, _ = reroute(dm, prep, supp, wit)
        assert prep.weight[new].sum() <= prep.weight[supp].sum() + 1e-9
        st, _ = _statuses(p, new)
        assert audit(p.with_status(st)).verdict is Verdict.PASS


def test_certify_agrees_with_full_audit_under_singleton_attacks():
    for seed in range(6):
        p = _hier_problem(seed)
        prep = prepare(p, "value")
        dm = DeviationModel.build(p)
        # a deliberately thin pattern (no redundancy repair): some primaries may fail
        supp, _ = sequential_lp(dm, prep, prep.must.copy())
        rng = np.random.default_rng(seed)
        sec = np.flatnonzero(supp & ~prep.must)
        if len(sec):
            supp[rng.choice(sec, max(1, len(sec) // 3), replace=False)] = False
        st, _ = _statuses(p, supp)
        full = audit(p.with_status(st), intervals="all")
        cert = audit(p.with_status(st), intervals="certify")
        assert full.passed.tolist() == cert.passed.tolist()
