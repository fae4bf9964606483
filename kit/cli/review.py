"""``kit review RELEASE``: the output checker's command.

::

    kit review RELEASE [--checker-dir DIR] [--log FILE] [--json]
    kit review RELEASE --approve NAME [--comment TEXT]
    kit review RELEASE --reject NAME --comment TEXT

Exit codes: 0 clean, 3 needs attention (a microdata finding, a rejected
output, no checker's report in ``--checker-dir``), 4 tampered (a file
changed, added or missing, the manifest or the decision log edited), 2 bad
input. A tampered release gets no decision.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="kit")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["review", "rel", "--reject", "t1", "--comment", "too detailed"])
>>> args.handler.__name__, args.reject, args.comment
('run_review', 't1', 'too detailed')
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from kit.release.review import Decision, ReviewResult, record_decision, review_release, shown_path

__all__ = ["register", "run_review"]


def register(subparsers: Any) -> None:
    """Add ``review`` to the kit's subcommands."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "review",
        help="verify and scan a release; record an output checker's decisions",
        description="Verify a release against its manifest, scan it for microdata, list its outputs and "
        "record approvals or rejections. Exit 0 clean, 3 needs attention, 4 tampered.",
    )
    p.add_argument("release", help="the release folder")
    p.add_argument("--checker-dir", help="the checker folder the release's report was written to")
    p.add_argument("--log", help="the decision log (default: in the checker folder, else beside the release)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--approve", metavar="NAME", help="approve the output NAME")
    action.add_argument("--reject", metavar="NAME", help="reject the output NAME (needs --comment)")
    p.add_argument("--comment", default="", help="the reason for the decision")
    p.add_argument("--reviewer", help="the checker's name (default: the login name)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run_review)


def _as_json(result: ReviewResult) -> str:
    return json.dumps(
        {
            "release": shown_path(result.release.name),
            "status": result.status.name,
            "exit_code": result.exit_code,
            "problems": list(result.problems),
            "findings": [
                {"path": f.path, "kind": f.kind.value, "where": f.where, "detail": f.detail}
                for f in result.findings
            ],
            "notes": list(result.notes),
            "outputs": [o.__dict__ for o in result.outputs],
        },
        indent=2,
        sort_keys=True,
    )


def run_review(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``kit review``; returns the exit code."""
    stream = out or sys.stdout
    if args.approve or args.reject:
        name = args.approve or args.reject
        decision = Decision.APPROVE if args.approve else Decision.REJECT
        result = record_decision(
            args.release,
            name,
            decision,
            comment=args.comment,
            checker_dir=args.checker_dir,
            log_path=args.log,
            reviewer=args.reviewer,
        )
        if result.exit_code == 4:
            print("no decision recorded: the release or its decision log does not verify", file=stream)
        else:
            print(f"recorded: {decision.value} {name}", file=stream)
    else:
        result = review_release(args.release, checker_dir=args.checker_dir, log_path=args.log)
    print(_as_json(result) if args.json else result.render(), file=stream)
    return result.exit_code
