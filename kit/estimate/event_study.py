"""Event study / difference-in-differences with few treated groups.

Model (person-year rows ``i`` in group ``g`` and period ``t``)::

    y_it = a_g + l_t + sum_{h treated} sum_{k != base} b_hk 1[t = k] 1[g = h] (+ x_it'c) + e_it

one effect ``b_hk`` per treated group and period (``pooled=True``: one
``b_k`` shared by all treated groups), relative to the base period. Effects
are reported in the outcome's units (percentage points when the outcome is
0/1: multiplied by 100) and as a percentage of the treated group's
base-period level.

Computation. Every dummy is a function of the group × period cell, so the OLS
estimate and its cluster-robust covariance depend on the data only through
cell sums (and per-group covariate cross products); see
:mod:`kit.estimate.collapsed`. The person-level data are collapsed once and
all fits (the real one and every placebo) run on the cell table. This equals
statsmodels' OLS on the person-level rows to 1e-8 (tested).

Inference. Cluster-robust (CR1, by group) standard errors with t intervals on
``G - 1`` degrees of freedom, and randomisation inference
(:mod:`kit.estimate.permutation`): placebo effects for groups drawn from the
comparison pool. With covariates, their coefficients are estimated once in
the real model (Frisch-Waugh) and the placebo runs use the covariate-adjusted
outcome ``y - x'c``. A per-group effect's placebo distribution comes from
single-group placebos; a pooled effect's from placebo sets of the same size
as the treated set.

Checks. The table rules run on the outcome by group × period (rate for a 0/1
outcome, else mean) through ``session.table``. An effect depends on its
treated cell, the treated group's base cell, and the comparison cells of its
period and of the base period; if any of them is suppressed the effect is
suppressed (``DEPENDS_ON_SUPPRESSED``). Residual degrees of freedom are
checked against ``residual_dof``.

Examples
--------
>>> import numpy as np, pandas as pd, kit
>>> rng = np.random.default_rng(1)
>>> rows = [(f"{a}-{i}", a, y, float(rng.random() < 0.4 + 0.1 * (a == "T" and y >= 2012)))
...         for a in ["T", "C1", "C2", "C3", "C4"] for i in range(40) for y in range(2010, 2014)]
>>> df = pd.DataFrame(rows, columns=["PNR", "area", "year", "emp"])
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> res = event_study(s, df, "emp", group="area", period="year", treated={"T": 2012},
...                   comparison=["C1", "C2", "C3", "C4"], base_period=2011, permutations=99)
>>> res
<EventStudyResult 'event_study' (event_study): 3 rows, 0 suppressed; values hidden>
>>> kit.clear(res).columns[:4]
('estimate', 'std_error', 'ci_low', 'ci_high')
"""

from __future__ import annotations

import contextlib
import enum
import logging
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
from kit.core.table import round_n
from kit.errors import SchemaError, SpecError
from kit.estimate.checks import cell_reasons, dof_reasons, refuse_key_columns
from kit.estimate.collapsed import CellStats, cluster_cov, solve
from kit.estimate.design import sparse_columns
from kit.estimate.permutation import Assignments, assignments, permutation_p
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
from kit.progress import Progress, track

__all__ = ["EVENT_STUDY_COLUMNS", "EventStudyResult", "EventStudySpec", "FlagBy", "event_study"]

log = logging.getLogger(__name__)

#: Columns of an event study's cleared estimate.
EVENT_STUDY_COLUMNS = (
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "p_perm",
    "pct_of_base",
    "pct_ci_low",
    "pct_ci_high",
    "ri_low",
    "ri_high",
    "pct_ri_low",
    "pct_ri_high",
)


class FlagBy(enum.Enum):
    """Which test sets the "not distinguishable from zero" flag."""

    PERMUTATION = "permutation"
    CLUSTER = "cluster"
    EITHER = "either"


