"""Rates with intervals, and differences of rates between two groups.

:func:`rates` evaluates ``session.table(..., stat="rate")`` and publishes per
cell the share, its Wilson 95 % interval and standard error (weighted: on the
Kish effective size ``n_eff = (sum w)^2 / sum w^2``), and the distinct units
rounded per ``report_n``. Cells the table rules suppress carry no values.

:func:`rate_difference` compares two values ``a`` and ``b`` of a column
(``group``) within each cell of ``by``: ``d = p_a - p_b`` with Newcombe's
hybrid score interval (his method 10, built from the two Wilson intervals
``(l_a, u_a)``, ``(l_b, u_b)``)::

    lower = d - sqrt((p_a - l_a)^2 + (u_b - p_b)^2)
    upper = d + sqrt((u_a - p_a)^2 + (p_b - l_b)^2)

and a two-sided normal (Wald, unpooled) test ``z = d / sqrt(p_a q_a / n_a +
p_b q_b / n_b)``. Both assume independent samples; when units appear in both
groups (e.g. the same persons in two years) a note says the interval is
approximate. A difference is suppressed when either of its cells is.

Examples
--------
>>> import numpy as np, pandas as pd, kit
>>> df = pd.DataFrame({"PNR": range(40), "area": ["a"] * 20 + ["b"] * 20,
...                    "emp": [1, 0, 0, 1] * 5 + [1, 0, 0, 0] * 5})
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> kit.clear(rates(s, df, by="area", outcome="emp")).to_frame()[["area", "rate", "n"]]
  area  rate     n
0    a  0.50  20.0
1    b  0.25  20.0
>>> d = kit.clear(rate_difference(s, df, "emp", group="area", compare=("a", "b")))
>>> round(d.rows[0].values[0], 2)
0.25
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from kit.core.cleared import EstimateKind, Flag
from kit.core.populations import table_population_map
from kit.core.spec import safe_name
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.core.table import Z95, round_n, wilson_interval
from kit.errors import SpecError
from kit.estimate.checks import cell_reasons, refuse_key_columns
from kit.estimate.prepare import check_columns, code_text, one_code
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
    "DIFFERENCE_COLUMNS",
    "RATE_COLUMNS",
    "RateResult",
    "RateSpec",
    "newcombe_interval",
    "rate_difference",
    "rates",
]

#: Columns of a rates estimate.
RATE_COLUMNS = ("rate", "ci_low", "ci_high", "std_error", "n")
#: Columns of a rate-difference estimate.
DIFFERENCE_COLUMNS = (
    "difference",
    "ci_low",
    "ci_high",
    "std_error",
    "p_value",
    "rate_a",
    "rate_b",
    "n_a",
    "n_b",
)


@dataclass(frozen=True)
class RateSpec:
    """Frozen description of a rates or rate-difference estimate."""

    outcome: str
    by: tuple[str, ...]
    weight: str | None = None
    group: str | None = None
    compare: tuple[str, str] | None = None
    name: str = "rates"
    title: str = ""

    def __post_init__(self) -> None:
        safe_name(self.name, "rates name")
        if self.compare is not None and (len(self.compare) != 2 or self.compare[0] == self.compare[1]):
            raise SpecError(
                "rate difference", "compare must name two different values", 'pass compare=("a", "b")'
            )


class RateResult(EstimateResult):
    """Private rates or rate-difference result (zone 2)."""


def _dims(by: str | Sequence[str] | None) -> tuple[str, ...]:
    if by is None:
        return ()
    return (by,) if isinstance(by, str) else tuple(by)


def rates(
    session: Any,
    df: pd.DataFrame,
    by: str | Sequence[str],
    outcome: str,
    weight: str | None = None,
    name: str = "rates",
    title: str = "",
) -> RateResult:
    """Share of a 0/1 outcome per cell, with Wilson 95 % intervals.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Microdata.
    by
        Grouping column(s) (1 to 4).
    outcome
        0/1 (or boolean) outcome; missing values are left out by the table (noted).
    weight
        Optional weight column: weighted shares and Kish effective sizes;
        the thresholds stay on unweighted distinct units.
    name, title
        Output name and title.
    """
    spec = RateSpec(outcome=outcome, by=_dims(by), weight=weight, name=name, title=title)
    if not spec.by:
        raise SpecError("rates", "no grouping column was given", 'pass by="area"')
    if weight and not isinstance(df, pd.DataFrame):
        raise SpecError(f"rates '{name}'", "weighted rates need the rows in a pandas DataFrame (the Kish check "
                        "of each outcome class reads the weights)", "load the columns first, e.g. "
                        "scan(...).to_pandas(), or leave out the weight")
    table = session.table(df, rows=list(spec.by), stat="rate", measure=outcome, weight=weight, name=name)
    cells = table.evidence.cells
    inner = np.flatnonzero(~cells["is_margin"].to_numpy())
    reasons = cell_reasons(table)
    if weight:
        _add_class_kish(reasons, df, list(spec.by), outcome, weight, session.rules)
    round_to = report_round_to(session.rules, Statistic.RATE)
    est = table.estimates
    n_eff = _n_eff(cells)
    rows = []
    n_total = 0
    for i in inner:
        key = tuple(str(cells.iat[i, cells.columns.get_loc(d)]) for d in spec.by)
        p = float(est.at[i, "estimate"])
        se = float(np.sqrt(p * (1 - p) / n_eff[i])) if n_eff[i] > 0 else float("nan")
        n = int(cells.at[i, "n_units"])
        n_total += int(cells.at[i, "n_records"])
        values = (p, float(est.at[i, "ci_low"]), float(est.at[i, "ci_high"]), se, float(round_n(n, round_to)))
        a = int(cells.at[i, "n_positive_units"])
        evidence = (("units", float(n)), ("numerator units", float(a)), ("complement units", float(n - a)),
                    ("Kish effective size", float(n_eff[i])))
        rows.append(
            ResultRow(
                " ".join(key), tuple(zip(spec.by, key, strict=False)), values, list(reasons.get(key, [])),
                evidence=evidence,
            )
        )
    notes = [
        "Shares of a 0/1 outcome with 95 % Wilson score intervals"
        + (f"; weighted by {weight} (intervals on the Kish effective sample size)." if weight else "."),
        f"n: distinct units per cell, rounded to a multiple of {round_to}."
        if round_to > 1
        else "n: distinct units per cell.",
    ]
    notes += [r.detail for r in table.assessment.table_reasons]
    blocked = list(table.assessment.table_reasons) if table.verdict.value == "FAIL" else []
    result = RateResult(
        name=spec.name,
        title=spec.title or f"Rates of {outcome}",
        kind=EstimateKind.RATES,
        columns=RATE_COLUMNS,
        rows=rows,
        n_total=n_total,
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=("Wilson score intervals",),
        blocked=blocked,
        checked=CheckRecord(
            Statistic.RATE,
            check_threshold(session.rules, Statistic.RATE),
            _min_published(cells, [int(i) for i, r in zip(inner, rows, strict=True) if not r.suppressed]),
        ),
    )
    result.unit_populations = table_population_map(table)
    return result


def _min_published(cells: pd.DataFrame, idx: Sequence[int]) -> int | None:
    """Fewest units behind a published rate: the smaller of numerator and complement over the cells."""
    if not len(idx):
        return None
    n = cells["n_units"].to_numpy()[list(idx)]
    a = cells["n_positive_units"].to_numpy()[list(idx)]
    return int(np.minimum(a, n - a).min())


def _add_class_kish(
    reasons: dict[tuple[str, ...], list[Reason]],
    df: pd.DataFrame,
    by: list[str],
    outcome: str,
    weight: str,
    rules: Any,
) -> None:
    """Suppress weighted rate cells whose numerator or complement has a Kish size below the threshold.

    The weighted analogue of the numerator/complement rule (dominance within an
    outcome class): one heavy weight among the units with the attribute makes
    the weighted rate that unit's weight share.
    """
    k = rules.min_units(Statistic.RATE)
    if k <= 1:
        return
    y = pd.to_numeric(df[outcome], errors="coerce").to_numpy(dtype=float)
    w = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype=float)
    keys = [code_text(df[c]) for c in by]
    frame = pd.DataFrame({f"k{i}": kv for i, kv in enumerate(keys)})
    frame["cls"] = y
    frame["w"] = w
    frame["w2"] = w * w
    frame = frame[~np.isnan(y)]
    sums = frame.groupby([*(f"k{i}" for i in range(len(by))), "cls"], sort=False)[["w", "w2"]].sum()
    for idx, row in sums.iterrows():
        n_eff = row["w"] ** 2 / row["w2"] if row["w2"] > 0 else 0.0
        if n_eff < k * (1 - 1e-12):
            key = tuple(idx[:-1]) if isinstance(idx, tuple) else ()
            have = reasons.setdefault(key, [])
            r = Reason("kit", ReasonCode.BELOW_MIN_UNITS,
                       f"the weights concentrate the numerator or its complement on fewer than {k} "
                       "effective units (Kish)")
            if r not in have:
                have.append(r)


def _n_eff(cells: pd.DataFrame) -> np.ndarray:
    sw, sw2 = cells["sum_w"].to_numpy(), cells["sum_w2"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1), 0.0), dtype=float)


def newcombe_interval(p1: float, n1: float, p2: float, n2: float, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``p1 - p2`` (method 10).

    Newcombe (1998), Statistics in Medicine 17, 873-890, example (56/70 vs 48/80):
    difference 0.2, interval (0.0524, 0.3339).

    >>> lo, hi = newcombe_interval(56 / 70, 70, 48 / 80, 80)
    >>> round(lo, 4), round(hi, 4)
    (0.0524, 0.3339)
    """
    (l1,), (u1,) = wilson_interval(np.array([p1]), np.array([n1]), z)
    (l2,), (u2,) = wilson_interval(np.array([p2]), np.array([n2]), z)
    d = p1 - p2
    return (
        float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
        float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)),
    )


