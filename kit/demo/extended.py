"""E4-E7: BL's analysis beyond employment, through the same Session (issue 25).

* E4 newcomer share among residents by area and year (``Session.table``, rate);
* E5 one event study per configured outcome (education, in education, public
  support, share of the year in employment), as E1 for all residents, on each
  outcome's own age band (the share of the year is a mean in percent of the year,
  so its effects are percentage points of the year);
* E6 labour-market attachment: the share of residents in each SOCIO13 group by
  area (treated areas, comparison areas pooled) and year, one distribution per
  area and year published whole or not at all;
* E7 movers-out: the attachment (employed, unemployed, public support, outside)
  of the base-year residents who moved away, by origin, destination and year, as
  one table of whole distributions (:mod:`kit.demo.movers_release`), and the
  employment difference between each treated area's movers and the comparison
  areas' movers (Newcombe intervals).

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
                      age: tuple[int, int], published_elsewhere: Sequence[Any] = ()) -> Any:
    """E6: share of residents in each attachment group by area and year.

    One distribution per area and year, published whole or not at all
    (:func:`kit.demo.movers_release.distribution_table`): a suppressed share (say no unemployed
    resident in a year) would otherwise be one minus the published ones.
    """
    from kit.demo.movers_release import STATUS_DIM, distribution_table

    pooled = _pooled(frame, treated)[["PNR", "area", "year", "attachment"]]
    return distribution_table(
        session, pooled, column="attachment", groups=[a.value for a in Attachment], rows=["area", STATUS_DIM],
        cols="year", codes={"area": [*treated, COMPARISON_LABEL], "year": list(years)},
        published_elsewhere=published_elsewhere, name="e6_attachment",
        title=f"Labour-market attachment of residents aged {age[0]}-{age[1]} (AKM SOCIO13 groups), share by year",
        notes=("Groups: employed by the RAS status in November (1xx, as the employment rates); the others from "
               "AKM SOCIO13: unemployed 210; cash benefit or other public support 220, 321, 323, 330; outside "
               "(education 310, other 410, SOCIO13 1xx without November employment, no AKM row). Comparison "
               "areas pooled. "
               "The four shares of an area and year sum to one: they are published whole or not at all.",),
    )


def movers_outputs(session: Any, movers: pd.DataFrame, treated: Sequence[str], base_year: int,
                   years: Sequence[str], age: tuple[int, int]) -> tuple[Any, Any]:
    """E7: the movers-out's attachment by origin, destination and year; employment treated minus comparison.

    Returns the attachment table (``e7_movers_attachment``, one rate table whose four shares per
    cell partition the cell's movers, protected by :func:`kit.demo.movers_release.attachment_table`)
    and the employment difference (``e7_movers_difference``), or ``None`` for it without treated movers.
    """
    from kit.demo.movers_release import attachment_table, suppressed_cells

    later = [y for y in years if int(y) > base_year]
    dests = [d.value for d in (Destination.SAME_MUNICIPALITY, Destination.ELSEWHERE, Destination.BACK)]
    codes = {"area": [*treated, COMPARISON_LABEL], "destination": dests, "year": later}
    who = (f"residents aged {age[0]}-{age[1]} who lived in the area in {base_year} and later lived outside it")
    note = (f"Movers-out: lived in the area in {base_year}; in the year they live elsewhere in Denmark "
            "(same municipality as the area, or elsewhere), or live in the area again after a year outside it "
            "(back). Persons who died or emigrated are not followed. Comparison areas pooled.",)
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
    pairs = pd.concat(parts, ignore_index=True) if parts else None

    def differences(rows: pd.DataFrame) -> Any:
        return session.rate_difference(
            rows, outcome="employed", group="origin", compare=("treated", "comparison"),
            by=["pair", "destination", "year"], name="e7_movers_difference",
            title="Employment of movers-out: treated area's movers minus the comparison areas' movers",
        )

    if pairs is not None:
        difference = differences(pairs)
    attachment = attachment_table(
        session, movers, codes, published_elsewhere=[] if difference is None else [difference],
        name="e7_movers_attachment",
        title=f"Labour-market attachment of {who}: share employed, unemployed, on public support and outside",
        notes=(*note, "Employed: RAS status in November 1xx (as everywhere in this analysis); the others from "
                      "AKM SOCIO13: unemployed 210; cash benefit or other public support 220, 321, 323, 330; "
                      "outside: the rest (education, pension, other, no AKM row). The four shares of a cell "
                      "sum to one: a cell is published whole or not at all."),
    )
    hidden = suppressed_cells(attachment, ["area", "destination", "year"])
    if pairs is not None and hidden:
        # a movers' cell suppressed in the attachment table is not published by the difference either:
        # each destination and year is compared only where both sides' cells are published there
        side = pairs["area"].where(pairs["origin"] == "treated", COMPARISON_LABEL)
        gone = [(a, d, str(y)) in hidden for a, d, y in zip(side, pairs["destination"], pairs["year"])]
        drop = pairs.loc[gone, ["pair", "destination", "year"]].drop_duplicates()
        keep = ~pairs.set_index(["pair", "destination", "year"]).index.isin(drop.set_index(
            ["pair", "destination", "year"]).index)
        kept = pairs[keep]
        difference = differences(kept) if bool((kept["origin"] == "treated").any()) else None
    return attachment, difference
