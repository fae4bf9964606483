"""The ``kit synth`` subcommand (registered by kit/cli.py through :func:`register`).

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="kit")
>>> _ = register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["synth", "--persons", "200000", "--out", "x", "--years", "2009-2012"])
>>> parse_years(args.years), args.format
((2009, 2012), 'parquet')
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from kit.errors import EXIT_OK, SpecError
from synthetic.config import DEFAULT_DEMO_PERSONS, DEFAULT_SEED, SynthConfig
from synthetic.engine import generate

__all__ = ["parse_years", "register", "run"]

log = logging.getLogger(__name__)


def parse_years(text: str) -> tuple[int, int]:
    """Parse ``FIRST-LAST`` (or a single year) into a pair.

    Examples
    --------
    >>> parse_years("2008-2019"), parse_years("2011")
    ((2008, 2019), (2011, 2011))
    >>> parse_years("2019-2008")
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: synthetic configuration: option '--years' must be FIRST-LAST with FIRST <= LAST. Fix: ...
    """
    parts = text.strip().split("-")
    try:
        years = tuple(int(p) for p in parts)
    except ValueError:
        years = ()
    if len(years) == 1:
        years = (years[0], years[0])
    if len(years) != 2 or years[0] > years[1]:
        raise SpecError(
            "synthetic configuration",
            "option '--years' must be FIRST-LAST with FIRST <= LAST",
            "give e.g. --years 2008-2019",
        )
    return years[0], years[1]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``synth`` subcommand to an argparse subparsers object; returns the new parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "synth",
        help="generate synthetic DST-style registers with planted effects",
        description="Generate a synthetic population panel written as DST-style register files "
        "(bef, ras, akm, ind, udda, vnds per year), area_key.csv, truth.json and synth_config.toml. "
        "Command-line options override the --config file.",
    )
    parser.add_argument(
        "--persons", type=int, default=None, help=f"initial population size (default {DEFAULT_DEMO_PERSONS})"
    )
    parser.add_argument("--years", default=None, help="FIRST-LAST, default 2008-2019")
    parser.add_argument("--seed", type=int, default=None, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", required=True, help="output folder (must not exist or be empty)")
    parser.add_argument(
        "--format",
        default="parquet",
        choices=("parquet", "csv", "xpt"),
        help="file format (xpt needs pyreadstat)",
    )
    parser.add_argument("--config", default=None, help="TOML configuration file (see docs/synthetic.md)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handler of ``kit synth``: build the configuration, generate, return the exit code."""
    if args.config:
        config = SynthConfig.from_toml(Path(args.config))
    else:
        config = SynthConfig.default(persons=args.persons if args.persons is not None else DEFAULT_DEMO_PERSONS)
    changes: dict[str, Any] = {}
    if args.persons is not None:
        changes["persons"] = args.persons
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.years is not None:
        changes["years"] = parse_years(args.years)
    if changes:
        config = replace(config, **changes)
    progress = None if args.no_progress else getattr(args, "progress", None)
    result = generate(config, Path(args.out), fmt=args.format, progress=progress)
    print(
        f"kit synth: wrote {len(result.files)} files to {result.out} "
        f"(seed {config.seed}, years {config.years[0]}-{config.years[1]}); planted effects in truth.json"
    )
    return EXIT_OK
