"""truth.json: the planted effects, what they refer to, and the per-channel accounting.

Examples
--------
>>> from synthetic.config import SynthConfig
>>> from synthetic.engine import build_areas
>>> cfg = SynthConfig.default(persons=200_000)
>>> t = build_truth(cfg, build_areas(cfg), [])
>>> t["areas"]["Sundparken"]["effect_pp"]["all"]["2017"]
11.0
>>> t["areas"][t["placebo_areas"][0]]["effect_pp"]["all"]["2017"]
0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthetic.config import SynthConfig
from synthetic.geography import Area, AreaType
from synthetic.outcomes import MOVER_DESTINATIONS, MoverRecord, OutcomeRecord
from synthetic.treatment import ChannelRecord

__all__ = ["ESTIMAND", "MOVERS_ESTIMAND", "OUTCOMES_ESTIMAND", "build_truth"]

SCHEMA_VERSION = 2

#: Outcomes of ``outcomes_pp`` (``employment_share`` has no schedule: it follows from the employment effect).
OUTCOME_NAMES = ("education", "in_education", "support", "employment_share")

OUTCOMES_ESTIMAND = (
    "outcomes_pp[outcome][year] is the planted effect, in percentage points, on the share of the area's "
    "residents (as for effect_pp, group 'all') who have the outcome, against the pooled comparison/placebo "
    "areas, estimated like effect_pp by an event study relative to the base year: 'education' = residents "
    "aged 25-64 whose latest UDDA row on or before year t has HFAUDD level (first two digits) 20 or higher "
    "(upper secondary, vocational or tertiary; 90 or missing excluded); 'in_education' = residents aged "
    "16-24 with AKM SOCIO13 310; 'support' = residents aged 16-64 with AKM SOCIO13 220, 321, 323 or 330 "
    "(sickness benefit and leave, disability pension, early retirement, cash benefit). The value is the "
    "realised composition difference plus the within change applied (education: adult vocational "
    "qualifications, never removed, so the value can exceed the schedule 'planted_pp'). "
    "'employment_share' = the share of the year in employment of residents aged 16-64: AKM BESK_MDR "
    "(months with employment in the year, 0-12, a synthetic column consistent with the November status) "
    "divided by 12, in percentage points of the year. It has no schedule of its own: the employment "
    "effect (effect_pp, planted on the November status) lengthens or shortens the year's employment "
    "spells, and the value is the composition difference of expected untreated months plus the within "
    "change of months caused by the treatment's status changes in this and earlier years (same random "
    "draws with and without them), against the pooled comparison/placebo areas."
)

MOVERS_ESTIMAND = (
    "movers_out[area][destination][year]['difference_pp'] is the expected difference, in percentage "
    "points, between the employment rate (RAS 1xx, as effect_pp) of the treated area's movers-out and that "
    "of the comparison/placebo areas' movers-out in year t, both aged 16-64 in t. Movers-out: persons "
    "living in the area in BEF of the base year who live in Denmark in BEF of year t outside that area and "
    "outside every treated area (those who moved into a treated area are exposed to its plan); "
    "destination 'same_municipality' when their KOM in t is the area's KOM, else 'elsewhere'. It is the "
    "composition (difference of mean untreated employment probabilities) plus the within part: "
    "mover_effect (pp, planted on the *rehoused* movers, those who left in a renovation year of the area) "
    "times the rehoused share. Estimated by the difference of the two observed rates."
)

ESTIMAND = (
    "effect_pp[group][year] is the planted average effect of the treatment on the employment rate, in "
    "percentage points, of the area's residents aged 16-64 in that group and year: the expected "
    "difference between the treated area's rate and the rate it would have had untreated. Residents: "
    "persons in BEF of year t (status 31 December of t) with ALDER 16-64 whose (KOM, BOPIKOM) is an "
    "address of the area in area_key.csv. Employed: the person's primary RAS row of year t (November) "
    "has SOC_STATUS_KODE 100-199. Groups: 'all' = every such resident; 'newcomers' = residents in year t "
    "who did not live in this area in the base year (in BEF of the base year). Untreated, every "
    "comparison/placebo area follows the same process as the treated areas (exchangeable areas, "
    "area effects centred on zero, treated areas' area effect zero), so an event study with area and "
    "year fixed effects, year x treated interactions and the base year as reference, run on individual "
    "data with the comparison areas (AREA_TYPE comparison, optionally also placebo) as controls, "
    "estimates effect_pp[group][year] in expectation for each treated area separately. Relative "
    "effects (% of the base-year level) are effect_pp divided by the treated area's observed base-year "
    "rate of all residents."
)

CHANNELS = (
    "channels_pp[group][year] splits the planted effect into 'composition' (selection of in-movers "
    "from the start year plus extra move-outs of non-employed families in renovation years, measured "
    "as the realised difference in mean untreated employment probability between the area's residents "
    "and the pooled comparison/placebo residents of the same group) and 'within' (the within-person "
    "effect applied as status changes: planted minus composition). composition + within = planted."
)


def _r(x: float) -> float:
    return round(float(x), 4)


def _outcomes(i: int, years: list[str], outcome_records: Sequence[OutcomeRecord]) -> dict[str, Any]:
    names = OUTCOME_NAMES
    effect: dict[str, dict[str, float]] = {o: dict.fromkeys(years, 0.0) for o in names}
    planted: dict[str, dict[str, float]] = {o: dict.fromkeys(years, 0.0) for o in names}
    channels: dict[str, dict[str, dict[str, float]]] = {o: {} for o in names}
    for rec in outcome_records:
        if rec.area == i:
            effect[rec.outcome][str(rec.year)] = _r(rec.effect)
            planted[rec.outcome][str(rec.year)] = _r(rec.planted)
            channels[rec.outcome][str(rec.year)] = {"composition": _r(rec.composition), "within": _r(rec.within),
                                                    "residents": rec.residents}
    return {"outcomes_pp": effect, "outcomes_planted_pp": planted, "outcomes_channels_pp": channels}


def _movers(i: int, mover_records: Sequence[MoverRecord]) -> dict[str, Any]:
    out: dict[str, Any] = {d: {} for d in MOVER_DESTINATIONS}
    for rec in mover_records:
        if rec.area == i:
            out[rec.destination][str(rec.year)] = {
                "difference_pp": _r(rec.composition + rec.within), "composition": _r(rec.composition),
                "within": _r(rec.within), "movers": rec.movers, "comparison_movers": rec.comparison_movers,
                "rehoused": rec.rehoused,
            }
    return out


def build_truth(config: SynthConfig, areas: Sequence[Area], records: Sequence[ChannelRecord],
                outcome_records: Sequence[OutcomeRecord] = (),
                mover_records: Sequence[MoverRecord] = ()) -> dict[str, Any]:
    """The truth.json document (plain JSON types, deterministic)."""
    years = [str(y) for y in config.year_range()]
    out_areas: dict[str, Any] = {}
    movers_out: dict[str, Any] = {}
    for i, spec in enumerate(config.treated):
        area = areas[i]
        effect = {
            g: {y: _r(spec.effect(g, int(y))) if int(y) >= spec.start else 0.0 for y in years}
            for g in ("all", "newcomers")
        }
        channels: dict[str, dict[str, dict[str, float]]] = {"all": {}, "newcomers": {}}
        residents: dict[str, dict[str, int]] = {"all": {}, "newcomers": {}}
        for rec in records:
            if rec.area == i:
                channels[rec.group][str(rec.year)] = {
                    "composition": _r(rec.composition),
                    "within": _r(rec.within),
                }
                residents[rec.group][str(rec.year)] = rec.residents
        out_areas[area.name] = {
            "area_id": area.area_id, "area_type": area.area_type.value, "kom": area.kom,
            "target_residents": area.residents, "start": spec.start,
            "renovation": list(spec.renovation),
            "channel_parameters": {"selection_shift": spec.selection_shift,
                                   "extra_move_out": spec.extra_move_out},
            "effect_pp": effect, "channels_pp": channels, "residents_16_64": residents,
            "mover_effect_pp": spec.mover_effect,
            **_outcomes(i, years, outcome_records),
        }  # fmt: skip
        movers_out[area.name] = _movers(i, mover_records)
    placebo_names, comparison_names = [], []
    pseudo_starts = sorted({a.start for a in config.treated}) or [config.base_year + 1]
    for k, area in enumerate(a for a in areas if a.area_type is not AreaType.TREATED):
        if area.area_type is AreaType.PLACEBO:
            placebo_names.append(area.name)
            out_areas[area.name] = {
                "area_id": area.area_id,
                "area_type": "placebo",
                "kom": area.kom,
                "target_residents": area.residents,
                "start": pseudo_starts[k % len(pseudo_starts)],
                "effect_pp": {g: dict.fromkeys(years, 0.0) for g in ("all", "newcomers")},
                "outcomes_pp": {o: dict.fromkeys(years, 0.0) for o in OUTCOME_NAMES},
            }
        else:
            comparison_names.append(area.name)
    return {
        "schema_version": SCHEMA_VERSION,
        "base_year": config.base_year,
        "years": [config.years[0], config.years[1]],
        "estimand": ESTIMAND,
        "channels": CHANNELS,
        "outcomes_estimand": OUTCOMES_ESTIMAND,
        "movers_estimand": MOVERS_ESTIMAND,
        "movers_out": movers_out,
        "treated_areas": [a.name for a in config.treated],
        "comparison_areas": comparison_names,
        "placebo_areas": placebo_names,
        "areas": out_areas,
        "config_fingerprint": config.fingerprint(),
        "seed": config.seed,
    }