@dataclass(frozen=True)
class EventStudySpec:
    """Frozen, data-free description of an event study (its fingerprint goes into provenance)."""

    outcome: str
    group: str
    period: str
    treated: tuple[tuple[str, str], ...]
    comparison: tuple[str, ...]
    base_period: str
    covariates: tuple[str, ...] = ()
    subgroup: str | None = None
    include_all: bool = True
    pooled: bool = False
    permutations: int = 999
    seed: int = 0
    alpha: float = 0.05
    flag_by: FlagBy = FlagBy.PERMUTATION
    missing: MissingPolicy = MissingPolicy.DROP
    name: str = "event_study"
    title: str = ""

    def __post_init__(self) -> None:
        where = "event study"
        if not self.treated:
            raise SpecError(where, "no treated group was given", 'pass treated={"Sundparken": 2012}')
        if len(self.comparison) < 2:
            raise SpecError(
                where,
                f"{len(self.comparison)} comparison group(s) were given; at least 2 are "
                "needed for cluster-robust errors and randomisation inference",
                "add comparison groups (similar areas that were not treated)",
            )
        tr = [g for g, _ in self.treated]
        if len(set(tr)) != len(tr) or len(set(self.comparison)) != len(self.comparison):
            raise SpecError(where, "a group is listed twice", "list each treated and comparison group once")
        both = set(tr) & set(self.comparison)
        if both:
            raise SpecError(
                where,
                f"{len(both)} group(s) are both treated and comparison groups",
                "a comparison group must not be treated",
            )
        if self.permutations < 0:
            raise SpecError(where, "permutations must be zero or positive", "pass permutations=999")
        if not 0 < self.alpha < 1:
            raise SpecError(where, "alpha must lie between 0 and 1", "pass alpha=0.05")
        if self.group in (self.period, self.outcome) or self.period == self.outcome:
            raise SpecError(where, "outcome, group and period must be different columns", "check the names")
        if self.subgroup in (self.group, self.period, self.outcome):
            raise SpecError(
                where,
                "the subgroup column is also the outcome, group or period",
                "use a separate column for subgroups",
            )
        safe_name(self.name, "event study name")


class EventStudyResult(EstimateResult):
    """Private event-study result (zone 2). Clear it with :func:`kit.clear`."""


