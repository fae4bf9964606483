"""``kit registers ls PATH`` and ``kit registers convert PATH --to CACHE``.

:func:`register` adds the ``registers`` subcommand to the kit's argument
parser; each handler takes the parsed arguments and returns the exit code.
Errors are raised as :class:`kit.errors.KitError` for ``kit.cli`` to print.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="kit")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["registers", "convert", "raw", "--to", "cache", "--years", "2010-2012"])
>>> args.handler.__name__, parse_years(args.years)
('run_convert', (2010, 2011, 2012))
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from kit.errors import EXIT_OK, SpecError
from kit.registers.project import Project, format_years, open_project

__all__ = ["parse_years", "register", "run_convert", "run_ls"]


def parse_years(text: str | None) -> tuple[int, ...] | None:
    """Parse ``2010-2012,2015`` into years (``None`` stays ``None``).

    >>> parse_years("2015, 2010-2011")
    (2010, 2011, 2015)
    """
    if text is None:
        return None
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                start, end = (int(p) for p in part.split("-", 1))
                if end < start:
                    raise ValueError(part)
                years.update(range(start, end + 1))
            else:
                years.add(int(part))
        except ValueError as exc:
            raise SpecError(
                "--years", f"'{part}' is not a year or a range of years", "write e.g. 2010-2015,2018"
            ) from exc
    return tuple(sorted(years))


def _listing(project: Project, out: TextIO) -> None:
    print(f"project folder: {project.root}", file=out)
    if not project.registers():
        print("no register files found", file=out)
    for reg in project.registers():
        files = project.files(reg)
        formats = sorted({f.fmt.value for f in files})
        reruns = sorted({f.delivery for f in files if f.delivery})
        cached = 0
        if project.cache_dir is not None:
            cached = sum(
                1 for f in files if project.source(f.register, f.year, f.period).cached is not None
            )
        years = format_years(project.years(reg))
        line = f"{reg:<10} years {years}  ({len(files)} files; {', '.join(formats)}"
        if reruns:
            line += f"; re-runs from {', '.join(reruns)}"
        if project.cache_dir is not None:
            line += f"; {cached} in the cache"
        print(line + ")", file=out)
        for f in files:
            others = len(project.inventory.alternatives(f)) - 1
            if others:
                print(f"  {f.register} {f.year}{' ' + f.period if f.period else ''}: "
                      f"{f.relpath} (newest of {others + 1} deliveries)", file=out)
    if project.inventory.other_files:
        print(f"other files: {', '.join(project.inventory.other_files)}", file=out)


def run_ls(args: argparse.Namespace) -> int:
    """List registers, years and chosen files of a project folder."""
    project = open_project(args.path, cache=args.cache)
    _listing(project, sys.stdout)
    return EXIT_OK


def run_convert(args: argparse.Namespace) -> int:
    """Convert a project's SAS files to a Parquet cache."""
    _check_cache_folder(args.to)
    project = open_project(args.path)
    report = project.convert(
        args.to,
        registers=args.register or None,
        years=parse_years(args.years),
        progress=None if args.no_progress else getattr(args, "progress", None),
        chunk_rows=args.chunk_rows,
    )
    print(report.summary())
    return EXIT_OK


def _chunk_rows(text: str) -> int:
    from kit.cli._common import count_arg

    return count_arg(1, 10**9)(text)


def _check_cache_folder(text: str) -> None:
    """``--to`` must be a folder or a new path in a writable folder (not below a plain file)."""
    import os
    from pathlib import Path

    from kit.release.paths import nearest_existing

    target = Path(os.path.abspath(text))
    where = f"--to '{target.name}'"
    if target.exists() and not target.is_dir():
        raise SpecError(where, "is a plain file, not a folder", "pass a folder for the Parquet cache")
    base = nearest_existing(target)
    if not base.is_dir():
        raise SpecError(where, f"would be below the plain file '{base.name}'", "pass a folder for the cache")
    if not os.access(base, os.W_OK | os.X_OK):
        raise SpecError(where, f"the folder '{base.name}' is not writable for you",
                        "pass a cache folder you may write to (in the project's Workdata)")


def register(subparsers: Any) -> None:
    """Add ``registers ls`` and ``registers convert`` to the kit's subcommands."""
    parser = subparsers.add_parser(
        "registers",
        help="list and convert register files of a project folder",
        description="List register files of a project folder, or convert SAS files to a Parquet cache.",
    )
    sub = parser.add_subparsers(dest="registers_command", required=True, metavar="{ls,convert}")

    ls = sub.add_parser("ls", help="list registers, years and which files are used")
    ls.add_argument("path", help="project folder (e.g. the project's Rawdata folder)")
    ls.add_argument("--cache", default=None, help="Parquet cache folder, to show what is cached")
    ls.set_defaults(handler=run_ls)

    conv = sub.add_parser("convert", help="convert SAS files to a Parquet cache (resumable)")
    conv.add_argument("path", help="project folder")
    conv.add_argument("--to", required=True, help="cache folder (in the project's Workdata)")
    conv.add_argument("--register", action="append", help="only this register (repeatable)")
    conv.add_argument("--years", default=None, help="only these years, e.g. 2010-2015,2018")
    conv.add_argument("--chunk-rows", type=_chunk_rows, default=500_000, help="rows per chunk (memory bound)")
    conv.add_argument("--no-progress", action="store_true", help="no progress bar")
    conv.set_defaults(handler=run_convert)
