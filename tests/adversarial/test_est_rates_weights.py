"""Attacks on rates, weights and means of identical values (issue 18), each with the attacker's own algebra.

Every test states what the attacker computes from the released numbers and asserts that the
computation no longer yields a count below the threshold or a single unit's value.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import kit
from kit.errors import SchemaError
from kit.estimate import rate_difference, rates


@pytest.fixture
def s() -> kit.Session:
    return kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")


def _wilson(p: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """The attacker's own Wilson interval (textbook formula)."""
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def _n_from_wilson(p: float, lo: float, hi: float) -> int | None:
    """The attacker recovers n exactly by matching the published interval for n = 1..10000."""
    for n in range(1, 10001):
        a, b = _wilson(p, n)
        if abs(a - lo) < 1e-12 and abs(b - hi) < 1e-12:
            return n
    return None


@pytest.mark.parametrize("numerator", [1, 2, 3, 4])
def test_rate_with_small_numerator_or_complement_is_not_published(s, numerator):
    # area A: 5 persons, `numerator` employed; area B: large and mixed
    emp = [1] * numerator + [0] * (5 - numerator) + [1, 0] * 20
    df = pd.DataFrame({"PNR": range(45), "KOM": ["A"] * 5 + ["B"] * 40, "emp": emp})
    c = kit.clear(rates(s, df, by="KOM", outcome="emp"))
    row = next(r for r in c.rows if r.key("KOM") == "A")
    if row.suppressed:
        return
    # attacker: numerator = rate * n (n from the Wilson interval when n is rounded)
    p, lo, hi = row.values[0], row.values[1], row.values[2]
    n = _n_from_wilson(p, lo, hi)
    assert n is not None
    a = round(p * n)
    assert a >= 3 and n - a >= 3, "a numerator or complement below the threshold was published"


def test_suppressed_rate_cell_publishes_no_interval(s):
    df = pd.DataFrame({"PNR": range(45), "KOM": ["A"] * 5 + ["B"] * 40, "emp": [1] + [0] * 4 + [1, 0] * 20})
    c = kit.clear(rates(s, df, by="KOM", outcome="emp"))
    row = next(r for r in c.rows if r.key("KOM") == "A")
    assert row.suppressed and all(v is None for v in row.values)


def test_rate_difference_does_not_give_back_a_small_numerator(s):
    # attacker: rate_a = difference + rate_b, then numerator = rate_a * n_a
    df = pd.DataFrame({"PNR": range(45), "KOM": ["A"] * 5 + ["B"] * 40, "emp": [1] * 4 + [0] + [1, 0] * 20})
    c = kit.clear(rate_difference(s, df, "emp", group="KOM", compare=("A", "B")))
    assert c.rows[0].suppressed


def test_weighted_mean_with_zero_weights_is_refused(s):
    # three units, two weigh 0: the weighted mean would be the third unit's income
    df = pd.DataFrame({"PNR": range(3), "g": ["a"] * 3, "inc": [100.0, 200.0, 31337.0], "w": [0.0, 0.0, 1.0]})
    with pytest.raises(SchemaError, match="zero or negative"):
        s.table(df, rows="g", stat="mean", measure="inc", weight="w")


@pytest.mark.parametrize("bad", [1e-12, float("inf"), -1.0, float("nan")])
def test_tiny_negative_infinite_missing_weights_are_refused(s, bad):
    df = pd.DataFrame({"PNR": range(4), "g": ["a"] * 4, "inc": [1.0, 2.0, 3.0, 4.0], "w": [1.0, 1.0, 1.0, bad]})
    with pytest.raises(SchemaError):
        s.table(df, rows="g", stat="mean", measure="inc", weight="w")


def test_weighted_mean_dominated_by_one_weight_is_suppressed(s):
    # one weight 100 among weights of 1: Kish size (102^2 / 10002) ~ 1.04 < 3 units
    df = pd.DataFrame({"PNR": range(3), "g": ["a"] * 3, "inc": [100.0, 200.0, 31337.0], "w": [1.0, 1.0, 100.0]})
    t = s.table(df, rows="g", stat="mean", measure="inc", weight="w")
    c = kit.clear(t)
    assert c.rows[0].suppressed


def test_weighted_rate_of_one_is_suppressed(s):
    # a weighted rate 1.0 with a unit of weight ~0 used to pass group disclosure
    df = pd.DataFrame({"PNR": range(6), "g": ["a"] * 6, "y": [1, 1, 1, 1, 1, 0], "w": [1.0] * 6})
    c = kit.clear(rates(s, df, by="g", outcome="y", weight="w"))
    assert c.rows[0].suppressed  # complement 1 unit


def test_weighted_count_is_a_magnitude_table_with_dominance():
    # five enterprises, one with turnover 1e9: the weighted count is its turnover plus noise
    s = kit.Session("dst", unit="CVR_ID", unit_type="enterprise", created="2025-01-01T00:00:00+00:00")
    df = pd.DataFrame({"CVR_ID": range(10), "branche": ["x"] * 5 + ["y"] * 5,
                       "turnover": [1e9, 10.0, 11.0, 12.0, 13.0, 5.0, 6.0, 7.0, 8.0, 9.0]})
    t = s.table(df, rows="branche", stat="count", weight="turnover")
    c = kit.clear(t)
    rows = {r.keys[0]: r for r in c.rows}
    # attacker: largest = weighted count - (sum of the others, known within a factor): must not be published
    assert rows["x"].suppressed
    assert not rows["y"].suppressed


def test_mean_of_identical_values_is_suppressed(s):
    # 3 persons with the same value: the mean (and ci_low = ci_high) is each person's value
    df = pd.DataFrame({"PNR": range(8), "g": ["a"] * 3 + ["b"] * 5,
                       "inc": [500.0, 500.0, 500.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    c = kit.clear(s.table(df, rows="g", stat="mean", measure="inc"))
    rows = {r.keys[0]: r for r in c.rows}
    assert rows["a"].suppressed and all(v is None for v in rows["a"].values)
    assert not rows["b"].suppressed
    lo, hi = rows["b"].values[1], rows["b"].values[2]
    assert lo < hi


def test_recheck_under_a_stricter_rule_set_fails_closed(s):
    # the writer re-derives the checks under the rule set in force: a higher threshold than the one
    # the estimate was checked with cannot be confirmed from counts alone and is refused
    from kit.errors import DisclosureError
    from kit.estimate import model

    df = pd.DataFrame({"PNR": range(40), "KOM": ["A"] * 20 + ["B"] * 20, "emp": [1, 0, 0, 1] * 10})
    res = rates(s, df, by="KOM", outcome="emp")
    res.recheck(s.rules)  # the rules it was checked with: passes
    with pytest.raises(DisclosureError, match="threshold"):
        res.recheck(kit.Session("sacro", unit="PNR").rules)  # 10 units
    blocked = model(s, df.assign(d=[1.0] + [0.0] * 39), "emp ~ d")
    with pytest.raises(DisclosureError):
        blocked.recheck(s.rules)


def test_weighted_rate_with_a_dominant_numerator_weight_is_suppressed(s):
    # 3 units with the attribute, one weighing 50 (the cell as a whole has a Kish size of about 31):
    # the weighted rate is about that unit's weight share
    df = pd.DataFrame({"PNR": range(33), "g": ["a"] * 33, "y": [1, 1, 1] + [0] * 30,
                       "w": [50.0, 1.0, 1.0] + [50.0] * 30})
    c = kit.clear(rates(s, df, by="g", outcome="y", weight="w"))
    assert c.rows[0].suppressed
