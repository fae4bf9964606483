"""``kit demo``: the flagship analysis end to end on synthetic data.

1. Generate a synthetic DST-shaped project folder with the default planted
   effects (:mod:`synthetic`).
2. Open it with :mod:`kit.registers` exactly as a project folder on the
   server, and build the persons x years panel with RAS status and the
   project's area key.
3. Run E0-E3 (:mod:`kit.demo.analysis`) through a :class:`kit.Session`.
4. Release the cleared results (report with the BL bar chart, tables,
   manifest) and write the checker's report to its own folder.
5. Compare the headline estimates with the planted truth.

Layout of ``OUT``::

    OUT/project/    the synthetic "server" project folder (microdata: never transferred)
    OUT/work/       the project's work folder (differencing registry)
    OUT/release/    the cleared release: the only folder to transfer
    OUT/checker/    the checker's report (stays on the server)
    OUT/truth_comparison.txt  estimates against the planted truth (synthetic data only)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kit
from kit.demo.analysis import (
    GROUP_LABELS,
    AnalysisConfig,
    comparison_with_truth,
    headline,
    prepare_panel,
    run_analysis,
)
from kit.errors import OptionalDependencyError, OutputExistsError

__all__ = ["DemoResult", "format_comparison", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs, and the comparison with the planted truth."""

    out: Path
    release: Path
    checker: Path
    comparison: tuple[dict[str, Any], ...]
    seconds: float


def run_demo(out: str | Path, *, persons: int | None = None, seed: int | None = None,
             permutations: int = 999, progress: bool = True,
             echo: Callable[[str], None] = print, created: str | None = None) -> DemoResult:
    """Run the whole demo into the folder ``out`` (which must not exist or be empty)."""
    try:
        import synthetic
    except ModuleNotFoundError:  # pragma: no cover - the wheel ships it
        raise OptionalDependencyError("kit demo", "demo", "synthetic") from None
    from kit import registers
    from kit.release import Figure

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise OutputExistsError("kit demo", f"the folder {out.name} exists and is not empty",
                                "pass --out with a new folder (the demo never overwrites)")
    start = time.perf_counter()

    def step(text: str) -> None:
        echo(f"[{time.perf_counter() - start:6.1f}s] {text}")

    config = synthetic.SynthConfig.default(
        persons=persons or synthetic.DEFAULT_DEMO_PERSONS,
        seed=synthetic.DEFAULT_SEED if seed is None else seed,
    )
    step(f"1/5 generating a synthetic population of {config.persons:,} persons, "
         f"{config.years[0]}-{config.years[1]} (seed {config.seed})")
    project_dir = out / "project"
    synthetic.generate(config, project_dir, fmt="parquet", progress=progress)

    step("2/5 loading the project folder with kit.registers and building the panel")
    project = registers.open(project_dir)
    years = range(config.years[0], config.years[1] + 1)
    panel = registers.build_panel(project, years, status="ras", income=None, education=None,
                                  area_key=project.area_key_path(),
                                  columns=("KOEN", "ALDER", "IE_TYPE", "KOM")).data
    truth = json.loads((project_dir / "truth.json").read_text(encoding="utf-8"))
    analysis_config = AnalysisConfig(
        treated=tuple((name, int(truth["areas"][name]["start"])) for name in truth["treated_areas"]),
        comparison=tuple(truth["comparison_areas"]) + tuple(truth["placebo_areas"]),
        years=(config.years[0], config.years[1]),
        base_year=int(truth["base_year"]),
        permutations=permutations,
        seed=config.seed,
        data_label=f"synthetic BEF/RAS {config.years[0]}-{config.years[1]} (kit demo, seed {config.seed})",
        created=created,
    )
    frame = prepare_panel(panel, analysis_config)
    del panel
    step(f"   {len(frame):,} resident-years aged 16-64 in {frame['area'].nunique()} areas")

    step("3/5 running E0-E3 under the dst rule set")
    results = run_analysis(frame, analysis_config, step=lambda text: step("   " + text))

    step("4/5 clearing and releasing")
    session = results.session
    e1 = kit.clear(results.e1)
    figure = Figure.bar(
        e1, name="bl_figure", x="area", group="group", value="pct_of_base", low="pct_ri_low",
        high="pct_ri_high", where={"year": str(analysis_config.target_year)},
        title=f"Effect on the employment rate {analysis_config.target_year} relative to "
              f"{analysis_config.base_year} (% of the {analysis_config.base_year} level)",
        y_label=f"% of the {analysis_config.base_year} employment rate", labels=GROUP_LABELS,
    )
    release = session.release(
        out / "release", [results.e0, results.e1, figure, results.e2, results.e3],
        title="The Aalborg model: employment in Kildeparken and Sundparken (synthetic data)",
        checker_dir=out / "checker", registry=out / "work" / "release-registry",
        request=_DEMO_REQUEST,
    )

    step("5/5 comparing with the planted truth")
    rows = comparison_with_truth(headline(e1, analysis_config), truth, analysis_config.target_year)
    text = format_comparison(rows, analysis_config.target_year, analysis_config.base_year)
    (out / "truth_comparison.txt").write_text(text + "\n", encoding="utf-8")
    echo(text)
    elapsed = time.perf_counter() - start
    echo(f"release: {release.folder} (transfer this folder only)")
    echo(f"checker's report: {release.checker_folder} (stays on the server)")
    echo(f"done in {elapsed:.0f} s")
    return DemoResult(out=out, release=Path(release.folder), checker=Path(release.checker_folder),
                      comparison=tuple(rows), seconds=elapsed)


