"""Benchmark: evidence and panels at population scale, DuckDB against the in-memory path (issue 21).

Two jobs, each measured in its own subprocess (time and peak RSS from
``resource``), engines alternating, ratios printed from the same run:

``evidence``
    A person-year register of ``--rows`` rows in one Parquet file (``PNR`` int64,
    ``YEAR`` 20 values, ``KOM`` 98 codes, ``INC`` income with negatives),
    written by DuckDB. A count table (KOM x YEAR) and a sum table with
    dominance (top-2 contributions per unit) are evaluated through
    ``kit.Session.table``:

    - in memory: ``pandas.read_parquet`` of the four columns, then the pandas engine;
    - DuckDB: the Parquet path handed to ``Session.table`` (lazy, 2 GB default limit).

``panel``
    A synthetic project (``synthetic.generate``: ``--persons`` persons over
    ``--years``), then ``build_panel`` with the pandas engine against
    ``build_panel_duckdb`` (the same panel).

Usage (the lead's full-scale runs, on a quiet machine)::

    python benchmarks/scale_bench.py evidence --rows 150000000
    python benchmarks/scale_bench.py evidence --rows 300000000 --only duckdb
    python benchmarks/scale_bench.py panel --persons 6000000 --years 2000-2019 --only duckdb
    python benchmarks/scale_bench.py panel --persons 1000000 --years 2000-2019

Reduced scale (what fits a loaded shared machine)::

    python benchmarks/scale_bench.py evidence --rows 20000000
    python benchmarks/scale_bench.py panel --persons 200000 --years 2008-2019
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source tree
    sys.path.insert(0, str(REPO))


def write_register(path: Path, rows: int, seed: int = 1) -> None:
    """A person-year register of ``rows`` rows written by DuckDB (no pandas copy)."""
    import duckdb

    persons = max(rows // 20, 1)
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(f"""
        COPY (
            SELECT (i % {persons}) + 1000000000 AS PNR,
                   CAST(2000 + (i // {persons}) % 20 AS SMALLINT) AS YEAR,
                   CAST(101 + (hash(i) % 98) * 9 AS INTEGER) AS KOM,
                   round(exp(10 + 1.2 * sqrt(-2 * ln(random() + 1e-12)) * cos(6.283185307 * random()))
                         * CASE WHEN random() < 0.02 THEN -1 ELSE 1 END) AS INC
            FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """)
    con.close()


def _evidence_job(path: str, engine: str) -> dict[str, float]:
    import kit
    from kit.engine import EngineOptions

    session = kit.Session(rules="dst", unit="PNR", engine_options=EngineOptions(progress=False),
                          created="2026-01-01T00:00:00Z")
    start, cpu0 = time.perf_counter(), time.process_time()
    if engine == "pandas":
        import pandas as pd

        data = pd.read_parquet(path, columns=["PNR", "YEAR", "KOM", "INC"])
        read = time.perf_counter() - start
    else:
        data, read = path, 0.0
    t0 = time.perf_counter()
    count = session.table(data, rows="KOM", cols="YEAR", stat="count", engine=engine, name="count")
    t1 = time.perf_counter()
    total = session.table(data, rows="KOM", cols="YEAR", stat="sum", measure="INC", engine=engine, name="sum")
    t2 = time.perf_counter()
    assert len(count.evidence) > 0 and len(total.evidence) > 0
    return {"read": read, "count": t1 - t0, "sum": t2 - t1, "total": t2 - start, "cpu": time.process_time() - cpu0}


def _panel_job(root: str, engine: str, years: list[int]) -> dict[str, float]:
    from kit.engine import EngineOptions
    from kit.registers import build_panel, open_project
    from kit.registers.panel_duckdb import build_panel_duckdb

    project = open_project(root)
    start, cpu0 = time.perf_counter(), time.process_time()
    if engine == "pandas":
        rows = len(build_panel(project, years, area_key=Path(root) / "area_key.csv").data)
    else:
        out = build_panel_duckdb(project, years, area_key=Path(root) / "area_key.csv",
                                 output=Path(root) / "panel.parquet", person_ids=True,
                                 options=EngineOptions(progress=False))
        rows = out.count()
    return {"total": time.perf_counter() - start, "cpu": time.process_time() - cpu0, "rows": float(rows)}


def _run(args: list[str]) -> dict[str, float]:
    """Run one job in a fresh interpreter; its result and peak RSS (GiB)."""
    code = ("import json, resource, sys; sys.path.insert(0, sys.argv[1]); import scale_bench as b; "
            "r = getattr(b, sys.argv[2])(*json.loads(sys.argv[3])); "
            "r['peak_gib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20; print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), *args],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"failed": 1.0, "error": out.stderr.strip().splitlines()[-1] if out.stderr else "?"}  # type: ignore[dict-item]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: record them with the times)."""
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=["evidence", "panel"])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--years", default="2008-2019")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=["pandas", "duckdb"])
    parser.add_argument("--folder", help="work folder (default a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="reuse the folder's register.parquet if present")
    args = parser.parse_args()
    engines = [args.only] if args.only else ["pandas", "duckdb"]
    print("load average at start:", _load())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        if args.job == "evidence":
            path = folder / "register.parquet"
            start = time.perf_counter()
            if not (args.reuse and path.exists()):
                write_register(path, args.rows)
            print(f"wrote {args.rows:,} rows in {time.perf_counter() - start:.1f} s "
                  f"({path.stat().st_size / 2**20:.0f} MiB Parquet)")
            jobs = {e: ["_evidence_job", json.dumps([str(path), e])] for e in engines}
        else:
            from synthetic import SynthConfig, generate

            first, last = (int(y) for y in args.years.split("-"))
            root = folder / "synth"
            start = time.perf_counter()
            generate(SynthConfig.default(persons=args.persons, seed=1, years=(first, last)), root, progress=False)
            print(f"generated {args.persons:,} persons {first}-{last} in {time.perf_counter() - start:.1f} s")
            years = list(range(first, last + 1))
            jobs = {e: ["_panel_job", json.dumps([str(root), e, years])] for e in engines}
        results: dict[str, list[dict[str, float]]] = {e: [] for e in engines}
        for _ in range(args.repeat):
            for engine in engines:
                results[engine].append(_run(jobs[engine]))
                print(engine, json.dumps(results[engine][-1]))
        print("load average at end:", _load())
        best = {e: min(r, key=lambda x: x.get("total", float("inf"))) for e, r in results.items()}
        if len(best) == 2 and all("total" in b for b in best.values()):
            p, d = best["pandas"], best["duckdb"]
            cpu = {e: min(x.get("cpu", float("inf")) for x in r) for e, r in results.items()}
            print(f"duckdb / in-memory (best of {args.repeat}): wall time x{d['total'] / p['total']:.2f}, "
                  f"CPU time x{cpu['duckdb'] / cpu['pandas']:.2f}, peak memory x{d['peak_gib'] / p['peak_gib']:.2f} "
                  f"({d['peak_gib']:.2f} GiB vs {p['peak_gib']:.2f} GiB)")


if __name__ == "__main__":
    main()
