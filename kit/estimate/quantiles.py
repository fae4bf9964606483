"""Safe quantiles and histograms.

**Quantiles.** A quantile ``p`` of ``n`` sorted values sits at position
``r = p (n - 1)`` (0-based, linear-interpolation convention). The kit reports
the mean of a window of sorted values around ``r`` that holds at least ``k``
distinct units, ``k = max(quantile.min_units_around, threshold.min_units)``:
the window starts with the ``k`` values centred on ``r`` (clipped to the
ends) and widens by one value on alternate sides until it covers ``k``
distinct units. So a released quantile is never one unit's value (with tied
values it can equal a value shared by at least ``k`` units). A group with
fewer than ``k`` units is suppressed. ``"min"`` / ``"max"`` (or ``p`` = 0 / 1)
are refused with a :class:`~kit.errors.DisclosureError` under rule sets whose
``extremes`` rule has ``allow = false``; where allowed they are the raw
extremes.

**Histograms.** Counts of distinct units per bin. Edges lie on the kit's
grid (:func:`grid_edges`: consecutive multiples of one width ``d * 10^m``,
``d`` in 1, 2, 5), so a boundary cannot be shifted to isolate a unit. Bins with fewer than
``min_units`` units are merged, never dropped: from the left the first bins
merge into an open-ended lowest bin (``< edge``) until it holds enough units,
likewise from the right (``>= edge``), then a sparse inner bin merges with its
right-hand neighbour. Values outside the given edges fall in the open-ended
bins.

Examples
--------
>>> import numpy as np, pandas as pd, kit
>>> df = pd.DataFrame({"PNR": range(100), "inc": np.arange(100.0)})
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> q = kit.clear(safe_quantiles(s, df, "inc", probs=(0.5,)))
>>> q.rows[0].values[0]   # 49, 50, 51 average to 50, a value: widened to 48..51
49.5
>>> safe_quantiles(s, df, "inc", probs=("max",))
Traceback (most recent call last):
...
kit.errors.DisclosureError: quantiles: the rule set 'dst' forbids releasing a minimum or maximum ...
>>> h = kit.clear(histogram(s, df.assign(inc=df.inc ** 2), "inc", bins=[0, 2000, 4000, 6000, 8000, 10000]))
>>> [r.key("bin") for r in h.rows]
['< 2000', '[2000, 4000)', '[4000, 6000)', '[6000, 8000)', '>= 8000']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.core.cleared import EstimateKind
from kit.core.populations import group_populations
from kit.core.rules.model import Extremes, Quantile, RuleKind
from kit.core.spec import safe_name
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.core.table import round_n
from kit.errors import DisclosureError, SpecError
from kit.estimate.checks import refuse_key_columns
from kit.estimate.prepare import check_columns, code_text, numeric_column, one_code, sort_codes
from kit.estimate.results import (
    CheckRecord,
    Context,
    EstimateResult,
    ResultRow,
    check_threshold,
    report_round_to,
    spec_fingerprint,
)

__all__ = [
    "HISTOGRAM_COLUMNS",
    "QUANTILE_COLUMNS",
    "QuantileResult",
    "QuantileSpec",
    "grid_edges",
    "histogram",
    "quantile_window",
    "safe_quantiles",
    "segments_safe",
    "window_mean",
]

#: Columns of safe quantiles.
QUANTILE_COLUMNS = ("value", "n")
#: Columns of a histogram.
HISTOGRAM_COLUMNS = ("count", "lower", "upper")


@dataclass(frozen=True)
class QuantileSpec:
    """Frozen description of quantiles or a histogram."""

    measure: str
    probs: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    bins: tuple[float, ...] = ()
    name: str = "quantiles"
    title: str = ""

    def __post_init__(self) -> None:
        safe_name(self.name, "quantiles name")


class QuantileResult(EstimateResult):
    """Private quantiles or histogram result (zone 2)."""


def _k(rules: Any) -> int:
    around = [
        r.params.min_units_around for r in rules.of_kind(RuleKind.QUANTILE) if isinstance(r.params, Quantile)
    ]
    return int(max([*around, rules.min_units(Statistic.QUANTILE), 1]))


def _extremes_allowed(rules: Any, stat: Statistic) -> tuple[bool, str]:
    for r in rules.of_kind(RuleKind.EXTREMES, stat):
        if isinstance(r.params, Extremes) and not r.params.allow:
            return False, r.id
    return True, ""


def window_mean(values: np.ndarray, units: np.ndarray, p: float, k: int) -> tuple[float, int]:
    """Mean of the sorted values around quantile ``p`` covering at least ``k`` distinct units.

    ``values`` must be sorted, ``units`` aligned with them. When the mean equals
    one of the values (e.g. the middle of three evenly spaced values), the window
    widens until it does not; NaN when no window avoids it (all values tied).
    Returns the mean and the number of values averaged.

    >>> window_mean(np.array([0.0, 1.0, 2.0, 3.0, 9.0]), np.arange(5), 0.5, 3)
    (1.5, 4)
    """
    mean, lo, hi = quantile_window(values, units, p, k)
    return mean, hi - lo


def quantile_window(values: np.ndarray, units: np.ndarray, p: float, k: int) -> tuple[float, int, int]:
    """:func:`window_mean` with the window's bounds: ``(mean, lo, hi)``, positions ``lo:hi`` of ``values``.

    >>> quantile_window(np.array([0.0, 1.0, 2.0, 3.0, 9.0]), np.arange(5), 0.5, 3)
    (1.5, 0, 4)
    """
    n = len(values)
    r = p * (n - 1)
    lo = int(np.clip(np.floor(r - (k - 1) / 2 + 0.5), 0, max(n - k, 0)))
    hi = min(lo + k, n)
    left = True
    while len(set(units[lo:hi].tolist())) < k and (lo > 0 or hi < n):
        if (left and lo > 0) or hi >= n:
            lo -= 1
        else:
            hi += 1
        left = not left
    mean = float(values[lo:hi].mean())
    while _equals_a_value(mean, values) and (lo > 0 or hi < n):
        if (left and lo > 0) or hi >= n:
            lo -= 1
        else:
            hi += 1
        left = not left
        mean = float(values[lo:hi].mean())
    if _equals_a_value(mean, values):
        return float("nan"), lo, hi
    return mean, lo, hi


def segments_safe(values: np.ndarray, units: np.ndarray, bounds: set[int], k: int) -> bool:
    """Whether every stretch of sorted values between consecutive window bounds is safe.

    ``bounds`` holds the window bounds released so far together with ``0`` and
    ``n`` (the cell total is public through a mean or sum table). Each released
    number is a sum over an interval of sorted positions, and the sums an
    attacker can form from them are exactly the step functions constant between
    consecutive bounds. So no unit's value (nor the sum of fewer than ``k``
    units) can be derived when every stretch between consecutive bounds holds
    at least ``k`` distinct units and values that are not all equal.

    >>> v = np.array([1.0, 2.0, 4.0, 8.0])
    >>> segments_safe(v, np.arange(4), {0, 3, 4}, 3)   # p25 window 0:3, n = 4: 4 mean - 3 q25 = max
    False
    >>> v = np.arange(9.0)
    >>> segments_safe(v, np.arange(9), {0, 3, 6, 9}, 3)
    True
    """
    edges = sorted(bounds)
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        if len(np.unique(units[a:b])) < k or values[a] == values[b - 1]:
            return False
    return True


def _equals_a_value(mean: float, values: np.ndarray) -> bool:
    """Whether ``mean`` equals (to a relative 1e-9) one of the sorted ``values``."""
    i = int(np.searchsorted(values, mean))
    near = values[max(i - 1, 0) : i + 1]
    return bool(np.any(np.abs(near - mean) <= 1e-9 * max(1.0, abs(mean))))


def safe_quantiles(
    session: Any,
    df: pd.DataFrame,
    measure: str,
    probs: Sequence[float | str] = (0.25, 0.5, 0.75),
    by: str | Sequence[str] | None = None,
    name: str = "quantiles",
    title: str = "",
) -> QuantileResult:
    """Quantiles reported as means of at least ``k`` units around them.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Microdata.
    measure
        Numeric column (missing values are left out).
    probs
        Probabilities in (0, 1); ``"min"``/``"max"`` (or 0 / 1) only where the
        rule set allows extremes.
    by
        Optional grouping column(s).
    name, title
        Output name and title.

    Raises
    ------
    DisclosureError
        When a minimum or maximum is asked for under a rule set that forbids them.
    """
    where = "quantiles"
    ps: list[tuple[str, float]] = []
    for p in probs:
        if isinstance(p, str):
            if p.lower() not in ("min", "max"):
                raise SpecError(where, f"unknown quantile {p!r}", "use numbers in (0, 1), 'min' or 'max'")
            ps.append((p.lower(), 0.0 if p.lower() == "min" else 1.0))
        else:
            if not 0 <= float(p) <= 1:
                raise SpecError(where, "a probability is outside [0, 1]", "use numbers between 0 and 1")
            label = {0.0: "min", 1.0: "max"}.get(float(p), one_code(float(p)))
            ps.append((label, float(p)))
    for label, _ in ps:
        if label in ("min", "max"):
            ok, rid = _extremes_allowed(session.rules, Statistic(label))
            if not ok:
                raise DisclosureError(
                    where,
                    f"the rule set '{session.rules.id}' forbids releasing a minimum or maximum (rule {rid})",
                    "report a safe quantile such as 0.95 instead",
                )
    dims = () if by is None else ((by,) if isinstance(by, str) else tuple(by))
    spec = QuantileSpec(measure=measure, probs=tuple(lab for lab, _ in ps), by=dims, name=name, title=title)
    refuse_key_columns(session, dims, where)
    check_columns(df, [measure, *dims], where, unit=session.unit)
    x = numeric_column(df, measure, where)
    ok_rows = ~np.isnan(x)
    units_all = pd.factorize(df[session.unit])[0]
    keys = [code_text(df[d]) for d in dims]
    k = _k(session.rules)
    round_to = report_round_to(session.rules, Statistic.QUANTILE)
    groups: list[tuple[str, ...]] = (
        sorted({tuple(c[i] for c in keys) for i in np.flatnonzero(ok_rows)}) if dims else [()]
    )
    if dims:
        groups = sorted(groups, key=lambda g: tuple(sort_codes([*g])))
    rows = []
    published_n: list[int] = []
    for g in groups:
        m = ok_rows.copy()
        for c, code in zip(keys, g, strict=False):
            m &= c == code
        order = np.argsort(x[m], kind="stable")
        vals, units = x[m][order], units_all[m][order]
        n_units = len(np.unique(units))
        bounds = {0, len(vals)}
        for label, p in ps:
            keyset = (*zip(dims, g, strict=False), ("quantile", label))
            term = " ".join([*g, label])
            if n_units < k:
                reason = Reason(
                    "kit",
                    ReasonCode.BELOW_MIN_UNITS,
                    f"fewer than {k} distinct units to average around a quantile",
                )
                rows.append(ResultRow(term, keyset, (None, None), [reason]))
                continue
            if label in ("min", "max"):
                v = float(vals[0] if label == "min" else vals[-1])
            else:
                v, lo, hi = quantile_window(vals, units, p, k)
                if not np.isnan(v) and not segments_safe(vals, units, bounds | {lo, hi}, k):
                    reason = Reason(
                        "kit",
                        ReasonCode.GROUP_DISCLOSURE,
                        f"with the group's total and the other quantiles this average would give the "
                        f"values of fewer than {k} units",
                    )
                    rows.append(ResultRow(term, keyset, (None, None), [reason]))
                    continue
                if not np.isnan(v):
                    bounds |= {lo, hi}
                if np.isnan(v):
                    reason = Reason(
                        "kit",
                        ReasonCode.GROUP_DISCLOSURE,
                        "every average around the quantile equals a unit's value (tied values)",
                    )
                    rows.append(ResultRow(term, keyset, (None, None), [reason]))
                    continue
            rows.append(ResultRow(term, keyset, (v, float(round_n(n_units, round_to)))))
            published_n.append(n_units)
    notes = [
        f"Each quantile is the mean of the values of at least {k} distinct units around it (never one "
        "unit's value); groups with fewer units are suppressed.",
        f"n: distinct units, rounded to a multiple of {round_to}." if round_to > 1 else "n: distinct units.",
    ]
    if (~ok_rows).any():
        notes.append("Rows with a missing value were left out.")
    result = QuantileResult(
        name=spec.name,
        title=spec.title or f"Quantiles of {measure}",
        kind=EstimateKind.QUANTILES,
        columns=QUANTILE_COLUMNS,
        rows=rows,
        n_total=int(ok_rows.sum()),
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=(f"quantiles as means of {k} units",),
        checked=CheckRecord(Statistic.QUANTILE, check_threshold(session.rules, Statistic.QUANTILE),
                            min(published_n) if published_n else None),
    )
    # the populations protocol: each group's units, so the registry compares quantiles of
    # populations one unit apart (quantile windows near an extreme differ by that unit's value)
    result.unit_populations = group_populations(
        df[session.unit].to_numpy()[ok_rows], [c[ok_rows] for c in keys], prefix="quantiles "
    )
    return result


#: Bin widths the kit accepts: these mantissas times a power of ten.
GRID_MANTISSAS = (1.0, 2.0, 5.0)
#: Most bins a histogram may have.
MAX_BINS = 1000


def grid_edges(bins: Any, where: str = "histogram") -> np.ndarray:
    """Bin edges checked against the kit's grid: consecutive multiples of a width ``d * 10^m``, ``d`` in 1, 2, 5.

    Fixed edges stop an analyst from shifting a boundary by less than a bin to
    isolate a unit (edges 50 and 51 in two runs put one unit in ``[50, 51)``).

    >>> grid_edges([0, 10, 20, 30]).tolist()
    [0.0, 10.0, 20.0, 30.0]
    >>> grid_edges([-0.5, 0, 0.5]).tolist()
    [-0.5, 0.0, 0.5]
    >>> grid_edges([0, 51, 102])
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: histogram: the bin edges are not on the kit's grid...
    """
    fix = ("pass consecutive multiples of one width from 1, 2 or 5 times a power of ten, "
           "e.g. bins=[0, 10, 20, 30] or [0, 0.5, 1.0] (docs/estimates.md, 'Histograms')")
    if isinstance(bins, (str, bytes)) or not isinstance(bins, Sequence | np.ndarray):
        raise SpecError(where, "bins must be a list of numbers", fix)
    vals: list[float] = []
    for b in bins:
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, float, np.integer, np.floating)):
            raise SpecError(where, "bins must be a list of numbers (a non-number was given)", fix)
        vals.append(float(b))
    edges = np.asarray(vals, dtype=float)
    if len(edges) < 2 or not np.isfinite(edges).all() or not np.all(np.diff(edges) > 0):
        raise SpecError(where, "bin edges must be at least two finite, increasing numbers", fix)
    if len(edges) - 1 > MAX_BINS:
        raise SpecError(where, f"{len(edges) - 1} bins were asked for, more than {MAX_BINS}", fix)
    width = float(edges[1] - edges[0])
    exp = int(np.floor(np.log10(width)))
    mant = width / 10.0**exp
    nice = min((*GRID_MANTISSAS, 10.0), key=lambda d: abs(d - mant))
    w = nice * 10.0**exp
    tol = 1e-9
    steps = edges / w
    ok = (
        abs(mant - nice) <= tol * nice
        and np.allclose(np.diff(edges), w, rtol=tol, atol=0.0)
        and bool(np.all(np.abs(steps - np.round(steps)) <= tol * np.maximum(1.0, np.abs(steps))))
    )
    if not ok:
        raise SpecError(where, "the bin edges are not on the kit's grid", fix)
    return np.round(steps) * w


def histogram(
    session: Any,
    df: pd.DataFrame,
    measure: str,
    bins: int | Sequence[float],
    name: str = "histogram",
    title: str = "",
) -> QuantileResult:
    """Counts of distinct units per bin, sparse bins merged (never dropped).

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Microdata.
    measure
        Numeric column (missing values left out, noted).
    bins
        Bin edges (increasing), or a number of equal-width bins. Equal-width
        edges from the data's range would disclose the extremes, so an integer
        is accepted only where the rule set allows extremes; otherwise pass
        edges chosen without looking at single values.
    name, title
        Output name and title.
    """
    where = "histogram"
    check_columns(df, [measure], where, unit=session.unit)
    x = numeric_column(df, measure, where)
    ok = ~np.isnan(x)
    if isinstance(bins, (int, np.integer)):
        allowed, rid = _extremes_allowed(session.rules, Statistic.MIN)
        if not allowed:
            raise DisclosureError(
                where,
                f"equal-width bins from the data's range reveal its minimum and maximum (rule {rid})",
                "pass bin edges chosen in advance, e.g. bins=[0, 100, 200]",
            )
        edges = np.linspace(np.nanmin(x), np.nanmax(x), int(bins) + 1)
    else:
        edges = grid_edges(bins, where)
    spec = QuantileSpec(measure=measure, bins=tuple(float(e) for e in edges), name=name, title=title)
    k = max(1, session.rules.min_units(Statistic.COUNT))
    units = pd.factorize(df[session.unit])[0][ok]
    # inner bins [e_i, e_{i+1}); everything below e_1 joins the first bin, from e_{m-1} up the last
    idx = np.clip(np.searchsorted(edges, x[ok], side="right") - 1, 0, len(edges) - 2)
    n_bins = len(edges) - 1
    members: list[set[int]] = [set() for _ in range(n_bins)]
    for b, u in zip(idx.tolist(), units.tolist(), strict=False):
        members[b].add(u)
    # groups of consecutive bins: (first, last); the first group is open below, the last open above
    spans = [[i, i] for i in range(n_bins)]
    sets = [set(s) for s in members]

    def merge(a: int, b: int) -> None:
        spans[a][1] = spans[b][1]
        sets[a] |= sets[b]
        del spans[b]
        del sets[b]

    while len(spans) > 1 and len(sets[0]) < k:
        merge(0, 1)
    while len(spans) > 1 and len(sets[-1]) < k:
        merge(len(spans) - 2, len(spans) - 1)
    i = 1
    while i < len(spans) - 1:
        if len(sets[i]) < k:
            merge(i, i + 1)
        else:
            i += 1
    rows = []
    last = len(spans) - 1
    for j, ((a, b), s) in enumerate(zip(spans, sets, strict=False)):
        lower = None if j == 0 else float(edges[a])
        upper = None if j == last else float(edges[b + 1])
        if lower is None and upper is None:
            label = "all"
        elif lower is None:
            label = f"< {one_code(upper)}"
        elif upper is None:
            label = f">= {one_code(lower)}"
        else:
            label = f"[{one_code(lower)}, {one_code(upper)})"
        reasons = (
            []
            if len(s) >= k or len(s) == 0
            else [
                Reason(
                    "kit",
                    ReasonCode.BELOW_MIN_UNITS,
                    f"fewer than {k} distinct units even after merging all bins",
                )
            ]
        )
        rows.append(ResultRow(label, (("bin", label),), (float(len(s)), lower, upper), reasons))
    notes = [
        f"Counts of distinct units per bin; bins with fewer than {k} units are merged into neighbouring or "
        "open-ended bins (never dropped); the lowest and highest bins are open-ended."
    ]
    if (~ok).any():
        notes.append("Rows with a missing value were left out.")
    result = QuantileResult(
        name=spec.name,
        title=spec.title or f"Histogram of {measure}",
        kind=EstimateKind.HISTOGRAM,
        columns=HISTOGRAM_COLUMNS,
        rows=rows,
        n_total=int(ok.sum()),
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        notes=notes,
        methods=("histogram with merged sparse bins",),
        checked=CheckRecord(Statistic.COUNT, max(1, session.rules.min_units(Statistic.COUNT)),
                            min([len(s) for s in sets if s], default=None)),
    )
    # the populations protocol: the units of each published (merged) bin. Two histograms on one
    # grid with other first edges ("< 10" and "< 20") differ by the units of [10, 20): the
    # registry compares the bins' unit sets like table cells.
    span_of = np.empty(n_bins, dtype=object)
    for (a, b), row in zip(spans, rows, strict=True):
        span_of[a : b + 1] = row.term
    result.unit_populations = group_populations(
        df[session.unit].to_numpy()[ok], [span_of[idx]], prefix="bin "
    )
    return result
