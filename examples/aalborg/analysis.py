"""The Aalborg-model analysis as a script to adapt on the research server.

Run it from the kit's folder (installed kit or an unzipped copy):

    python examples/aalborg/analysis.py examples/aalborg/config.toml

It reads the project folder with kit.registers (SAS deliveries are converted once to a
Parquet cache in the work folder), builds the person-year panel (BEF, RAS, and AKM/UDDA for
the outcomes beside employment), runs E0-E7 through a kit.Session under the configured rule
set, and writes the cleared release and the checker's report into the work folder. Only the
release folder is for transfer. See docs/aalborg.md for a walk-through; config.toml is the one
file to adapt.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # an unzipped copy of the kit

import kit
from kit import registers
from kit.demo.analysis import AnalysisConfig, headline, prepare_movers, prepare_panel, run_analysis
from kit.demo.figures import demo_figures
from kit.demo.outcomes import MONTHS_COLUMN, outcome


def main(config_path: str) -> int:
    cfg = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    data, ana = cfg["data"], cfg["analysis"]
    work = Path(data["work"])
    work.mkdir(parents=True, exist_ok=True)
    config = AnalysisConfig(
        treated=tuple((name, int(year)) for name, year in ana["treated"].items()),
        comparison=tuple(ana["comparison"]["areas"]),
        years=(ana["years"][0], ana["years"][1]), base_year=ana["base_year"],
        target_year=ana["target_year"], age=(ana["age"][0], ana["age"][1]), rules=ana["rules"],
        permutations=ana["permutations"], seed=ana["seed"], data_label=data["data_label"],
        covariates=tuple(ana["covariates"]), outcomes=tuple(ana.get("outcomes", ())),
        movers_out=bool(ana.get("movers_out", False)),
    )

    # 1. The project folder: SAS deliveries are converted once to a Parquet cache.
    project = registers.open(data["project"], cache=work / "cache")
    print(f"registers found: {', '.join(project.registers())}")
    if any(f.fmt in (registers.FileFormat.SAS7BDAT, registers.FileFormat.XPORT) for f in project.files()):
        project.convert(work / "cache")
    area_key = data["area_key"] or project.area_key_path()
    years = range(config.years[0], config.years[1] + 1)
    columns = {outcome(name).column for name in config.outcomes}
    extra: dict[str, list[str]] = {}
    if columns & {"in_education", "support"}:
        extra.setdefault("akm", []).append("SOCIO13")
    months = data.get("months", {"register": "akm", "column": MONTHS_COLUMN})
    if "employment_share" in columns:  # months employed per year: synthetic AKM, or your own BFL extract
        extra.setdefault(months["register"], []).append(months["column"])
    panel = registers.build_panel(project, years, status="ras", income=None,
                                  education="udda" if "qualified" in columns else None,
                                  extra_registers={k: tuple(v) for k, v in extra.items()} or None,
                                  area_key=area_key, columns=("KOEN", "ALDER", "IE_TYPE", "KOM")).data
    if "employment_share" in columns and months["column"] != MONTHS_COLUMN:
        panel = panel.rename(columns={months["column"]: MONTHS_COLUMN})

    # 2. The analysis (E0-E3 employment; E4 newcomer share; E5 outcomes; E6 attachment; E7 movers-out).
    frame = prepare_panel(panel, config)
    movers = prepare_movers(panel, config) if config.movers_out else None
    del panel
    results = run_analysis(frame, config, step=print, movers=movers)
    for result in results.outputs():
        print(result.summary())          # statuses and reasons: for you, never transferred

    # 3. The release: cleared outputs only; the checker's report stays on the server.
    e1 = kit.clear(results.e1)
    e5 = {name: kit.clear(est) for name, est in results.e5.items()}
    e7 = None if results.e7_difference is None else kit.clear(results.e7_difference)
    e7_attachment = None if results.e7_attachment is None else kit.clear(results.e7_attachment)
    figures = demo_figures(e1, e5, e7, config, e7_attachment)
    release = results.session.release(work / "release", [*results.outputs(), *figures],
                                      title="The Aalborg model: Kildeparken and Sundparken",
                                      checker_dir=work / "checker", state_dir=work)
    for row in headline(e1, config):
        print(row["area"], row["group"], row["estimate"], row["ci_low"], row["ci_high"], row["flags"])
    print(f"release written to {release.folder}; checker's report in {release.checker_folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("config.toml"))))
