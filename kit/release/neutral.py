"""Keep spreadsheet programs from running text in a release as a formula (CSV/formula injection).

Excel, LibreOffice and Google Sheets read a CSV or TAB field that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula (``=HYPERLINK(...)``,
``=cmd|' /C calc'!A0``). The output checker opens release files in such programs, so every
*text* field of a CSV/TAB file (header names, dimension codes and labels, flags, the symbol) that
starts with one of those characters is prefixed with a single quote, as OWASP recommends
("CSV Injection"); a spreadsheet then shows it as text. Fields that are plain numbers (``-1.5``,
``+3``, ``-2e-05``) are left alone: they are data, and no program runs them.

In XLSX every text cell is written with the string type (``data_type`` ``"s"``, never ``"f"``)
and neutralised the same way, so no workbook of a release holds a formula, whatever a label says.
Text holding characters XML 1.0 cannot carry (control characters) is refused with a
:class:`~kit.errors.SpecError` that quotes nothing.

Examples
--------
>>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-1.5"), neutralise("- of which"), neutralise("101")
('\\'=HYPERLINK("http://x")', '-1.5', "'- of which", '101')
"""

from __future__ import annotations

import re

from kit.errors import SpecError

__all__ = ["ACTIVE_FIRST", "is_active", "neutralise", "require_printable"]

#: First characters that make a spreadsheet treat a field as a formula (OWASP's list).
ACTIVE_FIRST = frozenset("=+-@\t\r\n")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_active(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (an active first character, not a number)."""
    return bool(text) and text[0] in ACTIVE_FIRST and not _NUMBER.match(text)


def neutralise(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would read it as a formula.

    A carriage return inside the text becomes a line feed: Python's ``csv`` module quotes a field
    holding a line feed but not one holding a lone carriage return, which a spreadsheet would
    take as the start of a new row (whose first field could then be a formula).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if is_active(text) else text


def require_printable(text: str, what: str) -> str:
    """``text`` unchanged, or a :class:`SpecError` when it holds characters an XLSX file cannot hold.

    >>> require_printable("Aalborg", "a label")
    'Aalborg'
    """
    if _ILLEGAL.search(text):
        raise SpecError("xlsx output", f"{what} holds a control character, which a workbook cannot hold",
                        "remove control characters (tabs and line breaks excepted) from codes, labels "
                        "and titles before the release")
    return text
