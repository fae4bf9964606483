"""Small enums shared by specs and rule sets.

Kept apart from :mod:`kit.core.spec` so the rule-set loader can use them without
importing table specifications.

>>> Statistic.parse("mean") is Statistic.MEAN
True
>>> UnitType.parse("enterprise").value
'enterprise'
"""

from __future__ import annotations

import enum
from typing import Any

from kit.errors import SpecError

__all__ = ["Statistic", "UnitType"]


class _ParseableEnum(enum.Enum):
    @classmethod
    def parse(cls, text: object, where: str = "option") -> Any:
        """Parse a case-insensitive name; unknown names are errors listing the choices."""
        if isinstance(text, cls):
            return text
        key = str(text).strip().lower()
        for member in cls:
            if member.value == key:
                return member
        raise SpecError(
            where,
            f"unknown {cls.__name__.lower()} {key!r}",
            f"use one of: {', '.join(m.value for m in cls)}",
        )


class Statistic(_ParseableEnum):
    """What a table cell or an estimate reports."""

    COUNT = "count"
    SUM = "sum"
    MEAN = "mean"
    RATE = "rate"
    QUANTILE = "quantile"
    MIN = "min"
    MAX = "max"
    MODEL = "model"

    @property
    def is_magnitude(self) -> bool:
        """Sums and means are magnitude statistics (dominance rules apply)."""
        return self in (Statistic.SUM, Statistic.MEAN)


class UnitType(_ParseableEnum):
    """What the unit of disclosure control is."""

    PERSON = "person"
    HOUSEHOLD = "household"
    ENTERPRISE = "enterprise"