def rate_difference(
    session: Any,
    df: pd.DataFrame,
    outcome: str,
    group: str,
    compare: tuple[Any, Any],
    by: str | Sequence[str] | None = None,
    weight: str | None = None,
    name: str = "rate_difference",
    title: str = "",
) -> RateResult:
    """Difference of the rates of ``compare[0]`` and ``compare[1]`` of ``group``, per cell of ``by``.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Microdata.
    outcome
        0/1 outcome.
    group
        Column whose two values are compared (an area, a year, a sex ...).
    compare
        ``(a, b)``: the difference is ``rate(a) - rate(b)``.
    by
        Optional further grouping columns: one difference per cell.
    weight
        Optional weights (intervals on Kish effective sizes).
    name, title
        Output name and title.
    """
    a, b = one_code(compare[0]), one_code(compare[1])
    spec = RateSpec(
        outcome=outcome, by=_dims(by), weight=weight, group=group, compare=(a, b), name=name, title=title
    )
    if group in spec.by:
        raise SpecError("rate difference", "the compared column is also in 'by'", "remove it from 'by'")
    refuse_key_columns(session, [group, *spec.by], "rate difference")
    check_columns(df, [group, outcome, session.unit, *spec.by], "rate difference")  # ids: checked by session.table
    gtext = code_text(df[group])
    absent = [v for v in (a, b) if not (gtext == v).any()]
    if absent:
        raise SpecError(
            "rate difference", f"{len(absent)} compared value(s) have no rows", "check compare=(a, b)"
        )
    sub = df.loc[np.isin(gtext, [a, b])].assign(**{group: gtext[np.isin(gtext, [a, b])]})
    table = session.table(
        sub,
        rows=[*spec.by, group],
        stat="rate",
        measure=outcome,
        weight=weight,
        name=name,
        codes={group: [a, b]},
    )
    cells = table.evidence.cells
    reasons = cell_reasons(table)
    if weight:
        _add_class_kish(reasons, sub, [*spec.by, group], outcome, weight, session.rules)
    n_eff = _n_eff(cells)
    est = table.estimates
    round_to = report_round_to(session.rules, Statistic.RATE)
    index = {
        tuple(str(cells.iat[i, cells.columns.get_loc(d)]) for d in (*spec.by, group)): i
        for i in np.flatnonzero(~cells["is_margin"].to_numpy())
    }
    outer = sorted({k[:-1] for k in index}) if spec.by else [()]
    rows = []
    published_cells: list[int] = []
    for key in outer:
        ia, ib = index.get((*key, a)), index.get((*key, b))
        keys = (*zip(spec.by, key, strict=False), ("compare", f"{a} - {b}"))
        term = " ".join([*key, f"{a} - {b}"])
        if ia is None or ib is None or n_eff[ia] == 0 or n_eff[ib] == 0:
            rows.append(ResultRow(term, keys, (None,) * len(DIFFERENCE_COLUMNS)))
            continue
        pa, pb = float(est.at[ia, "estimate"]), float(est.at[ib, "estimate"])
        lo, hi = newcombe_interval(pa, n_eff[ia], pb, n_eff[ib])
        se = float(np.sqrt(pa * (1 - pa) / n_eff[ia] + pb * (1 - pb) / n_eff[ib]))
        pval = float(2 * sps.norm.sf(abs(pa - pb) / se)) if se > 0 else float("nan")
        deps = []
        if reasons.get((*key, a)) or reasons.get((*key, b)):
            deps.append(
                Reason(
                    "kit",
                    ReasonCode.DEPENDS_ON_SUPPRESSED,
                    "one of the two compared cells is suppressed by the table rules",
                )
            )
        flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if lo <= 0 <= hi else ()
        values = (
            pa - pb,
            lo,
            hi,
            se,
            pval,
            pa,
            pb,
            float(round_n(int(cells.at[ia, "n_units"]), round_to)),
            float(round_n(int(cells.at[ib, "n_units"]), round_to)),
        )
        rows.append(ResultRow(term, keys, values, deps, flags))
        if not deps:
            published_cells += [int(ia), int(ib)]
    units = sub[session.unit].to_numpy()
    overlap = bool(np.intersect1d(units[sub[group].to_numpy() == a], units[sub[group].to_numpy() == b]).size)
    notes = [
        f"Difference of shares rate({a}) - rate({b}) with Newcombe's hybrid score 95 % interval "
        "(from the two Wilson intervals); p_value from a two-sided normal test; marked not "
        "distinguishable from zero when the interval covers 0.",
        f"n: distinct units per cell, rounded to a multiple of {round_to}."
        if round_to > 1
        else "n: distinct units per cell.",
    ]
    if overlap:
        notes.append(
            "Some units are in both compared groups; the interval assumes independent samples and "
            "is approximate (a paired or clustered analysis would be exact)."
        )
    if weight:
        notes.append(f"Weighted by {weight}; intervals on Kish effective sample sizes.")
    result = RateResult(
        name=spec.name,
        title=spec.title or f"Difference in {outcome}: {a} - {b}",
        kind=EstimateKind.RATE_DIFFERENCE,
        columns=DIFFERENCE_COLUMNS,
        rows=rows,
        n_total=len(sub),
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=("Newcombe hybrid score interval",),
        checked=CheckRecord(Statistic.RATE, check_threshold(session.rules, Statistic.RATE),
                            _min_published(cells, published_cells)),
    )
    result.unit_populations = table_population_map(table)
    return result