def event_study(
    session: Any,
    df: pd.DataFrame,
    outcome: str,
    group: str,
    period: str,
    treated: Mapping[Any, Any],
    comparison: Sequence[Any],
    base_period: Any,
    covariates: Sequence[str] = (),
    subgroup: str | None = None,
    include_all: bool = True,
    pooled: bool = False,
    permutations: int = 999,
    seed: int = 0,
    cluster: str | None = None,
    alpha: float = 0.05,
    flag_by: str | FlagBy = FlagBy.PERMUTATION,
    missing: str | MissingPolicy = MissingPolicy.DROP,
    name: str = "event_study",
    title: str = "",
    progress: Progress | None = None,
) -> EventStudyResult:
    """Estimate an event study with cluster-robust and randomisation inference.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session` (rule set, unit column, provenance).
    df
        Person-period rows (one per unit and period; repeated units are fine).
    outcome
        Numeric outcome; a 0/1 outcome gives effects in percentage points.
    group, period
        Group (area) and period (year) columns.
    treated
        Treated groups and their start period, e.g. ``{"Sundparken": 2012}``.
    comparison
        Comparison groups (at least two). Rows of other groups are ignored.
    base_period
        The omitted reference period (effects are relative to it).
    covariates
        Person-level covariates; numeric columns enter linearly, other columns
        as dummies (first category dropped).
    subgroup
        Optional column: the model is estimated separately within each of its
        values (e.g. newcomers / stayers); ``include_all`` adds the whole sample
        as subgroup ``"all"``.
    pooled
        One effect per period shared by all treated groups instead of one per group.
    permutations
        Largest number of placebo assignments (exact enumeration when fewer are
        possible; 0 switches randomisation inference off).
    seed
        Seed of the random placebo draws.
    cluster
        Cluster column; only the group column is supported (the default).
    alpha
        Level of the tests and of the ``1 - alpha`` intervals.
    flag_by
        ``"permutation"`` (default), ``"cluster"`` or ``"either"``: which p-value
        sets ``Flag.NOT_DISTINGUISHABLE_FROM_ZERO``.
    missing
        ``"drop"`` rows with missing values (count in the notes) or ``"raise"``.
    name, title
        Output name and title.
    progress
        Reports the placebo draws of the randomisation inference (:mod:`kit.progress`;
        ``None``, the default, reports nothing).

    Returns
    -------
    EventStudyResult
        Columns :data:`EVENT_STUDY_COLUMNS`; rows keyed by
        ``((group, g), ("group", subgroup), (period, k), ("event_time", k - start))``.
    """
    where = "event study"
    spec = EventStudySpec(
        outcome=outcome,
        group=group,
        period=period,
        treated=tuple((one_code(g), one_code(s)) for g, s in dict(treated).items()),
        comparison=tuple(one_code(c) for c in comparison),
        base_period=one_code(base_period),
        covariates=tuple(covariates),
        subgroup=subgroup,
        include_all=include_all,
        pooled=pooled,
        permutations=int(permutations),
        seed=int(seed),
        alpha=float(alpha),
        flag_by=FlagBy(str(getattr(flag_by, "value", flag_by)).lower()),
        missing=MissingPolicy.parse(missing, where),
        name=name,
        title=title,
    )
    if cluster is not None and cluster != group:
        raise SpecError(
            where,
            "the event study clusters by its group column only",
            f"leave cluster out (it defaults to '{group}')",
        )
    unit = session.unit
    refuse_key_columns(session, [group, period, subgroup], where)
    check_columns(df, [outcome, group, period, subgroup, *spec.covariates], where, unit=unit)
    gtext = code_text(df[group])
    groups = [g for g, _ in spec.treated] + list(spec.comparison)
    in_sample = np.isin(gtext, groups)
    absent = [g for g in groups if g not in set(gtext[in_sample])]
    if absent:
        raise SpecError(
            where,
            f"{len(absent)} treated or comparison group(s) have no rows in the data "
            f"(listed groups: {absent})",
            "check the group codes",
        )
    cols = [unit, outcome, group, period, *spec.covariates] + ([subgroup] if subgroup else [])
    data = df.loc[in_sample, list(dict.fromkeys(cols))]
    data, n_dropped = drop_missing(data, cols, spec.missing, where)
    y = numeric_column(data, outcome, where)
    binary = is_binary(y)
    scale = 100.0 if binary else 1.0
    frame = pd.DataFrame(
        {unit: data[unit].to_numpy(), "_g": code_text(data[group]), "_t": code_text(data[period]), "_y": y}
    )
    periods = sort_codes(sorted(set(frame["_t"])))
    if spec.base_period not in periods:
        raise SpecError(
            where, "the base period has no rows in the data", "choose a period present in the data"
        )
    x = _covariates(data, spec.covariates, where)
    sub_values = _subgroups(data, subgroup, include_all)
    if subgroup is not None:
        check_subgroups(session, frame, [(lab, m) for lab, m in sub_values if m is not None], stat_of(binary), where)
    ctx = Context.from_session(session)
    round_to = report_round_to(session.rules, Statistic.MODEL)
    stat = Statistic.RATE if binary else Statistic.MEAN

    rows: list[ResultRow] = []
    blocked: list[Reason] = _covariate_reasons(session, frame[unit], x)
    notes_assign: list[str] = []
    private: list[str] = []
    n_used = 0
    dofs: list[float] = []
    for label, mask in sub_values:
        f = frame.loc[mask] if mask is not None else frame
        xs = x[mask] if (x is not None and mask is not None) else x
        sub_rows, info = _one_subgroup(session, spec, f, xs, periods, groups, scale, stat, label, progress)
        rows.extend(sub_rows)
        blocked.extend(b for b in info["blocked"] if b not in blocked)
        if info["assign"] not in notes_assign:
            notes_assign.append(info["assign"])
        private.extend(info["private"])
        n_used += int(info["n"])
        dofs.append(float(info["dof"]))
    notes = _notes(spec, binary, len(groups), notes_assign, n_dropped, round_to)
    if n_dropped:
        private.append(f"{n_dropped} row(s) with missing values were dropped (exact count, not for release).")
    methods = (
        "OLS with group and period fixed effects on cell sums (event study)",
        "CR1 cluster-robust errors by group, t(G-1)",
        "randomisation inference over the comparison pool" if spec.permutations else "no permutation",
    )
    result = EventStudyResult(
        name=spec.name,
        title=spec.title or f"Event study: {outcome}",
        kind=EstimateKind.EVENT_STUDY,
        columns=EVENT_STUDY_COLUMNS,
        rows=rows,
        n_total=n_used,
        context=ctx,
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=methods,
        blocked=blocked,
        private_notes=private,
        n_label="person-period observations",
        checked=CheckRecord(stat, check_threshold(session.rules, stat), dof=min(dofs) if dofs else None),
    )
    result.unit_populations = group_populations(frame[unit], [frame["_g"], frame["_t"]])
    return result


# ---------------------------------------------------------------------- helpers
def _covariates(data: pd.DataFrame, covariates: Sequence[str], where: str) -> np.ndarray | None:
    if not covariates:
        return None
    parts = []
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(numeric_column(data, c, where)[:, None])
        else:
            codes = code_text(s)
            levels = sort_codes(sorted(set(codes)))
            for lev in levels[1:]:
                parts.append((codes == lev).astype(float)[:, None])
    if not parts:
        return None
    return np.hstack(parts)


