"""``kit demo``: the flagship analysis end to end on synthetic data.

1. Generate a synthetic DST-shaped project folder with the default planted
   effects (:mod:`synthetic`).
2. Open it with :mod:`kit.registers` exactly as a project folder on the
   server, and build the persons x years panel with RAS status, AKM SOCIO13
   and months employed, UDDA education and the project's area key.
3. Run E0-E7 (:mod:`kit.demo.analysis`) through a :class:`kit.Session`.
4. Release the cleared results (report with the BL bar charts, tables,
   manifest) and write the checker's report to its own folder.
5. Compare the estimates with the planted truth (and, with ``record``, write
   the numbers into the docs' ``kit-demo`` blocks, :mod:`kit.demo.record`).

Layout of ``OUT``::

    OUT/project/    the synthetic "server" project folder (microdata: never transferred)
    OUT/work/       the project's state folder (differencing registry: on, as in every release)
    OUT/release/    the cleared release: the only folder to transfer
    OUT/checker/    the checker's report (stays on the server)
    OUT/truth_comparison.txt  estimates against the planted truth (synthetic data only)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kit
from kit.demo.analysis import (
    AnalysisConfig,
    comparison_with_truth,
    headline,
    prepare_movers,
    prepare_panel,
    run_analysis,
)
from kit.demo.figures import demo_figures
from kit.demo.outcomes import MONTHS_COLUMN
from kit.demo.truth_report import (
    format_attachment,
    format_rows,
    movers_attachment_vs_truth,
    movers_vs_truth,
    newcomer_share_vs_truth,
    outcomes_vs_truth,
)
from kit.errors import OptionalDependencyError, OutputExistsError, SpecError
from kit.progress import Progress

__all__ = ["DemoResult", "format_comparison", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs, and the comparison with the planted truth."""

    out: Path
    release: Path
    checker: Path
    comparison: tuple[dict[str, Any], ...]
    seconds: float
    outcomes: tuple[dict[str, Any], ...] = ()
    movers: tuple[dict[str, Any], ...] = ()
    newcomers: tuple[dict[str, Any], ...] = ()
    attachment: tuple[dict[str, Any], ...] = ()
    text: str = ""


