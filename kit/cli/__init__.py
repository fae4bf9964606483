"""The ``kit`` command line (also ``python -m kit``): one module per command in this package.

Subcommands::

    kit demo      the flagship Aalborg-model analysis on synthetic data
    kit synth     generate a synthetic DST-shaped project folder
    kit registers list and convert register files of a project folder
    kit rules     list, show and validate rule sets
    kit check     check a table made elsewhere (SAS, R, Stata)
    kit budget    show, verify and create differential-privacy ledgers
    kit review    verify a release and record an output checker's decisions

Each command is one module of this package with a ``register(subparsers)`` function
(:mod:`kit.cli.demo`, :mod:`kit.cli.registers`, :mod:`kit.cli.rules`, :mod:`kit.cli.check`,
:mod:`kit.cli.budget`, :mod:`kit.cli.review`; ``kit synth`` comes from :mod:`synthetic.cli`);
argument types and error text they share are in :mod:`kit.cli._common`. This module parses,
dispatches and renders every error the same way:

A user error (:class:`~kit.errors.KitError`) is printed as one line on stderr
and ends the command with its exit code: 2 for bad input, 3 when output is
blocked or cells must be suppressed, 4 when ``kit review`` finds a tampered
release. A file-system error the kit did not foresee (a folder that is not
writable, a path below a plain file) is bad input too (exit 2; the message names
the file, never its content). Any other exception is a bug in the kit: one line
naming the exception type and asking to report it, exit 70, and no traceback
unless ``--debug`` is given. Argument errors (argparse) exit 2; ``--help`` and
``--version`` exit 0; ``main`` returns these codes instead of raising
``SystemExit``, so it can be called in-process.

Options of every command, accepted before or after the subcommand: ``-v``/``--verbose`` shows the
kit's INFO log lines on standard error (the command line configures logging for the duration of
the command; importing the kit configures nothing), ``-q``/``--quiet`` prints nothing on standard
output and no progress (errors and the exit code only), ``--progress`` shows progress of long steps
on standard error when it is not a terminal (on a terminal it shows by default), ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from kit import __version__
from kit.cli._common import count_arg, existing_file, os_error_text
from kit.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, KitError, KitInternalError, OptionalDependencyError
from kit.progress import Progress, default_progress

__all__ = ["build_parser", "count_arg", "existing_file", "main", "os_error_text"]

#: Modules that add subcommands through ``register(subparsers)``, in help order, with the
#: commands they add (used when a module cannot be imported, see :func:`_unavailable`).
_COMMAND_MODULES = (
    ("kit.cli.demo", ("demo",)),
    ("synthetic.cli", ("synth",)),
    ("kit.cli.registers", ("registers",)),
    ("kit.cli.rules", ("rules",)),
    ("kit.cli.check", ("check",)),
    ("kit.cli.budget", ("budget",)),
    ("kit.cli.review", ("review",)),
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
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an internal error (for a bug report)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the kit's log lines (INFO and up) on standard error")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on standard output and no progress; errors (standard error) "
                        "and the exit code only")
    parser.add_argument("--progress", action="store_true",
                        help="show progress of long steps on standard error even when it is not a terminal "
                        "(shown by default on a terminal)")
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
    """Run the command line; returns the exit code (never raises, never prints a traceback
    unless ``--debug``)."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # global flags are accepted anywhere: kit --debug check ... or kit check ... --debug
    flags = {w for w in words if w in _GLOBAL_FLAGS}
    words = [w for w in words if w not in _GLOBAL_FLAGS]
    debug = "--debug" in flags
    quiet = bool(flags & {"-q", "--quiet"})
    verbose = bool(flags & {"-v", "--verbose"})
    if quiet and verbose:
        print("kit: error: -q/--quiet and -v/--verbose exclude each other; pass one of them", file=sys.stderr)
        return EXIT_BAD_INPUT
    missing = parser.get_default("unavailable")
    if words and words[0] in missing:  # its options cannot be parsed without the module
        package = missing[words[0]]
        err = OptionalDependencyError(f"the {words[0]} command", _PACKAGE_EXTRAS.get(package), package)
        print(f"kit {words[0]}: error: {err}", file=sys.stderr)
        return err.exit_code
    try:
        args = parser.parse_args(words)
        args.debug, args.quiet, args.verbose = debug, quiet, verbose
    except SystemExit as exc:  # argparse: --help/--version give 0, a bad argument 2
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    command = str(getattr(args, "command", "") or "")
    args.progress = _progress_for(quiet, "--progress" in flags)
    with _logging_to_stderr(logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING), \
            _stdout_silenced(quiet):
        return _run_handler(handler, args, command)


#: Flags of the command itself, accepted before or after the subcommand.
_GLOBAL_FLAGS = frozenset({"--debug", "-v", "--verbose", "-q", "--quiet", "--progress"})
#: The loggers the command line shows (the library configures none of them).
_LOGGERS = ("kit", "synthetic")


def _progress_for(quiet: bool, forced: bool) -> Progress | None:
    """A progress reporter on standard error when it is a terminal or ``--progress``; none with ``-q``."""
    if quiet:
        return None
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return default_progress() if forced or tty else None


@contextlib.contextmanager
def _logging_to_stderr(level: int) -> Iterator[None]:
    """Show the kit's log records from ``level`` up on standard error while the command runs.

    Configured here only (never at import) and undone afterwards, so ``main`` can run in-process
    (tests, notebooks) without leaving handlers behind.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kit: %(levelname)s: %(message)s"))
    handler.setLevel(level)
    saved = []
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate


@contextlib.contextmanager
def _stdout_silenced(quiet: bool) -> Iterator[None]:
    """With ``-q``: the command's informational lines on standard output go nowhere."""
    if not quiet:
        yield
        return
    with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


def _run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace, command: str) -> int:
    try:
        return int(handler(args))
    except KitError as err:
        print(f"kit {command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KitInternalError as err:
        _report_bug(command, err, bool(args.debug))
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(f"kit {command}: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"kit {command}: error: {os_error_text(err)}", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return EXIT_BAD_INPUT
    except Exception as err:
        _report_bug(command, err, bool(args.debug))
        return EXIT_INTERNAL


def _report_bug(command: str, err: BaseException, debug: bool) -> None:
    if debug:
        traceback.print_exception(type(err), err, err.__traceback__, file=sys.stderr)
    print(f"kit {command}: internal error ({type(err).__name__}): a bug in the kit, please report it "
          "with the command you ran (run it again with --debug for the details)", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
