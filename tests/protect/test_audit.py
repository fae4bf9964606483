from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from kit.core.status import CellStatus as S
from kit.core.status import Verdict
from kit.protect import Dimension, ProtectionProblem, TableStructure, audit, protection_levels

from .conftest import load_bench


def _grid(inner):
    inner = np.asarray(inner, dtype=float)
    r, c = inner.shape
    s = TableStructure.from_dimensions([Dimension("r", tuple(f"r{i}" for i in range(r))),
                                        Dimension("c", tuple(f"c{j}" for j in range(c)))])
    return s, s.matrix @ inner.ravel()


def _brute(s, v, supp, cell):
    m = s.matrix.toarray()
    pub = ~supp
    lo = linprog(m[cell], A_eq=m[pub], b_eq=v[pub], bounds=(0, None), method="highs")
    hi = linprog(-m[cell], A_eq=m[pub], b_eq=v[pub], bounds=(0, None), method="highs")
    return lo.fun, -hi.fun


def test_single_primary_in_row_is_recovered():
    s, v = _grid([[5, 1, 7], [3, 8, 2]])
    st = [S.SAFE] * s.n_cells
    p = s.index(("r0", "c1"))
    st[p] = S.PRIMARY
    r = audit(s, v, st, lpl=0.1 * v * (np.arange(s.n_cells) == p), upl=0.1 * v * (np.arange(s.n_cells) == p))
    assert r.verdict is Verdict.FAIL
    assert r.interval(p) == (1.0, 1.0)


def test_rectangle_protects_and_matches_brute_force():
    s, v = _grid([[5, 1, 7], [3, 8, 2], [6, 4, 9]])
    supp = np.zeros(s.n_cells, dtype=bool)
    for k in [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")]:
        supp[s.index(k)] = True
    st = [S.PRIMARY if i == s.index(("r0", "c1")) else (S.SECONDARY if supp[i] else S.SAFE)
          for i in range(s.n_cells)]
    lv = np.where(np.arange(s.n_cells) == s.index(("r0", "c1")), 0.5, 0.0)
    r = audit(s, v, st, lpl=lv, upl=lv)
    assert r.verdict is Verdict.PASS
    for c in r.cells:
        lo, hi = _brute(s, v, supp, c)
        assert np.isclose(r.interval(c)[0], lo) and np.isclose(r.interval(c)[1], hi)


def test_level_wider_than_interval_fails():
    s, v = _grid([[5, 1, 7], [3, 8, 2]])
    cells = [s.index(k) for k in [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")]]
    st = [S.SECONDARY if i in cells else S.SAFE for i in range(s.n_cells)]
    p = s.index(("r0", "c1"))
    st[p] = S.PRIMARY
    lv = np.zeros(s.n_cells)
    lv[p] = 2.0  # interval of (r0, c1) is [0, 1+3=4]? upper 1 + min(5, 8) = 6; lower 0
    assert audit(s, v, st, lpl=lv, upl=lv).verdict is Verdict.FAIL  # lower needs -1
    lv[p] = 1.0
    assert audit(s, v, st, lpl=lv, upl=lv).verdict is Verdict.PASS


def test_two_singletons_in_a_row_recover_each_other():
    s, v = _grid([[5, 1, 7], [3, 8, 2]])
    a, b, c, d = (s.index(k) for k in [("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")])
    st = [S.SAFE] * s.n_cells
    for i in (a, b, c, d):
        st[i] = S.SECONDARY
    st[a] = st[b] = S.PRIMARY
    lv = np.where(np.isin(np.arange(s.n_cells), [a, b]), 0.5, 0.0)
    units = np.full(s.n_cells, 5.0)
    assert audit(s, v, st, lpl=lv, upl=lv, n_units=units).verdict is Verdict.PASS
    units[[a, b]] = 1  # each unit knows its own cell: the other primary follows from the row total
    r = audit(s, v, st, lpl=lv, upl=lv, n_units=units)
    assert r.verdict is Verdict.FAIL
    assert r.singletons_checked > 0


def test_zero_total_and_duplicates():
    s, v = _grid([[0, 0], [3, 4]])
    st = [S.SAFE] * s.n_cells
    p = s.index(("r0", "c0"))
    st[p] = S.PRIMARY
    r = audit(s, v, st)
    assert r.verdict is Verdict.FAIL  # a zero row total pins the cell at 0


def test_audit_speed_200_suppressed():
    _s, p = load_bench("M2d_1768")
    rng = np.random.default_rng(1)
    st = np.array(p.status, dtype=object)
    extra = rng.choice(np.flatnonzero(~p.suppressed), 130, replace=False)
    st[extra] = S.SECONDARY
    r = audit(p.with_status(st))
    assert len(r.cells) > 200
    assert r.seconds < 3.0  # target < 1 s; generous bound for slow CI


def test_levels_definitions():
    lo, hi = protection_levels([1.0, 2.0, 10.0], rule="threshold", threshold=3, share=0.1)
    assert hi.tolist() == [2.0, 1.0, 1.0]
    assert np.allclose(lo, [0.1, 0.2, 1.0])


def test_problem_repr_hides_values():
    s, v = _grid([[5, 1], [3, 8]])
    p = ProtectionProblem.build(s, v, primary=np.arange(s.n_cells) == 4)
    assert "5" not in repr(p).split("atoms")[0].replace("cells=9", "")


def test_singleton_inside_a_primary_total_is_judged_on_the_remainder() -> None:
    """Unit 'a' alone in its cell knows the total is at least its own 100; that is no disclosure."""
    from kit.core.status import CellStatus as S
    from kit.protect.audit import audit as run_audit
    from kit.protect.structure import Dimension, TableStructure

    s = TableStructure.from_dimensions([Dimension("g", ("a", "b"))])
    result = run_audit(s, values=[105.0, 100.0, 5.0], statuses=[S.PRIMARY, S.SECONDARY, S.SECONDARY],
                       lpl=[10.5, 0.0, 0.0], upl=[10.5, 0.0, 0.0], n_units=[3, 1, 2])
    assert result.verdict.value == "PASS"
    # the same attacker still may not pin down the others' share from above
    capped = run_audit(s, values=[105.0, 100.0, 5.0], statuses=[S.PRIMARY, S.SECONDARY, S.SAFE],
                       lpl=[10.5, 0.0, 0.0], upl=[10.5, 0.0, 0.0], n_units=[3, 1, 2])
    assert capped.verdict.value == "FAIL"
