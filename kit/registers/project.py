"""A project folder of register files: list, choose, read, convert.

Examples
--------
>>> import tempfile, pathlib, pandas as pd
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"pnr": ["01", "02"], "Kom": ["0851", "0101"]}).to_csv(root / "bef2018.csv", index=False)
>>> project = open_project(root)
>>> project.registers(), project.years("bef")
(('bef',), (2018,))
>>> repr(project).split(":", 1)[1]
' 1 files, 1 registers: bef 2018>'
>>> frame = project.read("bef", 2018, columns=["PNR", "KOM"], filters=[("KOM", "==", "0851")])
>>> frame
RegisterFrame(1 rows x 2 columns: PNR, KOM; key columns: PNR; from bef2018.csv)
>>> frame.data["KOM"].tolist()
['0851']
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from kit.errors import DataReadError, SchemaError
from kit.progress import Progress
from kit.registers import cache as cache_mod
from kit.registers import readers
from kit.registers.discover import FileFormat, Inventory, RegisterFile, scan
from kit.registers.filters import FilterLike, parse_filters
from kit.registers.frames import TIME_COLUMN, RegisterFrame, Source, infer_schema
from kit.registers.names import NameMap

__all__ = ["AREA_KEY_STEM", "Project", "format_years", "open_project"]

logger = logging.getLogger(__name__)

#: File stem of the project's address-to-area key (``area_key.csv`` or ``.parquet``).
AREA_KEY_STEM = "area_key"


def format_years(years: Sequence[int]) -> str:
    """Years as runs: ``2008-2010, 2012``.

    >>> format_years([2008, 2009, 2010, 2012])
    '2008-2010, 2012'
    """
    if not years:
        return "none"
    runs: list[str] = []
    start = prev = years[0]
    for year in [*years[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ", ".join(runs)


@dataclass(frozen=True)
class Project:
    """Register files of one project folder; build with :func:`open_project`.

    Attributes
    ----------
    root
        The project folder.
    inventory
        Every register file found and the one chosen per register-year-period.
    names
        Name normalisation and renames.
    cache_dir
        The Parquet cache folder, if reads should use it.
    """

    root: Path
    inventory: Inventory
    names: NameMap
    cache_dir: Path | None = None

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        """A short description: folder name, registers with their years, file count, cache.

        Notebooks show it; it stays short for any number of files (at most 1,000 characters).
        """
        parts = [f"{name} {format_years(self.years(name))}" for name in self.registers()]
        shown = "; ".join(parts)
        if len(shown) > 700:
            shown = shown[:700].rsplit(";", 1)[0] + f"; ... ({len(parts)} registers in all)"
        cache = f", cache {self.cache_dir.name}" if self.cache_dir is not None else ""
        return (f"<Project {self.root.name!r}: {len(self.inventory.chosen)} files, "
                f"{len(parts)} registers{cache}: {shown or 'none'}>")

    def _repr_html_(self) -> str:
        """An HTML table of registers and years for Jupyter and VS Code notebooks."""
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(name)}</td><td>{escape(format_years(self.years(name)))}</td>"
            f"<td>{len(self.files(name))}</td></tr>"
            for name in self.registers()[:200]
        )
        more = "" if len(self.registers()) <= 200 else f"<p>... {len(self.registers()) - 200} more registers</p>"
        cache = escape(self.cache_dir.name) if self.cache_dir is not None else "none"
        return (f"<p><b>Register project</b> {escape(self.root.name)} (cache: {cache})</p>"
                "<table><thead><tr><th>register</th><th>years</th><th>files</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>{more}")

    # ------------------------------------------------------------------ listing
    def registers(self) -> tuple[str, ...]:
        """Registers found (lower case), sorted."""
        return self.inventory.registers()

    def years(self, register: str) -> tuple[int, ...]:
        """Years found for a register, sorted (empty when the register is absent)."""
        return self.inventory.years(register)

    def files(self, register: str | None = None) -> tuple[RegisterFile, ...]:
        """The chosen file of every register-year-period (newest delivery), optionally of one register."""
        return tuple(f for f in self.inventory.chosen if register is None or f.register == register.lower())

    def with_cache(self, cache_dir: str | os.PathLike[str] | None) -> Project:
        """The same project, reading converted files from ``cache_dir``."""
        return replace(self, cache_dir=None if cache_dir is None else Path(cache_dir))

    def area_key_path(self) -> Path | None:
        """The project's area key file (``area_key.parquet`` or ``.csv`` in the project folder)."""
        for ext in (".parquet", ".csv"):
            path = self.root / f"{AREA_KEY_STEM}{ext}"
            if path.exists():
                return path
        return None

    # ------------------------------------------------------------------ choosing
    def _pick(self, register: str, year: int, period: str | None) -> RegisterFile:
        register = register.lower()
        candidates = self.inventory.candidates(register, year)
        where = f"register {register} {year}"
        if not candidates:
            found = self.registers()
            if register not in found:
                close = difflib.get_close_matches(register, found, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise DataReadError(
                    f"register {register}",
                    f"no files of this register in the project folder (registers found: "
                    f"{', '.join(found) or 'none'})",
                    f"{hint}check the register name and the folder {self.root}",
                )
            raise DataReadError(
                where,
                f"no file for year {year} (years found: {format_years(self.years(register))})",
                "drop the year from the request or ask DST for the missing delivery",
            )
        if period is not None:
            match = [c for c in candidates if c.period == period]
            if not match:
                raise DataReadError(
                    where,
                    f"no file for period '{period}' (periods found: "
                    f"{', '.join(repr(c.period) for c in candidates)})",
                    "pass one of the periods found",
                )
            return match[0]
        if len(candidates) == 1:
            return candidates[0]
        plain = [c for c in candidates if c.period == ""]
        if plain:
            logger.info("%s: several period files; taking the yearly file %s", where, plain[0].relpath)
            return plain[0]
        raise DataReadError(
            where,
            f"{len(candidates)} files for different periods ({', '.join(c.relpath for c in candidates)})",
            "pass period= with one of: " + ", ".join(repr(c.period) for c in candidates),
        )

    def source(self, register: str, year: int, period: str | None = None) -> Source:
        """Which file a read of ``register`` ``year`` takes, and why."""
        chosen = self._pick(register, year, period)
        others = tuple(f.relpath for f in self.inventory.alternatives(chosen) if f is not chosen)
        if not others:
            reason = "the only delivery"
        else:
            dated = chosen.delivery_date.isoformat() if chosen.delivery_date else "no date"
            reason = (
                f"newest of {len(others) + 1} deliveries: "
                f"{'re-run folder ' + repr(chosen.delivery) if chosen.delivery else 'first delivery'}, "
                f"dated {dated} (from the {chosen.date_from})"
            )
        cached = cache_mod.lookup(self.cache_dir, chosen) if self.cache_dir is not None else None
        return Source(
            register=chosen.register,
            year=chosen.year,
            period=chosen.period,
            relpath=chosen.relpath,
            fmt=chosen.fmt.value,
            delivery=chosen.delivery,
            delivery_date=chosen.delivery_date,
            reason=reason,
            passed_over=others,
            cached=cached,
        )

    # ------------------------------------------------------------------ reading
    def _open_file(self, src: Source) -> tuple[Path, FileFormat, str]:
        if src.cached is not None:
            return src.cached, FileFormat.PARQUET, f"register file {src.relpath} (cache copy)"
        return self.root / src.relpath, FileFormat(src.fmt), f"register file {src.relpath}"

    def columns(self, register: str, year: int, period: str | None = None) -> tuple[str, ...]:
        """The normalised column names of a register-year (no data read)."""
        src = self.source(register, year, period)
        path, fmt, where = self._open_file(src)
        actual = self.names.resolve(readers.list_columns(path, fmt, where=where), src.register, where=where)
        return tuple(actual)

    def read(
        self,
        register: str,
        year: int,
        columns: Sequence[str] | None = None,
        filters: Sequence[FilterLike] | None = None,
        *,
        period: str | None = None,
    ) -> RegisterFrame:
        """Read one register-year.

        Parameters
        ----------
        register, year
            What to read (``"bef"``, 2018).
        columns
            Normalised names to read (any case; old names are renamed); all when ``None``.
        filters
            ``(column, op, value)`` conditions that must all hold (see :mod:`kit.registers.filters`).
        period
            Which period file when the year has several (``"12"`` for ``bef201812``).

        Returns
        -------
        RegisterFrame
            ``data`` with normalised upper-case names in the requested order,
            ``schema`` with key columns marked, ``sources``.

        Raises
        ------
        DataReadError
            The register-year is missing or the file cannot be read.
        SchemaError
            A requested or filtered column is not in the file.
        """
        src = self.source(register, year, period)
        path, fmt, where = self._open_file(src)
        logger.info("reading %s %s from %s (%s)", src.register, src.year, src.relpath, src.reason)
        actual = self.names.resolve(readers.list_columns(path, fmt, where=where), src.register, where=where)
        conditions = parse_filters(filters)
        if columns is None:
            wanted = list(actual)
        else:
            wanted = list(dict.fromkeys(self.names.canonical(c, src.register) for c in columns))
        self._check_present([*wanted, *(c.column for c in conditions)], actual, where)
        df = readers.read_file(
            path, fmt, [actual[c] for c in wanted], conditions, actual=actual, where=where
        )
        df.columns = pd.Index(wanted)
        return RegisterFrame(df, infer_schema(df, self.names.codes), (src,))

    @staticmethod
    def _check_present(wanted: Iterable[str], actual: Mapping[str, str], where: str) -> None:
        missing = [c for c in dict.fromkeys(wanted) if c not in actual]
        if not missing:
            return
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, list(actual), n=1)
            if close:
                hints.append(f"'{name}' may be '{close[0]}'")
        fix = "; ".join(hints) + "; " if hints else ""
        raise SchemaError(
            where,
            f"column(s) {', '.join(repr(m) for m in missing)} not in the file "
            f"(it has {len(actual)} columns)",
            f"{fix}list them with project.columns(register, year), or add a rename "
            "if the variable was renamed",
        )

    def read_years(
        self,
        register: str,
        years: Iterable[int],
        columns: Sequence[str] | None = None,
        filters: Sequence[FilterLike] | None = None,
        *,
        period: str | None = None,
    ) -> RegisterFrame:
        """Read several years of a register, stacked, with a ``YEAR`` column (int16).

        Every year must exist and have every requested column; the error names the file.
        """
        frames: list[pd.DataFrame] = []
        sources: list[Source] = []
        for year in years:
            frame = self.read(register, year, columns, filters, period=period)
            data = frame.data
            data.insert(0, TIME_COLUMN, pd.Series(year, index=data.index, dtype="int16"))
            frames.append(data)
            sources.extend(frame.sources)
        if not frames:
            raise SchemaError(f"register {register}", "no years were asked for", "pass at least one year")
        for name in frames[0].columns:
            kinds = {str(f[name].dtype) for f in frames if name in f.columns}
            if len(kinds) > 1:
                logger.warning(
                    "%s: column %s has different types across years (%s)",
                    register,
                    name,
                    ", ".join(sorted(kinds)),
                )
        data = pd.concat(frames, ignore_index=True)
        return RegisterFrame(data, infer_schema(data, self.names.codes), tuple(sources))

    # ------------------------------------------------------------------ converting
    def convert(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        registers: Iterable[str] | None = None,
        years: Iterable[int] | None = None,
        progress: Progress | None = None,
        *,
        chunk_rows: int = readers.DEFAULT_CHUNK_ROWS,
    ) -> cache_mod.ConversionReport:
        """Convert the chosen SAS files to a Parquet cache (resumable; see :mod:`kit.registers.cache`).

        ``cache_dir`` defaults to the project's cache folder. Reopen the project
        with ``cache=`` (or use :meth:`with_cache`) to read from the cache. ``progress``
        reports the rows converted per file (:mod:`kit.progress`; ``None``: nothing).
        """
        target = Path(cache_dir) if cache_dir is not None else self.cache_dir
        if target is None:
            raise DataReadError(
                "conversion", "no cache folder given", "pass cache_dir= (a folder in the project's Workdata)"
            )
        wanted_registers = None if registers is None else {r.lower() for r in registers}
        wanted_years = None if years is None else set(years)
        files = [
            f
            for f in self.inventory.chosen
            if (wanted_registers is None or f.register in wanted_registers)
            and (wanted_years is None or f.year in wanted_years)
        ]
        if wanted_registers:
            unknown = wanted_registers - set(self.registers())
            if unknown:
                raise DataReadError(
                    "conversion",
                    f"register(s) {', '.join(sorted(unknown))} not in the project folder",
                    f"use some of: {', '.join(self.registers())}",
                )
        return cache_mod.convert(files, target, progress=progress, chunk_rows=chunk_rows)


def open_project(
    path: str | os.PathLike[str],
    *,
    cache: str | os.PathLike[str] | None = None,
    renames: Mapping[str, str] | str | os.PathLike[str] | None = None,
) -> Project:
    """Open a project folder of register files.

    Parameters
    ----------
    path
        The folder (``Rawdata\\<project>`` on DST's server, or the synthetic generator's output).
    cache
        A Parquet cache folder made by :meth:`Project.convert`; reads use it when up to date.
    renames
        Extra renames (``{"OLD": "NEW"}`` or a TOML file like ``kit/registers/data/renames.toml``).

    Raises
    ------
    DataReadError
        When the folder does not exist.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataReadError(
            f"project folder {root}", "does not exist or is not a folder", "check the path (and drive letter)"
        )
    cache_dir = Path(cache) if cache is not None else None
    inventory = scan(root, skip=[cache_dir] if cache_dir is not None else [])
    logger.info(
        "project %s: %d register files, %d register-years",
        root,
        len(inventory.files),
        len(inventory.chosen),
    )
    return Project(root=root, inventory=inventory, names=NameMap.build(renames), cache_dir=cache_dir)
