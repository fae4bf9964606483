"""Formatting filters for the release templates.

Every number a template shows passes through one of these functions, so a
site can change the look of all outputs in one place. They take plain
Python values (floats, ``None`` for a suppressed or missing value) and return
strings. English number style: ``.`` decimals, ``,`` thousands.

Examples
--------
>>> number(1234.5678, 2), integer(1234.4), percent(0.4125), pp(3.04)
('1,234.57', '1,234', '41.2 %', '+3.0 pp')
>>> show(CellFormat.PERCENT, 0.4125), show(CellFormat.INTEGER, None, symbol="x", suppressed=True)
('41.2', 'x')
>>> tex_escape("50 % & more_"), md_escape("a|b")
('50 \\\\% \\\\& more\\\\_', 'a\\\\|b')
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

__all__ = [
    "FILTERS",
    "CellFormat",
    "integer",
    "machine",
    "md_escape",
    "number",
    "p_value",
    "percent",
    "pp",
    "raw",
    "round_to",
    "show",
    "tex_escape",
]


class CellFormat(enum.Enum):
    """How the numbers of one column are shown."""

    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"
    PP = "pp"
    P_VALUE = "p_value"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals ("." when missing).

    >>> number(-0.004, 2), number(None)
    ('0.00', '.')
    """
    if _missing(value):
        return "."
    assert value is not None
    text = f"{float(value):,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text


def integer(value: float | None) -> str:
    """A whole number with thousands separators (half away from zero).

    >>> integer(2.5), integer(-2.5)
    ('3', '-3')
    """
    if _missing(value):
        return "."
    assert value is not None
    v = float(value)
    rounded = math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1)
    return f"{int(rounded):,}"


def percent(value: float | None, digits: int = 1, sign: bool = False) -> str:
    """A share (0.41) as a percentage ("41.0 %").

    >>> percent(0.05, 0, sign=True)
    '+5 %'
    """
    if _missing(value):
        return "."
    assert value is not None
    text = number(100.0 * float(value), digits)
    if sign and not text.startswith("-") and float(value) != 0:
        text = "+" + text
    return f"{text} %"


def pp(value: float | None, digits: int = 1) -> str:
    """A difference already in percentage points, signed ("+3.0 pp").

    >>> pp(-1.25, 1), pp(0.0)
    ('-1.2 pp', '0.0 pp')
    """
    if _missing(value):
        return "."
    assert value is not None
    text = number(float(value), digits)
    if not text.startswith("-") and float(value) != 0 and text.strip("0.,") != "":
        text = "+" + text
    return f"{text} pp"


def p_value(value: float | None) -> str:
    """A p-value with three decimals, "<0.001" below.

    >>> p_value(0.0004), p_value(0.0412)
    ('<0.001', '0.041')
    """
    if _missing(value):
        return "."
    assert value is not None
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def round_to(value: float | None, base: float = 1.0) -> float | None:
    """Round to a multiple of ``base`` (half up); ``None`` stays ``None``.

    >>> round_to(12, 5), round_to(0.123, 0.05)
    (10.0, 0.1)
    """
    if _missing(value):
        return None
    assert value is not None
    if base <= 0:
        return float(value)
    steps = math.floor(float(value) / base + 0.5)
    return float(round(steps * base, 10))


def raw(value: float | None, symbol: str = "") -> str:
    """A machine-readable number for CSV: shortest exact form, integers without ".0".

    >>> raw(3.0), raw(0.1 + 0.2), raw(None, "x")
    ('3', '0.30000000000000004', 'x')
    """
    if _missing(value):
        return symbol
    assert value is not None
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def machine(fmt: CellFormat | str, value: float | None) -> float | None:
    """A value rounded to the precision it is shown with, for CSV and XLSX.

    Files meant for machines carry no more digits than the displayed table
    (extra digits of a rate could reveal its exact numerator and denominator).

    >>> machine("percent", 0.41509433962264153), machine("integer", 52.6), machine("number", 1.005)
    (0.415, 53.0, 1.0)
    """
    if _missing(value):
        return None
    assert value is not None
    kind = CellFormat(fmt)
    v = float(value)
    if kind is CellFormat.INTEGER:
        return float(math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1))
    digits = {CellFormat.PERCENT: 3, CellFormat.PP: 1, CellFormat.P_VALUE: 3}.get(kind, 2)
    return round(v, digits)


def show(fmt: CellFormat | str, value: float | None, symbol: str = "x", suppressed: bool = False) -> str:
    """Display text of one cell: the symbol when suppressed, else the column's format.

    Units (%, pp) go into the column header, so cells show bare numbers.
    """
    if suppressed:
        return symbol
    kind = CellFormat(fmt)
    if kind is CellFormat.INTEGER:
        return integer(value)
    if kind is CellFormat.PERCENT:
        return "." if _missing(value) else number(100.0 * float(value or 0.0), 1)
    if kind is CellFormat.PP:
        return number(value, 1)
    if kind is CellFormat.P_VALUE:
        return p_value(value)
    return number(value, 2)


_TEX: Mapping[str, str] = MappingProxyType(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "†": r"\textsuperscript{\dag}",
        "‡": r"\textsuperscript{\ddag}",
        "§": r"\S{}",
    }
)


def tex_escape(text: object) -> str:
    """Escape LaTeX special characters."""
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def md_escape(text: object) -> str:
    """Escape characters that break a Markdown table cell (pipes, line breaks)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _cell_text(cell: object) -> str:
    """Jinja filter: ``{{ cell | cell }}`` shows a cell context."""
    fmt, value, symbol, suppressed = (
        getattr(cell, name) for name in ("fmt", "value", "symbol", "suppressed")
    )
    return show(fmt, value, symbol, suppressed)


#: The filters registered in the release environment, by name.
FILTERS: Mapping[str, Callable[..., object]] = MappingProxyType(
    {
        "number": number,
        "integer": integer,
        "percent": percent,
        "pp": pp,
        "p_value": p_value,
        "round_to": round_to,
        "raw": raw,
        "cell": _cell_text,
        "tex": tex_escape,
        "md": md_escape,
    }
)