def _covariate_reasons(session: Any, units: pd.Series, x: np.ndarray | None) -> list[Reason]:
    """Block covariate columns held by fewer than the threshold of units.

    Such a column acts as the units' dummy: their rows fit exactly (as if dropped), so the effects
    with and without it, with the cell's mean and count, give their outcome.
    """
    k = check_threshold(session.rules, Statistic.MODEL)
    if x is None or k <= 1:
        return []
    codes, levels = pd.factorize(units)
    sparse = sparse_columns(x, codes, len(levels), k)
    if not sparse:
        return []
    return [Reason("kit", ReasonCode.TERM_TOO_FEW_UNITS,
                   f"{len(sparse)} covariate column(s) take a value other than their most common one for fewer "
                   f"than {k} distinct units (such a column is those units' dummy)")]


def stat_of(binary: bool) -> Statistic:
    """The table statistic of the event study's cells: a rate for a 0/1 outcome, else a mean."""
    return Statistic.RATE if binary else Statistic.MEAN


def check_subgroups(
    session: Any, frame: pd.DataFrame, subgroups: Sequence[tuple[str, np.ndarray]], stat: Statistic, where: str
) -> None:
    """Refuse subgroups that, with the whole sample, would isolate fewer than ``k`` units in a cell.

    Each subgroup's effects are published next to those of the whole sample
    (``include_all``) and of the other subgroups, and the comparison groups'
    cells are public as rates or means, so the subgroup and its complement
    (all minus the subgroup) must each hold either no unit or at least ``k``
    units in every group × period cell. Checked before anything is estimated;
    the message gives counts only.
    """
    k = session.rules.min_units(stat)
    if k <= 1:
        return
    unit = session.unit
    bad_cells = 0
    bad_groups = 0
    total = frame.groupby(["_g", "_t"], sort=False)[unit].nunique()
    for _label, mask in subgroups:
        inside = frame.loc[mask].groupby(["_g", "_t"], sort=False)[unit].nunique()
        inside = inside.reindex(total.index, fill_value=0)
        # the rest of the cell: its units that are not in the subgroup (also when subgroups overlap,
        # e.g. stacked 'all' and 'newcomers' rows, where 'all' minus 'newcomers' is the stayers)
        outside = total - inside
        n_bad = int(((inside > 0) & (inside < k)).sum() + ((outside > 0) & (outside < k)).sum())
        if n_bad:
            bad_cells += n_bad
            bad_groups += 1
    if bad_groups:
        raise SpecError(
            where,
            f"{bad_groups} subgroup(s) have, in {bad_cells} group-period cell(s), fewer than {k} distinct "
            f"units in the subgroup or in the rest of the cell; their effects together with the whole "
            "sample's and the comparison groups' published cells would give those units' outcomes",
            "merge small subgroups, or leave the subgroup split out",
        )


def _subgroups(
    data: pd.DataFrame, subgroup: str | None, include_all: bool
) -> list[tuple[str, np.ndarray | None]]:
    out: list[tuple[str, np.ndarray | None]] = []
    if subgroup is None or include_all:
        out.append(("all", None))
    if subgroup is not None:
        codes = code_text(data[subgroup])
        for v in sort_codes(sorted(set(codes))):
            out.append((v, codes == v))
    return out


def collapse(
    frame: pd.DataFrame, x: np.ndarray | None, groups: Sequence[str], periods: Sequence[str]
) -> CellStats:
    """Cell sums of the outcome (and covariates) by group × period (private)."""
    gi = pd.Categorical(frame["_g"], categories=list(groups)).codes.astype(np.int64)
    ti = pd.Categorical(frame["_t"], categories=list(periods)).codes.astype(np.int64)
    n_t = len(periods)
    cell = gi * n_t + ti
    size = len(groups) * n_t
    n = np.bincount(cell, minlength=size).astype(float)
    sy = np.bincount(cell, weights=frame["_y"].to_numpy(), minlength=size)
    syy = np.bincount(cell, weights=frame["_y"].to_numpy() ** 2, minlength=size)
    present = n > 0
    idx = np.flatnonzero(present)
    sx = xx_g = xy_g = None
    if x is not None:
        p = x.shape[1]
        sx = np.column_stack([np.bincount(cell, weights=x[:, j], minlength=size) for j in range(p)])[idx]
        xx_g = np.zeros((len(groups), p, p))
        xy_g = np.zeros((len(groups), p))
        order = np.argsort(gi, kind="stable")
        bounds = np.searchsorted(gi[order], np.arange(len(groups) + 1))
        yv = frame["_y"].to_numpy()
        for g in range(len(groups)):
            rows = order[bounds[g] : bounds[g + 1]]
            xg = x[rows]
            xx_g[g] = xg.T @ xg
            xy_g[g] = xg.T @ yv[rows]
    return CellStats(g=idx // n_t, t=idx % n_t, n=n[idx], sy=sy[idx], sx=sx, xx_g=xx_g, xy_g=xy_g,
                     syy=syy[idx])


