"""Benchmark of the synthetic register generator: wall time, CPU time and peak memory.

Targets (issue 7): the full population (6 million persons x 12 years, all registers, Parquet) in at
most 10 minutes and 8 GB on 2 cores. Run smaller with ``--persons`` and read the extrapolation.

Usage::

    python benchmarks/synthetic_bench.py                   # 6,000,000 persons, 2008-2019
    python benchmarks/synthetic_bench.py --persons 1000000 --keep /tmp/synth1m

Prints one line per measure and a ratio against a baseline measured in the same run: the time to
rewrite the last BEF file with pyarrow (pure Parquet I/O of one register-year), times the number of
register-years written.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from synthetic import SynthConfig, generate

TARGET_SECONDS = 600.0
TARGET_GB = 8.0
FULL_PERSONS = 6_000_000


def _peak_rss_gb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=FULL_PERSONS)
    parser.add_argument("--years", default="2008-2019")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", default=None, help="write here and keep the files (default: a temp folder)")
    args = parser.parse_args(argv)
    first, last = (int(x) for x in args.years.split("-"))
    config = SynthConfig.default(persons=args.persons, seed=args.seed, years=(first, last))
    tmp = None
    if args.keep:
        out = Path(args.keep)
    else:
        tmp = tempfile.mkdtemp(prefix="synth_bench_")
        out = Path(tmp) / "out"
    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = generate(config, out, progress=True)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        peak = _peak_rss_gb()
        size = sum(p.stat().st_size for p in result.files) / 1e9
        n_years = last - first + 1
        # baseline: pure Parquet rewrite of the last BEF year, scaled to all register-years
        bef = out / f"bef{last}.parquet"
        table = pq.read_table(bef)
        t0 = time.perf_counter()
        pq.write_table(table, out / "baseline_rewrite.parquet", compression="zstd")
        rewrite = time.perf_counter() - t0
        (out / "baseline_rewrite.parquet").unlink()
        baseline = rewrite * n_years * 6
        scale = FULL_PERSONS / args.persons
        print(f"persons (initial)          {args.persons:,}")
        print(f"persons (final year)       {result.persons_final:,}")
        print(f"years                      {first}-{last} ({n_years})")
        print(f"wall time                  {wall:8.1f} s   (target {TARGET_SECONDS:.0f} s at 6M)")
        print(f"cpu time                   {cpu:8.1f} s")
        print(f"peak RSS                   {peak:8.2f} GB  (target {TARGET_GB:.0f} GB at 6M)")
        print(f"output size                {size:8.2f} GB  ({len(result.files)} files)")
        print(f"ratio to Parquet baseline  {wall / baseline:8.2f}x  (baseline {baseline:.1f} s)")
        if scale != 1:
            print(
                f"extrapolated to 6M (linear) wall {wall * scale:.0f} s, peak RSS ~{peak * scale:.1f} GB "
                "(memory scales sub-linearly: one year of tables is held at a time)"
            )
        ok = wall * scale <= TARGET_SECONDS and peak * scale <= TARGET_GB
        print("within targets" if ok else "OUTSIDE targets")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
