"""Benchmarks for kit.estimate: event study speed, OLS overhead vs statsmodels, coverage.

Run from the repository root:
``PYTHONPATH=. python3 benchmarks/estimate_bench.py [--quick] [--ols-only] [--repeat N]``.
Prints figures; the OLS ratio is measured against plain statsmodels in the same
run on the same data. With ``--repeat N`` statsmodels and ``kit.model`` alternate
(ABBA order) and the median ratio and each best time are reported; the load
average is printed, since other jobs on a 2-core machine distort timings.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

import kit
from kit.estimate import event_study, model


def panel(n_rows: int, n_groups: int = 30, n_periods: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    persons = n_rows // n_periods
    pid = np.repeat(np.arange(persons), n_periods)
    g = np.repeat(rng.integers(0, n_groups, persons), n_periods)
    t = np.tile(np.arange(2008, 2008 + n_periods), persons)
    eff = 0.11 * ((g == 0) & (t >= 2012)) + 0.03 * ((g == 1) & (t >= 2014))
    y = (rng.random(len(pid)) < 0.4 + eff).astype(float)
    return pd.DataFrame(
        {
            "PNR": pid,
            "area": np.char.add("A", g.astype(str)),
            "year": t,
            "emp": y,
            "age": rng.integers(16, 65, len(pid)).astype(float),
            "sex": rng.integers(0, 2, len(pid)).astype(str),
        }
    )


def bench_event_study(df: pd.DataFrame) -> None:
    s = kit.Session("dst", unit="PNR")
    comp = [f"A{i}" for i in range(2, 30)]
    for covs in ([], ["age", "sex"]):
        t0 = time.perf_counter()
        event_study(
            s,
            df,
            "emp",
            "area",
            "year",
            treated={"A0": 2012, "A1": 2014},
            comparison=comp,
            base_period=2011,
            covariates=covs,
            permutations=999,
        )
        print(
            f"event study, {len(df):,} rows, 30 groups x 12 periods, 999 permutations, "
            f"covariates={covs or 'none'}: {time.perf_counter() - t0:.2f} s (target < 60 s)"
        )


def bench_ols(df: pd.DataFrame, repeat: int = 1) -> None:
    s = kit.Session("dst", unit="PNR")
    formula = "emp ~ age + C(sex) + C(area) + C(year)"

    def t_statsmodels() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        mod = smf.ols(formula, df, missing="drop")
        mod.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(df["area"])[0]})
        return time.perf_counter() - t0, time.process_time() - c0

    def t_kit() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        model(s, df, formula, cov="cluster", cluster="area")
        return time.perf_counter() - t0, time.process_time() - c0

    sm_times: list[tuple[float, float]] = []
    kit_times: list[tuple[float, float]] = []
    for i in range(repeat):
        if i % 2 == 0:
            sm_times.append(t_statsmodels())
            kit_times.append(t_kit())
        else:
            kit_times.append(t_kit())
            sm_times.append(t_statsmodels())
    t_sm, t_k = statistics.median(t for t, _ in sm_times), statistics.median(t for t, _ in kit_times)
    c_sm, c_k = statistics.median(c for _, c in sm_times), statistics.median(c for _, c in kit_times)
    ratios = [k[0] / m[0] for k, m in zip(kit_times, sm_times)]
    print(
        f"OLS cluster-robust, {len(df):,} rows: statsmodels {t_sm:.2f} s, kit.model {t_k:.2f} s, "
        f"ratio {t_k / t_sm:.2f} (target <= 1.5); CPU time {c_sm:.2f} s / {c_k:.2f} s, ratio {c_k / c_sm:.2f}"
        + (f"; {repeat} runs (medians): wall-time ratios {', '.join(f'{r:.2f}' for r in ratios)}, best "
           f"{min(t for t, _ in sm_times):.2f} s / {min(t for t, _ in kit_times):.2f} s" if repeat > 1 else "")
    )


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def bench_coverage(reps: int) -> None:
    s = kit.Session("dst", unit="PNR")
    rng = np.random.default_rng(2)
    g_n, t_n, per = 24, 3, 15
    areas = np.repeat(np.arange(g_n), t_n * per)
    years = np.tile(np.repeat(np.arange(t_n), per), g_n)
    pid = areas * 1000 + np.tile(np.arange(per), g_n * t_n)
    treated = {f"A{g}": 1 for g in range(12)}
    comp = [f"A{g}" for g in range(12, g_n)]
    hits = rejections = 0
    for _ in range(reps):
        shock = rng.normal(0, 0.3, (g_n, t_n))
        y = 1.0 + shock[areas, years] + 0.5 * ((areas < 12) & (years >= 1)) + rng.normal(0, 1, len(areas))
        df = pd.DataFrame({"PNR": pid, "area": "A" + pd.Series(areas).astype(str), "year": years, "y": y})
        c = kit.clear(
            event_study(
                s,
                df,
                "y",
                "area",
                "year",
                treated=treated,
                comparison=comp,
                base_period=0,
                pooled=True,
                permutations=0,
            )
        )
        r = c.rows[-1]
        hits += r.values[2] <= 0.5 <= r.values[3]
        # size of the permutation test with one treated group under the null
        y0 = 1.0 + shock[areas, years] + rng.normal(0, 1, len(areas))
        df0 = df.assign(y=y0)
        c0 = kit.clear(
            event_study(
                s,
                df0,
                "y",
                "area",
                "year",
                treated={"A0": 1},
                comparison=[f"A{g}" for g in range(1, g_n)],
                base_period=0,
                permutations=999,
            )
        )
        rejections += c0.rows[-1].values[5] < 0.05
    print(
        f"coverage of 95 % cluster-robust intervals (pooled, 12 treated / 12 comparison): {hits / reps:.3f} "
        f"over {reps} replications"
    )
    print(
        f"rejection rate of the permutation test at 5 % (1 treated group, null true): {rejections / reps:.3f}"
    )


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    print(f"load average before: {_load()} ({os.cpu_count()} cores); kit from {os.path.dirname(kit.__file__)}")
    df = panel(100_000 if quick else 1_000_000)
    if "--ols-only" not in sys.argv:
        bench_event_study(df)
    bench_ols(df, repeat)
    if "--ols-only" not in sys.argv:
        bench_coverage(100 if quick else 1000)
    print(f"load average after: {_load()}")
