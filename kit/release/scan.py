"""Scan release files for things that look like microdata.

What is looked for (DST's transfer rules: no individual-level data, no keys):

``KEY_COLUMN``
    a column header that looks like an identifier (:func:`kit.core.schema.looks_like_key`:
    PNR, CPR, CVR, BOPIKOM, FAMILIE_ID ... and pseudonymised forms such as V_PNR_ENCRYPTED);
``CPR_LIKE``
    a 10-digit number whose first six digits form a valid day and month, in every common
    written form: ``DDMMYYXXXX``, ``DDMMYY-XXXX`` (the 11-character form) and with a space,
    ``_``, ``.`` or ``/`` as separator; also embedded in a word (``id0101801234x``), followed by
    ``.`` or a letter, preceded by ``,``. Not flagged: a longer digit run, the decimals of a
    number (``3.0101801234``) and a run inside a hexadecimal token of 16 or more characters (a
    checksum or hash: that token is judged as ``LONG_ID``, allowed when the manifest lists it);
``LONG_ID``
    a long identifier-like token: 16 or more hex digits (not a checksum the manifest
    lists) or 12 or more letters and digits mixed;
``RAW_PATH``
    a path into raw data: a drive letter (``E:\\``), a UNC share, ``Rawdata\\`` or ``Workdata/``;
``ROWS_EQUAL_UNITS``
    a table with at least as many rows as its input had distinct units;
``UNREADABLE``
    a file that could not be read for scanning.

PNG text chunks are read whole (``tEXt``, and ``zTXt``/``iTXt`` decompressed with zlib, at
most 16 MiB), PDF streams are decompressed the same way, and the XML parts of an XLSX file
(sheet names, comments, document properties) are scanned besides its cells. Character
references in HTML, SVG and XML text (``&#48;``) are decoded before the scan.

Findings name the file and the place (line, column), never the value found.

Examples
--------
>>> [f.kind.value for f in scan_text("t.txt", "id 0101801234 at E:\\\\Rawdata\\\\bef")]
['cpr_like', 'raw_path']
>>> scan_text("t.txt", "totals 1,234 and 0.5") == []
True
"""

from __future__ import annotations

import csv
import enum
import html
import io
import re
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from kit.core.schema import looks_like_key

__all__ = ["Finding", "FindingKind", "has_cpr", "scan_file", "scan_name", "scan_table", "scan_text"]


class FindingKind(enum.Enum):
    """What a scan finding is."""

    KEY_COLUMN = "key_column"
    CPR_LIKE = "cpr_like"
    LONG_ID = "long_id"
    RAW_PATH = "raw_path"
    ROWS_EQUAL_UNITS = "rows_equal_units"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Finding:
    """One suspicious place in a release file (no value, only where and what)."""

    path: str
    kind: FindingKind
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path} ({self.where}): {self.kind.value}: {self.detail}"


# Ten digits, optionally split 6+4 by one separator; not inside a longer digit run or after "digit.".
_CPR = re.compile(r"(?<!\d)(?<!\d\.)(\d{2})(\d{2})\d{2}[-\s_./]?\d{4}(?!\d)")
# A hexadecimal token long enough to be a hash; CPR-shaped runs inside it are not CPR numbers.
_HASH_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_HEX = re.compile(r"(?<![0-9A-Za-z.,])[0-9a-fA-F]{16,}(?![0-9A-Za-z.,])")
_ALNUM = re.compile(
    r"(?<![0-9A-Za-z_.,])(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{12,}(?![0-9A-Za-z_.,])"
)
_PATHS = (
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z]:[\\/][^\s\"'<>]"),
    re.compile(r"\\\\[A-Za-z0-9_.$-]+\\"),
    re.compile(r"(?i)\b(raw|work)data[\\/]"),
)
_TABULAR = frozenset({"csv", "tab"})
_TEXT = frozenset({"txt", "md", "tex", "xml", "svg", "json"})
_HTML = frozenset({"html", "htm"})


def _cpr_like(match: re.Match[str]) -> bool:
    day, month = int(match.group(1)), int(match.group(2))
    return 1 <= day <= 31 and 1 <= month <= 12


def has_cpr(text: str) -> bool:
    """Whether ``text`` holds a CPR-shaped number (see the module docs for the forms).

    >>> [has_cpr(t) for t in ("0101801234", "010180 1234", "x,010180_1234.", "3.0101801234", "a" * 20 + "0101801234")]
    [True, True, True, False, False]
    """
    hashes = [m.span() for m in _HASH_TOKEN.finditer(text)]
    for m in _CPR.finditer(text):
        if not _cpr_like(m):
            continue
        if any(a <= m.start() and m.end() <= b for a, b in hashes):
            continue
        return True
    return False