def design(
    cells: CellStats, treated: Sequence[int], base: int, pooled: bool, n_periods: int
) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
    """Cell-level design: group dummies, period dummies (base left out), effect dummies.

    Periods without a control cell are left out of the sample (their effects are
    not identified). Returns the design, the effect labels ``(group or -1, period)``
    in column order, and the mask of cells kept.
    """
    tr = np.isin(cells.g, treated)
    ctrl_periods = np.unique(cells.t[~tr])
    keep = np.isin(cells.t, ctrl_periods)
    g, t = cells.g[keep], cells.t[keep]
    gs = np.unique(g)
    cols = [(g == v).astype(float) for v in gs]
    cols += [(t == k).astype(float) for k in ctrl_periods if k != base]
    effects: list[tuple[int, int]] = []
    trk = np.isin(g, treated)
    for k in range(n_periods):
        if k == base or k not in ctrl_periods:
            continue
        if pooled:
            col = (trk & (t == k)).astype(float)
            if col.any():
                cols.append(col)
                effects.append((-1, k))
        else:
            for h in treated:
                col = ((g == h) & (t == k)).astype(float)
                if col.any():
                    cols.append(col)
                    effects.append((h, k))
    z = np.column_stack(cols) if cols else np.zeros((len(g), 0))
    return z, effects, keep


