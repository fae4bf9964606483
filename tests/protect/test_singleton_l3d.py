"""A primary aggregate dominated by a one-unit cell of its own (the L3d_38896 failure, hand-built).

Row r1 of a 2-D table is 90 (one unit, itself primary) + 4 + 3. The row total (97) is primary with 10 %
levels (9.7); (r2, a) and (r2, Total) are suppressed already (an earlier pattern). The cheapest witness
moves the suppressed singleton and its column partner (all free to move), which protects the row total
against the plain attacker. The unit of the singleton knows 90, so against it the row total is 90 + the
other two cells: its interval must reach down to 90 (the lower level capped at the other units' total,
7), i.e. those two cells must be able to reach 0 together, and up to 106.7.
Protection has to back such witnesses with a second one that leaves the singleton fixed; a witness that
avoids the singleton with the full level 9.7 (the old repair) does not exist.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from kit.core.status import CellStatus as S
from kit.core.status import Verdict
from kit.protect import Dimension, ProtectionProblem, TableStructure, protect
from kit.protect.audit import audit
from kit.protect.engine import _statuses
from kit.protect.local import Boxes, repair_failed, sequential_lp_local
from kit.protect.model import DeviationModel
from kit.protect.repair import sequential_lp, witness_cells
from kit.protect.requirements import DOWN, UP, prepare

# rows Total, r1, r2 x columns Total, a, b, c
INNER = {("r1", "a"): (90, 1), ("r1", "b"): (4, 3), ("r1", "c"): (3, 2),
         ("r2", "a"): (40, 5), ("r2", "b"): (35, 4), ("r2", "c"): (30, 6)}


def _problem() -> ProtectionProblem:
    s = TableStructure.from_dimensions([Dimension("r", ("r1", "r2")), Dimension("c", ("a", "b", "c"))])
    vals = np.zeros(s.n_cells)
    units = np.zeros(s.n_cells)
    for i, (r, c) in enumerate(s.keys):
        for (ri, ci), (v, n) in INNER.items():
            if r in ("Total", ri) and c in ("Total", ci):
                vals[i] += v
                units[i] += n
    status = [S.PRIMARY if k in (("r1", "Total"), ("r1", "a")) else
              S.SECONDARY if k in (("r2", "Total"), ("r2", "a")) else S.SAFE for k in s.keys]
    return ProtectionProblem.build(s, vals, status=status, n_units=units)


def _attack(p: ProtectionProblem, supp: np.ndarray, cell: int, known: list[int]) -> tuple[float, float]:
    """Independent LP attack (scipy linprog on the raw relations): the interval of ``cell`` when the
    published cells and the ``known`` cells are fixed at their values."""
    m = p.structure.matrix.toarray()
    fix = ~supp
    fix[known] = True
    out = []
    for sign in (1.0, -1.0):
        r = linprog(sign * m[cell], A_eq=m[fix], b_eq=p.values[fix], bounds=(0, None), method="highs")
        assert r.status == 0
        out.append(sign * r.fun)
    return out[0], out[1]


def _check(p: ProtectionProblem, supp: np.ndarray) -> None:
    s = p.structure
    row, single = s.index(("r1", "Total")), s.index(("r1", "a"))
    assert supp[row] and supp[single]
    lo, hi = _attack(p, supp, row, [])
    assert lo <= 97 - 9.7 + 1e-6 and hi >= 97 + 9.7 - 1e-6
    # the singleton's unit: the row total must still reach down to its own value and up by the level
    lo, hi = _attack(p, supp, row, [single])
    assert lo <= 90 + 1e-6 and hi >= 97 + 9.7 - 1e-6
    st, _ = _statuses(p, supp)
    assert audit(p.with_status(st)).verdict is Verdict.PASS


def test_a_witness_moving_a_nested_singleton_is_backed_by_one_that_does_not():
    p = _problem()
    prep = prepare(p, "value")
    s = p.structure
    row, single = s.index(("r1", "Total")), s.index(("r1", "a"))
    assert prep.attackers[row].tolist() == [single]
    down = next(r for r in prep.requirements if r.cell == row and r.direction == DOWN)
    assert prep.attacker_level(down, single) == pytest.approx(7.0)   # min(lpl 9.7, 97 - 90)
    dm = DeviationModel.build(p)
    from kit.protect.repair import _DevLP

    lp = _DevLP(dm, prep, prep.must.copy(), published_fixed=False)
    plain = lp.moved(down, prep.avoid[row])
    assert plain is not None and single in plain.tolist()   # the cheap witness moves the singleton
    moved = witness_cells(down, prep, lp.moved)
    assert moved is not None
    # the backing witness moves both other cells of the row (they must reach 0 together)
    assert {s.index(("r1", "b")), s.index(("r1", "c"))} <= set(moved.tolist())


def test_the_old_pattern_fails_the_audit_and_repair_fixes_it():
    p = _problem()
    prep = prepare(p, "value")
    s = p.structure
    dm = DeviationModel.build(p)
    from kit.protect.repair import _DevLP

    # the pattern of the plain witnesses alone (what protection used to return)
    supp = prep.must.copy()
    lp = _DevLP(dm, prep, supp, published_fixed=False)
    for req in prep.requirements:
        moved = lp.moved(req, prep.avoid[req.cell])
        assert moved is not None
        supp[moved] = True
        lp.set_free(moved)
    st, _ = _statuses(p, supp)
    res = audit(p.with_status(st))
    assert res.verdict is Verdict.FAIL
    assert res.failed_cells.tolist() == [s.index(("r1", "Total"))]
    repaired, unmet = repair_failed(s, dm, prep, supp, res.failed_cells)
    assert unmet == 0
    _check(p, repaired)


@pytest.mark.parametrize("local", [False, True])
def test_sequential_protection_passes_every_attacker(local: bool):
    p = _problem()
    prep = prepare(p, "value")
    dm = DeviationModel.build(p)
    if local:
        supp, wit = sequential_lp_local(p.structure, dm, prep, prep.must.copy(), Boxes(p.structure))
    else:
        supp, wit = sequential_lp(dm, prep, prep.must.copy())
    assert {key[1] for key in wit} == {UP, DOWN}
    _check(p, supp)


@pytest.mark.parametrize("method", ["gauss_lp", "milp"])
def test_protect_returns_an_audit_clean_pattern(method: str):
    p = _problem()
    res = protect(p, method=method)
    assert res.audit.verdict is Verdict.PASS
    _check(p, res.suppressed[p.structure.canonical])
