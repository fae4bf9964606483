"""``kit rules``: list, show and validate rule sets."""

from __future__ import annotations

import argparse

from kit.core.rules.loader import list_rule_sets, load_rule_set
from kit.errors import EXIT_OK

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kit rules`` to the command line."""
    parser = subparsers.add_parser(
        "rules", help="list, show and validate rule sets",
        description="Rule sets are versioned TOML files (disclosure_rules/*.toml). 'list' names the "
        "shipped sets, 'show' prints one readably with its fingerprint, 'check' validates a custom file.",
    )
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    p_list = sub.add_parser("list", help="list the shipped rule sets")
    p_list.set_defaults(handler=_list)
    p_show = sub.add_parser("show", help="show a rule set (name or file) with its fingerprint")
    p_show.add_argument("name", help="a shipped name (dst, sacro, sds) or a path to a .toml file")
    p_show.set_defaults(handler=_show)
    p_check = sub.add_parser("check", help="validate a custom rule-set file")
    p_check.add_argument("file", help="path to the .toml file")
    p_check.set_defaults(handler=_check)


def _list(args: argparse.Namespace) -> int:
    for name in list_rule_sets():
        rs = load_rule_set(name)
        print(f"{rs.id:<8} {rs.version:<10} sha256:{rs.fingerprint[:16]}  {rs.description}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    print(load_rule_set(args.name).describe())
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    rs = load_rule_set(args.file)
    print(f"{args.file}: valid rule set '{rs.id}' {rs.version}, {len(rs.rules)} rules, "
          f"sha256:{rs.fingerprint}")
    return EXIT_OK
