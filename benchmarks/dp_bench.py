"""Benchmark: DP count over 98 x 7 public cells vs pandas groupby().size(), same run.

Each job runs in its own subprocess so its peak memory (ru_maxrss) is clean.
Also times a whole release with its ledger writes on 1e6 rows.

Usage: python benchmarks/dp_bench.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
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
import resource, sys, time, json
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        big, small = d / "big.parquet", d / "small.parquet"
        t = time.perf_counter()
        make_data(big, args.rows)
        make_data(small, 1_000_000)
        print(f"data: {args.rows:,} rows written in {time.perf_counter() - t:.1f} s")
        base = run(JOB_BASELINE, str(ROOT))
        pdres = run(JOB_PANDAS, str(big))
        dpres = run(JOB_DP, str(big), str(d / "l1.jsonl"), str(ROOT))
        whole = run(JOB_DP, str(small), str(d / "l2.jsonl"), str(ROOT))
    print(f"interpreter + imports (kit, pandas, polars, opendp): {base['peak_mb']:.0f} MB")
    print(f"pandas read + groupby().size(): {pdres['seconds']:.2f} s, peak {pdres['peak_mb']:.0f} MB, "
          f"{pdres['cells']} cells")
    print(f"DP count (Parquet, de-dup, OpenDP, ledger): {dpres['seconds']:.2f} s, "
          f"peak {dpres['peak_mb']:.0f} MB, "
          f"{dpres['cells']} cells")
    print(f"ratio DP / pandas: time {dpres['seconds'] / pdres['seconds']:.2f}x, "
          f"peak memory {dpres['peak_mb'] / pdres['peak_mb']:.2f}x (target <= 3x)")
    print(f"whole release with ledger writes, 1e6 rows: {whole['seconds']:.2f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
