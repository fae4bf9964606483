"""XLSX output of one cleared output (openpyxl, the optional extra ``xlsx``).

Numbers stay numbers (with an Excel number format per column); a suppressed
cell holds the symbol as text. Every text cell (title, headers, codes, notes,
provenance) is written with the string type, never as a formula, and text a
spreadsheet would read as a formula gets a leading single quote
(:mod:`kit.release.neutral`); a control character in a text is a
:class:`~kit.errors.SpecError`, never openpyxl's ``IllegalCharacterError``.
Title, notes and provenance go above and below the table. The workbook's
timestamps and the zip entries' dates are fixed, so the same output gives the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from kit.errors import OptionalDependencyError
from kit.release.context import OutputContext
from kit.release.filters import machine
from kit.release.neutral import neutralise, require_printable

__all__ = ["xlsx_bytes"]

_NUMBER_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "integer": "#,##0",
        "number": "#,##0.00",
        "percent": "0.0%",
        "pp": "0.0",
        "p_value": "0.000",
    }
)
_FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _created(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return dt.datetime(2000, 1, 1)
    return value.replace(tzinfo=None)


def _normalise_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite a zip with fixed entry dates and a fixed "modified" time (byte-identical output)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            payload = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                payload = _MODIFIED.sub(
                    lambda m: m.group(1) + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + m.group(2), payload
                )
            target.writestr(fixed, payload)
    return out.getvalue()


def xlsx_bytes(out: OutputContext, created: str) -> bytes:
    """The output as an XLSX workbook (bytes).

    Raises
    ------
    OptionalDependencyError
        When openpyxl (the extra ``xlsx``) is not installed.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError:  # pragma: no cover - depends on the installation
        raise OptionalDependencyError("xlsx output of a release", None, "openpyxl") from None
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = require_printable(out.name, "the output name")[:31]
    _text(ws, 1, 1, out.title, "the title").font = Font(bold=True)
    header_row = 3
    for j, col in enumerate(out.columns, 1):
        _text(ws, header_row, j, col.label, "a column label").font = Font(bold=True)
    n_keys = len(out.key_columns)
    for i, r in enumerate(out.rows, header_row + 1):
        for j, key in enumerate(r.keys, 1):
            _text(ws, i, j, key, "a row code")
        for j, (c, col) in enumerate(zip(r.cells, out.value_columns, strict=True), n_keys + 1):
            if c.suppressed:
                _text(ws, i, j, out.symbol, "the suppression symbol")
            elif (value := machine(c.fmt, c.value)) is not None:
                cell = ws.cell(row=i, column=j, value=value)
                cell.number_format = _NUMBER_FORMATS.get(col.fmt, "General")
        if r.marks:
            _text(ws, i, len(out.columns) + 1, r.marks, "a footnote mark")
    row = header_row + len(out.rows) + 2
    for k, note in enumerate(out.notes, 1):
        _text(ws, row, 1, f"{k}. {note}", "a note")
        row += 1
    if out.n_reported:
        _text(ws, row, 1, f"N: {out.n_reported}", "the N line")
        row += 1
    p = out.provenance
    rule_set = p.get("rule_set", {})
    _text(
        ws,
        row + 1,
        1,
        f"Rule set {rule_set.get('id')} {rule_set.get('version')} "
        f"(sha256:{rule_set.get('fingerprint')}); spec sha256:{p.get('spec_fingerprint')}; "
        f"kit {p.get('kit_version')}",
        "the provenance line",
    )
    stamp = _created(created)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "kit"
    buffer = io.BytesIO()
    wb.save(buffer)
    return _normalise_zip(buffer.getvalue(), stamp)


def _text(ws: Any, row: int, column: int, value: object, what: str) -> Any:
    """Write ``value`` as a string cell (data type "s", never a formula), neutralised."""
    text = neutralise(require_printable(str(value), what))
    cell = ws.cell(row=row, column=column)
    cell._value = text  # bypass openpyxl's type guess, which turns "=..." into a formula
    cell.data_type = "s"
    if text != str(value):
        cell.quotePrefix = True
    return cell