def run_demo(out: str | Path, *, persons: int | None = None, seed: int | None = None,
             permutations: int = 999, progress: Progress | None = None,
             echo: Callable[[str], None] = print, created: str | None = None,
             record: Sequence[str | Path] = (), engine: str = "pandas") -> DemoResult:
    """Run the whole demo into the folder ``out`` (which must not exist or be empty).

    ``engine``: how the panel is built (``"pandas"``, ``"duckdb"`` or ``"auto"``, see
    :func:`kit.registers.build_panel`); the analysis and its numbers are the same.

    ``record``: markdown files whose ``kit-demo`` blocks are rewritten with this run's
    numbers (:mod:`kit.demo.record`); checked before the run starts.
    """
    try:
        import synthetic
    except ModuleNotFoundError:  # pragma: no cover - the wheel ships it
        raise OptionalDependencyError("kit demo", "demo", "synthetic") from None
    from kit import registers
    from kit.demo.record import BLOCKS, read_block
    from kit.demo.record import record as record_blocks

    for file in record:  # fail before the run, not after it
        path = Path(file)
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if not any(read_block(text, name) is not None for name in BLOCKS):
            raise SpecError("kit demo --record", f"the file {path.name} is missing or has no kit-demo block",
                            "pass a markdown file with <!-- kit-demo:NAME:start --> ... end markers")
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
    panel = registers.build_panel(project, years, status="ras", income=None, education="udda",
                                  extra_registers={"akm": ("SOCIO13", MONTHS_COLUMN)}, area_key=project.area_key_path(),
                                  columns=("KOEN", "ALDER", "IE_TYPE", "KOM"), progress=progress, engine=engine).data
    truth = json.loads((project_dir / "truth.json").read_text(encoding="utf-8"))
    analysis_config = AnalysisConfig(
        treated=tuple((name, int(truth["areas"][name]["start"])) for name in truth["treated_areas"]),
        comparison=tuple(truth["comparison_areas"]) + tuple(truth["placebo_areas"]),
        years=(config.years[0], config.years[1]),
        base_year=int(truth["base_year"]),
        permutations=permutations,
        seed=config.seed,
        outcomes=("education", "in_education", "support", "employment_share"),
        movers_out=True,
        data_label=f"synthetic BEF/RAS/AKM/UDDA {config.years[0]}-{config.years[1]} (kit demo, seed {config.seed})",
        created=created,
    )
    frame = prepare_panel(panel, analysis_config)
    movers = prepare_movers(panel, analysis_config)
    del panel
    step(f"   {len(frame):,} resident-years aged 16-64 in {frame['area'].nunique()} areas; "
         f"{movers['PNR'].nunique():,} movers-out followed")

    step("3/5 running E0-E7 under the dst rule set")
    results = run_analysis(frame, analysis_config, step=lambda text: step("   " + text), movers=movers,
                           progress=progress)

    step("4/5 clearing and releasing")
    session = results.session
    e1 = kit.clear(results.e1)
    e5 = {name: kit.clear(est) for name, est in results.e5.items()}
    e7_difference = None if results.e7_difference is None else kit.clear(results.e7_difference)
    e7_attachment = None if results.e7_attachment is None else kit.clear(results.e7_attachment)
    e4 = kit.clear(results.e4)
    figures = demo_figures(e1, e5, e7_difference, analysis_config, e7_attachment)
    # E7's attachment is one table whose four shares per cell partition the movers, published whole
    # or not at all (kit.demo.movers_release); the differencing registry stays on (OUT/work)
    outputs = [results.e0, results.e1, figures[0], results.e2, results.e3, e4, *e5.values(), *figures[1:],
               *(o for o in (results.e6, e7_attachment, e7_difference) if o is not None)]
    release = session.release(
        out / "release", outputs,
        title="The Aalborg model: employment, education, attachment and movers-out in Kildeparken and "
              "Sundparken (synthetic data)",
        checker_dir=out / "checker", state_dir=out / "work",
        request=_DEMO_REQUEST,
    )

    step("5/5 comparing with the planted truth")
    year, base = analysis_config.target_year, analysis_config.base_year
    rows = comparison_with_truth(headline(e1, analysis_config), truth, year)
    outcome_rows = outcomes_vs_truth(e5, truth, year)
    mover_rows = [] if e7_difference is None else movers_vs_truth(e7_difference, truth, year)
    newcomer_rows = newcomer_share_vs_truth(e4, truth, year)
    attachment_rows = [] if e7_attachment is None else movers_attachment_vs_truth(e7_attachment, truth, year)
    text = "\n\n".join([
        format_comparison(rows, year, base),
        format_rows(outcome_rows, f"Effects {year} vs {base} on education, in education, public support and "
                                  "the share of the year in employment (pp), 95% randomisation-inference "
                                  "intervals, p = permutation p-value"),
        format_rows(mover_rows, f"Movers-out {year}: employment of the treated area's movers minus the "
                                "comparison areas' movers (pp), 95% Newcombe intervals"),
        format_attachment(attachment_rows, f"Movers-out {year}: labour-market attachment (% of the movers aged "
                                           "16-64, one cleared distribution per row; x: suppressed); emp - comp = "
                                           "employed share minus the comparison movers' (pp), planted = the "
                                           "generator's employment difference"),
        format_rows(newcomer_rows, f"Newcomer share {year} (% of residents aged 16-64)"),
    ])
    (out / "truth_comparison.txt").write_text(text + "\n", encoding="utf-8")
    echo(text)
    elapsed = time.perf_counter() - start
    if record:
        from kit.demo.record import blocks

        for path in record_blocks(record, blocks(_Partial(text, rows, outcome_rows, newcomer_rows,
                                                          tuple(attachment_rows)),
                                                 config.seed, config.persons)):
            echo(f"recorded this run's numbers in {path}")
    echo(f"release: {release.folder} (transfer this folder only)")
    echo(f"checker's report: {release.checker_folder} (stays on the server)")
    echo(f"done in {elapsed:.0f} s")
    return DemoResult(out=out, release=Path(release.folder), checker=Path(release.checker_folder),
                      comparison=tuple(rows), seconds=elapsed, outcomes=tuple(outcome_rows),
                      movers=tuple(mover_rows), newcomers=tuple(newcomer_rows), attachment=tuple(attachment_rows),
                      text=text)


@dataclass(frozen=True)
class _Partial:
    """The parts of a demo result the recorded blocks need (before the result is complete)."""

    text: str
    comparison: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    newcomers: list[dict[str, Any]]
    attachment: tuple[dict[str, Any], ...] = ()


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
    "e7_movers_attachment": {"context": "Labour-market attachment of the residents who moved away, by destination.",
                             "controls": "One distribution per cell, published whole or not at all; no two "
                                         "published cells differ by fewer than the threshold's persons."},
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
