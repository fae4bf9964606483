"""Benchmark: DP count over 98 x 7 public cells vs pandas groupby().size(), same run.

Each job runs in its own subprocess so its peak memory (ru_maxrss) is clean.
Also times a whole release with its ledger writes on 1e6 rows.

Usage: python benchmarks/dp_bench.py [--rows 10000000] [--repeat 3] [--compare OTHER_KIT_ROOT]

With ``--repeat`` the pandas and DP jobs alternate and the medians (and the
best runs) are reported; the machine's load average is printed before and
after, since other jobs distort timings on a 2-core machine. ``--compare``
runs the same DP jobs against another checkout of the kit (e.g. the previous
commit in a temporary folder) in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOB_PANDAS = """
import resource, sys, time, json
import pandas as pd
t = time.perf_counter()
df = pd.read_parquet(sys.argv[1], columns=["KOM", "year"])
size = df.groupby(["KOM", "year"]).size()
print(json.dumps({"seconds": time.perf_counter() - t, "cells": int(len(size)),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

JOB_DP = """
import os, resource, sys, time, json
os.environ["KIT_STATE_DIR"] = sys.argv[2] + ".state"   # one project state folder (ledger anchor) per run
sys.path.insert(0, sys.argv[3])
import kit
from kit.dp import BudgetLedger, DPConfig, DPTableSpec, dp_table
cfg = DPConfig(population=20_000_000, period="year", periods=tuple(str(y) for y in range(2015, 2022)),
               codes={"KOM": tuple(str(k) for k in range(101, 199))})
spec = DPTableSpec(name="count", dims=("KOM", "year"), statistic="count", rho="1/8", config=cfg)
ledger = BudgetLedger.create(sys.argv[2], cap_rho="1")
import kit.dp._engine
kit.dp._engine.load()          # one-time import of OpenDP (about 1.3 s), not part of a release
t = time.perf_counter()
r = dp_table(kit.Session(unit="PNR"), sys.argv[1], spec, ledger)
print(json.dumps({"seconds": time.perf_counter() - t, "cells": len(r.keys),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

JOB_BASELINE = """
import resource, json, sys
sys.path.insert(0, sys.argv[1])
import pandas, polars, kit, kit.dp, kit.dp._engine as e
e.load()
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_data(path: Path, rows: int) -> None:
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(0)
    persons = rows // 7
    pl.DataFrame({
        "PNR": np.repeat(np.arange(persons, dtype=np.int64), 7),
        "year": np.tile(np.arange(2015, 2022, dtype=np.int16), persons),
        "KOM": rng.integers(101, 199, persons * 7).astype(np.int16),
    }).write_parquet(path)


def run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def _summary(runs: list[dict[str, float]], key: str) -> tuple[float, float]:
    values = [r[key] for r in runs]
    return statistics.median(values), min(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", type=Path, default=None, help="another kit checkout to measure alike")
    args = parser.parse_args()
    roots = {"this kit": ROOT}
    if args.compare is not None:
        roots["compared"] = args.compare.resolve()
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        big, small = d / "big.parquet", d / "small.parquet"
        t = time.perf_counter()
        make_data(big, args.rows)
        make_data(small, 1_000_000)
        print(f"data: {args.rows:,} rows written in {time.perf_counter() - t:.1f} s")
        base = run(JOB_BASELINE, str(ROOT))
        pdres: list[dict[str, float]] = []
        dpres: dict[str, list[dict[str, float]]] = {k: [] for k in roots}
        whole: dict[str, list[dict[str, float]]] = {k: [] for k in roots}
        n = 0
        for _ in range(args.repeat):
            pdres.append(run(JOB_PANDAS, str(big)))
            for label, root in roots.items():
                n += 1
                dpres[label].append(run(JOB_DP, str(big), str(d / f"l{n}a.jsonl"), str(root)))
                whole[label].append(run(JOB_DP, str(small), str(d / f"l{n}b.jsonl"), str(root)))
    print(f"interpreter + imports (kit, pandas, polars, opendp): {base['peak_mb']:.0f} MB")
    pd_s, pd_s_min = _summary(pdres, "seconds")
    pd_mb, _ = _summary(pdres, "peak_mb")
    print(f"pandas read + groupby().size(): {pd_s:.2f} s (best {pd_s_min:.2f}), peak {pd_mb:.0f} MB, "
          f"{pdres[0]['cells']} cells; {args.repeat} run(s), medians")
    for label in roots:
        dp_s, dp_s_min = _summary(dpres[label], "seconds")
        dp_mb, _ = _summary(dpres[label], "peak_mb")
        w_s, w_min = _summary(whole[label], "seconds")
        print(f"[{label}: {roots[label]}]")
        print(f"  DP count (Parquet, de-dup, OpenDP, ledger): {dp_s:.2f} s (best {dp_s_min:.2f}), "
              f"peak {dp_mb:.0f} MB, {dpres[label][0]['cells']} cells")
        print(f"  ratio DP / pandas: time {dp_s / pd_s:.2f}x, peak memory {dp_mb / pd_mb:.2f}x (target <= 3x)")
        print(f"  whole release with ledger writes, 1e6 rows: {w_s:.2f} s (best {w_min:.2f}) (target < 0.5 s)")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
