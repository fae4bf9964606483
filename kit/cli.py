"""The ``kit`` command line (also ``python -m kit``).

Subcommands::

    kit demo      the flagship Aalborg-model analysis on synthetic data
    kit synth     generate a synthetic DST-shaped project folder
    kit registers list and convert register files of a project folder
    kit rules     list, show and validate rule sets
    kit check     check a table made elsewhere (SAS, R, Stata)
    kit budget    show, verify and create differential-privacy ledgers
    kit review    verify a release and record an output checker's decisions

A user error (:class:`~kit.errors.KitError`) is printed as one line on stderr
and ends the command with its exit code: 2 for bad input, 3 when output is
blocked or cells must be suppressed. A bug in the kit exits with 70.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from kit import __version__
from kit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, KitError, KitInternalError

__all__ = ["build_parser", "main"]

#: Modules that add subcommands through ``register(subparsers)``, in help order.
_COMMAND_MODULES = (
    "kit.demo.cli",
    "synthetic.cli",
    "kit.registers.cli",
    "kit.rules.cli",
    "kit.check_cli",
    "kit.dp.cli",
    "kit.release.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="kit",
        description="Privacy-preserving analysis kit: estimates, disclosure control (DST, SACRO, SDS "
        "rule sets), secondary suppression with an LP audit, differential privacy and cleared "
        "releases for secure research environments.",
        epilog="Run 'kit COMMAND --help' for a command's options. Docs: docs/index.md.",
    )
    parser.add_argument("--version", action="version", version=f"kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # a part not present in this copy (e.g. synthetic/ left out)
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(handler(args))
    except KitError as err:
        print(f"kit {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KitInternalError as err:
        print(f"kit {args.command}: internal error (a bug, please report it): {err}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(f"kit {args.command}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def existing_file(text: str) -> Path:
    """argparse type: a path that must exist (message names the path only)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
