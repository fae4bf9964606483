"""Find register files in a project folder and resolve re-run deliveries.

File names
----------
A register file is named ``<register><year>[<month>].<ext>`` or
``<register><nn>_<year>.<ext>`` (case-insensitive), where ``<register>`` is
letters (and inner underscores), ``<year>`` is 19xx or 20xx, ``<month>`` is
01-12 and ``<nn>`` one or two digits. The part after the year or before the
underscore is kept as the file's *period*:

============================  ==========  ====  ======
file                          register    year  period
============================  ==========  ====  ======
``bef2018.sas7bdat``          bef         2018
``BEF2018.parquet``           bef         2018
``bef_2018.csv``              bef         2018
``bef12_2018.sas7bdat``       bef         2018  12
``bef201812.sas7bdat``        bef         2018  12
``befbop202112.sas7bdat``     befbop      2021  12
============================  ==========  ====  ======

Extensions: ``.sas7bdat``, ``.xpt`` / ``.xport`` (SAS transport), ``.parquet``
/ ``.pq``, ``.csv`` / ``.csv.gz``. Other files (``area_key.csv``, READMEs) are
not register files.

Re-runs
-------
Files directly in the project folder are the first delivery. A file in a
sub-folder is a re-run; its delivery date is parsed from the folder names
(``December_2023``, ``dec2023``, ``2023-12``, ``2023_12_15``, ``202312``,
Danish month names too), deepest folder first; when no folder name holds a date
the file's modification time is used. The newest delivery of a
register-year-period wins; when one delivery date has the same register-year in
several formats, Parquet wins over SAS, SAS transport and CSV (in that order);
remaining ties go to the newer modification time, then to the path.

Examples
--------
>>> parse_file_name("befbop202112.sas7bdat")
FileName(register='befbop', year=2021, period='12', fmt=<FileFormat.SAS7BDAT: 'sas7bdat'>)
>>> parse_file_name("bef12_2018.csv").period
'12'
>>> parse_file_name("area_key.csv") is None
True
>>> parse_delivery_date("December_2023"), parse_delivery_date("2023-12"), parse_delivery_date("rerun")
(datetime.date(2023, 12, 1), datetime.date(2023, 12, 1), None)
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CACHE_STATE_NAME",
    "FileFormat",
    "FileName",
    "Inventory",
    "RegisterFile",
    "parse_delivery_date",
    "parse_file_name",
    "scan",
]

logger = logging.getLogger(__name__)

#: Name of the state file that marks a folder as a kit Parquet cache (never scanned as data).
CACHE_STATE_NAME = ".kit-registers-cache.json"


class FileFormat(enum.Enum):
    """Formats the loader reads."""

    SAS7BDAT = "sas7bdat"
    XPORT = "xpt"
    PARQUET = "parquet"
    CSV = "csv"


_EXTENSIONS: tuple[tuple[str, FileFormat], ...] = (
    (".sas7bdat", FileFormat.SAS7BDAT),
    (".xpt", FileFormat.XPORT),
    (".xport", FileFormat.XPORT),
    (".parquet", FileFormat.PARQUET),
    (".pq", FileFormat.PARQUET),
    (".csv.gz", FileFormat.CSV),
    (".csv", FileFormat.CSV),
)

#: Within one delivery date, the faster format wins when a register-year comes in several formats.
_FORMAT_PREFERENCE: dict[FileFormat, int] = {
    FileFormat.PARQUET: 3,
    FileFormat.SAS7BDAT: 2,
    FileFormat.XPORT: 1,
    FileFormat.CSV: 0,
}

_YEAR = r"(?:19|20)\d{2}"
_NAME_PATTERNS: tuple[re.Pattern[str], ...] = (
    # bef12_2018: a one- or two-digit period before the year
    re.compile(rf"^(?P<register>[a-z](?:[a-z_]*[a-z])?)(?P<period>\d{{1,2}})_(?P<year>{_YEAR})$"),
    # bef2018, bef_2018, bef201812, befbop202112
    re.compile(rf"^(?P<register>[a-z](?:[a-z_]*[a-z])?)_?(?P<year>{_YEAR})(?P<period>0[1-9]|1[0-2])?$"),
)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("january", "januar", "jan"),
        ("february", "februar", "feb"),
        ("march", "marts", "mar"),
        ("april", "apr"),
        ("may", "maj"),
        ("june", "juni", "jun"),
        ("july", "juli", "jul"),
        ("august", "aug"),
        ("september", "sept", "sep"),
        ("october", "oktober", "oct", "okt"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    start=1,
):
    for _name in _names:
        _MONTHS[_name] = _number
del _number, _names, _name

_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(?<![a-z])(?P<month>{_MONTH_WORD})[\s_\-.]*(?P<year>{_YEAR})(?!\d)"), "word_year"),
    (re.compile(rf"(?<!\d)(?P<year>{_YEAR})[\s_\-.]*(?P<month>{_MONTH_WORD})(?![a-z])"), "year_word"),
    (
        re.compile(
            rf"(?<!\d)(?P<year>{_YEAR})[-_.]?(?P<month>0[1-9]|1[0-2])[-_.]?(?P<day>0[1-9]|[12]\d|3[01])(?!\d)"
        ),
        "ymd",
    ),
    (re.compile(rf"(?<!\d)(?P<year>{_YEAR})[-_.]?(?P<month>0[1-9]|1[0-2])(?!\d)"), "ym"),
    (re.compile(rf"(?<!\d)(?P<year>{_YEAR})(?!\d)"), "y"),
)


@dataclass(frozen=True)
class FileName:
    """What a register file's name says."""

    register: str
    year: int
    period: str
    fmt: FileFormat


