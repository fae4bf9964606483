"""``kit budget``: create, show and verify a project's privacy ledger.

The lead CLI (:mod:`kit.cli`) calls :func:`register` with its sub-parsers;
every sub-command sets ``handler``, a function ``(args) -> int``. The module
also runs on its own: ``python -m kit.dp.cli budget show LEDGER``.

``verify`` exits 0 when the ledger checks out and
:data:`~kit.errors.EXIT_BLOCKED` (3) when it is damaged or tampered with.

Examples
--------
>>> import tempfile, pathlib
>>> path = str(pathlib.Path(tempfile.mkdtemp()) / "budget.jsonl")
>>> main(["budget", "create", path, "--rho", "1", "--project", "demo"])
created privacy ledger budget.jsonl: rho cap 1, delta 1/10000000
0
>>> main(["budget", "verify", path])
ledger budget.jsonl: OK (1 lines, spent rho=0 of 1)
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kit.dp.accounting import fraction_text
from kit.dp.ledger import BudgetLedger, format_report, verify_file
from kit.errors import EXIT_BLOCKED, EXIT_OK, KitError

__all__ = ["main", "register"]


def _create(args: argparse.Namespace) -> int:
    ledger = BudgetLedger.create(args.ledger, cap_rho=args.rho, delta=args.delta, project=args.project)
    rep = ledger.report()
    print(f"created privacy ledger {ledger.path.name}: rho cap {fraction_text(rep.cap_rho)}, "
          f"delta {fraction_text(rep.cap_delta)}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    rep = verify_file(args.ledger)
    print(format_report(rep))
    return EXIT_OK if rep.ok else EXIT_BLOCKED


def _verify(args: argparse.Namespace) -> int:
    rep = verify_file(args.ledger, expect_head=args.expect_head)
    if rep.ok:
        print(f"ledger {rep.path}: OK ({rep.n_lines} lines, spent rho={fraction_text(rep.spent_rho)} "
              f"of {fraction_text(rep.cap_rho)})")
        return EXIT_OK
    print(f"ledger {rep.path}: FAILED verification")
    for problem in rep.problems:
        print(f"  - {problem}")
    return EXIT_BLOCKED


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``budget`` (``create``, ``show``, ``verify``) to a CLI's sub-parsers.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.
    """
    budget = subparsers.add_parser("budget", help="differential-privacy budget ledger",
                                   description="Create, show and verify a project's privacy-budget ledger.")
    sub = budget.add_subparsers(dest="budget_command", required=True)
    p = sub.add_parser("create", help="create a ledger with a fixed cap")
    p.add_argument("ledger", help="ledger file, e.g. budget.jsonl in the project's work folder")
    p.add_argument("--rho", required=True, help="total zCDP budget, exact (e.g. 1 or 1/2)")
    p.add_argument("--delta", default="1e-7", help="project delta (default 1e-7)")
    p.add_argument("--project", default="", help="public project label")
    p.set_defaults(handler=_create)
    p = sub.add_parser("show", help="show caps, spending and charges")
    p.add_argument("ledger")
    p.set_defaults(handler=_show)
    p = sub.add_parser("verify", help="verify the hash chain, cap and totals (exit 3 when damaged)")
    p.add_argument("ledger")
    p.add_argument("--expect-head", default=None,
                   help="a head hash recorded earlier (e.g. in a release); it must still be in the file")
    p.set_defaults(handler=_verify)
    return budget


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``budget`` commands on their own (the kit's CLI normally does this)."""
    parser = argparse.ArgumentParser(prog="kit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
