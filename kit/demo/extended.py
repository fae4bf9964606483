"""E4-E7: BL's analysis beyond employment, through the same Session (issue 25).

* E4 newcomer share among residents by area and year (``Session.table``, rate);
* E5 one event study per configured outcome (education, in education, public
  support, share of the year in employment), as E1 for all residents, on each
  outcome's own age band (the share of the year is a mean in percent of the year,
  so its effects are percentage points of the year);
* E6 labour-market attachment: the share of residents in each SOCIO13 group by
  area (treated areas, comparison areas pooled) and year;
* E7 movers-out: employment and public support of the base-year residents who
  moved away, by origin, destination and year, and the difference between each
  treated area's movers and the comparison areas' movers (Newcombe intervals).

Every output is an ordinary private result of the session: the table rules,
secondary checks and the release writer's re-derivation apply to each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kit.demo.outcomes import COMPARISON_LABEL, Attachment, Destination, outcome
from kit.progress import Progress

__all__ = ["attachment_shares", "movers_outputs", "newcomer_share", "outcome_studies"]


def _pooled(frame: pd.DataFrame, treated: Sequence[str]) -> pd.DataFrame:
    """Rows with ``area`` replaced by the comparison label outside the treated areas."""
    area = frame["area"].to_numpy()
    return frame.assign(area=np.where(np.isin(area, list(treated)), area, COMPARISON_LABEL))


def newcomer_share(session: Any, frame: pd.DataFrame, treated: Sequence[str], base_year: int,
                   years: Sequence[str], age: tuple[int, int]) -> Any:
    """E4: the share of newcomers among residents by area and year (years after the base year)."""
    later = _pooled(frame[frame["year"] > base_year], treated)
    later = later.assign(newcomer=later["newcomer"].astype(np.int8))
    return session.table(
        later, rows="area", cols="year", stat="rate", measure="newcomer",
        codes={"area": [*treated, COMPARISON_LABEL], "year": [y for y in years if int(y) > base_year]},
        name="e4_newcomer_share",
        title=f"Share of newcomers among residents aged {age[0]}-{age[1]} (not living in the area in {base_year})",
        notes=(f"Newcomer: lives in the area in the year but did not in {base_year}. Comparison areas pooled.",),
    )


def outcome_studies(session: Any, frame: pd.DataFrame, names: Sequence[str], treated: dict[str, int],
                    comparison: Sequence[str], base_year: int, permutations: int, seed: int,
                    say: Callable[[str], None], progress: Progress | None = None) -> dict[str, Any]:
    """E5: one event study per outcome (all residents of the outcome's age band)."""
    out: dict[str, Any] = {}
    for name in names:
        spec = outcome(name)
        lo, hi = spec.age
        rows = frame[(frame["age"] >= lo) & (frame["age"] <= hi) & frame[spec.column].notna()]
        rows = rows[rows["area"].isin([*treated, *comparison])]
        say(f"E5: event study of the share {spec.title}")
        # a 0/1 outcome as int8 (a rate); the share of the year stays a mean in percent of the year
        out[name] = session.event_study(
            rows.assign(**{spec.column: rows[spec.column].astype(np.int8)}) if spec.binary else rows,
            outcome=spec.column, group="area", period="year", treated=treated, comparison=list(comparison),
            base_period=base_year, permutations=permutations, seed=seed, progress=progress, name=f"e5_{name}",
            title=f"Effect on the share {spec.title}, relative to {base_year} (event study)",
        )
    return out


def attachment_shares(session: Any, frame: pd.DataFrame, treated: Sequence[str], years: Sequence[str],
                      age: tuple[int, int]) -> Any:
    """E6: share of residents in each attachment group by area and year."""
    pooled = _pooled(frame, treated)[["PNR", "area", "year", "attachment"]]
    groups = [a.value for a in Attachment]
    long = pd.concat(
        [pooled.assign(group=g, share=(pooled["attachment"] == g).astype(np.int8)) for g in groups],
        ignore_index=True,
    )
    return session.table(
        long, rows=["area", "group"], cols="year", stat="rate", measure="share",
        codes={"area": [*treated, COMPARISON_LABEL], "group": groups, "year": list(years)},
        name="e6_attachment",
        title=f"Labour-market attachment of residents aged {age[0]}-{age[1]} (AKM SOCIO13 groups), share by year",
        notes=("Groups: employed SOCIO13 110-139; unemployed 210; cash benefit or other public support 220, "
               "321, 323, 330; outside (education 310, other 410, no AKM row). Comparison areas pooled.",),
    )


def movers_outputs(session: Any, movers: pd.DataFrame, treated: Sequence[str], base_year: int,
                   years: Sequence[str], age: tuple[int, int]) -> tuple[Any, Any, Any]:
    """E7: employment and support of movers-out by origin, destination and year; treated minus comparison."""
    later = [y for y in years if int(y) > base_year]
    dests = [d.value for d in (Destination.SAME_MUNICIPALITY, Destination.ELSEWHERE, Destination.BACK)]
    codes = {"area": [*treated, COMPARISON_LABEL], "destination": dests, "year": later}
    who = (f"residents aged {age[0]}-{age[1]} who lived in the area in {base_year} and later lived outside it")
    note = (f"Movers-out: lived in the area in {base_year}; in the year they live elsewhere in Denmark "
            "(same municipality as the area, or elsewhere), or live in the area again after a year outside it "
            "(back). Persons who died or emigrated are not followed. Comparison areas pooled.",)
    if "support" in movers.columns:
        # both tables over the same persons: a person with one outcome missing would make the two
        # populations differ by one, which the differencing registry refuses
        movers = movers[movers["employed"].notna() & movers["support"].notna()]
    employment = session.table(
        movers, rows=["area", "destination"], cols="year", stat="rate", measure="employed", codes=codes,
        name="e7_movers_employment", title=f"Employment rate of {who}", notes=note,
    )
    support = None
    if "support" in movers.columns:
        support = session.table(
            movers, rows=["area", "destination"], cols="year", stat="rate", measure="support", codes=codes,
            name="e7_movers_support", title=f"Share on cash benefit or other public support of {who}", notes=note,
        )
    # each treated area's movers against the comparison areas' movers, destination by destination
    away = movers[movers["destination"] != Destination.BACK.value]
    comp = away[away["area"] == COMPARISON_LABEL]
    parts = []
    for area in treated:
        mine = away[away["area"] == area]
        if mine.empty:
            continue
        parts.append(mine.assign(origin="treated", pair=area))
        parts.append(comp.assign(origin="comparison", pair=area))
    difference = None
    if parts:
        pairs = pd.concat(parts, ignore_index=True)
        difference = session.rate_difference(
            pairs, outcome="employed", group="origin", compare=("treated", "comparison"),
            by=["pair", "destination", "year"], name="e7_movers_difference",
            title="Employment of movers-out: treated area's movers minus the comparison areas' movers",
        )
    return employment, support, difference
