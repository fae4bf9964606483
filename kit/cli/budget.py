"""``kit budget``: create, show, verify and pin a project's privacy ledger.

The lead CLI (:mod:`kit.cli`) calls :func:`register` with its sub-parsers;
every sub-command sets ``handler``, a function ``(args) -> int``. The module
also runs on its own: ``python -m kit.cli.budget budget show``.

The kit finds the ledger in the project state folder (``--state-dir``, else
``KIT_STATE_DIR``, else the nearest ``.kit-state`` folder); ``--source`` picks
one when the project has ledgers for several data sources, and a ledger file
can still be named for older projects and tests.

``verify`` exits 0 when the ledger checks out against its chain, its anchor and
``--expect-head``, and :data:`~kit.dp.anchor.EXIT_TAMPERED` (4, as ``kit review``)
when it was damaged or tampered with. ``head`` prints the head hash for the DST
operator to keep outside the project.

Examples
--------
>>> import tempfile
>>> state = tempfile.mkdtemp()
>>> main(["budget", "create", "--rho", "1", "--project", "demo", "--state-dir", state])
created privacy ledger dp-ledger-project.jsonl for data source 'project': rho cap 1, delta 1/10000000
0
>>> main(["budget", "verify", "--state-dir", state])
ledger dp-ledger-project.jsonl: OK (1 lines, spent rho=0 of 1, data source 'project')
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from kit.dp.accounting import fraction_text
from kit.dp.anchor import DEFAULT_SOURCE, EXIT_TAMPERED, read_anchor
from kit.dp.ledger import BudgetLedger, LedgerReport, format_report, locate, verify_file
from kit.errors import EXIT_OK, KitError
from kit.state import project_state_dir

__all__ = ["main", "register"]


def _create(args: argparse.Namespace) -> int:
    ledger = BudgetLedger.create(args.ledger, cap_rho=args.rho, delta=args.delta, project=args.project,
                                 source=args.source or DEFAULT_SOURCE, state_dir=args.state_dir)
    rep = ledger.report()
    print(f"created privacy ledger {ledger.path.name} for data source '{rep.source}': rho cap "
          f"{fraction_text(rep.cap_rho)}, delta {fraction_text(rep.cap_delta)}")
    if rep.n_ledgers > 1:
        print(f"note: the project now has {rep.n_ledgers} ledgers; the output checker sees every one")
    return EXIT_OK


def _report(args: argparse.Namespace, expect_head: str | None = None) -> LedgerReport:
    path = args.ledger if args.ledger is not None else locate(args.source, state_dir=args.state_dir)
    return verify_file(path, expect_head=expect_head, state_dir=args.state_dir)


def _adopt(args: argparse.Namespace) -> int:
    if args.ledger is None:
        raise KitError("kit budget adopt", "no ledger file was given", "pass the file: kit budget adopt PATH")
    ledger = BudgetLedger.adopt(args.ledger, source=args.source or DEFAULT_SOURCE, state_dir=args.state_dir)
    rep = ledger.report()
    print(f"adopted privacy ledger {ledger.path.name} for data source '{rep.source}' at head {rep.head}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    if args.ledger is None and args.source is None:      # every ledger of the project
        folder = project_state_dir(args.state_dir)
        entries = read_anchor(folder).entries
        if len(entries) > 1:
            reps = [verify_file(e.ledger_path(folder), state_dir=folder) for e in entries]
            print("\n\n".join(format_report(r) for r in reps))
            return EXIT_OK if all(r.ok for r in reps) else EXIT_TAMPERED
    rep = _report(args)
    print(format_report(rep))
    return EXIT_OK if rep.ok else EXIT_TAMPERED


def _verify(args: argparse.Namespace) -> int:
    rep = _report(args, args.expect_head)
    if rep.ok:
        print(f"ledger {rep.path}: OK ({rep.n_lines} lines, spent rho={fraction_text(rep.spent_rho)} "
              f"of {fraction_text(rep.cap_rho)}, data source '{rep.source}')")
        if rep.n_ledgers > 1:
            print(f"note: the project has {rep.n_ledgers} ledgers (data sources); their budgets add up")
        return EXIT_OK
    print(f"ledger {rep.path}: FAILED verification")
    for problem in rep.problems:
        print(f"  - {problem}")
    return EXIT_TAMPERED


def _head(args: argparse.Namespace) -> int:
    rep = _report(args)
    if not rep.ok:
        print(f"ledger {rep.path}: FAILED verification; no head to pin", file=sys.stderr)
        for problem in rep.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_TAMPERED
    print(rep.head)
    return EXIT_OK


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("ledger", nargs="?", default=None,
                   help="a ledger file (default: the project's ledger in the state folder)")
    p.add_argument("--source", default=None,
                   help="the data source whose ledger to use (when the project has several)")
    p.add_argument("--state-dir", default=None,
                   help="the project state folder (default: KIT_STATE_DIR or the nearest .kit-state)")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``budget`` (``create``, ``adopt``, ``show``, ``verify``, ``head``) to a CLI's sub-parsers.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.
    """
    budget: argparse.ArgumentParser = subparsers.add_parser("budget", help="differential-privacy budget ledger",
                                   description="Create, show, verify and pin the project's privacy-budget "
                                   "ledger (one per data source, kept in the project state folder).")
    sub = budget.add_subparsers(dest="budget_command", required=True)
    p = sub.add_parser("create", help="create the project's ledger with a fixed cap (once per data source)")
    _common(p)
    p.add_argument("--rho", required=True, help="total zCDP budget, exact (e.g. 1 or 1/2)")
    p.add_argument("--delta", default="1e-7", help="project delta (default 1e-7)")
    p.add_argument("--project", default="", help="public project label")
    p.set_defaults(handler=_create)
    p = sub.add_parser("adopt", help="anchor a ledger made by an older kit (once per data source)")
    _common(p)
    p.set_defaults(handler=_adopt)
    p = sub.add_parser("show", help="show caps, spending and charges of the project's ledgers (exit 4 when "
                       "tampered)")
    _common(p)
    p.set_defaults(handler=_show)
    p = sub.add_parser("verify", help="verify the hash chain, cap, totals and anchor (exit 4 when tampered)")
    _common(p)
    p.add_argument("--expect-head", default=None,
                   help="a head hash pinned earlier (kit budget head, a release's provenance); it must "
                        "still be in the ledger")
    p.set_defaults(handler=_verify)
    p = sub.add_parser("head", help="print the head hash (keep it outside the project to pin the ledger)")
    _common(p)
    p.set_defaults(handler=_head)
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