def _split_extension(name: str) -> tuple[str, FileFormat] | None:
    lower = name.lower()
    for ext, fmt in _EXTENSIONS:
        if lower.endswith(ext):
            return lower[: -len(ext)], fmt
    return None


def parse_file_name(name: str) -> FileName | None:
    """Parse a register file name; ``None`` when it is not one.

    >>> parse_file_name("UDDA2010.XPT")
    FileName(register='udda', year=2010, period='', fmt=<FileFormat.XPORT: 'xpt'>)
    """
    split = _split_extension(name)
    if split is None:
        return None
    stem, fmt = split
    for pattern in _NAME_PATTERNS:
        match = pattern.match(stem)
        if match:
            return FileName(
                register=match["register"],
                year=int(match["year"]),
                period=match["period"] or "",
                fmt=fmt,
            )
    return None


def parse_delivery_date(folder: str) -> dt.date | None:
    """The delivery date a folder name states, or ``None``.

    >>> parse_delivery_date("Rerun 15-03-2024") is None
    False
    >>> parse_delivery_date("202312"), parse_delivery_date("okt_2022")
    (datetime.date(2023, 12, 1), datetime.date(2022, 10, 1))
    """
    lower = folder.lower()
    dmy = re.search(
        rf"(?<!\d)(?P<day>0?[1-9]|[12]\d|3[01])[-_.](?P<month>0?[1-9]|1[0-2])[-_.](?P<year>{_YEAR})(?!\d)",
        lower,
    )
    if dmy:
        return _safe_date(int(dmy["year"]), int(dmy["month"]), int(dmy["day"]))
    for pattern, kind in _DATE_PATTERNS:
        match = pattern.search(lower)
        if not match:
            continue
        year = int(match["year"])
        if kind in ("word_year", "year_word"):
            return _safe_date(year, _MONTHS[match["month"]], 1)
        if kind == "ymd":
            return _safe_date(year, int(match["month"]), int(match["day"]))
        if kind == "ym":
            return _safe_date(year, int(match["month"]), 1)
        return _safe_date(year, 1, 1)
    return None


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class RegisterFile:
    """One register file found in the project folder.

    ``delivery`` is the sub-folder relative to the project root (``""`` for the
    first delivery); ``delivery_date`` the date parsed from it, and
    ``date_from`` says where that date came from (``"root"``, ``"folder name"``
    or ``"modification time"``).
    """

    register: str
    year: int
    period: str
    fmt: FileFormat
    path: Path
    relpath: str
    delivery: str
    delivery_date: dt.date | None
    date_from: str
    size: int
    mtime_ns: int

    def rank(self) -> tuple[int, dt.date, int, int, str]:
        """Sort key: larger wins (re-runs beat the root, then newer date, then format, then mtime)."""
        is_rerun = 0 if self.delivery == "" else 1
        date = self.delivery_date or dt.date.min
        return (is_rerun, date, _FORMAT_PREFERENCE[self.fmt], self.mtime_ns, self.relpath)


