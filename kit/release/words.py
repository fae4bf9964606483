"""Words for the checker: reason kinds (for colour) and DP budgets in plain language.

Shared by the workbench's pages and the static checker's report (no kit imports: no cycle).

Examples
--------
>>> for part in dp_in_words("rho=1/8; epsilon-equivalent 1.9 at delta=1e-06; ledger l line 2").split("; "):
...     print(part)
privacy budget spent: ρ = 1/8 (zero-concentrated differential privacy)
that is about ε = 1.9 at δ = 1e-06 (smaller is more private)
>>> dp_in_words(None)
''
>>> reason_kind("BELOW_MIN_UNITS"), reason_kind("COMPLEMENTARY"), reason_kind("DOMINANCE")
('threshold', 'secondary', 'dominance')
"""

from __future__ import annotations

import re

__all__ = ["REASON_KINDS", "dp_in_words", "reason_kind"]

REASON_KINDS = {
    "BELOW_MIN_UNITS": "threshold", "ZERO": "threshold", "GROUP_DISCLOSURE": "threshold",
    "DOMINANCE": "dominance", "P_PERCENT": "dominance",
    "COMPLEMENTARY": "secondary", "DEPENDS_ON_SUPPRESSED": "secondary", "AUDIT_FAILED": "secondary",
    "DIFFERENCING": "differencing",
    "NEGATIVE": "other", "MISSING": "other", "NEVER_PUBLISH": "other",
    "DOF_TOO_LOW": "model", "TERM_TOO_FEW_UNITS": "model",
}


def reason_kind(code: str) -> str:
    """The colour group of a reason code (threshold, dominance, secondary, differencing, model, other)."""
    return REASON_KINDS.get(code, "other")


def dp_in_words(budget: object) -> str:
    """A DP provenance budget statement in words ("" when the output is not DP)."""
    if not isinstance(budget, str) or not budget.strip():
        return ""
    parts: list[str] = []
    eps = re.search(r"\bepsilon=([^ ;,(]+)", budget)
    rho = re.search(r"\brho=([^ ;,)]+)", budget)
    if eps:
        parts.append(f"privacy budget spent: ε = {eps.group(1)} (pure differential privacy)")
    elif rho:
        parts.append(f"privacy budget spent: ρ = {rho.group(1)} (zero-concentrated differential privacy)")
    equiv = re.search(r"epsilon-equivalent ([^ ;]+) at delta=([^ ;]+)", budget)
    if equiv:
        parts.append(f"that is about ε = {equiv.group(1)} at δ = {equiv.group(2).rstrip(';')} "
                     "(smaller is more private)")
    return "; ".join(parts) or f"privacy budget: {budget}"
