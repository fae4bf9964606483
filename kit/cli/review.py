"""``kit review RELEASE``: the output checker's command.

::

    kit review RELEASE [--checker-dir DIR] [--log FILE] [--json]
    kit review RELEASE --approve NAME [--comment TEXT]
    kit review RELEASE --reject NAME --comment TEXT
    kit review RELEASE --submit | --question NAME --comment TEXT | --answer NAME --comment TEXT
    kit review RELEASE --note NAME --comment TEXT
    kit review RELEASE --ui [--port P] [--no-browser]

A release written with a request (``request.json`` in its checker folder) follows the
request's lifecycle (docs/review.md): the author submits, reviewers ask, the author
answers, reviewers approve or reject per output; ``NAME`` ``*`` means the whole request
for questions, answers and notes. ``--reviewer`` (or ``$KIT_REVIEWER``) declares the
acting person; the default is the OS login name.

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

from kit.release.request import RequestEvent, SiteReview, load_site_review
from kit.release.review import (
    Decision,
    ReviewResult,
    record_decision,
    record_event,
    review_release,
    shown_path,
)

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
    action.add_argument("--submit", action="store_true", help="submit the release request (its author)")
    action.add_argument("--question", metavar="NAME", help="return output NAME ('*': the request) with a "
                        "question (needs --comment)")
    action.add_argument("--answer", metavar="NAME", help="answer the open question on NAME (the author)")
    action.add_argument("--note", metavar="NAME", help="add a comment to the thread of NAME ('*': the request)")
    action.add_argument("--ui", action="store_true", help="start the output checker's workbench in the browser")
    p.add_argument("--comment", default="", help="the reason for the decision, the question or the answer")
    p.add_argument("--reviewer", help="the acting person's name, declared (default: $KIT_REVIEWER, else the "
                   "login name)")
    p.add_argument("--reviews-required", type=int, choices=(1, 2), default=None,
                   help="independent approvals per output (default: the site's review.toml, else 1; "
                   "can only raise the site's number)")
    p.add_argument("--port", type=int, default=0, help="workbench port on 127.0.0.1 (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the workbench URL without opening a browser")
    p.add_argument("--against", help="an earlier release folder to diff against in the workbench")
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
            "request": None if result.request is None else {
                "author": result.request.request.author,
                "state": result.request.state.value,
                "reviews_required": result.request.reviews_required,
                "outputs": {n: s.state.value for n, s in result.request.outputs.items()},
            },
        },
        indent=2,
        sort_keys=True,
    )


def _site(args: argparse.Namespace) -> SiteReview:
    site = load_site_review()
    asked = getattr(args, "reviews_required", None)
    if asked is not None and asked > site.reviews_required:
        return SiteReview(asked, site.require_request)
    return site


def run_review(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Handler of ``kit review``; returns the exit code."""
    stream = out or sys.stdout
    site = _site(args)
    if getattr(args, "ui", False):
        from kit.workbench.server import serve_workbench

        return serve_workbench(args.release, checker_dir=args.checker_dir, log_path=args.log,
                               reviewer=args.reviewer, site=site, port=args.port,
                               open_browser=not args.no_browser, against=args.against, out=stream)
    events = ((RequestEvent.SUBMIT, "" if args.submit else None),
              (RequestEvent.QUESTION, args.question), (RequestEvent.ANSWER, args.answer),
              (RequestEvent.COMMENT, args.note))
    for event, target in events:
        if target is None:
            continue
        name = "" if target == "*" else target
        result = record_event(args.release, event, name, comment=args.comment, checker_dir=args.checker_dir,
                              log_path=args.log, reviewer=args.reviewer, site=site)
        if result.exit_code == 4:
            print("nothing recorded: the release or its decision log does not verify", file=stream)
        else:
            print(f"recorded: {event.value} {target}".rstrip(), file=stream)
        print(_as_json(result) if args.json else result.render(), file=stream)
        return result.exit_code
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
            site=site,
        )
        if result.exit_code == 4:
            print("no decision recorded: the release or its decision log does not verify", file=stream)
        else:
            print(f"recorded: {decision.value} {name}", file=stream)
    else:
        result = review_release(args.release, checker_dir=args.checker_dir, log_path=args.log, site=site)
    print(_as_json(result) if args.json else result.render(), file=stream)
    return result.exit_code
