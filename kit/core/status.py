"""Cell statuses and reasons: the vocabulary of disclosure control.

A cell moves through a small life cycle::

    SAFE ──(a primary rule fails)──► PRIMARY
    SAFE ──(secondary suppression)──► SECONDARY
    FORCED  (the caller forces the cell public; it is never suppressed)
    NEVER   (the caller forbids publication; it is always suppressed)

``FORCED`` and ``NEVER`` are set by the caller before assessment and are
never changed by the kit. A ``FORCED`` cell that fails a primary rule is an
error, not a silent publication (see :mod:`kit.core.assess`).

The one-letter codes are those of tau-Argus and sdcTable, so suppression
patterns can be exchanged with them: ``s`` safe, ``u`` primary (unsafe),
``x`` secondary, ``z`` forced public, ``w`` never public. (sdcTable uses
``z`` for "not to be suppressed" and tau-Argus ``w`` for protected cells
that must stay suppressed; ``w`` is read here as "suppress".)

Examples
--------
>>> CellStatus.PRIMARY.code
'u'
>>> CellStatus.from_code("x") is CellStatus.SECONDARY
True
>>> CellStatus.SECONDARY.suppressed
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kit.errors import SpecError

__all__ = ["CellStatus", "Reason", "ReasonCode", "Verdict"]


class CellStatus(enum.Enum):
    """Status of one table cell."""

    SAFE = "s"
    PRIMARY = "u"
    SECONDARY = "x"
    FORCED = "z"
    NEVER = "w"

    @property
    def code(self) -> str:
        """The tau-Argus / sdcTable one-letter code."""
        return self.value

    @property
    def suppressed(self) -> bool:
        """True when the cell's value must not be published."""
        return self in (CellStatus.PRIMARY, CellStatus.SECONDARY, CellStatus.NEVER)

    @classmethod
    def from_code(cls, code: str) -> CellStatus:
        """Parse a one-letter code (case-insensitive)."""
        text = str(code).strip().lower()
        for status in cls:
            if status.value == text:
                return status
        raise SpecError(
            "cell status",
            f"unknown status code {text!r}",
            "use one of s (safe), u (primary), x (secondary), z (forced public), w (never public)",
        )


class ReasonCode(enum.Enum):
    """Why a cell is suppressed or flagged. Stable names: they appear in reports."""

    BELOW_MIN_UNITS = "BELOW_MIN_UNITS"
    DIFFERENCING = "DIFFERENCING"
    DOMINANCE = "DOMINANCE"
    P_PERCENT = "P_PERCENT"
    ZERO = "ZERO"
    NEGATIVE = "NEGATIVE"
    MISSING = "MISSING"
    GROUP_DISCLOSURE = "GROUP_DISCLOSURE"
    COMPLEMENTARY = "COMPLEMENTARY"
    NEVER_PUBLISH = "NEVER_PUBLISH"
    DOF_TOO_LOW = "DOF_TOO_LOW"
    TERM_TOO_FEW_UNITS = "TERM_TOO_FEW_UNITS"
    DEPENDS_ON_SUPPRESSED = "DEPENDS_ON_SUPPRESSED"
    AUDIT_FAILED = "AUDIT_FAILED"


class Verdict(enum.Enum):
    """Overall outcome of an assessment, for the output checker."""

    PASS = "PASS"
    REVIEW = "REVIEW"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Reason:
    """Why one cell has its status.

    ``detail`` is built from rule parameters only (``"fewer than 3 distinct
    units"``), never from the cell's data.
    """

    rule_id: str
    code: ReasonCode
    detail: str

    def __str__(self) -> str:
        return f"{self.code.value} ({self.rule_id}): {self.detail}"
