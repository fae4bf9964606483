"""``kit check``: check a count or magnitude table made elsewhere."""

from __future__ import annotations

import argparse

from kit.core.evidence import TOTAL
from kit.external.check import check_file
from kit.external.table_input import check_encoding
from kit.progress import start
from kit.quiet import native_stdout_silenced

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kit check`` to the command line."""
    parser = subparsers.add_parser(
        "check", help="check a table made elsewhere (SAS, R, Stata) against a rule set",
        description="Reads a long-format CSV table (one row per cell; margin rows carry the total "
        "label), runs the rule set's primary checks (and secondary suppression with the LP audit when "
        "margins are published) and writes a copy with status, status_code and reasons columns. "
        "Exit 0: every cell safe; 3: cells must be suppressed; 2: bad input.",
        epilog="Example: kit check table.csv --rules dst --dims KOM,year --count n",
    )
    parser.add_argument("table", help="the CSV file")
    parser.add_argument("--rules", default="dst", help="rule set name or file (default: dst)")
    parser.add_argument("--dims", required=True, help="comma-separated dimension columns")
    parser.add_argument("--count", required=True, help="column with the number of distinct units per cell")
    parser.add_argument("--value", help="column with the cell value (magnitude tables)")
    parser.add_argument("--top1", help="column with the largest contribution (magnitude tables)")
    parser.add_argument("--top2", help="column with the second largest contribution")
    parser.add_argument("--total-label", default=TOTAL, help=f"label of margin rows (default: {TOTAL})")
    parser.add_argument("--unit-type", default="person", choices=["person", "household", "enterprise"],
                        help="what the counted units are (dominance rules depend on it)")
    parser.add_argument("--no-derive-margins", action="store_true",
                        help="do not sum margins from inner cells (units may be in several cells)")
    parser.add_argument("--hierarchy", action="append", default=[], metavar="DIM=FILE.hrc",
                        help="a dimension's hierarchy in tau-Argus .hrc format (repeatable)")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="seconds for secondary suppression (default: 60; kit.protect.bridge.DEFAULT_TIME_LIMIT)")
    parser.add_argument("--allow-empty-secondaries", action="store_true",
                        help="let empty cells be secondary suppressions (an attacker may know they are zero)")
    parser.add_argument("--sep", default=",", help="field separator (default ',')")
    parser.add_argument("--encoding", default="detect", metavar="ENC",
                        help="text encoding of the table (e.g. utf-8, cp1252, latin-1; default: detect = UTF-8 "
                        "with or without a BOM, else cp1252, what Windows Excel writes, with a note)")
    parser.add_argument("--out", help="output file (default: TABLE.checked.csv in the current folder)")
    parser.add_argument("--release", metavar="DIR",
                        help="also write the cleared table (suppressed cells as the symbol) as a release with its "
                        "manifest to DIR; the exit code is then 0 when the release was written")
    parser.add_argument("--checker-dir", metavar="DIR",
                        help="with --release: folder for the checker's report (never inside the release)")
    parser.add_argument("--no-differencing-check", action="store_true",
                        help="with --release: do not check the table against the project's differencing "
                        "registry (a table made elsewhere carries no unit populations, so the check refuses "
                        "it); the manifest records the opt-out")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="with --release: the project state folder (default: KIT_STATE_DIR, the nearest "
                        ".kit-state folder, ~/.kit-state)")
    parser.add_argument("--context", metavar="TEXT",
                        help="with --release and --checker-dir: make the release a request for the output checker's "
                        "workbench, with what the table shows and for which population (docs/review.md)")
    parser.add_argument("--controls", metavar="TEXT", help="with --context: why the table is safe")
    parser.add_argument("--exception", metavar="TEXT",
                        help="with --context: an exception request (why a rule should not apply)")
    parser.add_argument("--name", default="checked_table", help="output name in the release")
    parser.add_argument("--title", default="", help="title of the table and the report")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    dims = [d.strip() for d in args.dims.split(",") if d.strip()]
    if args.release:  # failclosed: refuse bad release paths before anything is written
        from kit.release.paths import check_release_paths

        check_release_paths(args.release, args.checker_dir)
    elif args.checker_dir:
        from kit.errors import SpecError

        raise SpecError("kit check", "--checker-dir needs --release", "add --release DIR, or leave out --checker-dir")
    request = _request(args)  # checked before anything is written
    check_encoding(args.encoding)  # failclosed: a bad --encoding before anything is read
    notes: list[str] = []
    with native_stdout_silenced(), start(getattr(args, "progress", None), "kit check: rules and suppression",
                                         total=1, unit="tables") as task:  # failclosed: no solver chatter on stdout
        result, target = check_file(
            args.table, dims, args.count, args.rules, out=args.out, sep=args.sep, encoding=args.encoding,
            notes=notes, value=args.value,
            top1=args.top1, top2=args.top2, total_label=args.total_label, unit_type=args.unit_type,
            derive_margins=not args.no_derive_margins, hierarchies=_hierarchies(args.hierarchy),
            name=args.name, title=args.title, time_limit=args.time_limit,
            allow_empty_secondaries=args.allow_empty_secondaries,
        )
        task.advance()
    for note in notes:
        print(f"note: {note}")
    counts = result.assessment.counts()
    shown = ", ".join(f"{k.lower()} {v}" for k, v in counts.items() if v)
    print(f"{len(result.frame)} cells checked under {result.rules.id} {result.rules.version}: {shown}")
    audit = result.assessment.audit
    if audit is not None:
        print(audit.summary())
    if result.suppression_summary:
        print(result.suppression_summary)  # the researcher's screen only, never the release
    if args.release:
        from kit.core.clearance import clear
        from kit.release import write_release

        try:
            with native_stdout_silenced():
                release = write_release(args.release, [clear(result.table)], result.rules,
                                        title=args.title or args.name, checker_dir=args.checker_dir,
                                        private_results=[result.table],
                                        differencing=not args.no_differencing_check, state_dir=args.state_dir,
                                        request=request)
        except BaseException:
            target.unlink(missing_ok=True)  # failclosed: a failed command leaves no file behind
            raise
        print(f"written: {target}")
        for note in release.notes:
            print(f"note: {note}")
        if args.no_differencing_check:
            print("differencing check: turned off (--no-differencing-check); recorded in the manifest")
        print(f"release: {release.folder}")
        return 0
    print(f"written: {target}")
    return result.exit_code


def _hierarchies(items: list[str]) -> dict[str, str]:
    from kit.errors import SpecError

    out = {}
    for item in items:
        dim, sep, path = item.partition("=")
        if not sep or not dim or not path:
            raise SpecError("kit check", f"--hierarchy {item!r} is not DIM=FILE.hrc",
                            "write e.g. --hierarchy geo=geo.hrc")
        out[dim.strip()] = path.strip()
    return out


def _request(args: argparse.Namespace) -> dict[str, dict[str, str]] | None:
    """The release request of ``--context/--controls/--exception`` (None when none is given)."""
    given = {k: getattr(args, k) for k in ("context", "controls", "exception") if getattr(args, k)}
    if not given:
        return None
    if not args.release or not args.checker_dir:
        from kit.errors import SpecError

        raise SpecError("kit check", "a release request (--context, --controls, --exception) needs --release "
                        "and --checker-dir", "add --release DIR --checker-dir DIR: the request is kept beside the "
                        "checker's report")
    return {args.name: given}
