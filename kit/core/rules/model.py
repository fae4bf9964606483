"""Typed rule records: one frozen parameter class per rule kind.

A rule set file (``disclosure_rules/*.toml``) is data. The loader
(:mod:`kit.core.rules.loader`) turns each ``[[rules]]`` table into a :class:`Rule`
whose ``params`` is one of the parameter classes below. Parameter names carry
their unit: ``min_units`` counts distinct units, ``*_share`` is a fraction in
[0, 1], ``min_dof`` counts degrees of freedom, ``round_to`` is a multiple.

Boundaries are part of the rule's meaning and are tested on both sides:

============================  =====================================================
kind                          a cell FAILS when
============================  =====================================================
``threshold``                 ``n_units < min_units`` (exactly ``min_units`` passes)
``differencing``              a margin with one grouping left out has
                              ``n_units < min_units``; every cell below it fails
``dominance``                 top ``n_units`` share of the total ``> k_share``
                              (``fails_when = "above"``) or ``>= k_share``
                              (``"at_or_above"``)
``p_percent``                 ``(total - top1 - top2) < p_share * top1``
``zeros``                     an observed (not structural) zero, when disclosive
``group_disclosure``          one category holds ``>= max_category_share`` of a
                              group's units (rates: a rate of exactly 0 or 1)
``negative_values``           ``mode = "review"``: any negative contribution sends
                              the table to review; ``"absolute"``: dominance and
                              p % use absolute values
``extremes``                  min / max requested while ``allow = false``
``quantile``                  a quantile would average fewer than
                              ``min_units_around`` units
``key_columns``               a key column would be released
``residual_dof``              residual degrees of freedom ``< min_dof``
``model_term_units``          a categorical term rests on ``< min_units`` units
``report_n``                  (not a check) N is rounded to ``round_to``
``secondary``                 (not a check) protection level of suppressed cells:
                              ``protection_share`` of the value on both sides
============================  =====================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Union

from kit.core.spec_types import Statistic, UnitType

__all__ = [
    "PARAMS_BY_KIND",
    "Differencing",
    "Dominance",
    "Extremes",
    "FailsWhen",
    "GroupDisclosure",
    "KeyColumns",
    "ModelTermUnits",
    "NegativeMode",
    "NegativeValues",
    "PPercent",
    "Quantile",
    "ReportN",
    "ResidualDof",
    "Rule",
    "RuleKind",
    "RuleParams",
    "Secondary",
    "TermAction",
    "Threshold",
    "Zeros",
]


class RuleKind(enum.Enum):
    """The rule families the kit knows. An unknown kind in a file is an error."""

    THRESHOLD = "threshold"
    DIFFERENCING = "differencing"
    DOMINANCE = "dominance"
    P_PERCENT = "p_percent"
    ZEROS = "zeros"
    GROUP_DISCLOSURE = "group_disclosure"
    NEGATIVE_VALUES = "negative_values"
    EXTREMES = "extremes"
    QUANTILE = "quantile"
    KEY_COLUMNS = "key_columns"
    RESIDUAL_DOF = "residual_dof"
    MODEL_TERM_UNITS = "model_term_units"
    REPORT_N = "report_n"
    SECONDARY = "secondary"


class FailsWhen(enum.Enum):
    """Comparison of a share against its limit."""

    ABOVE = "above"
    AT_OR_ABOVE = "at_or_above"


class NegativeMode(enum.Enum):
    """What to do with negative contributions in magnitude cells."""

    ABSOLUTE = "absolute"
    REVIEW = "review"


class TermAction(enum.Enum):
    """What to do with a model term that rests on too few units."""

    SUPPRESS = "suppress"
    BLOCK = "block"


def _p(lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A parameter field with its allowed range (inclusive)."""
    return field(metadata={"min": lo, "max": hi, "doc": doc})


@dataclass(frozen=True)
class Threshold:
    min_units: int = _p(1, 1000, "fewest distinct units a cell may rest on")


@dataclass(frozen=True)
class Differencing:
    min_units: int = _p(1, 1000, "fewest distinct units in each margin with one grouping left out")


@dataclass(frozen=True)
class Dominance:
    n_units: int = _p(1, 10, "number of largest units summed")
    k_share: float = _p(0.0, 1.0, "largest permitted share of the cell total")
    fails_when: FailsWhen = _p(doc="above or at_or_above")
    unit_types: tuple[UnitType, ...] = _p(doc="unit types the rule applies to")


@dataclass(frozen=True)
class PPercent:
    p_share: float = _p(0.0, 1.0, "p of the p % rule as a fraction")


@dataclass(frozen=True)
class Zeros:
    observed_zero_disclosive: bool = _p(doc="whether an observed zero is a primary cell")


@dataclass(frozen=True)
class GroupDisclosure:
    max_category_share: float = _p(0.5, 1.0, "share of a group's units in one category that fails")


@dataclass(frozen=True)
class NegativeValues:
    mode: NegativeMode = _p(doc="absolute or review")


@dataclass(frozen=True)
class Extremes:
    allow: bool = _p(doc="whether min and max may be released")


@dataclass(frozen=True)
class Quantile:
    min_units_around: int = _p(1, 1000, "units averaged around a quantile")


@dataclass(frozen=True)
class KeyColumns:
    allow: bool = _p(doc="whether key columns may be released (never true in shipped sets)")


@dataclass(frozen=True)
class ResidualDof:
    min_dof: int = _p(1, 100000, "fewest residual degrees of freedom")


@dataclass(frozen=True)
class ModelTermUnits:
    min_units: int = _p(1, 1000, "fewest distinct units behind each categorical term")
    action: TermAction = _p(doc="suppress the term or block the model")


@dataclass(frozen=True)
class ReportN:
    round_to: int = _p(1, 1000, "N is rounded to a multiple of this")


@dataclass(frozen=True)
class Secondary:
    protection_share: float = _p(0.0, 1.0, "protection level as a share of the cell value")


RuleParams = Union[  # noqa: UP007  (a runtime alias: | of classes needs 3.10 types)
    Threshold,
    Differencing,
    Dominance,
    PPercent,
    Zeros,
    GroupDisclosure,
    NegativeValues,
    Extremes,
    Quantile,
    KeyColumns,
    ResidualDof,
    ModelTermUnits,
    ReportN,
    Secondary,
]

#: Parameter class of each kind.
PARAMS_BY_KIND: dict[RuleKind, type] = {
    RuleKind.THRESHOLD: Threshold,
    RuleKind.DIFFERENCING: Differencing,
    RuleKind.DOMINANCE: Dominance,
    RuleKind.P_PERCENT: PPercent,
    RuleKind.ZEROS: Zeros,
    RuleKind.GROUP_DISCLOSURE: GroupDisclosure,
    RuleKind.NEGATIVE_VALUES: NegativeValues,
    RuleKind.EXTREMES: Extremes,
    RuleKind.QUANTILE: Quantile,
    RuleKind.KEY_COLUMNS: KeyColumns,
    RuleKind.RESIDUAL_DOF: ResidualDof,
    RuleKind.MODEL_TERM_UNITS: ModelTermUnits,
    RuleKind.REPORT_N: ReportN,
    RuleKind.SECONDARY: Secondary,
}


@dataclass(frozen=True)
class Rule:
    """One rule of a rule set."""

    id: str
    kind: RuleKind
    params: RuleParams
    applies_to: tuple[Statistic, ...]
    rationale: str
    source: str

    def applies(self, statistic: Statistic) -> bool:
        """Whether the rule applies to a statistic."""
        return statistic in self.applies_to