def _one_subgroup(
    session: Any,
    spec: EventStudySpec,
    f: pd.DataFrame,
    x: np.ndarray | None,
    periods: list[str],
    groups: list[str],
    scale: float,
    stat: Statistic,
    label: str,
    progress: Progress | None = None,
) -> tuple[list[ResultRow], dict[str, Any]]:
    where = f"event study, subgroup '{label}'" if label != "all" else "event study"
    n_tr = len(spec.treated)
    base = periods.index(spec.base_period)
    f = f.assign(_y=f["_y"] * scale)
    # ---- table rules on the cells (unscaled outcome: a 0/1 rate or a mean)
    check = pd.DataFrame(
        {
            session.unit: f[session.unit].to_numpy(),
            "_g": f["_g"].to_numpy(),
            "_t": f["_t"].to_numpy(),
            "_y": f["_y"].to_numpy() / scale,
        }
    )
    if len(check) == 0:
        raise SchemaError(where, "the subgroup has no rows", "check the subgroup column")
    table = session.table(check, rows=["_g", "_t"], stat=stat.value, measure="_y", name=f"{spec.name}-cells")
    reasons = cell_reasons(table)
    cells = collapse(f, x, groups, periods)
    # ---- base-period observations of every treated group
    no_base = [groups[h] for h in range(n_tr) if not ((cells.g == h) & (cells.t == base)).any()]
    if no_base:
        raise SpecError(
            where,
            f"{len(no_base)} treated group(s) have no observations in the base period (groups: {no_base})",
            "choose a base period in which every treated group is observed, or leave the group out",
        )
    treated_idx = list(range(n_tr))
    z, effects, keep = design(cells, treated_idx, base, spec.pooled, len(periods))
    kept = cells.subset(keep)
    fit = solve(kept, z, where)
    cov = cluster_cov(kept, z, fit)
    q = z.shape[1]
    n_groups = len(np.unique(kept.g))
    dof_t = n_groups - 1
    k_eff = len(effects)
    beta = fit.theta[q - k_eff : q]
    se = np.sqrt(np.clip(np.diag(cov)[q - k_eff : q], 0.0, None))
    tcrit = float(sps.t.ppf(1 - spec.alpha / 2, dof_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        pval = 2 * sps.t.sf(np.abs(beta / se), dof_t)
    # ---- randomisation inference on the comparison pool
    gamma = fit.theta[q:] if cells.p else None
    p_perm, assign, placebos, var_placebos = _permute(spec, cells, gamma, effects, beta, base, len(periods), n_tr,
                                                   progress)
    var_treated = np.array([np.nan if h < 0 or spec.pooled else sampling_var(cells, h, k, base)
                            for h, k in effects])
    ri = _ri_intervals(beta, placebos, spec.alpha, var_treated, var_placebos)
    # ---- base levels (treated group's base-period mean, scaled)
    base_level: dict[int, float] = {}
    for h in treated_idx:
        m = (cells.g == h) & (cells.t == base)
        base_level[h] = float(cells.sy[m].sum() / cells.n[m].sum())
    if spec.pooled:
        m = np.isin(cells.g, treated_idx) & (cells.t == base)
        base_level[-1] = float(cells.sy[m].sum() / cells.n[m].sum())
    # ---- rows
    est = {e: i for i, e in enumerate(effects)}
    comp_cells = {(groups[g], periods[t]) for g, t in zip(kept.g, kept.t, strict=False) if g >= n_tr}
    rows: list[ResultRow] = []
    owners = [-1] if spec.pooled else treated_idx
    for h in owners:
        gname = "pooled" if h == -1 else groups[h]
        for k, pname in enumerate(periods):
            if k == base:
                continue
            keys = _keys(spec, gname, label, pname, h)
            term = f"{gname} {label} {pname}"
            i = est.get((h, k))
            if i is None:
                rows.append(ResultRow(term, keys, (None,) * len(EVENT_STUDY_COLUMNS)))
                continue
            deps = _dependencies(reasons, spec, groups, periods, h, k, base, comp_cells, n_tr)
            lo, hi = beta[i] - tcrit * se[i], beta[i] + tcrit * se[i]
            bl = base_level[h]
            pct = (100 * beta[i] / bl, 100 * lo / bl, 100 * hi / bl) if bl != 0 else (None, None, None)
            r_lo, r_hi = ri[i]
            pct_ri = ((100 * r_lo / bl, 100 * r_hi / bl) if bl != 0 and not np.isnan(r_lo)
                      else (None, None))
            ri_values = (None, None) if np.isnan(r_lo) else (r_lo, r_hi)
            values = (beta[i], se[i], lo, hi, pval[i], p_perm[i], *pct, *ri_values, *pct_ri)
            flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if _not_distinct(spec, pval[i], p_perm[i]) else ()
            rows.append(
                ResultRow(term, keys, tuple(float(v) if v is not None else None for v in values), deps, flags)
            )
    blocked = dof_reasons(session.rules, fit.n_obs - fit.k)
    private = []
    dropped_periods = len(periods) - len(np.unique(kept.t))
    if dropped_periods:
        private.append(
            f"subgroup {label}: {dropped_periods} period(s) without comparison observations "
            "were left out (their effects are not identified)."
        )
    return rows, {"blocked": blocked, "assign": assign, "private": private, "n": fit.n_obs, "dof": fit.n_obs - fit.k}


def _keys(spec: EventStudySpec, gname: str, label: str, pname: str, h: int) -> tuple[tuple[str, str], ...]:
    keys = [(spec.group, gname), ("group", label), (spec.period, pname)]
    if h >= 0:
        start = dict(spec.treated)[gname]
        with contextlib.suppress(ValueError):
            keys.append(("event_time", one_code(float(pname) - float(start))))
    return tuple(keys)


def _dependencies(
    reasons: dict[tuple[str, ...], list[Reason]],
    spec: EventStudySpec,
    groups: list[str],
    periods: list[str],
    h: int,
    k: int,
    base: int,
    comp_cells: set[tuple[str, str]],
    n_tr: int,
) -> list[Reason]:
    owners = range(n_tr) if h == -1 else [h]
    bad_treated = any(reasons.get((groups[o], periods[k])) for o in owners)
    bad_base = any(reasons.get((groups[o], periods[base])) for o in owners)
    bad_comp = any(reasons.get(c) for c in comp_cells if c[1] in (periods[k], periods[base]))
    out = []
    if bad_treated:
        out.append(
            Reason(
                "kit",
                ReasonCode.DEPENDS_ON_SUPPRESSED,
                "the treated group's cell in this period is suppressed by the table rules",
            )
        )
    if bad_base:
        out.append(
            Reason(
                "kit",
                ReasonCode.DEPENDS_ON_SUPPRESSED,
                "the treated group's base-period cell is suppressed by the table rules",
            )
        )
    if bad_comp:
        out.append(
            Reason(
                "kit",
                ReasonCode.DEPENDS_ON_SUPPRESSED,
                "a comparison cell in this period or the base period is suppressed by the table rules",
            )
        )
    return out


def _not_distinct(spec: EventStudySpec, p_cluster: float, p_perm: float) -> bool:
    a = spec.alpha
    perm_ok = not np.isnan(p_perm)
    if spec.flag_by is FlagBy.CLUSTER or (spec.flag_by is FlagBy.PERMUTATION and not perm_ok):
        return bool(not p_cluster < a)
    if spec.flag_by is FlagBy.PERMUTATION:
        return bool(not p_perm < a)
    return bool(not p_cluster < a or not (perm_ok and p_perm < a))


def _ri_intervals(beta: np.ndarray, placebos: np.ndarray, alpha: float,
                  var_treated: np.ndarray | None = None,
                  var_placebos: np.ndarray | None = None) -> list[tuple[float, float]]:
    """Randomisation-inference intervals (Conley and Taber 2011; Ferman and Pinto 2019).

    The placebo effects of comparison groups estimate the distribution of the
    treated group's estimation error, area-level shocks included (which
    cluster-robust errors with one treated group leave out). Groups differ in
    size, so each error is modelled as an area shock of common variance
    ``s2`` plus sampling noise of the group's own variance ``v``: the placebo
    effects are standardised by ``sqrt(s2 + v_j)``, with ``s2`` estimated as
    ``mean(placebo^2) - mean(v_j)`` (at least 0), and their quantiles rescaled
    by the treated group's ``sqrt(s2 + v)``. Without variances (pooled effects)
    the plain quantiles are used: ``[beta - q(1 - alpha/2), beta - q(alpha/2)]``.
    At least ``1 / alpha - 1`` placebos are needed, else the interval is NaN.

    >>> lo_hi = _ri_intervals(np.array([5.0]), np.arange(-10.0, 11.0)[:, None], 0.05)
    >>> [round(v, 2) for v in lo_hi[0]]
    [-4.5, 14.5]
    """
    out: list[tuple[float, float]] = []
    for i, b in enumerate(beta):
        vals = placebos[:, i] if placebos.size else np.zeros(0)
        finite = np.isfinite(vals)
        vals = vals[finite]
        if len(vals) < max(2, int(np.ceil(1 / alpha)) - 1):
            out.append((np.nan, np.nan))
            continue
        v_tr = np.nan if var_treated is None else float(var_treated[i])
        v_pl = None if var_placebos is None or not var_placebos.size else var_placebos[:, i][finite]
        if v_pl is not None and np.isfinite(v_tr) and np.all(np.isfinite(v_pl)):
            s2 = max(float(np.mean(vals**2) - np.mean(v_pl)), 0.0)
            scaled = vals / np.sqrt(s2 + v_pl)
            q_lo, q_hi = np.quantile(scaled, [alpha / 2, 1 - alpha / 2]) * np.sqrt(s2 + v_tr)
        else:
            q_lo, q_hi = np.quantile(vals, [alpha / 2, 1 - alpha / 2])
        out.append((float(b - q_hi), float(b - q_lo)))
    return out


def _permute(
    spec: EventStudySpec,
    cells: CellStats,
    gamma: np.ndarray | None,
    effects: list[tuple[int, int]],
    beta: np.ndarray,
    base: int,
    n_periods: int,
    n_tr: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, str, np.ndarray, np.ndarray]:
    """Permutation p-values, the placebo effects and their sampling variances (placebo x effect)."""
    if spec.permutations == 0:
        return (np.full(len(effects), np.nan), "no randomisation inference (permutations=0)",
                np.zeros((0, len(effects))), np.zeros((0, len(effects))))
    comp = cells.subset(cells.g >= n_tr)
    sy = comp.sy - (comp.sx @ gamma if gamma is not None and comp.sx is not None else 0.0)
    comp = CellStats(g=comp.g, t=comp.t, n=comp.n, sy=sy, syy=comp.syy)
    pool = sorted(set(comp.g.tolist()))
    size = n_tr if spec.pooled else 1
    a: Assignments = assignments(len(pool), size, spec.permutations, spec.seed)
    placebo = np.full((len(a.sets), n_periods), np.nan)
    var_placebo = np.full((len(a.sets), n_periods), np.nan)
    for j, chosen in enumerate(track(progress, a.sets, "event study: permutations", unit="draws")):
        fake = [pool[c] for c in chosen]
        if len(fake) == 1:
            for k in range(n_periods):
                var_placebo[j, k] = sampling_var(comp, fake[0], k, base)
        has_base = all(((comp.g == f) & (comp.t == base)).any() for f in fake)
        if not has_base:
            continue
        z, eff, keep = design(comp, fake, base, True, n_periods)
        try:
            fit = solve(comp.subset(keep), z)
        except SpecError:
            continue
        q = z.shape[1]
        b = fit.theta[q - len(eff) : q]
        for (_, k), v in zip(eff, b, strict=False):
            placebo[j, k] = v
    by_period = np.array([placebo[:, k] for _, k in effects]).T if effects else np.zeros((len(a.sets), 0))
    var_by_period = (np.array([var_placebo[:, k] for _, k in effects]).T if effects
                     else np.zeros((len(a.sets), 0)))
    p = permutation_p(beta, by_period)
    note = f"{a.describe()}; smallest attainable p_perm = 1/{len(a.sets) + 1}" + (
        " (placebo sets of " + str(size) + " groups)" if size > 1 else " (single-group placebos)"
    )
    return p, note, by_period, var_by_period


def sampling_var(cells: CellStats, g: int, k: int, base: int) -> float:
    """Sampling variance of one group's period-k change from the base period (cell variances / n).

    The comparison pool's own sampling variance is left out: it is common to the
    treated and the placebo groups and small against a single group's.
    """
    if cells.syy is None:
        return float("nan")
    total = 0.0
    for period in (k, base):
        m = (cells.g == g) & (cells.t == period)
        n = float(cells.n[m].sum())
        if n < 2:
            return float("nan")
        sy, syy = float(cells.sy[m].sum()), float(cells.syy[m].sum())
        total += max(syy - sy * sy / n, 0.0) / (n - 1) / n
    return total


def _notes(
    spec: EventStudySpec, binary: bool, n_groups: int, assign_notes: list[str], n_dropped: int, round_to: int
) -> list[str]:
    cov = f" and covariates ({', '.join(spec.covariates)})" if spec.covariates else ""
    units = "Effects in percentage points (0/1 outcome × 100)" if binary else "Effects in the outcome's units"
    level = "treated groups' pooled" if spec.pooled else "treated group's"
    flag_text = {
        FlagBy.PERMUTATION: f"the permutation p-value p_perm is at least {spec.alpha:g}",
        FlagBy.CLUSTER: f"the cluster-robust {1 - spec.alpha:.0%} interval covers zero",
        FlagBy.EITHER: (
            f"the cluster-robust {1 - spec.alpha:.0%} interval covers zero or p_perm is at "
            f"least {spec.alpha:g}"
        ),
    }[spec.flag_by]
    notes = [
        f"Event study (OLS): {spec.outcome} on {spec.group} and {spec.period} fixed effects{cov}, "
        "with one effect "
        f"per {'period for the pooled treated groups' if spec.pooled else 'treated group and period'}, "
        f"relative to the base period {spec.base_period}; {len(spec.comparison)} comparison groups. Computed "
        "exactly from group × period cell sums.",
        f"{units}; pct_of_base = effect / {level} {spec.base_period} level × 100 "
        "(interval scaled the same way).",
        f"Standard errors cluster-robust by {spec.group} (CR1, {n_groups} clusters); {1 - spec.alpha:.0%} "
        "intervals and p_value from the t distribution with clusters − 1 degrees of freedom.",
        "p_perm: randomisation inference, placebo treatment of comparison groups, two-sided on |effect|: "
        + "; ".join(assign_notes)
        + ".",
        f"ri_low, ri_high: {1 - spec.alpha:.0%} randomisation-inference interval (Conley and Taber 2011, "
        "with Ferman and Pinto's 2019 correction for group size): the effect minus the quantiles of the "
        "placebo effects, standardised by area-shock plus sampling variance and rescaled to the treated "
        "group's; area-level shocks are included; use it with few treated groups (pct_ri_* scaled as "
        "pct_of_base).",
        f"Marked not distinguishable from zero when {flag_text}"
        + (
            " (with few treated groups cluster-robust errors are too small, so the permutation test is used)."
            if spec.flag_by is FlagBy.PERMUTATION
            else "."
        ),
        "An effect is shown only when its treated cell, the base-period cell and the comparison cells of its "
        "period and of the base period pass the table rules.",
    ]
    if n_dropped:
        notes.append(
            f"About {max(round_n(n_dropped, round_to), round_to)} rows with missing values were left out."
        )
    return notes
