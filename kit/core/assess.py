"""Primary assessment: apply a rule set to per-cell evidence.

:func:`assess` runs every rule that applies to the table's statistic and unit
type on the evidence and returns an :class:`Assessment`: a status and the
reasons for every cell, plus table-level flags. It is pure: same evidence and
rules, same assessment. Secondary suppression (:mod:`kit.protect`) then turns
SAFE cells SECONDARY where needed and records the audit.

Assessments are for the researcher's ``summary()`` and the checker's report,
never for a release: they hold per-cell evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kit.core.evidence import TOTAL, Evidence
from kit.core.rules import primary
from kit.core.rules.loader import RuleSet
from kit.core.rules.model import (
    Differencing,
    Dominance,
    GroupDisclosure,
    NegativeMode,
    NegativeValues,
    PPercent,
    RuleKind,
    Threshold,
    Zeros,
)
from kit.core.spec import TableSpec
from kit.core.spec_types import Statistic, UnitType
from kit.core.status import CellStatus, Reason, ReasonCode, Verdict
from kit.errors import SpecError

__all__ = ["Assessment", "assess", "needs_absolute", "top_k_needed"]


@dataclass
class Assessment:
    """Statuses and reasons per cell (private: for the checker, never released).

    ``statuses`` and ``reasons`` are aligned with the evidence frame's rows;
    ``published`` marks rows that are part of the output (inner cells, and
    margins when the table publishes them). ``audit`` is filled by protection, and
    ``hierarchies`` (sub-totals of a dimension) with what protection was given, so the
    release writer can audit the published pattern again.
    Statuses and reasons are tuples and ``published`` is a read-only array: a
    status is changed only by building new tuples (protection does), never by
    item assignment. The release writer does not trust them anyway: it
    re-derives the primary statuses from the evidence.
    """

    statuses: tuple[CellStatus, ...]
    reasons: tuple[tuple[Reason, ...], ...]
    published: np.ndarray
    verdict: Verdict
    table_reasons: list[Reason] = field(default_factory=list)
    audit: Any = None
    protected: bool = False
    protection_method: str = ""
    hierarchies: Any = None
    #: value of the secondary suppressions and its share of the table's total (set by protection;
    #: private, for the checker's report: never for a release)
    suppressed_value: float | None = None
    suppressed_share: float | None = None

    def __post_init__(self) -> None:
        self.statuses = tuple(self.statuses)
        self.reasons = tuple(tuple(r) for r in self.reasons)
        published = np.array(self.published, dtype=bool)
        published.flags.writeable = False
        self.published = published

    def __setattr__(self, name: str, value: object) -> None:
        if name == "statuses":
            value = tuple(value)  # type: ignore[arg-type]
        elif name == "reasons":
            value = tuple(tuple(r) for r in value)  # type: ignore[attr-defined]
        elif name == "published":
            arr = np.array(value, dtype=bool)
            arr.flags.writeable = False
            value = arr
        object.__setattr__(self, name, value)

    def counts(self) -> dict[str, int]:
        """Number of published cells per status."""
        out: dict[str, int] = {s.name: 0 for s in CellStatus}
        for status, pub in zip(self.statuses, self.published):
            if pub:
                out[status.name] += 1
        return out

    def __repr__(self) -> str:
        return f"<Assessment verdict={self.verdict.value} counts={self.counts()}>"


def needs_absolute(rules: RuleSet, statistic: Statistic) -> bool:
    """Whether dominance is judged on absolute contributions for this statistic."""
    for rule in rules.of_kind(RuleKind.NEGATIVE_VALUES, statistic):
        if isinstance(rule.params, NegativeValues) and rule.params.mode is NegativeMode.ABSOLUTE:
            return True
    return False


def top_k_needed(rules: RuleSet, statistic: Statistic, unit_type: UnitType) -> int:
    """How many largest contributions the rules need (0 for counts and rates)."""
    if not statistic.is_magnitude:
        return 0
    k = 0
    for rule in rules.of_kind(RuleKind.DOMINANCE, statistic):
        if isinstance(rule.params, Dominance) and unit_type in rule.params.unit_types:
            k = max(k, rule.params.n_units)
    if rules.of_kind(RuleKind.P_PERCENT, statistic):
        k = max(k, 2)
    return k


def assess(evidence: Evidence, spec: TableSpec, rules: RuleSet, unit_type: UnitType) -> Assessment:
    """Run the primary checks of a rule set on a table's evidence."""
    cells = evidence.cells
    n = len(cells)
    stat = spec.statistic
    dims = list(spec.dims)
    n_units = cells["n_units"].to_numpy()
    is_margin = cells["is_margin"].to_numpy()
    published = ~is_margin if not spec.margins else np.ones(n, dtype=bool)
    statuses = [CellStatus.SAFE] * n
    reasons: list[list[Reason]] = [[] for _ in range(n)]
    table_reasons: list[Reason] = []
    verdict = Verdict.PASS

    def flag(mask: np.ndarray, rule_id: str, code: ReasonCode, detail: str) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append(Reason(rule_id, code, detail))
            statuses[i] = CellStatus.PRIMARY

    for rule in rules.rules:
        if not rule.applies(stat):
            continue
        p = rule.params
        if isinstance(p, Threshold):
            flag(primary.threshold_fails(n_units, p) & published, rule.id, ReasonCode.BELOW_MIN_UNITS,
                 f"fewer than {p.min_units} distinct units")
        elif isinstance(p, Differencing):
            _differencing(cells, dims, p, rule.id, flag)
        elif isinstance(p, Dominance) and unit_type in p.unit_types:
            total = cells["abs_total"].to_numpy() if needs_absolute(rules, stat) else cells["total"].to_numpy()
            tops = np.column_stack([cells[f"top_{i + 1}"].to_numpy() for i in range(evidence.top_k)])
            flag(primary.dominance_fails(tops, total, n_units, p) & published, rule.id, ReasonCode.DOMINANCE,
                 f"the {p.n_units} largest units hold {'more than' if p.fails_when.value == 'above' else 'at least'}"
                 f" {p.k_share:.0%} of the cell total")
        elif isinstance(p, PPercent):
            total = cells["abs_total"].to_numpy() if needs_absolute(rules, stat) else cells["total"].to_numpy()
            flag(primary.p_percent_fails(cells["top_1"].to_numpy(), cells["top_2"].to_numpy(), total, n_units, p)
                 & published, rule.id, ReasonCode.P_PERCENT,
                 f"the others' share is below {p.p_share:.0%} of the largest contribution")
        elif isinstance(p, Zeros):
            structural = _structural_mask(cells, dims, spec.structural_zeros)
            flag(primary.zero_fails(cells["n_units_any"].to_numpy(), structural, p) & published, rule.id,
                 ReasonCode.ZERO, "an observed zero can disclose")
        elif isinstance(p, GroupDisclosure):
            if stat is Statistic.RATE:
                flag(primary.rate_group_fails(n_units, cells["n_positive_units"].to_numpy(), p) & published,
                     rule.id, ReasonCode.GROUP_DISCLOSURE, "every unit in the cell has the same outcome")
            elif stat is Statistic.COUNT and spec.attributes:
                _group_along(cells, dims, spec.attributes, p, rule.id, published, flag)
        elif isinstance(p, NegativeValues) and p.mode is NegativeMode.REVIEW:
            neg = primary.negative_flags(cells["n_negative_units"].to_numpy()) & published
            if neg.any():
                verdict = Verdict.REVIEW
                table_reasons.append(Reason(rule.id, ReasonCode.NEGATIVE,
                                            f"{int(neg.sum())} cell(s) have negative contributions"))
                for i in np.flatnonzero(neg):
                    reasons[i].append(Reason(rule.id, ReasonCode.NEGATIVE, "negative contributions: review"))

    from kit.core.rules.cellrules import estimate_cell_failures  # rates' numerator/complement, zero variance

    for mask, rule_id, code, detail in estimate_cell_failures(cells, stat, rules, spec.weight is not None):
        flag(mask & published, rule_id, code, detail)
    _apply_caller_statuses(cells, dims, spec, statuses, reasons)
    n_missing = int(cells.loc[~is_margin, "n_missing"].sum())
    if n_missing:
        table_reasons.append(Reason("kit", ReasonCode.MISSING,
                                    "rows with a missing measure were left out of the estimates"))
    return Assessment(statuses=tuple(statuses), reasons=tuple(tuple(r) for r in reasons), published=published,
                      verdict=verdict,
                      table_reasons=table_reasons)


