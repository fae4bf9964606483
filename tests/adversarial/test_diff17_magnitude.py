"""Issue 17, magnitude differencing: two sums or means over the same units whose contributions differ.

1. End to end (hypothesis): income by municipality, released twice; the second time with 0..5
   persons of K0 recoded (a new income, or a weight that is not 1). The attacker subtracts the two
   published cells: with 1 or 2 recoded persons in a cell, that is their (summed) income. The kit
   must have refused the second release exactly then, and released it otherwise (0 or at least 3
   recoded persons: no over-refusal).
2. The element rule against a reference written with Python sets of (unit, contribution) pairs:
   the distance of two magnitude cells is the number of units with a pair in their symmetric
   difference (a changed contribution is one unit, not two elements).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
from kit.core.populations import CellPopulations, contribution_tags, element_keys
from kit.errors import DisclosureError
from kit.release.set_compare import ELEMENTS, OutputCells, compare

T = 3
PER_KOM = 20
KOMS = ["K0", "K1", "K2"]
CREATED = "2026-01-01T00:00:00+00:00"


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    n = PER_KOM * len(KOMS)
    return pd.DataFrame({"PNR": np.arange(1, n + 1), "KOM": np.repeat(KOMS, PER_KOM),
                         "income": rng.integers(100, 200, n) * 1000.0, "w": 1.0})


def _landed(s: kit.Session, folder: Path, table: object, state: Path) -> bool:
    try:
        s.release(folder, [table], title="t", formats=("html",), state_dir=state)
    except DisclosureError:
        assert not folder.exists()
        return False
    return True


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    recoded=st.sets(st.integers(0, PER_KOM - 1), max_size=5),
    how=st.sampled_from(["value", "weight"]),
    stat=st.sampled_from(["sum", "mean"]),
    shift=st.integers(1, 50),
)
def test_landed_magnitude_pairs_never_give_one_or_two_persons_values(recoded: set[int], how: str, stat: str,
                                                                    shift: int) -> None:
    df = _frame()
    changed = df.copy()
    rows = changed.index[changed["KOM"] == "K0"][sorted(recoded)]
    if how == "value":
        changed.loc[rows, "income"] += shift * 1000.0  # a recode the attacker knows (e.g. a top-code)
    else:
        changed.loc[rows, "w"] = 1.0 + shift / 10  # a weight that is not 1
    s = kit.Session("dst", unit="PNR", created=CREATED)
    weight = {"weight": "w"} if how == "weight" else {}
    t1 = s.table(df, rows="KOM", stat=stat, measure="income", name="first")
    t2 = s.table(changed, rows="KOM", stat=stat, measure="income", name="second", **weight)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first = _landed(s, root / "r1", t1, root / "state")
        second = _landed(s, root / "r2", t2, root / "state")
        assert first
        if second:
            a = kit.clear(t1).to_frame(symbols=False).set_index("KOM")
            b = kit.clear(t2).to_frame(symbols=False).set_index("KOM")
    # the attacker's own set arithmetic: persons whose contribution to K0 differs between the two
    n_changed = len(recoded)
    risky = 0 < n_changed < T
    assert second == (not risky), f"{n_changed} recoded person(s): released={second}"
    if second and n_changed == 1 and how == "value" and stat == "sum":
        # the attacker's subtraction (never reached when the kit works): new - old sum = the shift
        recovered = b.loc["K0", "value"] - a.loc["K0", "value"]
        assert not np.isclose(recovered, shift * 1000.0)


# ------------------------------------------------------------------ the element rule, by reference
SALT = b"diff17-test-salt"


def _distance(x: set[tuple[int, int]], y: set[tuple[int, int]]) -> int:
    """Units with a (unit, contribution) pair in the symmetric difference."""
    return len({u for u, _ in x ^ y})


def _reference(a: list[tuple[dict[int, int], bool, int]], b: list[tuple[dict[int, int], bool, int]]) -> int:
    """Risky cells by the documented rule on (unit, contribution) sets (cells: (contributions, published,
    layer))."""

    def pairs(c: dict[int, int]) -> set[tuple[int, int]]:
        return set(c.items())

    def partition(cells: list[tuple[dict[int, int], bool, int]], layer: int) -> bool:
        members = [p for c, _, lay in cells if lay == layer for p in pairs(c)]
        return len(members) == len(set(members))

    def side(x: list[tuple[dict[int, int], bool, int]], y: list[tuple[dict[int, int], bool, int]]) -> set[int]:
        risky = set()
        for i, (ca, pa, _) in enumerate(x):
            A = pairs(ca)
            for cb, pb, _ in y:
                B = pairs(cb)
                if not (A & B):
                    continue
                d = _distance(A, B)
                if (pa and pb and 0 < d < T) or (pa != pb and d < T):
                    risky.add(i)
            exact = any(pb and pairs(cb) == A for cb, pb, _ in y)
            for layer in {L for _, _, L in y}:
                if not partition(y, layer):
                    continue
                hit = [(pairs(cb), pb) for cb, pb, lay in y if lay == layer and A & pairs(cb)
                       and len(pairs(cb) - A) < T]
                if not hit:
                    continue
                U = set().union(*[B for B, _ in hit])
                d = _distance(A, U)
                supp = any(not pb for _, pb in hit)
                if pa and d < T and (d >= 1 or (supp and not exact)):
                    risky.add(i)
                if not pa and not supp and d < T:
                    risky.add(i)
        return risky

    return len(side(a, b)) + len(side(b, a))


# contributions drawn from a few values, so that recodes of single units are common
cell_st = st.tuples(st.dictionaries(st.integers(0, 25), st.integers(0, 2), min_size=1, max_size=14),
                    st.booleans(), st.integers(0, 2))


def _cells(name: str, cells: list[tuple[dict[int, int], bool, int]]) -> OutputCells:
    parts = []
    for c, _, _ in cells:
        units = np.array(sorted(c), dtype=np.uint64)
        values = np.array([c[u] for u in sorted(c)], dtype=np.float64)
        parts.append(element_keys(units, contribution_tags(values, np.ones(len(values))), SALT))
    pops = CellPopulations.from_lists(parts)
    return OutputCells.build(name, "r", pops, [p for _, p, _ in cells], [L for _, _, L in cells],
                             kind=[ELEMENTS] * len(cells))


@settings(max_examples=200, deadline=None)
@given(a=st.lists(cell_st, min_size=1, max_size=5), b=st.lists(cell_st, min_size=1, max_size=5))
def test_element_comparison_matches_the_set_reference(a: list, b: list) -> None:
    assert compare(_cells("a", a), _cells("b", b), T).n_risky == _reference(a, b)


def test_a_changed_contribution_counts_one_unit_not_two() -> None:
    """Two persons recoded: 4 elements differ but only 2 units, so the pair is risky (d = 2 < 3)."""
    base = {u: 1 for u in range(10)}
    other = {**base, 0: 2, 1: 2}
    got = compare(_cells("a", [(base, True, 0)]), _cells("b", [(other, True, 0)]), T)
    assert got.n_risky == 2 and got.smallest == 2
    three = {**other, 2: 2}  # three persons: 6 elements, 3 units: safe
    assert compare(_cells("a", [(base, True, 0)]), _cells("b", [(three, True, 0)]), T).n_risky == 0


def test_element_cells_are_never_compared_with_unit_cells() -> None:
    elems = _cells("e", [({u: 1 for u in range(9)}, True, 0)])
    # a unit cell holding the very same keys plus one: by keys alone a difference of 1
    keys = np.append(elems.keys, np.uint64(12345))
    units = OutputCells.build("u", "r", CellPopulations.from_lists([keys]), [True], [0])
    assert compare(units, elems, T).n_common == 0
