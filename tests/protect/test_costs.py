"""Cost models of secondary suppression and the reported loss (issue 24, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from kit.errors import SpecError
from kit.protect import CostModel, Dimension, ProtectionProblem, TableStructure, protect
from kit.protect.requirements import cost_vector


def small() -> tuple[TableStructure, ProtectionProblem]:
    s = TableStructure.from_dimensions([Dimension("r", ("a", "b", "c")), Dimension("k", ("x", "y"))])
    inner = {("a", "x"): 10.0, ("a", "y"): 40.0, ("b", "x"): 30.0, ("b", "y"): 5.0, ("c", "x"): 8.0,
             ("c", "y"): 50.0}
    units = {("a", "x"): 2, ("a", "y"): 3, ("b", "x"): 40, ("b", "y"): 30, ("c", "x"): 4, ("c", "y"): 5}
    vals, n = [], []
    for key in s.keys:
        parts = [k for k in inner if all(c == "Total" or c == kk for c, kk in zip(key, k))]
        vals.append(sum(inner[k] for k in parts))
        n.append(sum(units[k] for k in parts))
    prim = [k == ("a", "x") for k in s.keys]
    return s, ProtectionProblem.build(s, vals, primary=prim, share=0.1, n_units=n)


def pattern_cost(s: TableStructure, p: ProtectionProblem, sup: np.ndarray, per_cell: np.ndarray) -> float:
    sec = sup & ~np.asarray([st.value == "u" for st in p.status])
    return float(per_cell[sec].sum())


def test_cost_models_pick_their_cheapest_pattern() -> None:
    s, p = small()
    units = np.asarray(p.n_units, dtype=float)
    values = np.asarray(p.values)
    by_value = protect(p, method="milp", cost="value")
    by_freq = protect(p, method="milp", cost=CostModel.FREQUENCY)
    by_unity = protect(p, method="milp", cost="unity")
    # the rectangles through (a,x): rows b or c, column y; by value c (8 + 50 + 40) vs b (30 + 5 + 40):
    # b is cheaper; by units c (4 + 5 + 3) vs b (40 + 30 + 3): c is cheaper
    assert pattern_cost(s, p, by_value.suppressed, values) == pytest.approx(75.0)
    assert pattern_cost(s, p, by_freq.suppressed, units) == pytest.approx(12.0)
    assert by_unity.n_secondary == 3
    for r in (by_value, by_freq, by_unity):
        assert r.audit.verdict.value == "PASS"


def test_suppressed_share_is_secondary_value_over_the_total() -> None:
    s, p = small()
    res = protect(p, method="milp")
    sec = np.asarray([st.value == "x" for st in res.status])
    total = float(np.asarray(p.values)[s.index(("Total", "Total"))])
    assert res.suppressed_value == pytest.approx(float(np.asarray(p.values)[sec].sum()))
    assert res.suppressed_share == pytest.approx(res.suppressed_value / total)


def test_cost_model_errors() -> None:
    s, p = small()
    with pytest.raises(SpecError, match="unknown cost model"):
        cost_vector(p, "cheapest")
    bare = ProtectionProblem.build(s, p.values, primary=[st.value == "u" for st in p.status])
    with pytest.raises(SpecError, match="number of units"):
        cost_vector(bare, "frequency")
    assert CostModel.parse("cells") is CostModel.UNITY