def _differencing(cells: pd.DataFrame, dims: list[str], p: Differencing, rule_id: str, flag: Any) -> None:
    """A margin with one grouping left out that fails suppresses every non-empty inner cell below it."""
    level = cells["margin_level"].to_numpy()
    margins = cells[level == 1]
    failing = margins[primary.differencing_fails(margins["n_units"].to_numpy(), p)]
    if failing.empty:
        return
    detail = f"a group with one grouping left out has fewer than {p.min_units} distinct units"
    inner_pos = np.flatnonzero(level == 0)
    inner = cells.iloc[inner_pos]
    mask = np.zeros(len(cells), dtype=bool)
    for left_out in dims:
        kept = [d for d in dims if d != left_out]
        rows = failing[failing[left_out] == TOTAL]
        if rows.empty:
            continue
        if not kept:
            mask[inner_pos] = True
            continue
        bad = set(zip(*(rows[d] for d in kept)))
        hit = np.fromiter((t in bad for t in zip(*(inner[d] for d in kept))), dtype=bool, count=len(inner))
        mask[inner_pos[hit]] = True
    # empty cells stay with the zeros rule: an observed zero is not a small count to difference
    flag(mask & (cells["n_units_any"].to_numpy() > 0), rule_id, ReasonCode.DIFFERENCING, detail)


