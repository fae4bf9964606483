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
from synthetic.treatment import ChannelRecord

__all__ = ["ESTIMAND", "build_truth"]

SCHEMA_VERSION = 1

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


def build_truth(config: SynthConfig, areas: Sequence[Area], records: Sequence[ChannelRecord]) -> dict[str, Any]:
    """The truth.json document (plain JSON types, deterministic)."""
    years = [str(y) for y in config.year_range()]
    out_areas: dict[str, Any] = {}
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
        }  # fmt: skip
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
            }
        else:
            comparison_names.append(area.name)
    return {
        "schema_version": SCHEMA_VERSION,
        "base_year": config.base_year,
        "years": [config.years[0], config.years[1]],
        "estimand": ESTIMAND,
        "channels": CHANNELS,
        "treated_areas": [a.name for a in config.treated],
        "comparison_areas": comparison_names,
        "placebo_areas": placebo_names,
        "areas": out_areas,
        "config_fingerprint": config.fingerprint(),
        "seed": config.seed,
    }