#: The researcher's context per output: the release is a request for the output checker's workbench.
_DEMO_REQUEST = {
    "e0_employment_rates": {"context": "Employment rates of residents aged 16-64 by area, group and year.",
                            "controls": "Rates over at least the rule set's number of persons per cell."},
    "e1_event_study": {"context": "Event-study effects of the area programme on the employment rate.",
                       "controls": "Model estimates with their intervals; no cell counts below the threshold."},
    "bl_figure": {"context": "The headline figure: effects in the target year as a share of the base year.",
                  "controls": "Drawn from the cleared event-study output only."},
    "e2_staggered": {"context": "Staggered-adoption effects (Callaway-Sant'Anna).",
                     "controls": "Group-time effects over groups above the threshold."},
    "e3_decomposition": {"context": "Stayers against composition: how much of the change is movers.",
                         "controls": "Aggregates of the event-study population."},
}


def format_comparison(rows: list[dict[str, Any]], year: int, base: int) -> str:
    """A small text table: estimate, interval, planted value, covered."""
    lines = [f"Effects {year} vs {base} on the employment rate (percentage points), synthetic data; "
             "95% randomisation-inference intervals",
             f"{'area':<12} {'group':<10} {'estimate':>9} {'95% interval':>17} {'p perm':>7} "
             f"{'% of base':>9} {'planted':>8} {'covered':>8}  note"]
    for r in sorted(rows, key=lambda r: (r["area"], r["group"])):
        if r["suppressed"]:
            lines.append(f"{r['area']:<12} {r['group']:<10} {'x':>9}  (suppressed by the rules)")
            continue
        flag = "not distinguishable from zero" if "not_distinguishable_from_zero" in r["flags"] else "significant"
        interval = f"[{r['ci_low']:6.1f}, {r['ci_high']:6.1f}]"
        planted = "" if r["planted"] is None else f"{r['planted']:8.1f}"
        covered = "" if r["covered"] is None else ("yes" if r["covered"] else "no")
        lines.append(f"{r['area']:<12} {r['group']:<10} {r['estimate']:9.1f} {interval:>17} "
                     f"{r['p_perm']:7.3f} {r['pct_of_base']:8.1f}% {planted:>8} {covered:>8}  {flag}")
    return "\n".join(lines)