def _value_findings(path: str, text: str, where: str, allowed_hex: Collection[str]) -> list[Finding]:
    out = []
    if has_cpr(text):
        out.append(Finding(path, FindingKind.CPR_LIKE, where, "a 10-digit number shaped like a CPR number"))
    hexes = [m.group(0) for m in _HEX.finditer(text)]
    if any(h.lower() not in allowed_hex for h in hexes):
        out.append(Finding(path, FindingKind.LONG_ID, where, "a long hexadecimal identifier"))
    elif any(
        m.group(0).lower() not in allowed_hex and not _HEX.fullmatch(m.group(0))
        for m in _ALNUM.finditer(text)
    ):
        out.append(Finding(path, FindingKind.LONG_ID, where, "a long identifier of letters and digits"))
    if any(p.search(text) for p in _PATHS):
        out.append(
            Finding(path, FindingKind.RAW_PATH, where, "a file path (drive, share or raw-data folder)")
        )
    return out


def scan_text(path: str, text: str, allowed_hex: Collection[str] = ()) -> list[Finding]:
    """Scan free text line by line for CPR-like numbers, long ids and raw-data paths."""
    out: list[Finding] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        out.extend(_value_findings(path, line, f"line {lineno}", allowed_hex))
    return out


def scan_table(
    path: str,
    rows: list[list[str]],
    *,
    n_input_units: int | None = None,
    allowed_hex: Collection[str] = (),
    header_rows: int = 1,
) -> list[Finding]:
    """Scan a table (list of rows of cell texts): headers for key names, cells for ids, the row count."""
    out: list[Finding] = []
    for r, row in enumerate(rows[:header_rows], 1):
        for c, cell in enumerate(row, 1):
            if cell.strip() and looks_like_key(cell.strip()):
                out.append(
                    Finding(
                        path,
                        FindingKind.KEY_COLUMN,
                        f"row {r}, column {c}",
                        "a column header that looks like an identifier",
                    )
                )
    for r, row in enumerate(rows, 1):
        for c, cell in enumerate(row, 1):
            out.extend(_value_findings(path, cell, f"row {r}, column {c}", allowed_hex))
    n_data = max(len(rows) - header_rows, 0)
    if n_input_units is not None and n_input_units >= 10 and n_data >= n_input_units:
        out.append(
            Finding(
                path,
                FindingKind.ROWS_EQUAL_UNITS,
                f"{n_data} rows",
                "the table has at least as many rows as its input had distinct units",
            )
        )
    return out


