"""Staggered adoption: Callaway-Sant'Anna group-time effects, aggregated by event time.

Groups (areas) are treated from different periods; a *cohort* ``g`` is the
set of groups first treated in period ``g``. For every cohort and period
``t`` (unconditional, no covariates)::

    ATT(g, t) = [Y(g, t) - Y(g, g-1)] - [Y(C, t) - Y(C, g-1)]

where ``Y(S, t)`` is the mean outcome of all person rows of the groups in
``S`` in period ``t`` and the base period is ``g - 1`` for every ``t``
(a "universal" base; ``ATT(g, g-1) = 0`` is not reported). Controls ``C``:

* ``control="not_yet"``: never-treated groups and groups first treated after
  ``max(t, g - 1)`` (Callaway and Sant'Anna, 2021, not-yet-treated);
* ``control="never"``: never-treated groups only.

Each ``ATT(g, t)`` is exactly the interaction coefficient of a 2 × 2
difference-in-differences regression on the person rows of the cohort and its
controls in periods ``g - 1`` and ``t`` (tested against hand-computed 2 × 2
comparisons, tests/estimate/reference/staggered_worksheet.md).

Aggregation by event time ``e = t - g``: ``theta(e) = sum_g w_g ATT(g, g+e)``
with ``w_g`` the cohort's share of base-period rows among cohorts observed at
``e`` (weights treated as fixed); ``overall`` averages ``theta(e)`` over
``e >= 0``.

Inference (analytic): every estimate is a linear combination of cell means, so
its influence function per person row is ``coef_c (y_i - Y_c) / n_c``;
the variance sums the squared per-unit totals (clustered by the session's
unit, so persons followed over periods are handled). Normal 95 % intervals.
These reflect sampling of persons, not shocks common to a whole area: with few
treated areas, use :func:`kit.estimate.event_study` and its randomisation
inference for the headline claim (the notes say so).

Examples
--------
>>> import numpy as np, pandas as pd, kit
>>> rng = np.random.default_rng(0)
>>> rows = [(f"{a}{i}", a, t, rng.normal() + (1.0 if a == "E" and t >= 2 else 0.0))
...         for a in "EFN" for i in range(20) for t in range(4)]
>>> df = pd.DataFrame(rows, columns=["PNR", "area", "year", "y"])
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> res = staggered(s, df, "y", "area", "year", first_treated={"E": 2, "F": 3})
>>> res
<StaggeredResult 'staggered' (staggered): 11 rows, 0 suppressed; values hidden>
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from kit.core.cleared import EstimateKind, Flag
from kit.core.populations import group_populations
from kit.core.spec import safe_name
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.errors import SpecError
from kit.estimate.checks import cell_reasons, refuse_key_columns
from kit.estimate.prepare import (
    MissingPolicy,
    check_columns,
    code_text,
    drop_missing,
    is_binary,
    numeric_column,
    one_code,
    sort_codes,
)
from kit.estimate.results import (
    CheckRecord,
    Context,
    EstimateResult,
    ResultRow,
    check_threshold,
    report_round_to,
    spec_fingerprint,
)

__all__ = ["STAGGERED_COLUMNS", "Control", "StaggeredResult", "StaggeredSpec", "staggered"]

#: Columns of a staggered estimate.
STAGGERED_COLUMNS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")


class Control(enum.Enum):
    """Control groups of the group-time effects."""

    NOT_YET = "not_yet"
    NEVER = "never"


@dataclass(frozen=True)
class StaggeredSpec:
    """Frozen description of a staggered-adoption estimate."""

    outcome: str
    group: str
    period: str
    first_treated: tuple[tuple[str, str], ...]
    never_treated: tuple[str, ...] = ()
    control: Control = Control.NOT_YET
    alpha: float = 0.05
    missing: MissingPolicy = MissingPolicy.DROP
    name: str = "staggered"
    title: str = ""

    def __post_init__(self) -> None:
        if not self.first_treated:
            raise SpecError(
                "staggered", "no treated group was given", 'pass first_treated={"Sundparken": 2012}'
            )
        safe_name(self.name, "staggered name")


class StaggeredResult(EstimateResult):
    """Private staggered-adoption result (zone 2)."""


def staggered(
    session: Any,
    df: pd.DataFrame,
    outcome: str,
    group: str,
    period: str,
    first_treated: Mapping[Any, Any],
    never_treated: Sequence[Any] | None = None,
    control: str | Control = "not_yet",
    alpha: float = 0.05,
    missing: str | MissingPolicy = "drop",
    name: str = "staggered",
    title: str = "",
) -> StaggeredResult:
    """Callaway-Sant'Anna group-time effects and their event-time aggregation.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Person-period rows.
    outcome, group, period
        Outcome (0/1 gives percentage points), group and (numeric) period columns.
    first_treated
        First treated period of each treated group, e.g. ``{"Sundparken": 2012, "Kildeparken": 2014}``.
    never_treated
        Groups never treated (default: every other group in the data).
    control
        ``"not_yet"`` (default) or ``"never"``.
    alpha
        Level of the intervals.
    missing
        ``"drop"`` (count noted) or ``"raise"``.
    name, title
        Output name and title.
    """
    where = "staggered"
    spec = StaggeredSpec(
        outcome=outcome,
        group=group,
        period=period,
        first_treated=tuple((one_code(g), one_code(s)) for g, s in dict(first_treated).items()),
        never_treated=tuple(one_code(g) for g in (never_treated or ())),
        control=Control(str(getattr(control, "value", control))),
        alpha=float(alpha),
        missing=MissingPolicy.parse(missing, where),
        name=name,
        title=title,
    )
    unit = session.unit
    refuse_key_columns(session, [group, period], where)
    check_columns(df, [outcome, group, period], where, unit=unit)
    data, n_dropped = drop_missing(
        df[[unit, outcome, group, period]], [unit, outcome, group, period], spec.missing, where
    )
    g_txt = code_text(data[group])
    first = {g: float(s) for g, s in spec.first_treated}
    never = set(spec.never_treated) or (set(g_txt) - set(first))
    if set(first) & never:
        raise SpecError(
            where, "a group is both treated and never treated", "check first_treated and never_treated"
        )
    keep = np.isin(g_txt, list(set(first) | never))
    data, g_txt = data.loc[keep], g_txt[keep]
    if spec.control is Control.NEVER and not (np.isin(g_txt, list(never))).any():
        raise SpecError(
            where, "there are no never-treated groups", "use control='not_yet' or add never-treated groups"
        )
    y = numeric_column(data, outcome, where)
    binary = is_binary(y)
    y = y * (100.0 if binary else 1.0)
    t_num = numeric_column(data, period, where)
    periods = sorted(set(t_num.tolist()))
    t_txt = np.array([one_code(v) for v in t_num], dtype=object)
    table = session.table(
        pd.DataFrame(
            {unit: data[unit].to_numpy(), "_g": g_txt, "_t": t_txt, "_y": y / (100.0 if binary else 1.0)}
        ),
        rows=["_g", "_t"],
        stat="rate" if binary else "mean",
        measure="_y",
        name=f"{name}-cells",
    )
    reasons = cell_reasons(table)
    groups = sort_codes(sorted(set(g_txt)))
    gi = pd.Categorical(g_txt, categories=groups).codes.astype(np.int64)
    ti = np.searchsorted(np.array(periods), t_num)
    cell = gi * len(periods) + ti
    size = len(groups) * len(periods)
    n_c = np.bincount(cell, minlength=size).astype(float)
    s_c = np.bincount(cell, weights=y, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        ybar = np.where(n_c > 0, s_c / np.where(n_c > 0, n_c, 1), np.nan)
    unit_codes, n_units = pd.factorize(data[unit])[0], int(data[unit].nunique())
    resid_scaled = y - ybar[cell]
    gstart = np.array([first.get(g, np.inf) for g in groups])

    def set_mean(members: np.ndarray, k: int) -> tuple[float, dict[int, float]]:
        idx = [m * len(periods) + k for m in np.flatnonzero(members)]
        tot = n_c[idx].sum()
        if tot == 0:
            return float("nan"), {}
        return float(s_c[idx].sum() / tot), {i: n_c[i] / tot for i in idx if n_c[i] > 0}

    Keys = tuple[tuple[str, str], ...]
    estimates: list[tuple[str, Keys, dict[int, float], list[Reason]]] = []
    att: dict[tuple[float, int], tuple[float, dict[int, float], list[Reason]]] = {}
    cohorts = sorted(set(first.values()))
    for g in cohorts:
        if g - 1 not in periods:
            raise SpecError(
                where,
                "a cohort's base period (the period before its start) is not in the data",
                "every treated group needs observations in the period before it is treated",
            )
        b = periods.index(g - 1)
        members = gstart == g
        for k, t in enumerate(periods):
            if k == b:
                continue
            use_never = spec.control is Control.NEVER
            ctrl = ~np.isfinite(gstart) if use_never else (gstart > max(t, g - 1)) & (gstart != g)
            if not ctrl.any():
                continue
            coef: dict[int, float] = {}
            parts = [(members, k, 1.0), (members, b, -1.0), (ctrl, k, -1.0), (ctrl, b, 1.0)]
            value = 0.0
            ok = True
            for m, kk, sign in parts:
                mean, w = set_mean(m, kk)
                if np.isnan(mean):
                    ok = False
                    break
                value += sign * mean
                for i, wi in w.items():
                    coef[i] = coef.get(i, 0.0) + sign * wi
            if not ok:
                continue
            deps = _deps(reasons, groups, periods, members | ctrl, (k, b))
            att[(g, k)] = (value, coef, deps)
            keys: Keys = (("cohort", one_code(g)), (period, one_code(t)), ("event_time", one_code(t - g)))
            estimates.append((f"ATT({one_code(g)},{one_code(t)})", keys, coef, deps))
    # aggregation by event time
    base_rows = {
        g: n_c[[m * len(periods) + periods.index(g - 1) for m in np.flatnonzero(gstart == g)]].sum()
        for g in cohorts
    }
    event_times = sorted({periods[k] - g for (g, k) in att})
    theta_coefs: dict[float, dict[int, float]] = {}
    for e in event_times:
        parts_e = [(g, att[(g, k)]) for (g, k) in att if periods[k] - g == e]
        wsum = sum(base_rows[g] for g, _ in parts_e)
        coef = {}
        deps = []
        for g, (_, c, d) in parts_e:
            for i, v in c.items():
                coef[i] = coef.get(i, 0.0) + v * base_rows[g] / wsum
            deps.extend(x for x in d if x not in deps)
        theta_coefs[e] = coef
        estimates.append(
            (f"theta(e={one_code(e)})", (("cohort", "all"), ("event_time", one_code(e))), coef, deps)
        )
    post = [e for e in event_times if e >= 0]
    if post:
        coef = {}
        deps = []
        for e in post:
            for i, v in theta_coefs[e].items():
                coef[i] = coef.get(i, 0.0) + v / len(post)
        for term, _, _, d in estimates:
            if term.startswith("theta(") and float(term[8:-1]) >= 0:
                deps.extend(x for x in d if x not in deps)
        estimates.append(("overall (e >= 0)", (("cohort", "all"), ("event_time", "post")), coef, deps))
    z = float(sps.norm.ppf(1 - spec.alpha / 2))
    rows = []
    for term, keys, coef, deps in estimates:
        idx = np.fromiter(coef.keys(), dtype=np.int64)
        cvec = np.zeros(size)
        cvec[idx] = np.fromiter(coef.values(), dtype=float)
        est = float((cvec * np.nan_to_num(ybar)).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            psi = cvec[cell] / n_c[cell] * resid_scaled
        se = float(np.sqrt((np.bincount(unit_codes, weights=psi, minlength=n_units) ** 2).sum()))
        p = float(2 * sps.norm.sf(abs(est) / se)) if se > 0 else float("nan")
        flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if not p < spec.alpha else ()
        rows.append(ResultRow(term, keys, (est, se, est - z * se, est + z * se, p), list(deps), flags))
    round_to = report_round_to(session.rules, Statistic.MODEL)
    ctrl_text = (
        "never-treated groups"
        if spec.control is Control.NEVER
        else "not-yet-treated and never-treated groups"
    )
    notes = [
        f"Group-time effects ATT(g, t) after Callaway and Sant'Anna (2021), unconditional (no covariates), "
        f"controls: {ctrl_text}; base period g - 1 for every t; {len(cohorts)} cohort(s).",
        "theta(e): average of ATT(g, g + e) over cohorts weighted by their base-period size; "
        "overall: mean of "
        "theta(e) over e >= 0.",
        (
            "Effects in percentage points (0/1 outcome × 100)."
            if binary
            else "Effects in the outcome's units."
        ),
        f"Standard errors analytic (influence function of the cell means, clustered by {unit}); normal "
        f"{1 - spec.alpha:.0%} intervals. They reflect sampling of persons, not area-wide shocks: with few "
        "treated areas use the event study's randomisation inference for claims of significance.",
        "An effect is shown only when every group × period cell it uses passes the table rules.",
    ]
    if n_dropped:
        notes.append("Rows with missing values were left out.")
    result = StaggeredResult(
        name=spec.name,
        title=spec.title or f"Staggered adoption: {outcome}",
        kind=EstimateKind.STAGGERED,
        columns=STAGGERED_COLUMNS,
        rows=rows,
        n_total=len(data),
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=("Callaway-Sant'Anna group-time ATT", "analytic influence-function SE"),
        checked=CheckRecord(
            Statistic.RATE if binary else Statistic.MEAN,
            check_threshold(session.rules, Statistic.RATE if binary else Statistic.MEAN),
        ),
    )
    result.unit_populations = group_populations(data[unit], [g_txt, data[period].astype(str)])
    return result


def _deps(
    reasons: dict[tuple[str, ...], list[Reason]],
    groups: list[str],
    periods: list[float],
    members: np.ndarray,
    ks: tuple[int, int],
) -> list[Reason]:
    for m in np.flatnonzero(members):
        for k in ks:
            if reasons.get((groups[m], one_code(periods[k]))):
                return [
                    Reason(
                        "kit",
                        ReasonCode.DEPENDS_ON_SUPPRESSED,
                        "a group × period cell the effect uses is suppressed by the table rules",
                    )
                ]
    return []
