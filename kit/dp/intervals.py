"""Noise accuracy and intervals for DP values (no OpenDP needed).

The accuracy ``a`` of a noise distribution at level α is the smallest value
with ``P(|Z| >= a) <= α``, as OpenDP defines it, so ``[v - a, v + a]`` holds
the noise-free value with probability at least ``1 - α``. Intervals cover the
*noise only*: not sampling error and not clipping bias.

A ratio (mean, rate) is formed from a noisy numerator ``N`` and denominator
``D`` released together. With each interval at level α/2, both hold with
probability at least ``1 - α`` (union bound), and then the noise-free ratio
lies between the extreme ratios of the interval corners (when the denominator
interval is positive). The interval is intersected with the public range of
the ratio (the clipping bounds; [0, 1] for rates).

Examples
--------
>>> discrete_gaussian_accuracy(2.0, 0.05), discrete_gaussian_accuracy(6.0, 0.05)
(5.0, 13.0)
>>> round(discrete_laplace_accuracy(2.0, 0.05), 4)
6.4296
>>> ratio_interval(500, 1000, 10, 10, 0.0, 1.0)  # doctest: +ELLIPSIS
(0.5, 0.4851..., 0.5151...)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

__all__ = [
    "EXACT_SCALE_LIMIT",
    "discrete_gaussian_accuracy",
    "discrete_laplace_accuracy",
    "noise_accuracy",
    "ratio_interval",
]

#: Above this scale the discrete-Gaussian accuracy uses the continuous Gaussian
#: (differs by less than one unit; the exact sum grows with the scale).
EXACT_SCALE_LIMIT = 1e4


def discrete_gaussian_accuracy(scale: float, alpha: float) -> float:
    """Accuracy of discrete Gaussian noise with the given scale (σ)."""
    if scale <= 0:
        return 0.0
    if scale > EXACT_SCALE_LIMIT:
        return float(math.ceil(float(sps.norm.isf(alpha / 2)) * scale))
    support = math.ceil(scale * 12 + 12)
    k = np.arange(0, support + 1, dtype=float)
    w = np.exp(-(k * k) / (2.0 * scale * scale))
    total = w[0] + 2.0 * w[1:].sum()
    # tail[a] = P(|Z| >= a) for a >= 1
    tail_one_side = np.cumsum(w[::-1])[::-1]  # sum_{j >= a} w_j
    tail = 2.0 * tail_one_side / total
    ok = np.flatnonzero(tail[1:] <= alpha)
    return float(ok[0] + 1) if ok.size else float(support)


def discrete_laplace_accuracy(scale: float, alpha: float) -> float:
    """Accuracy of discrete Laplace noise: ``s ln(2 / (α (1 + e^{-1/s})))`` (OpenDP's formula)."""
    if scale <= 0:
        return 0.0
    return scale * math.log(2.0 / (alpha * (1.0 + math.exp(-1.0 / scale))))


def noise_accuracy(distribution: str, scale: float, alpha: float) -> float:
    """Accuracy for a distribution named as in OpenDP's ``summarize()`` or the kit's mechanism.

    Integer noise: a Laplace accuracy is rounded up to a whole number (``|Z| >= a``
    and ``|Z| >= ceil(a)`` are the same event).

    >>> noise_accuracy("Integer Laplace", 2.0, 0.05)
    7.0
    """
    name = distribution.lower()
    if "gaussian" in name:
        return discrete_gaussian_accuracy(scale, alpha)
    if "laplac" in name:
        return float(math.ceil(discrete_laplace_accuracy(scale, alpha) - 1e-9))
    raise ValueError(f"unknown noise distribution {distribution!r}")


def ratio_interval(num: float, den: float, acc_num: float, acc_den: float, lower: float,
                   upper: float) -> tuple[float | None, float, float]:
    """Ratio of two noisy values and its interval (each accuracy at α/2).

    Parameters
    ----------
    num, den
        The noisy numerator and denominator.
    acc_num, acc_den
        Their accuracies at level α/2.
    lower, upper
        The public range of the ratio (clipping bounds; 0 and 1 for rates).

    Returns
    -------
    (ratio, low, high)
        ``ratio`` is ``None`` when the noisy denominator is not positive; the
        interval falls back to the public range when the denominator's interval
        reaches zero.
    """
    ratio: float | None = None
    if den > 0:
        ratio = min(max(num / den, lower), upper)
    d_lo, d_hi = den - acc_den, den + acc_den
    if d_lo <= 0:
        return ratio, lower, upper
    corners = [(num + sn * acc_num) / d for sn in (-1, 1) for d in (d_lo, d_hi)]
    lo = min(max(min(corners), lower), upper)
    hi = max(min(max(corners), upper), lower)
    return ratio, lo, hi
