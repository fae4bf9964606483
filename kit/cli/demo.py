"""``kit demo``: the Aalborg-model analysis end to end on synthetic data."""

from __future__ import annotations

import argparse

from kit.cli._common import count_arg
from kit.errors import EXIT_OK

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kit demo`` to the command line."""
    parser = subparsers.add_parser(
        "demo", help="run the flagship Aalborg-model analysis on synthetic data",
        description="Generates a synthetic DST-shaped population with planted effects, loads it as a "
        "project folder, runs BL's 2019 analysis (E0 rates, E1 event study with cluster-robust and "
        "permutation inference, E2 staggered adoption, E3 stayers vs composition, E4 newcomer share, E5 "
        "education, in-education, public-support and share-of-year employment effects, E6 labour-market "
        "attachment, E7 movers-out "
        "by destination) under the dst rules, writes the cleared release and the checker's report, and "
        "compares estimates with the truth.",
        epilog="Example: kit demo --out demo-out   (about 50 s of CPU; 2-3 minutes on two busy cores)",
    )
    parser.add_argument("--out", required=True, help="new or empty output folder")
    parser.add_argument("--persons", type=count_arg(1), default=None,
                        help="national population size (default: the generator's demo size)")
    parser.add_argument("--seed", type=count_arg(0, 2**63 - 1), default=None,
                        help="generator seed (default: the planted default)")
    parser.add_argument("--permutations", type=count_arg(1, 10**7), default=999,
                        help="largest number of placebo assignments (default 999)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--engine", choices=["pandas", "duckdb", "auto"], default="pandas",
                        help="engine of the panel build (default pandas; duckdb needs the scale extra)")
    parser.add_argument("--record", action="append", default=[], metavar="FILE",
                        help="rewrite the kit-demo blocks of this markdown file with the run's numbers "
                        "(repeatable; the docs are recorded with --record docs/aalborg.md --record README.md)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from kit.demo.pipeline import run_demo

    run_demo(args.out, persons=args.persons, seed=args.seed, permutations=args.permutations,
             progress=None if args.no_progress else getattr(args, "progress", None), record=tuple(args.record),
             engine=args.engine)
    return EXIT_OK
