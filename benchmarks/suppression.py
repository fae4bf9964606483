"""Secondary-suppression benchmark on the four shared tables (cost = value, 10 % levels).

Prints per table and method: primaries, secondaries, suppressed value and share of the
total, time, kit's audit, and an independent re-audit (plain scipy linprog per suppressed
primary over the raw relations, written separately from kit.protect.audit), next to the
anchor figures from ../shared/data/suppression/README.md. R's sdcTable and GaussSuppression
cannot be installed here (CRAN is not reachable; Debian packages only R itself), so their figures
are quoted from that README.

Every table is run twice: with singleton protection off (like the tau-Argus anchors, which were
measured without singleton handling) and on (kit's default when unit counts are known).
``time_limit`` per table bounds the optimisation steps (redundancy elimination, block MILP).

With ``--tauargus``, tau-Argus itself runs on each table in the same run (``pip install pytauargus``:
the tau-Argus engine with HiGHS, wheels for Linux, macOS and Windows; see tauargus_anchor.py): the
modular method on every table and the optimal one on tables of up to 2,000 cells, each pattern
audited by the kit and re-audited like the kit's own.

Usage: python benchmarks/suppression.py [--singletons on|off|both] [--tauargus] [--tauargus-max-cells N] [-v]
       [S2d_99 M2d_1768 M3d_5304 L3d_38896]
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linprog

from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure, protect

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "suppression"
if not DATA.exists():
    DATA = Path("/work/shared/data/suppression")

ANCHORS = {
    "S2d_99": "tau-Argus OPT 6 / 6,294 / 0.08 s; MOD 7 / 6,967; GaussSuppression 7 / 6,967 / 0.8 s",
    "M2d_1768": "tau-Argus MOD 53-59 / 170,166-243,855 / 35-42 s; Gauss 63 / 114,035 (exact-recovery only)",
    "M3d_5304": "tau-Argus MOD 271 / 1,533,162 / 561 s; Gauss 226 / 715,676 (exact-recovery only)",
    "L3d_38896": "no interval-safe anchor within 30 min; Gauss 911 (no singleton handling) / 777 s",
}


def load(name: str) -> tuple[TableStructure, pd.DataFrame, dict]:
    folder = DATA / name
    meta = json.loads((folder / "meta.json").read_text())
    cells = pd.read_csv(folder / "cells.csv", dtype={d["name"]: str for d in meta["dims"]})
    dims = [Dimension(d["name"], None, Hierarchy.from_parents(d["parent"])) for d in meta["dims"]]
    return TableStructure.from_dimensions(dims), cells, meta


#: the kit's time limit per table (issue 24's targets: M2d < 10 s, M3d < 120 s, L3d < 10 min)
TIME_LIMIT = {"S2d_99": 10.0, "M2d_1768": 9.0, "M3d_5304": 110.0, "L3d_38896": 240.0}
#: on tables above this size the independent re-audit checks a random sample of primaries
REAUDIT_ALL = 6000
REAUDIT_SAMPLE = 20


def reaudit(structure: TableStructure, values: np.ndarray, suppressed: np.ndarray,
            primary: np.ndarray, lpl: np.ndarray, upl: np.ndarray, sample: int | None = None) -> int:
    """Independent check: number of primaries whose interval is too narrow (plain attacker)."""
    m = structure.matrix.tocsr()
    pub = ~suppressed
    a_eq = m[pub]
    b_eq = values[pub]
    # drop atoms fixed by a published inner cell to keep the LPs small
    fails = 0
    prim = np.flatnonzero(primary)
    if sample is not None and len(prim) > sample:
        prim = np.sort(np.random.default_rng(0).choice(prim, sample, replace=False))
    for c in prim:
        row = m[c].toarray().ravel()
        for sign, need in ((1.0, values[c] - lpl[c]), (-1.0, values[c] + upl[c])):
            r = linprog(sign * row, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if r.status == 3:
                continue
            ext = sign * r.fun
            if (sign > 0 and ext > need + 1e-6 * max(1, values[c])) or (
                    sign < 0 and ext < need - 1e-6 * max(1, values[c])):
                fails += 1
                break
    return fails


#: tau-Argus methods run with ``--tauargus`` (pytauargus, in a child process): (method, minutes the
#: engine is given, tables of at most this many cells)
TAUARGUS_RUNS = (("MOD", 10, 10**9), ("OPT", 2, 200))
#: wall-clock limit of one tau-Argus child process (s)
TAUARGUS_WALL = 900.0


def run_tauargus(name: str) -> None:
    """tau-Argus MOD / OPT on the same table in the same run, audited like the kit's patterns."""
    import subprocess
    import tempfile

    from kit.protect import audit

    s, cells, _ = load(name)
    p = ProtectionProblem.from_frame(cells, s, value="value", primary="primary", lpl="lpl", upl="upl")
    total = float(p.values[s.index(tuple(s.totals))])
    prim = np.asarray(cells.set_index(list(s.dims)).loc[list(s.keys), "primary"]).astype(bool)
    version = subprocess.run([sys.executable, "-c", "import pytauargus; print(pytauargus.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    for method, minutes, max_cells in TAUARGUS_RUNS:
        if s.n_cells > max_cells:
            continue
        label = f"tau-Argus {method} (pytauargus {version}, {minutes} min)"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pattern.csv"
            cmd = [sys.executable, str(Path(__file__).resolve().with_name("tauargus_anchor.py")),
                   str((DATA / name).resolve()), method, str(minutes), str(out)]
            t0 = time.perf_counter()
            try:  # in the temporary folder: the tau-Argus engine writes its log files into the working directory
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TAUARGUS_WALL, cwd=tmp)
            except subprocess.TimeoutExpired:
                print(f"{label}: no result within {TAUARGUS_WALL:.0f} s", flush=True)
                continue
            wall = time.perf_counter() - t0
            if proc.returncode != 0 or not out.exists():
                print(f"{label}: failed ({proc.stderr.strip().splitlines()[-1:]})", flush=True)
                continue
            pat = pd.read_csv(out, dtype={d: str for d in s.dims})
            engine_s = float(proc.stdout.strip().rsplit("seconds=", 1)[-1])
        sec = s.align(pat, "secondary", fill=0).astype(bool) & ~prim
        status = np.where(prim, "u", np.where(sec, "x", "s"))
        a = audit(p.with_status(status), intervals="certify")
        sample = None if s.n_cells <= REAUDIT_ALL else REAUDIT_SAMPLE
        fails = reaudit(s, p.values, prim | sec, prim, p.lpl, p.upl, sample)
        value = float(p.values[sec].sum())
        print(f"{label}: secondaries={int(sec.sum())} value={value:,.0f} ({100 * value / total:.2f} % of total) "
              f"time={engine_s:.1f}s (process {wall:.1f}s) audit={a.verdict.value} ({a.n_failed} under-protected) "
              f"re-audit{'' if sample is None else f'(sample {sample})'}="
              f"{'PASS' if fails == 0 else f'FAIL {fails}'}", flush=True)


def run(name: str, methods: list[str], singletons: bool = True) -> None:
    s, cells, _ = load(name)
    p = ProtectionProblem.from_frame(cells, s, value="value", primary="primary", lpl="lpl", upl="upl",
                                     n_units="freq" if singletons else None, top1="top1")
    total = float(p.values[s.index(tuple(s.totals))])
    prim = np.asarray(cells.set_index(list(s.dims)).loc[list(s.keys), "primary"]).astype(bool)
    # issue 15: the old audit's tolerance was 1e-7 x the table's largest value; primaries whose level is
    # below it could pass with an interval of width 0
    old_tol = 1e-7 * float(np.abs(p.values).max())
    level = np.minimum(p.lpl, p.upl)[prim]
    below = int((level < old_tol).sum())
    print(f"\n== {name}: {s.n_cells} cells, {int(prim.sum())} primaries; anchors: {ANCHORS[name]}")
    print(f"primaries with a level below the old audit tolerance (1e-7 x max value): {below} of {int(prim.sum())} "
          f"({100 * below / max(int(prim.sum()), 1):.1f} %)")
    for method in methods:
        t0 = time.perf_counter()
        c0 = time.process_time()
        res = protect(p, method=method, time_limit=TIME_LIMIT.get(name, 120.0), audit_intervals="certify")
        t = time.perf_counter() - t0
        cpu = time.process_time() - c0
        t1 = time.perf_counter()
        sample = None if s.n_cells <= REAUDIT_ALL else REAUDIT_SAMPLE
        fails = reaudit(s, p.values, res.suppressed, prim, p.lpl, p.upl, sample)
        t_re = time.perf_counter() - t1
        print(f"{method:9s} singletons={'on ' if singletons else 'off'} primaries={res.n_primary} "
              f"secondaries={res.n_secondary} value={res.suppressed_value:,.0f} "
              f"({100 * res.suppressed_value / total:.2f} % of total) time={t:.1f}s (cpu {cpu:.1f}s) "
              f"audit={res.audit.verdict.value} ({res.audit.seconds:.2f}s) "
              f"re-audit{'' if sample is None else f'(sample {sample})'}="
              f"{'PASS' if fails == 0 else f'FAIL {fails}'} ({t_re:.1f}s)", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "-v" in args:
        args.remove("-v")
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("kit.protect.audit").setLevel(logging.INFO)
    modes = [False, True]
    if "--singletons" in args:
        i = args.index("--singletons")
        modes = {"on": [True], "off": [False], "both": [False, True]}[args[i + 1]]
        del args[i:i + 2]
    tauargus = "--tauargus" in args
    if tauargus:
        args.remove("--tauargus")
    ta_max = 10**9
    if "--tauargus-max-cells" in args:  # tau-Argus only on tables up to this size (it found none in 900 s above)
        i = args.index("--tauargus-max-cells")
        ta_max = int(args[i + 1])
        del args[i:i + 2]
    names = args or ["S2d_99", "M2d_1768", "M3d_5304", "L3d_38896"]
    _ = sp  # sparse matrices come from the structure
    for n in names:
        if not (DATA / n).exists():
            print(f"{n}: folder absent, skipped")
            continue
        for on in modes:
            run(n, ["milp", "gauss_lp"] if n == "S2d_99" else ["gauss_lp"], singletons=on)
        with open(DATA / n / "cells.csv") as fh:
            n_cells = sum(1 for _ in fh) - 1
        if tauargus and n_cells <= ta_max:
            run_tauargus(n)
