"""The Aalborg-model analysis (BL 2019) on a DST-style project folder.

This module is the analysis a researcher runs on the server; the demo
(:mod:`kit.demo.pipeline`) runs it unchanged on synthetic data. Every step
goes through a :class:`kit.Session` under the chosen rule set, and only
cleared results leave it.

Definitions (``docs/aalborg.md`` walks through them):

* population: residents aged 16-64 (configurable) in BEF of year t whose
  address (KOM, BOPIKOM) belongs to an area of the project's area key;
* employed: the person's RAS status in November of year t is 1xx (a person
  without a RAS row counts as not employed);
* newcomer in year t: lives in the area in t but did not live there in the
  base year (BEF of the base year, any age); stayer: lived there in both;
* E0: employment rate by area x group x year; E1: event study per group
  (area and year fixed effects, year x treated interactions, covariates age
  band, sex and origin when configured; cluster-robust and permutation inference with
  randomisation-inference intervals, which the headline uses), where the
  newcomers' effect is measured against all residents' base-year rate as BL
  did (there are no newcomers in the base year); E2: staggered adoption
  (Callaway-Sant'Anna, not-yet-treated controls); E3: stayers versus
  composition from the base year to the target year.

Beside employment (issue 25, :mod:`kit.demo.outcomes`): E4 newcomer share by
area and year; E5 event studies of education, in education, public support and
the share of the year in employment (the configured ``outcomes``); E6 labour-market attachment shares (SOCIO13
groups) by area and year; E7 the movers-out follow-up: the labour-market
attachment (employed, unemployed, public support, outside: one distribution per
cell) of the base-year residents who moved away, by destination and year, and
the employment difference between each treated area's movers and the
comparison areas' movers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import kit
from kit.demo.extended import attachment_shares, movers_outputs, newcomer_share, outcome_studies
from kit.demo.outcomes import MONTHS_COLUMN, add_outcomes, movers_frame, november_attachment, outcome
from kit.errors import SchemaError, SpecError
from kit.progress import Progress

__all__ = ["GROUP_LABELS", "AnalysisConfig", "AnalysisResults", "prepare_movers", "prepare_panel", "run_analysis"]

log = logging.getLogger(__name__)

#: Display labels of the two groups.
GROUP_LABELS = {"all": "All residents", "newcomers": "Newcomers"}


@dataclass(frozen=True)
class AnalysisConfig:
    """What to analyse: public choices only (no data, no file paths of microdata).

    Parameters
    ----------
    treated
        Treated areas and their start year (BL: Sundparken 2012, Kildeparken 2014).
    comparison
        Comparison areas; empty means every area of the key that is not treated.
    years
        First and last year of the panel.
    base_year, target_year
        Reference year of the effects and the year of the headline figure.
    age
        Inclusive age band of the population.
    rules
        Rule set for every output.
    permutations, seed
        Randomisation inference: largest number of placebo assignments and its seed.
    data_label
        Public description of the data for provenance.
    created
        Fixed creation time for provenance (byte-identical reruns); default now.
    covariates
        Person covariates of the event study (``age_band``, ``sex``, ``origin``). Off by
        default: when in-movers are selected on characteristics that the covariates
        measure, adjusting for them removes part of the selection channel, and BL's
        headline effect is the unadjusted change (the synthetic truth is defined that way).
    outcomes
        Outcomes beside employment (:data:`kit.demo.outcomes.OUTCOMES`: ``education``,
        ``in_education``, ``support``, ``employment_share``); they need the panel's ``HFAUDD``,
        ``SOCIO13`` and (share of the year) the months employed, ``BESK_MDR`` from AKM.
        Default none (employment only); the demo and examples/aalborg name all four.
    movers_out
        Run the movers-out follow-up (needs the whole panel, see :func:`prepare_movers`);
        off by default, on in the demo and examples/aalborg.
    """

    treated: tuple[tuple[str, int], ...] = (("Sundparken", 2012), ("Kildeparken", 2014))
    comparison: tuple[str, ...] = ()
    years: tuple[int, int] = (2008, 2019)
    base_year: int = 2011
    target_year: int = 2017
    age: tuple[int, int] = (16, 64)
    rules: str = "dst"
    permutations: int = 999
    seed: int = 0
    data_label: str = ""
    created: str | None = None
    covariates: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    movers_out: bool = False

    def __post_init__(self) -> None:
        for name in self.outcomes:
            outcome(name)
        if not self.years[0] <= self.base_year < self.target_year <= self.years[1]:
            raise SpecError("analysis config", "the base year must come before the target year, both "
                            "inside the panel years", "check years, base_year and target_year")
        if self.age[0] > self.age[1]:
            raise SpecError("analysis config", "the age band is empty", "give age as (lowest, highest)")
        if not self.treated:
            raise SpecError("analysis config", "no treated areas", "name at least one treated area")

    @property
    def treated_map(self) -> dict[str, int]:
        """Treated areas and their start years."""
        return dict(self.treated)


@dataclass
class AnalysisResults:
    """The private results of one run (cleared only through kit.clear / Session.release)."""

    session: kit.Session
    e0: Any
    e1: Any
    e2: Any
    e3: Any
    comparison: tuple[str, ...]
    n_rows: int
    notes: list[str] = field(default_factory=list)
    e4: Any = None
    e5: dict[str, Any] = field(default_factory=dict)
    e6: Any = None
    e7_attachment: Any = None
    e7_difference: Any = None

    def outputs(self) -> list[Any]:
        """Private results in release order."""
        extra = [self.e4, *self.e5.values(), self.e6, self.e7_attachment, self.e7_difference]
        return [self.e0, self.e1, self.e2, self.e3, *(o for o in extra if o is not None)]


def prepare_panel(panel: pd.DataFrame, config: AnalysisConfig) -> pd.DataFrame:
    """Analysis rows from a persons x years panel with area columns.

    Expects the columns of :func:`kit.registers.build_panel` with an area key:
    ``YEAR``, ``PNR``, ``ALDER``, ``KOEN``, ``IE_TYPE``, ``SOC_STATUS_KODE`` and
    ``AREA_NAME``. Returns one row per resident and year with ``area``,
    ``year``, ``employed`` (0/1), ``newcomer`` and ``stayer`` flags, ``age_band``,
    ``sex`` and ``origin``; with ``SOCIO13`` and ``HFAUDD`` in the panel also the
    outcomes of :func:`kit.demo.outcomes.add_outcomes`.
    """
    needed = ["YEAR", "PNR", "ALDER", "KOEN", "IE_TYPE", "SOC_STATUS_KODE", "AREA_NAME"]
    needed += ["SOCIO13"] if {"support", "in_education"} & {outcome(o).column for o in config.outcomes} else []
    needed += ["HFAUDD"] if "education" in config.outcomes else []
    needed += [c for c in (outcome(o).register_column for o in config.outcomes) if c]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise SchemaError("analysis panel", f"column(s) {missing} are missing",
                          "build the panel with status='ras', education='udda', "
                          f"extra_registers={{'akm': ('SOCIO13', '{MONTHS_COLUMN}')}} and an area key "
                          "(kit.registers.build_panel), "
                          "or leave the outcomes that need them out of the configuration")
    in_area = panel[panel["AREA_NAME"].notna()]
    frame = pd.DataFrame({
        "PNR": in_area["PNR"].to_numpy(),
        "year": in_area["YEAR"].to_numpy().astype(np.int64),
        "area": in_area["AREA_NAME"].astype(str).to_numpy(),
        "age": in_area["ALDER"].to_numpy(),
        "sex": in_area["KOEN"].astype(str).to_numpy(),
        "origin": in_area["IE_TYPE"].astype(str).to_numpy(),
        "status": pd.to_numeric(in_area["SOC_STATUS_KODE"], errors="coerce").to_numpy(dtype=float),
    })
    wants_months = "employment_share" in config.outcomes
    add_outcomes(frame, in_area["SOCIO13"] if "SOCIO13" in in_area.columns else None,
                 in_area["HFAUDD"] if "HFAUDD" in in_area.columns else None,
                 in_area[MONTHS_COLUMN] if wants_months else None)
    base = frame[frame["year"] == config.base_year]
    base_key = set(zip(base["PNR"], base["area"]))
    lo, hi = config.age
    frame = frame[(frame["age"] >= lo) & (frame["age"] <= hi)
                  & (frame["year"] >= config.years[0]) & (frame["year"] <= config.years[1])].copy()
    status = frame.pop("status").to_numpy()
    frame["employed"] = ((status >= 100) & (status < 200)).astype(np.int8)
    if "attachment" in frame.columns:  # one employment definition in every output (E0 and E6 alike)
        frame["attachment"] = november_attachment(frame["attachment"].to_numpy(), frame["employed"].to_numpy() == 1)
    lived = np.fromiter((k in base_key for k in zip(frame["PNR"], frame["area"])), dtype=bool, count=len(frame))
    frame["newcomer"] = ~lived & (frame["year"] > config.base_year)
    frame["stayer"] = lived & (frame["year"] >= config.base_year)
    frame["age_band"] = pd.cut(frame["age"], bins=[15, 24, 34, 44, 54, 64], labels=False).astype(str)
    return frame.reset_index(drop=True)


def prepare_movers(panel: pd.DataFrame, config: AnalysisConfig,
                   comparison: Sequence[str] | None = None) -> pd.DataFrame:
    """Movers-out rows from the whole panel (see :func:`kit.demo.outcomes.movers_frame`).

    ``comparison`` defaults to the configured comparison areas, or every area of the
    key that is not treated.
    """
    needed = ["YEAR", "PNR", "ALDER", "KOM", "SOC_STATUS_KODE", "AREA_NAME"]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise SchemaError("movers panel", f"column(s) {missing} are missing",
                          "build the whole panel (not only the areas) with KOM, status='ras' and an area key")
    treated = list(config.treated_map)
    if comparison is None:
        comparison = config.comparison or tuple(
            a for a in pd.unique(panel["AREA_NAME"].dropna().astype(str)) if a not in treated)
    return movers_frame(panel, config.base_year, treated, list(comparison), config.age)


def _groups_frame(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """All residents (group 'all') stacked on newcomers (group 'newcomers').

    The newcomer sample holds the newcomers of each later year and, for the base
    year, all residents: BL measured the newcomers' rate against the area's
    base-year level.
    """
    everyone = frame.assign(group="all")
    later = frame[(frame["year"] > base_year) & frame["newcomer"]]
    newcomers = pd.concat([frame[frame["year"] == base_year], later]).assign(group="newcomers")
    return pd.concat([everyone, newcomers], ignore_index=True)


def run_analysis(frame: pd.DataFrame, config: AnalysisConfig, *,
                 step: Callable[[str], None] | None = None,
                 movers: pd.DataFrame | None = None, progress: Progress | None = None) -> AnalysisResults:
    """Run E0-E7 on prepared analysis rows (see :func:`prepare_panel`).

    ``movers`` are the rows of :func:`prepare_movers`; without them (or with
    ``config.movers_out`` off) E7 is left out.
    """
    say = step or (lambda _text: None)
    treated = config.treated_map
    areas = sorted(frame["area"].unique())
    unknown = [a for a in treated if a not in areas]
    if unknown:
        raise SpecError("analysis", f"treated area(s) {unknown} have no residents in the panel",
                        "check the area key and the area names in the configuration")
    comparison = tuple(config.comparison) or tuple(a for a in areas if a not in treated)
    session = kit.Session(config.rules, unit="PNR", data_label=config.data_label, created=config.created)
    stacked = _groups_frame(frame, config.base_year)
    years = [str(y) for y in range(config.years[0], config.years[1] + 1)]
    keep_areas = [*treated, *comparison]
    stacked = stacked[stacked["area"].isin(keep_areas)]

    say("E0: employment rates by area, group and year")
    e0_rows = stacked[~((stacked["group"] == "newcomers") & (stacked["year"] <= config.base_year))]

    def employment_rates(never: Sequence[tuple[str, ...]] = ()) -> Any:
        return session.table(
            e0_rows, rows=["area", "group"], cols="year", stat="rate", measure="employed",
            codes={"area": keep_areas, "group": ["all", "newcomers"], "year": years}, never=never,
            name="e0_employment_rates",
            title=f"Employment rate of residents aged {config.age[0]}-{config.age[1]} by area, group and year",
            notes=("Newcomers: residents who did not live in the area in "
                   f"{config.base_year}; there are none in {config.base_year} or before.",),
        )

    e0 = employment_rates()

    say(f"E1: event study against {len(comparison)} comparison areas "
        f"({config.permutations} permutations at most)")
    e1_rows = stacked[stacked["year"] >= config.years[0]]
    e1 = session.event_study(
        e1_rows[(e1_rows["group"] == "all") | (e1_rows["year"] >= config.base_year)],
        outcome="employed", group="area", period="year", treated=treated, comparison=list(comparison),
        base_period=config.base_year, covariates=list(config.covariates), subgroup="group",
        include_all=False, permutations=config.permutations, seed=config.seed, progress=progress,
        name="e1_event_study",
        title=f"Effect on the employment rate relative to {config.base_year} (event study)",
    )

    say("E2: staggered adoption (Callaway-Sant'Anna, not-yet-treated controls)")
    everyone = stacked[stacked["group"] == "all"]
    e2 = session.staggered(
        everyone, outcome="employed", group="area", period="year", first_treated=treated,
        never_treated=list(comparison), control="not_yet", name="e2_staggered",
        title="Group-time effects on the employment rate, aggregated by event time",
    )

    say(f"E3: stayers versus composition, {config.base_year} to {config.target_year}")
    e3 = session.decomposition(
        everyone[everyone["area"].isin(list(treated))], outcome="employed", group="area", period="year",
        base=config.base_year, target=config.target_year, name="e3_decomposition",
        title=f"Change in the employment rate {config.base_year}-{config.target_year}: "
              "within stayers and composition",
    )
    results = AnalysisResults(session=session, e0=e0, e1=e1, e2=e2, e3=e3, comparison=comparison,
                              n_rows=len(frame))
    say("E4: newcomer share by area and year")
    results.e4 = newcomer_share(session, frame[frame["area"].isin(keep_areas)], list(treated), config.base_year,
                                years, config.age)
    results.e5 = outcome_studies(session, frame, config.outcomes, treated, comparison, config.base_year,
                                 config.permutations, config.seed, say, progress)
    if "attachment" in frame.columns:
        say("E6: labour-market attachment (SOCIO13 groups) by area and year")
        results.e6 = attachment_shares(session, frame[frame["area"].isin(keep_areas)], list(treated), years,
                                       config.age, published_elsewhere=[e0])
        # E6 publishes an area's year whole or not at all; its employed share of a hidden year is E0's
        # rate of all residents (one employment definition), so E0 hides that rate too
        from kit.demo.movers_release import suppressed_cells

        hidden = sorted((area, "all", year) for area, year in suppressed_cells(results.e6, ["area", "year"])
                        if area in treated)
        if hidden:
            results.e0 = e0 = employment_rates(hidden)
    if config.movers_out and movers is not None:
        say("E7: movers-out by destination, against the comparison areas' movers")
        results.e7_attachment, results.e7_difference = movers_outputs(
            session, movers, list(treated), config.base_year, years, config.age)
    return results


def headline(cleared_e1: Any, config: AnalysisConfig) -> list[dict[str, Any]]:
    """The target-year effects per treated area and group from the cleared event study."""
    rows = []
    for row in cleared_e1.rows:
        if row.key("year") != str(config.target_year):
            continue
        values = dict(zip(cleared_e1.columns, row.values))
        rows.append({
            "area": row.key("area"), "group": row.key("group"), "suppressed": row.suppressed,
            "estimate": values.get("estimate"), "ci_low": values.get("ri_low"),
            "ci_high": values.get("ri_high"), "p_perm": values.get("p_perm"),
            "cr_low": values.get("ci_low"), "cr_high": values.get("ci_high"),
            "pct_of_base": values.get("pct_of_base"),
            "flags": [f.value for f in row.flags],
        })
    return rows


def comparison_with_truth(rows: Sequence[Mapping[str, Any]], truth: Mapping[str, Any],
                          year: int) -> list[dict[str, Any]]:
    """Join headline effects with the generator's planted effects (pp)."""
    out = []
    for row in rows:
        planted = truth["areas"].get(row["area"], {}).get("effect_pp", {}).get(row["group"], {}).get(str(year))
        covered = (None if planted is None or row["suppressed"] else
                   bool(row["ci_low"] <= planted <= row["ci_high"]))
        out.append({**row, "planted": planted, "covered": covered})
    return out
