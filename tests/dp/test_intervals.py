"""The kit's interval math, checked by seeded simulation of the same mechanism."""

from __future__ import annotations

import numpy as np
import pytest

from kit.dp.accounting import zcdp_to_epsilon
from kit.dp.intervals import discrete_gaussian_accuracy, noise_accuracy, ratio_interval


def discrete_gaussian(rng: np.random.Generator, scale: float, size: int) -> np.ndarray:
    support = np.arange(-int(12 * scale + 12), int(12 * scale + 12) + 1)
    p = np.exp(-(support.astype(float) ** 2) / (2 * scale * scale))
    return rng.choice(support, size=size, p=p / p.sum())


@pytest.mark.parametrize("scale", [1.4, 8.0, 40.0])
def test_count_interval_coverage(scale: float) -> None:
    rng = np.random.default_rng(11)
    a = discrete_gaussian_accuracy(scale, 0.05)
    z = discrete_gaussian(rng, scale, 40_000)
    coverage = float(np.mean(np.abs(z) <= a))
    assert coverage >= 0.95                       # never below the stated rate
    if scale >= 30:
        assert coverage <= 0.965                  # and not much above it once the noise is not tiny


def test_ratio_interval_coverage_union_bound() -> None:
    rng = np.random.default_rng(12)
    scale, alpha, reps = 20.0, 0.05, 20_000
    a = discrete_gaussian_accuracy(scale, alpha / 2)
    true_num, true_den = 300, 1000
    nums = true_num + discrete_gaussian(rng, scale, reps)
    dens = true_den + discrete_gaussian(rng, scale, reps)
    hits = 0
    for n, d in zip(nums, dens, strict=True):
        _, lo, hi = ratio_interval(float(n), float(d), a, a, 0.0, 1.0)
        hits += lo <= true_num / true_den <= hi
    assert hits / reps >= 0.95


def test_ratio_interval_edge_cases() -> None:
    assert ratio_interval(5, 0, 3, 3, 0.0, 1.0) == (None, 0.0, 1.0)
    r, lo, hi = ratio_interval(-50, 10, 5, 20, -10.0, 100.0)
    assert r == -5.0 and lo == -10.0          # clipped to the public range
    r, lo, hi = ratio_interval(2000, 100, 10, 10, 0.0, 5.0)
    assert r == 5.0 and hi == 5.0


def test_accuracy_agrees_with_opendp() -> None:
    dp = pytest.importorskip("opendp.prelude")
    for scale in (0.7, 2.0, 6.0, 33.3, 5000.0, 20000.0):
        for alpha in (0.05, 0.025):
            assert discrete_gaussian_accuracy(scale, alpha) == dp.discrete_gaussian_scale_to_accuracy(
                scale, alpha, T=float)
    assert noise_accuracy("Integer Laplace", 2.0, 0.05) >= dp.discrete_laplacian_scale_to_accuracy(
        2.0, 0.05, T=float)


def test_epsilon_equivalent() -> None:
    assert zcdp_to_epsilon(0.125, 1e-7) == pytest.approx(0.125 + 2 * np.sqrt(0.125 * np.log(1e7)))
    assert zcdp_to_epsilon(0, 1e-7) == 0.0
