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
from typing import Any

from kit import __version__
from kit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, KitError, KitInternalError, OptionalDependencyError

__all__ = ["build_parser", "main"]

#: Modules that add subcommands through ``register(subparsers)``, in help order, with the
#: commands they add (used when a module cannot be imported, see :func:`_unavailable`).
_COMMAND_MODULES = (
    ("kit.demo.cli", ("demo",)),
    ("synthetic.cli", ("synth",)),
    ("kit.registers.cli", ("registers",)),
    ("kit.rules.cli", ("rules",)),
    ("kit.check_cli", ("check",)),
    ("kit.dp.cli", ("budget",)),
    ("kit.release.cli", ("review",)),
)

#: Third-party packages the commands import, with the extra that brings them (None: required).
_PACKAGE_EXTRAS: dict[str, str | None] = {"opendp": "dp", "polars": "dp", "pyreadstat": "sas"}


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
    unavailable: dict[str, str] = {}
    parser.set_defaults(unavailable=unavailable)
    for name, commands in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # a part not present in this copy (e.g. synthetic/ left out)
            if exc.name is None or exc.name.split(".")[0] in ("kit", "synthetic"):
                raise
            for command in commands:
                _unavailable(sub, command, exc.name.split(".")[0])
                unavailable[command] = exc.name.split(".")[0]
            continue
        module.register(sub)
    return parser


def _unavailable(sub: Any, command: str, package: str) -> None:
    """Register ``command`` as a stub that explains which package is missing (exit 2).

    ``kit --help`` and every other command keep working when a dependency of one command is
    missing (a partial conda environment, an unzipped copy without its dependencies).
    """
    extra = _PACKAGE_EXTRAS.get(package)

    def handler(_args: argparse.Namespace) -> int:
        raise OptionalDependencyError(f"kit {command}", extra, package)

    where = f'the extra "{extra}"' if extra else "a required dependency"
    stub = sub.add_parser(command, help=f"(unavailable: needs the package {package}, {where})",
                          add_help=True)
    stub.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    missing = parser.get_default("unavailable")
    if argv and argv[0] in missing:  # its options cannot be parsed without the module
        err = OptionalDependencyError(f"the {argv[0]} command", _PACKAGE_EXTRAS.get(missing[argv[0]]), missing[argv[0]])
        print(f"kit {argv[0]}: error: {err}", file=sys.stderr)
        return err.exit_code
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