@dataclass(frozen=True)
class Inventory:
    """All register files of a project, and the chosen one per register-year-period."""

    root: Path
    files: tuple[RegisterFile, ...]
    chosen: tuple[RegisterFile, ...]
    other_files: tuple[str, ...]

    def registers(self) -> tuple[str, ...]:
        """Registers found, sorted."""
        return tuple(sorted({f.register for f in self.chosen}))

    def years(self, register: str) -> tuple[int, ...]:
        """Years found for a register, sorted."""
        return tuple(sorted({f.year for f in self.chosen if f.register == register.lower()}))

    def candidates(self, register: str, year: int) -> tuple[RegisterFile, ...]:
        """The chosen files of a register-year (one per period)."""
        return tuple(f for f in self.chosen if f.register == register.lower() and f.year == year)

    def alternatives(self, chosen: RegisterFile) -> tuple[RegisterFile, ...]:
        """All deliveries of the same register-year-period, newest first."""
        same = [
            f
            for f in self.files
            if (f.register, f.year, f.period) == (chosen.register, chosen.year, chosen.period)
        ]
        return tuple(sorted(same, key=RegisterFile.rank, reverse=True))


def _delivery_of(relparts: tuple[str, ...], mtime_ns: int) -> tuple[str, dt.date | None, str]:
    folders = relparts[:-1]
    if not folders:
        return "", None, "root"
    delivery = "/".join(folders)
    for folder in reversed(folders):
        date = parse_delivery_date(folder)
        if date is not None:
            return delivery, date, "folder name"
    mtime = dt.datetime.fromtimestamp(mtime_ns / 1e9).date()
    return delivery, mtime, "modification time"


def _walk(root: Path, skip: Iterable[Path]) -> Iterable[Path]:
    skipped = {p.resolve() for p in skip}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if CACHE_STATE_NAME in filenames or here.resolve() in skipped:
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield here / name


def scan(root: Path, skip: Iterable[Path] = ()) -> Inventory:
    """Scan ``root`` (recursively) for register files and choose the newest delivery.

    Folders holding a kit cache, hidden folders and those in ``skip`` are not scanned.
    """
    files: list[RegisterFile] = []
    other: list[str] = []
    for path in _walk(root, skip):
        rel = path.relative_to(root)
        parsed = parse_file_name(path.name)
        if parsed is None:
            other.append(rel.as_posix())
            continue
        stat = path.stat()
        delivery, date, date_from = _delivery_of(rel.parts, stat.st_mtime_ns)
        files.append(
            RegisterFile(
                register=parsed.register,
                year=parsed.year,
                period=parsed.period,
                fmt=parsed.fmt,
                path=path,
                relpath=rel.as_posix(),
                delivery=delivery,
                delivery_date=date,
                date_from=date_from,
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
            )
        )
    groups: dict[tuple[str, int, str], list[RegisterFile]] = {}
    for f in files:
        groups.setdefault((f.register, f.year, f.period), []).append(f)
    chosen: list[RegisterFile] = []
    for key in sorted(groups):
        group = sorted(groups[key], key=RegisterFile.rank, reverse=True)
        best = group[0]
        chosen.append(best)
        if len(group) > 1:
            logger.info(
                "%s %s%s: %d deliveries; taking %s (delivery %s, date from %s); passing over %s",
                key[0],
                key[1],
                f" period {key[2]}" if key[2] else "",
                len(group),
                best.relpath,
                best.delivery or "root",
                best.date_from,
                ", ".join(f.relpath for f in group[1:]),
            )
    return Inventory(root=root, files=tuple(files), chosen=tuple(chosen), other_files=tuple(other))
