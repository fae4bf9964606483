"""Benchmark: Parquet cache vs SAS reading, and conversion memory (issue 8).

Generates one BEF-like register-year of ``--rows`` rows (default 6 million) as a
SAS file, converts it to the Parquet cache with ``Project.convert`` in a
subprocess (peak RSS measured there with ``resource``), then times reading 5
columns

- from the Parquet cache through ``Project.read`` (the kit's path), and
- from the SAS file with ``pandas.read_sas`` (the baseline in the issue), and
  with pyreadstat ``usecols`` (a stronger baseline, for information),

in the same run, and prints the ratios. Targets: cache >= 10x faster than
pandas; conversion peak < 2 GB for 6 million rows.

SAS stand-in: nothing installable writes ``.sas7bdat`` (pyreadstat writes SAS
transport, SPSS and Stata; pandas writes none), so the SAS file is SAS
transport (XPORT version 5, the version ``pandas.read_sas`` reads; hence names
of at most 8 characters). The loader reads ``.sas7bdat`` through the same code
paths (pyreadstat, pandas fallback).

Usage::

    python benchmarks/registers_bench.py              # 6 million rows
    python benchmarks/registers_bench.py --rows 500000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["PNR", "KOEN", "ALDER", "KOM", "BOPIKOM"]
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source tree
    sys.path.insert(0, str(REPO))


def generate(path: Path, rows: int, seed: int = 1, chunk: int = 1_000_000) -> None:
    """Write a BEF-like SAS transport file (v5) of ``rows`` rows."""
    import pyreadstat

    rng = np.random.default_rng(seed)
    kom = np.array([101, 147, 151, 153, 155, 157, 159, 161, 163, 165, 851, 751, 461, 561], dtype=float)
    start = pd.Timestamp("1920-01-01")
    parts = []
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        ids = np.arange(offset, offset + n)
        parts.append(
            pd.DataFrame(
                {
                    "PNR": pd.Series(ids).map("{:010d}".format),
                    "KOEN": rng.integers(1, 3, n).astype(float),
                    "FOED_DAG": start + pd.to_timedelta(rng.integers(0, 36_000, n), "D"),
                    "ALDER": rng.integers(0, 100, n).astype(float),
                    "IE_TYPE": rng.integers(1, 4, n).astype(float),
                    "OPR_LAND": rng.integers(5000, 5999, n).astype(float),
                    "KOM": rng.choice(kom, n),
                    "REG": rng.integers(81, 86, n).astype(float),
                    "BOPIKOM": pd.Series(rng.integers(0, 10**7, n)).map("B{:08d}".format),
                    "BOP_VFRA": start + pd.to_timedelta(rng.integers(20_000, 37_000, n), "D"),
                    "CIVST": rng.choice(np.array(list("UGFEPOLD")), n),
                    "FAMID": pd.Series(ids // 3).map("F{:09d}".format),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    del parts
    pyreadstat.write_xport(df, str(path), file_format_version=5, table_name="BEF")


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` survives ``exec``, so in a
    child started from a large parent it would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def child_convert(raw: Path, cache: Path, chunk_rows: int) -> None:
    """Run in a subprocess: convert and print peak RSS (MB) as JSON."""
    from kit.registers import open_project

    project = open_project(raw)
    base = _peak_rss_mb()
    start = time.perf_counter()
    report = project.convert(cache, progress=False, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_mb(), "base_mb": base, "rows": report.rows}))


def _timed(fn, repeat: int = 1):
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6_000_000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here (default: temp)")
    parser.add_argument("--child-convert", nargs=2, metavar=("RAW", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_convert:
        child_convert(Path(args.child_convert[0]), Path(args.child_convert[1]), args.chunk_rows)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        raw, cache = work / "raw", work / "cache"
        raw.mkdir(parents=True, exist_ok=True)
        sas = raw / "bef2018.xpt"
        t_gen, _ = _timed(lambda: generate(sas, args.rows))
        print(f"rows: {args.rows:,}; SAS transport file {sas.stat().st_size / 1e6:.0f} MB "
              f"(generated in {t_gen:.1f} s)")

        out = subprocess.run(
            [sys.executable, __file__, "--chunk-rows", str(args.chunk_rows),
             "--child-convert", str(raw), str(cache)],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        conv = json.loads(out.stdout.strip().splitlines()[-1])
        parquet = cache / "bef2018.parquet"
        print(f"conversion: {conv['seconds']:.1f} s, peak RSS {conv['peak_mb']:.0f} MB "
              f"(process before converting: {conv['base_mb']:.0f} MB; target < 2048 MB); "
              f"Parquet {parquet.stat().st_size / 1e6:.0f} MB")

        from kit.registers import open_project

        project = open_project(raw, cache=cache)
        assert project.source("bef", 2018).cached is not None
        t_cache, frame = _timed(lambda: project.read("bef", 2018, COLUMNS), repeat=3)
        assert list(frame.data.columns) == COLUMNS and len(frame.data) == args.rows

        def pandas_sas() -> pd.DataFrame:
            return pd.read_sas(sas, format="xport", encoding="latin-1")[COLUMNS]

        t_pandas, df_pandas = _timed(pandas_sas)
        assert len(df_pandas) == args.rows

        import pyreadstat

        t_prs, (df_prs, _) = _timed(lambda: pyreadstat.read_xport(str(sas), usecols=COLUMNS))
        assert len(df_prs) == args.rows

        print(f"read {len(COLUMNS)} columns: Parquet cache {t_cache:.2f} s; "
              f"pandas.read_sas {t_pandas:.2f} s; pyreadstat usecols {t_prs:.2f} s")
        print(f"ratio pandas SAS / cache: {t_pandas / t_cache:.1f}x (target >= 10x); "
              f"pyreadstat / cache: {t_prs / t_cache:.1f}x")
        ok = t_pandas / t_cache >= 10 and (conv["peak_mb"] < 2048 or args.rows < 6_000_000)
        print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
