"""Benchmark: the demo's inference over many seeds (issue 9's acceptance, not a test).

For each seed: generate the synthetic population, run E1 (event study per group with permutation
inference and randomisation-inference intervals) for the treated areas, and, for each placebo area,
the same event study with that area as the only "treated" one against the remaining comparison
areas. Prints per seed and in total:

* coverage: share of treated-area effects (2012-2019, both groups) whose 95 % interval covers the
  planted effect (target 85-100 %);
* placebo false positives: share of placebo areas' 2017 effects flagged significant (target <= 15 %).

Run: ``python benchmarks/demo_seeds.py [--seeds 20] [--persons N] [--permutations 199]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kit
import synthetic
from kit import registers
from kit.demo.analysis import AnalysisConfig, _groups_frame, prepare_panel


def one_seed(seed: int, persons: int, permutations: int) -> tuple[int, int, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "project"
        synthetic.generate(synthetic.SynthConfig.default(persons=persons, seed=seed), out, progress=False)
        project = registers.open(out)
        truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
        panel = registers.build_panel(project, range(2008, 2020), status="ras", income=None, education=None,
                                      area_key=project.area_key_path(),
                                      columns=("KOEN", "ALDER", "IE_TYPE", "KOM")).data
    treated = {a: int(truth["areas"][a]["start"]) for a in truth["treated_areas"]}
    comparison = list(truth["comparison_areas"]) + list(truth["placebo_areas"])
    config = AnalysisConfig(treated=tuple(treated.items()), comparison=tuple(comparison), seed=seed)
    frame = _groups_frame(prepare_panel(panel, config), config.base_year)
    session = kit.Session("dst", created="2026-01-01T00:00:00+00:00")
    e1 = kit.clear(session.event_study(frame, outcome="employed", group="area", period="year", treated=treated,
                                       comparison=comparison, base_period=2011, subgroup="group",
                                       include_all=False, permutations=permutations, seed=seed))
    covered = total = 0
    for row in e1.rows:
        year = int(row.key("year") or 0)
        if row.suppressed or year <= 2011:
            continue
        values = dict(zip(e1.columns, row.values))
        planted = truth["areas"][row.key("area")]["effect_pp"][row.key("group")][str(year)]
        if values["ri_low"] is None:
            continue
        total += 1
        covered += values["ri_low"] <= planted <= values["ri_high"]
    flagged = n_placebo = 0
    for placebo in truth["placebo_areas"]:
        pool = [a for a in comparison if a != placebo]
        est = kit.clear(session.event_study(frame[frame["group"] == "all"], outcome="employed", group="area",
                                            period="year", treated={placebo: 2014}, comparison=pool,
                                            base_period=2011, permutations=permutations, seed=seed))
        for row in est.rows:
            if row.key("year") == "2017" and not row.suppressed:
                n_placebo += 1
                flagged += kit.core.cleared.Flag.NOT_DISTINGUISHABLE_FROM_ZERO not in row.flags
    return covered, total, flagged, n_placebo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--persons", type=int, default=synthetic.DEFAULT_DEMO_PERSONS)
    parser.add_argument("--permutations", type=int, default=199)
    args = parser.parse_args()
    cov = tot = fl = npl = 0
    start = time.perf_counter()
    for seed in range(1, args.seeds + 1):
        c, t, f, n = one_seed(seed, args.persons, args.permutations)
        cov, tot, fl, npl = cov + c, tot + t, fl + f, npl + n
        print(f"seed {seed:3d}: coverage {c}/{t}  placebo flagged significant {f}/{n}  "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"total: coverage {cov}/{tot} = {cov / max(tot, 1):.1%} (target 85-100 %); "
          f"placebo false positives {fl}/{npl} = {fl / max(npl, 1):.1%} (target <= 15 %)")


if __name__ == "__main__":
    main()
