"""Primary rule functions on hand-built evidence, on both sides of every boundary."""

from __future__ import annotations

import numpy as np
import pytest

from kit.core.rules import primary
from kit.core.rules.model import (
    Differencing,
    Dominance,
    FailsWhen,
    GroupDisclosure,
    PPercent,
    Threshold,
    Zeros,
)


@pytest.mark.parametrize(("min_units", "n", "fails"), [
    (3, 2, True), (3, 3, False), (3, 4, False), (3, 1, True), (3, 0, False),
    (10, 9, True), (10, 10, False), (5, 4, True), (5, 5, False),
])
def test_threshold_boundary(min_units: int, n: int, fails: bool) -> None:
    assert primary.threshold_fails(np.array([n]), Threshold(min_units))[0] == fails


def test_differencing_boundary() -> None:
    got = primary.differencing_fails(np.array([0, 2, 3]), Differencing(3))
    assert got.tolist() == [False, True, False]


def _dom(k: float, when: FailsWhen) -> Dominance:
    return Dominance(n_units=2, k_share=k, fails_when=when, unit_types=())


@pytest.mark.parametrize(("top", "when", "fails"), [
    ((50.0, 35.0), FailsWhen.ABOVE, False),        # exactly 0.85: DST passes
    ((50.0, 35.01), FailsWhen.ABOVE, True),
    ((50.0, 34.99), FailsWhen.ABOVE, False),
])
def test_dominance_dst_boundary(top: tuple[float, float], when: FailsWhen, fails: bool) -> None:
    got = primary.dominance_fails(np.array([top]), np.array([100.0]), np.array([5]), _dom(0.85, when))
    assert got[0] == fails


@pytest.mark.parametrize(("top", "fails"), [((60.0, 30.0), True), ((60.0, 29.99), False), ((60.0, 30.01), True)])
def test_dominance_acro_boundary_fails_at_exactly_090(top: tuple[float, float], fails: bool) -> None:
    got = primary.dominance_fails(np.array([top]), np.array([100.0]), np.array([5]),
                                  _dom(0.90, FailsWhen.AT_OR_ABOVE))
    assert got[0] == fails


def test_dominance_non_positive_total_fails_closed_and_empty_cell_passes() -> None:
    got = primary.dominance_fails(np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([0.0, 0.0]),
                                  np.array([2, 0]), _dom(0.85, FailsWhen.ABOVE))
    assert got.tolist() == [True, False]


@pytest.mark.parametrize(("total", "fails"), [(160.0, False), (159.99, True), (170.0, False)])
def test_p_percent_boundary(total: float, fails: bool) -> None:
    # top1 = 100, top2 = 50: the rest must be at least 10 % of top1 = 10, so total >= 160
    got = primary.p_percent_fails(np.array([100.0]), np.array([50.0]), np.array([total]), np.array([4]),
                                  PPercent(0.10))
    assert got[0] == fails


def test_p_percent_single_unit_always_fails() -> None:
    got = primary.p_percent_fails(np.array([7.0]), np.array([0.0]), np.array([7.0]), np.array([1]), PPercent(0.1))
    assert got[0]


def test_zeros_observed_vs_structural() -> None:
    n = np.array([0, 0, 4])
    structural = np.array([True, False, False])
    assert primary.zero_fails(n, structural, Zeros(True)).tolist() == [False, True, False]
    assert primary.zero_fails(n, structural, Zeros(False)).tolist() == [False, False, False]


def test_group_disclosure_rates_and_categories() -> None:
    rule = GroupDisclosure(1.0)
    assert primary.rate_group_fails(np.array([4, 4, 4]), np.array([4, 0, 3]), rule).tolist() == [True, True, False]
    rule90 = GroupDisclosure(0.9)
    assert primary.rate_group_fails(np.array([10, 10]), np.array([9, 8]), rule90).tolist() == [True, False]
    got = primary.category_group_fails(np.array([7, 0, 3]), np.array([7, 7, 10]), rule)
    assert got.tolist() == [True, False, False]
