"""Exact budget arithmetic and privacy-loss conversions (no OpenDP needed).

Budgets are :class:`fractions.Fraction` everywhere at the privacy boundary.
Floats appear only when a budget is handed to OpenDP, and then they are rounded
in the safe direction: a query's loss is rounded *down* (the noise is
calibrated for no more than the ledger records) and an accountant's cap is
rounded *up* by at most one unit in the last place (so OpenDP never refuses a
charge the exact ledger allows; the ledger is the authority that refuses).

Examples
--------
>>> as_fraction("1/8"), as_fraction("0.125"), as_fraction(2)
(Fraction(1, 8), Fraction(1, 8), Fraction(2, 1))
>>> fraction_text(Fraction(1, 8))
'1/8'
>>> round(zcdp_to_epsilon(Fraction(1, 8), Fraction(1, 10**7)), 3)
2.964
>>> float_down(Fraction(1, 3)) <= Fraction(1, 3) <= float_up(Fraction(1, 3))
True
"""

from __future__ import annotations

import math
from fractions import Fraction

from kit.errors import SpecError

__all__ = [
    "BudgetLike",
    "as_fraction",
    "epsilon_to_rho",
    "float_down",
    "float_up",
    "fraction_text",
    "zcdp_to_epsilon",
]

#: What the kit accepts as a budget: an exact fraction, an integer or a decimal or ``p/q`` string.
BudgetLike = Fraction | int | str | float


def as_fraction(value: BudgetLike, where: str = "privacy budget", *, allow_zero: bool = True) -> Fraction:
    """Parse a budget exactly.

    Strings may be decimals (``"0.125"``) or fractions (``"1/8"``). A float is
    read through its shortest decimal form (``0.1`` is exactly 1/10), never
    through its binary value. Negative, infinite and NaN values are errors.

    >>> as_fraction(0.1)
    Fraction(1, 10)
    >>> as_fraction("-1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: privacy budget: a budget must be zero or positive. Fix: ...
    """
    fix = "pass a value such as '1/8' or '0.125'"
    if isinstance(value, bool):
        raise SpecError(where, "a budget must be a number, not a boolean", fix)
    try:
        if isinstance(value, Fraction):
            out = value
        elif isinstance(value, int):
            out = Fraction(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise SpecError(where, "a budget must be finite", fix)
            out = Fraction(repr(value))
        elif isinstance(value, str):
            out = Fraction(value.strip())
        else:
            raise SpecError(where, f"a budget cannot be a {type(value).__name__}", fix)
    except (ValueError, ZeroDivisionError):
        raise SpecError(where, "the budget is not a number", fix) from None
    if out < 0 or (out == 0 and not allow_zero):
        raise SpecError(where, "a budget must be zero or positive" if allow_zero else
                        "a budget must be positive", fix)
    return out


def fraction_text(value: Fraction) -> str:
    """Canonical text of a fraction: ``"p/q"``, or ``"p"`` when whole.

    >>> fraction_text(Fraction(4, 2)), fraction_text(Fraction(3, 7))
    ('2', '3/7')
    """
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def float_down(value: Fraction) -> float:
    """The largest float not above ``value``."""
    f = float(value)
    if Fraction(f) > value:
        f = math.nextafter(f, -math.inf)
    return f


def float_up(value: Fraction) -> float:
    """The smallest float not below ``value``."""
    f = float(value)
    if Fraction(f) < value:
        f = math.nextafter(f, math.inf)
    return f


def zcdp_to_epsilon(rho: Fraction | float, delta: Fraction | float) -> float:
    """ε-equivalent of ρ-zCDP at δ (Bun and Steinke 2016, Prop. 1.3).

    ``ε = ρ + 2 √(ρ ln(1/δ))``. This bound is slightly conservative: OpenDP's
    own conversion is tighter (0.125 → 2.65 at δ = 1e-7 against 2.96 here).

    >>> zcdp_to_epsilon(0, Fraction(1, 10**7))
    0.0
    """
    r, d = float(rho), float(delta)
    if r == 0:
        return 0.0
    if not 0 < d < 1:
        return math.inf
    return r + 2.0 * math.sqrt(r * math.log(1.0 / d))


def epsilon_to_rho(epsilon: Fraction) -> Fraction:
    """zCDP cost of a pure ε-DP release: ρ = ε²/2 (Bun and Steinke 2016, Prop. 1.4).

    >>> epsilon_to_rho(Fraction(1, 2))
    Fraction(1, 8)
    """
    return epsilon * epsilon / 2
