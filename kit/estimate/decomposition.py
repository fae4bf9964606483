"""Decomposition of an area's outcome change into within-person and composition parts.

For an area, between the base period ``B`` and the target period ``T``:
*stayers* ``S`` are units in the area in both periods, *out-movers* ``O`` only
in ``B``, *in-movers* ``I`` only in ``T``. With means ``Y`` and stayers' shares
``s_B = n_S,B / n_B`` and ``s_T = n_S,T / n_T`` of the area's rows, the exact
accounting identity is::

    Y_T - Y_B =  (Y_S,T - Y_S,B)                       within-person change of stayers
               + (1 - s_T) (Y_I,T - Y_S,T)             in-movers vs stayers in T
               - (1 - s_B) (Y_O,B - Y_S,B)             out-movers vs stayers in B

(the last two lines are the composition change). The parts add up to the
total change exactly (tested). Each of the four populations (stayers in B,
stayers in T, out-movers, in-movers) is a cell checked by the table rules; if
any fails, all parts of that area are suppressed.

Examples
--------
>>> import pandas as pd, kit
>>> rows = ([(i, "A", 2011, float(i % 2)) for i in range(12)]
...         + [(i, "A", 2017, float((i + 1) % 2)) for i in range(6)]
...         + [(i, "A", 2017, float(i % 2)) for i in range(20, 26)])
>>> df = pd.DataFrame(rows, columns=["PNR", "area", "year", "y"])
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> res = decomposition(s, df, "y", group="area", period="year", base=2011, target=2017)
>>> res
<DecompositionResult 'decomposition' (decomposition): 4 rows, 0 suppressed; values hidden>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.core.cleared import EstimateKind
from kit.core.populations import table_population_map
from kit.core.spec import safe_name
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.errors import SpecError
from kit.estimate.checks import cell_reasons, refuse_key_columns
from kit.estimate.prepare import check_columns, code_text, is_binary, numeric_column, one_code, sort_codes
from kit.estimate.results import (
    CheckRecord,
    Context,
    EstimateResult,
    ResultRow,
    check_threshold,
    report_round_to,
    spec_fingerprint,
)

__all__ = ["DECOMPOSITION_COLUMNS", "DecompositionResult", "DecompositionSpec", "decomposition"]

#: Columns of a decomposition.
DECOMPOSITION_COLUMNS = ("estimate",)
_PARTS = ("total_change", "within_stayers", "in_movers", "out_movers")


@dataclass(frozen=True)
class DecompositionSpec:
    """Frozen description of a decomposition."""

    outcome: str
    unit: str
    group: str
    period: str
    base: str
    target: str
    name: str = "decomposition"
    title: str = ""

    def __post_init__(self) -> None:
        if self.base == self.target:
            raise SpecError("decomposition", "base and target are the same period", "choose two periods")
        safe_name(self.name, "decomposition name")


class DecompositionResult(EstimateResult):
    """Private decomposition result (zone 2)."""


def decomposition(
    session: Any,
    df: pd.DataFrame,
    outcome: str,
    group: str,
    period: str,
    base: Any,
    target: Any,
    unit: str | None = None,
    name: str = "decomposition",
    title: str = "",
) -> DecompositionResult:
    """Split each area's outcome change from ``base`` to ``target`` into within-person and composition parts.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`.
    df
        Person-period rows (one row per unit, area and period).
    outcome
        Numeric outcome (0/1 gives percentage points).
    group, period
        Area and period columns.
    base, target
        The two periods compared.
    unit
        Unit column identifying persons across periods (default: the session's unit).
    name, title
        Output name and title.

    Returns
    -------
    DecompositionResult
        One row per area and part (``total_change``, ``within_stayers``, ``in_movers``,
        ``out_movers``), keyed ``((group, area), ("part", part))``.
    """
    unit = unit or session.unit
    spec = DecompositionSpec(
        outcome=outcome,
        unit=unit,
        group=group,
        period=period,
        base=one_code(base),
        target=one_code(target),
        name=name,
        title=title,
    )
    where = "decomposition"
    check_columns(df, [outcome, group, period], where, unit=unit)
    refuse_key_columns(session, [group, period], where)
    t_txt = code_text(df[period])
    sel = np.isin(t_txt, [spec.base, spec.target])
    if not (t_txt == spec.base).any() or not (t_txt == spec.target).any():
        raise SpecError(
            where, "the base or the target period has no rows", "choose periods present in the data"
        )
    d = df.loc[sel, [unit, group, outcome]].copy()
    d["_t"] = t_txt[sel]
    d["_g"] = code_text(d[group])
    if d[outcome].isna().any():
        raise SpecError(
            where,
            f"{int(d[outcome].isna().sum())} row(s) have a missing outcome",
            "drop or impute them first: a decomposition needs every resident's outcome",
        )
    y = numeric_column(d, outcome, where)
    binary = is_binary(y)
    d["_y"] = y * (100.0 if binary else 1.0)
    key = d[unit].astype(str) + "\x00" + d["_g"]
    in_base = set(key[d["_t"] == spec.base])
    in_target = set(key[d["_t"] == spec.target])
    stay = key.isin(in_base & in_target).to_numpy()
    is_b = (d["_t"] == spec.base).to_numpy()
    pop = np.where(
        stay, np.where(is_b, "stayers_base", "stayers_target"), np.where(is_b, "out_movers", "in_movers")
    )
    d["_pop"] = pop
    table = session.table(
        pd.DataFrame(
            {session.unit: d[session.unit].to_numpy(), "_g": d["_g"].to_numpy(), "_pop": pop, "_y": y}
        ),
        rows=["_g", "_pop"],
        stat="rate" if binary else "mean",
        measure="_y",
        name=f"{name}-cells",
        codes={"_pop": ["stayers_base", "stayers_target", "out_movers", "in_movers"]},
    )
    reasons = cell_reasons(table)
    rows = []
    for area in sort_codes(sorted(set(d["_g"]))):
        a = d[d["_g"] == area]
        m = {
            p: a.loc[a["_pop"] == p, "_y"]
            for p in ("stayers_base", "stayers_target", "out_movers", "in_movers")
        }
        n_b = int((a["_t"] == spec.base).sum())
        n_t = int((a["_t"] == spec.target).sum())
        s_b = len(m["stayers_base"]) / n_b if n_b else np.nan
        s_t = len(m["stayers_target"]) / n_t if n_t else np.nan

        def mean(s: pd.Series) -> float:
            return float(s.mean()) if len(s) else 0.0

        within = mean(m["stayers_target"]) - mean(m["stayers_base"])
        inm = (1 - s_t) * (mean(m["in_movers"]) - mean(m["stayers_target"]))
        outm = -(1 - s_b) * (mean(m["out_movers"]) - mean(m["stayers_base"]))
        total = mean(a.loc[a["_t"] == spec.target, "_y"]) - mean(a.loc[a["_t"] == spec.base, "_y"])
        bad = any(reasons.get((area, p)) for p in m) or not (n_b and n_t and len(m["stayers_base"]))
        deps = (
            [
                Reason(
                    "kit",
                    ReasonCode.DEPENDS_ON_SUPPRESSED,
                    "a population cell of the area (stayers, in- or out-movers) is suppressed or empty",
                )
            ]
            if bad
            else []
        )
        for part, v in zip(_PARTS, (total, within, inm, outm), strict=False):
            rows.append(ResultRow(f"{area} {part}", ((group, area), ("part", part)), (v,), list(deps)))
    notes = [
        f"Change in {outcome} from {spec.base} to {spec.target} = within-person change of stayers "
        f"+ in-movers vs stayers in {spec.target} × in-movers' share "
        f"+ out-movers vs stayers in {spec.base} × out-movers' share "
        "(an exact accounting identity; the parts add up to the total).",
        ("Percentage points (0/1 outcome × 100)." if binary else "In the outcome's units."),
        "Stayers: units in the area in both periods; in-movers: only in the target period; "
        "out-movers: only in "
        "the base period (including those who left the population).",
        "An area's parts are shown only when its four population cells pass the table rules.",
    ]
    result = DecompositionResult(
        name=spec.name,
        title=spec.title or f"Decomposition of the change in {outcome}",
        kind=EstimateKind.DECOMPOSITION,
        columns=DECOMPOSITION_COLUMNS,
        rows=rows,
        n_total=len(d),
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=report_round_to(session.rules, Statistic.MODEL),
        notes=notes,
        methods=("stayer / mover accounting decomposition",),
        checked=CheckRecord(
            Statistic.RATE if binary else Statistic.MEAN,
            check_threshold(session.rules, Statistic.RATE if binary else Statistic.MEAN),
        ),
    )
    result.unit_populations = table_population_map(table)
    return result
