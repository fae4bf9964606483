"""Issue 24: large tables hid their margins (20 % of L3d's total) although inner cells could protect.

The attacker here is the *user*: a pattern that suppresses margins where inner cells would do makes
the table unusable (on L3d_38896 1,155 margins held 72.7 M of the 76.3 M suppressed). The cause: on
tables of more than ``LOCAL_CELLS`` cells every protection LP ran on a local box that never holds the
cube corner differing from the primary in every dimension, so each 3-D witness needed a margin.

The tests force the local path on small 3-D tables (``LOCAL_CELLS = 0``) whose inner cells are all
large enough for a cube, and check with the test's own ``linprog`` attacker (independent of
``kit.protect.audit``; from ``test_supp_property``) that every pattern protects, and that no
margin is suppressed. The cube search itself is compared with a brute-force enumeration.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import kit.protect.engine as engine
from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, protect
from kit.protect.cubes import Cubes

sys.path.insert(0, str(Path(__file__).parent))
from test_supp_property import ancestors, check_pattern

TOTAL = "Total"


def table(seed: int, scale: float) -> tuple[TableStructure, list[dict[str, str]], dict[tuple[str, ...], float],
                                            ProtectionProblem]:
    rng = np.random.default_rng(seed)
    par0 = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "A": TOTAL, "B": TOTAL}
    par1 = {f"k{i}": TOTAL for i in range(3)}
    par2 = {f"j{i}": TOTAL for i in range(3)}
    parents = [par0, par1, par2]
    dims = [Dimension("geo", None, Hierarchy.from_parents(par0)), Dimension("k", tuple(par1)),
            Dimension("j", tuple(par2))]
    s = TableStructure.from_dimensions(dims)
    leaves = [[c for c in par if c not in set(par.values())] for par in parents]
    inner = {key: float(rng.integers(50, 200)) * scale for key in itertools.product(*leaves)}
    keys = list(s.keys)
    anc = [[ancestors(a, par) for a, par in zip(atom, parents)] for atom in inner]
    m = np.array([[float(all(k in an for k, an in zip(key, a_anc))) for a_anc in anc] for key in keys])
    values = m @ np.array(list(inner.values()))
    inner_idx = [i for i, k in enumerate(keys) if k in inner]
    prim = np.zeros(len(keys), dtype=bool)
    prim[rng.choice(inner_idx, 3, replace=False)] = True
    return s, parents, inner, ProtectionProblem.build(s, values, primary=prim, share=0.10)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("scale", [1.0, 1e9])
def test_local_path_protects_with_inner_cells(seed: int, scale: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "LOCAL_CELLS", 0)  # the large-table path on a small table
    s, parents, inner, p = table(seed, scale)
    res = protect(p, method="gauss_lp", time_limit=5)
    check_pattern(s, parents, inner, p, res.suppressed, singletons=False)
    margins = s.n_atoms_per_cell > 1
    sec = np.asarray([st.value == "x" for st in res.status])
    assert not (sec & margins).any(), f"{int((sec & margins).sum())} margin(s) suppressed where inner cells do"


def brute_cube(s: TableStructure, parents: list[dict[str, str]], cell: int, direction: int, level: float,
               cost: np.ndarray, values: np.ndarray) -> float:
    """The cheapest cube's cost by plain enumeration (sibling = same parent, a leaf)."""
    key = s.keys[cell]
    leaves = [[c for c in par if c not in set(par.values())] for par in parents]
    sibs = [[c for c in leaves[d] if c != key[d] and parents[d][c] == parents[d][key[d]]] for d in range(3)]
    if direction < 0 and values[cell] < level:  # the primary itself cannot go below zero
        return np.inf
    best = np.inf
    for choice in itertools.product(*sibs):
        total = 0.0
        for t in itertools.product([0, 1], repeat=3):
            if not any(t):
                continue
            corner = tuple(choice[d] if t[d] else key[d] for d in range(3))
            c = s.index(corner)
            down = direction * (-1) ** sum(t) < 0
            if down and values[c] < level:
                total = np.inf
                break
            total += cost[c]
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_cube_search_matches_brute_force(seed: int) -> None:
    s, parents, _, p = table(seed, 1.0)
    rng = np.random.default_rng(100 + seed)
    cubes = Cubes(s)
    values = np.asarray(p.values)
    inner = np.flatnonzero(s.n_atoms_per_cell == 1)
    for cell in rng.choice(inner, 6, replace=False):
        cost = rng.uniform(0, 10, s.n_cells)
        cost[rng.random(s.n_cells) < 0.2] = 0.0
        cost[rng.random(s.n_cells) < 0.1] = np.inf
        for direction in (1, -1):
            level = float(rng.uniform(20, 150))
            want = brute_cube(s, parents, int(cell), direction, level, cost, values)
            got = cubes.cheapest(int(cell), direction, level, cost, values)
            if not np.isfinite(want):
                assert got is None
                continue
            assert got is not None
            assert cost[got[got != cell]].sum() == pytest.approx(want)