class _HtmlTables(HTMLParser):
    """Collect the text of every table's rows, and all other text, from HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "svg"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        for name, value in attrs:
            if value and name in ("href", "src", "title", "alt"):
                self.text.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "svg"):
            self._skip = max(self._skip - 1, 0)
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        else:
            self.text.append(data)


def _stem_units(path: Path, n_input_units: Mapping[str, int]) -> int | None:
    return n_input_units.get(path.name.split(".")[0])


def _md_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and not set(s) <= set("|:- "):
            rows.append([c.strip() for c in s.strip("|").split("|")])
    return rows


def _xlsx_rows(path: Path) -> list[list[list[str]]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = []
        for ws in wb.worksheets:
            rows = [
                [
                    "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                    for v in row
                ]
                for row in ws.iter_rows(values_only=True)
            ]
            sheets.append(rows)
        return sheets
    finally:
        wb.close()


def scan_file(
    root: Path,
    relpath: str,
    *,
    n_input_units: Mapping[str, int] | None = None,
    allowed_hex: Collection[str] = (),
) -> list[Finding]:
    """Scan one release file by its type."""
    path = root.joinpath(*relpath.split("/"))
    ext = path.suffix.lower().lstrip(".")
    units = _stem_units(path, n_input_units or {})
    try:
        if ext in _TABULAR or (ext == "txt" and "\t" in path.read_text(encoding="utf-8", errors="replace")):
            text = path.read_text(encoding="utf-8")
            delim = "," if ext == "csv" else "\t"
            rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delim)]
            return scan_table(relpath, rows, n_input_units=units, allowed_hex=allowed_hex)
        if ext in _HTML:
            parser = _HtmlTables()
            parser.feed(path.read_text(encoding="utf-8"))
            out = scan_text(relpath, "\n".join(parser.text), allowed_hex)
            for k, table in enumerate(parser.tables, 1):
                out.extend(
                    Finding(f.path, f.kind, f"table {k}, {f.where}", f.detail)
                    for f in scan_table(relpath, table, n_input_units=units, allowed_hex=allowed_hex)
                )
            return out
        if ext == "md":
            text = path.read_text(encoding="utf-8")
            out = scan_text(relpath, text, allowed_hex)
            rows = _md_rows(text)
            if rows:
                out.extend(
                    f
                    for f in scan_table(relpath, rows, n_input_units=units, allowed_hex=())
                    if f.kind in (FindingKind.KEY_COLUMN, FindingKind.ROWS_EQUAL_UNITS)
                )
            return out
        if ext in _TEXT:
            text = path.read_text(encoding="utf-8", errors="replace")
            if ext in ("svg", "xml"):
                text = text + "\n" + html.unescape(_XML_TAG.sub("\n", text))
            return scan_text(relpath, text, allowed_hex)
        if ext in ("xlsx", "xls"):
            out = []
            for sheet in _xlsx_rows(path):
                out.extend(_xlsx_findings(relpath, sheet, units, allowed_hex))
            known = {(f.kind, f.detail) for f in out}
            out.extend(f for f in scan_text(relpath, _xlsx_parts_text(path), allowed_hex)
                       if (f.kind, f.detail) not in known)
            return out
        if ext == "png":
            return scan_text(relpath, _png_text(path.read_bytes()), allowed_hex)
        if ext == "pdf":
            return scan_text(relpath, _pdf_text(path.read_bytes()), allowed_hex)
        return []
    except Exception as exc:
        return [
            Finding(
                relpath,
                FindingKind.UNREADABLE,
                "whole file",
                f"could not be scanned ({type(exc).__name__}); check it by hand",
            )
        ]


def _xlsx_findings(
    relpath: str, rows: list[list[str]], units: int | None, allowed_hex: Collection[str]
) -> Iterable[Finding]:
    out: list[Finding] = []
    for r, row in enumerate(rows, 1):
        strings = [c for c in row if c]
        is_header = len(strings) >= 2 and all(not _is_number(c) for c in strings)
        for c, cell in enumerate(row, 1):
            if is_header and cell and len(cell) <= 40 and looks_like_key(cell):
                out.append(
                    Finding(
                        relpath,
                        FindingKind.KEY_COLUMN,
                        f"row {r}, column {c}",
                        "a column header that looks like an identifier",
                    )
                )
            if cell:
                out.extend(_value_findings(relpath, cell, f"row {r}, column {c}", allowed_hex))
    n_data = sum(1 for row in rows if any(_is_number(c) for c in row))
    if units is not None and units >= 10 and n_data >= units:
        out.append(
            Finding(
                relpath,
                FindingKind.ROWS_EQUAL_UNITS,
                f"{n_data} rows",
                "the table has at least as many rows as its input had distinct units",
            )
        )
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


#: Largest text decompressed from one PNG chunk or PDF stream (a zip bomb stays harmless).
MAX_INFLATED = 16 * 2**20


def _inflate(data: bytes) -> bytes:
    """zlib-decompress at most :data:`MAX_INFLATED` bytes; what cannot be decompressed is empty."""
    try:
        return zlib.decompressobj().decompress(data, MAX_INFLATED)
    except zlib.error:
        return b""


def _png_text(data: bytes) -> str:
    """The text chunks of a PNG (tEXt as is, zTXt and iTXt decompressed), where ids could hide."""
    chunks = []
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            chunks.append(body.decode("latin-1", errors="replace"))
        elif kind == b"zTXt":
            keyword, _, rest = body.partition(b"\x00")
            chunks.append(keyword.decode("latin-1", errors="replace"))
            chunks.append(_inflate(rest[1:]).decode("latin-1", errors="replace"))
        elif kind == b"iTXt":
            keyword, _, rest = body.partition(b"\x00")
            compressed = rest[:1] == b"\x01"
            language, _, rest = rest[2:].partition(b"\x00")
            translated, _, text = rest.partition(b"\x00")
            payload = _inflate(text) if compressed else text
            chunks.extend(part.decode("utf-8", errors="replace") for part in (keyword, language, translated, payload))
        pos += 12 + length
    return "\n".join(chunks)


_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def _pdf_text(data: bytes) -> str:
    """The raw text of a PDF plus its decompressed streams (literal strings are then scanned)."""
    parts = [data.decode("latin-1", errors="replace")]
    for m in _PDF_STREAM.finditer(data):
        inflated = _inflate(m.group(1))
        if inflated:
            parts.append(inflated.decode("latin-1", errors="replace"))
    return "\n".join(parts)


_XML_TAG = re.compile(r"<[^>]*>")


def _xlsx_parts_text(path: Path) -> str:
    """The text nodes and sheet names of every XML part of an XLSX file (comments, properties ...)."""
    import zipfile

    out = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            with archive.open(info) as handle:
                text = handle.read(MAX_INFLATED).decode("utf-8", errors="replace")
            names = re.findall(r'<sheet [^>]*name="([^"]*)"', text)
            out.extend(names)
            out.append(html.unescape(_XML_TAG.sub("\n", text)))
    return "\n".join(out)


def scan_name(relpath: str, name: str, what: str) -> list[Finding]:
    """Scan one file or folder name (a path component) for CPR-like numbers, ids and paths.

    >>> [f.kind.value for f in scan_name("tables", "0101801234 income", "folder name")]
    ['cpr_like']
    """
    return [Finding(relpath, f.kind, what, f.detail) for f in _value_findings(relpath, name, what, ())]