def _group_along(cells: pd.DataFrame, dims: list[str], attributes: Sequence[str], p: GroupDisclosure,
                 rule_id: str, published: np.ndarray, flag: Any) -> None:
    inner = cells[cells["margin_level"] == 0]
    for attr in attributes:
        others = [d for d in dims if d != attr]
        if others:
            group_n = inner.groupby(others, sort=False)["n_units"].transform("sum").to_numpy()
        else:
            group_n = np.full(len(inner), inner["n_units"].sum())
        fails = primary.category_group_fails(inner["n_units"].to_numpy(), group_n, p)
        mask = np.zeros(len(cells), dtype=bool)
        mask[inner.index.to_numpy()[fails]] = True
        flag(mask & published, rule_id, ReasonCode.GROUP_DISCLOSURE,
             f"at least {p.max_category_share:.0%} of a group's units share one category of '{attr}'")


def _structural_mask(cells: pd.DataFrame, dims: list[str], zeros: Sequence[tuple[str, ...]]) -> np.ndarray:
    if not zeros:
        return np.zeros(len(cells), dtype=bool)
    keys = set(zeros)
    tuples = zip(*(cells[d].astype(str) for d in dims))
    return np.fromiter((t in keys for t in tuples), dtype=bool, count=len(cells))


def _apply_caller_statuses(cells: pd.DataFrame, dims: list[str], spec: TableSpec,
                           statuses: list[CellStatus], reasons: list[list[Reason]]) -> None:
    if not spec.forced and not spec.never:
        return
    index = {t: i for i, t in enumerate(zip(*(cells[d].astype(str) for d in dims)))}
    for cell in spec.never:
        i = index.get(cell)
        if i is None:
            raise SpecError("table", "a 'never' cell is not a cell of the table", "use codes from the code lists")
        statuses[i] = CellStatus.NEVER
        reasons[i].append(Reason("caller", ReasonCode.NEVER_PUBLISH, "the caller forbids publishing this cell"))
    for cell in spec.forced:
        i = index.get(cell)
        if i is None:
            raise SpecError("table", "a 'forced' cell is not a cell of the table", "use codes from the code lists")
        if statuses[i] is not CellStatus.SAFE:
            raise SpecError("table", "a cell forced public fails a primary rule or is also 'never'",
                            "remove it from 'forced': the kit does not publish a cell that fails a rule")
        statuses[i] = CellStatus.FORCED
