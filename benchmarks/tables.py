"""Benchmark: kit tables with all primary checks against plain pandas groupby.

Shapes (issue 2): 1e5, 1e6 and 1e7 rows; three categorical dimensions with
20 x 10 x 5 categories; a numeric measure; a unit column with repeated ids
(on average 4 rows per unit). For each size:

* count table: ``Session.table(stat="count")`` (distinct units per cell, the
  dst rule set's threshold and differencing checks, estimates) against
  ``df.groupby(dims)[unit].nunique()`` (the same table) and ``.size()``
  (rows, a cheaper table, for reference);
* mean table: ``Session.table(stat="mean")`` under ``sacro`` with an
  enterprise unit (threshold, dominance, p %, so the largest two per-unit
  contributions are computed) against ``groupby(dims)[measure].agg(["mean",
  "count"])``, and against plain pandas computing the same evidence (mean, rows,
  distinct units, the two largest per-unit sums).

Time is the best of ``--repeat`` runs, kit and pandas alternating (so that load
from other processes hits both alike); large tables sort their keys in two
threads when two cores are free, so run on a quiet machine. Peak memory is the tracemalloc peak of
the operation alone (the data frame exists before and is not counted), so the
ratio compares working memory. Run: ``python benchmarks/tables.py [--sizes
1e5,1e6,1e7] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import kit

DIMS = ["A", "B", "C"]


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "PNR": rng.integers(0, max(n // 4, 1), n),
        "A": rng.integers(0, 20, n).astype(np.int16),
        "B": rng.integers(0, 10, n).astype(np.int16),
        "C": rng.integers(0, 5, n).astype(np.int16),
        "x": rng.gamma(2.0, 10_000.0, n),
    })


def pandas_mean_with_checks(d: pd.DataFrame) -> object:
    """The same evidence in plain pandas: mean, rows, distinct units and the two largest unit sums."""
    grouped = d.groupby(DIMS)
    stats = grouped["x"].agg(["mean", "count"])
    units = grouped["PNR"].nunique()
    per_unit = d.groupby([*DIMS, "PNR"])["x"].sum()
    top2 = per_unit.sort_values(ascending=False).groupby(level=[0, 1, 2]).head(2)
    return stats, units, top2


def best_times(ours: Callable[[], Any], theirs: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best wall time of each, measured in alternation so that load from other processes hits both alike."""
    mine, base = [], []
    for _ in range(repeat):
        for fn, out in ((ours, mine), (theirs, base)):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return min(mine), min(base)


def peak_memory(fn: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e5,1e6,1e7")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dst = kit.Session("dst", unit="PNR")
    sacro = kit.Session("sacro", unit="PNR", unit_type="enterprise")
    print(f"{'rows':>10} {'table':<6} {'kit s':>8} {'pandas s':>9} {'time x':>7} {'kit MiB':>8} "
          f"{'pandas MiB':>10} {'mem x':>6}  baseline")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        df = make_data(size)
        cases = [
            ("count", lambda d=df: dst.table(d, rows=["A", "B"], cols="C", stat="count"),
             lambda d=df: d.groupby(DIMS)["PNR"].nunique(), "groupby.nunique"),
            ("count", lambda d=df: dst.table(d, rows=["A", "B"], cols="C", stat="count"),
             lambda d=df: d.groupby(DIMS).size(), "groupby.size"),
            ("mean", lambda d=df: sacro.table(d, rows=["A", "B"], cols="C", stat="mean", measure="x"),
             lambda d=df: d.groupby(DIMS)["x"].agg(["mean", "count"]), "groupby.agg(mean,count)"),
            ("mean", lambda d=df: sacro.table(d, rows=["A", "B"], cols="C", stat="mean", measure="x"),
             lambda d=df: pandas_mean_with_checks(d), "pandas with the same evidence"),
        ]
        for name, ours, theirs, label in cases:
            t_kit, t_pd = best_times(ours, theirs, args.repeat)
            m_kit, m_pd = peak_memory(ours), peak_memory(theirs)
            print(f"{size:>10} {name:<6} {t_kit:>8.3f} {t_pd:>9.3f} {t_kit / t_pd:>7.2f} {m_kit:>8.1f} "
                  f"{m_pd:>10.1f} {m_kit / m_pd:>6.2f}  {label}")


if __name__ == "__main__":
    main()
