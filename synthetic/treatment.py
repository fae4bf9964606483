"""Planted treatment effects: the within-person channel and the per-channel accounting.

The selection and move-out channels act in :mod:`synthetic.moves`; their joint
*composition* effect on a treated area's employment rate in year t is measured
here as the difference between the mean untreated employment probability of the
area's residents and that of the comparison/placebo areas' residents (pooled),
per group. The within-person channel then flips the status of a random share of
residents (non-employed to employed, or the reverse when negative) so that
composition + within equals the planted schedule in expectation:

* newcomers (in the area at t, not in the area in the base year): ``W_new = T_new - C_new``;
* stayers get ``W_stay`` chosen so that the all-residents effect is ``T_all``.

The flips do not feed back into the latent process, so the within effect is
contemporaneous and the accounting stays additive.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> emp = np.zeros(10_000, dtype=bool)
>>> _flip(emp, np.ones(10_000, dtype=bool), 10.0, rng)
>>> bool(0.08 < emp.mean() < 0.12)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthetic.config import TreatedArea

__all__ = ["ChannelRecord", "apply_within_channel"]


@dataclass(frozen=True)
class ChannelRecord:
    """Accounting for one treated area, group and year (percentage points)."""

    area: int
    year: int
    group: str
    planted: float
    composition: float
    within: float
    residents: int


def _flip(employed: npt.NDArray[np.bool_], mask: npt.NDArray[np.bool_], pp: float, rng: np.random.Generator) -> None:
    idx = np.flatnonzero(mask)
    if idx.size == 0 or pp == 0.0:
        return
    rate = float(employed[idx].mean())
    u = rng.random(idx.size)
    if pp > 0:
        prob = min(1.0, pp / 100 / max(1e-9, 1 - rate))
        employed[idx[~employed[idx] & (u < prob)]] = True
    else:
        prob = min(1.0, -pp / 100 / max(1e-9, rate))
        employed[idx[employed[idx] & (u < prob)]] = False


def apply_within_channel(
    year: int,
    base_year: int,
    treated: tuple[TreatedArea, ...],
    person_area: npt.NDArray[np.int16],
    area_base: npt.NDArray[np.int16],
    working: npt.NDArray[np.bool_],
    untreated_area: npt.NDArray[np.bool_],
    prob: npt.NDArray[np.float64],
    employed: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> list[ChannelRecord]:
    """Flip statuses in the treated areas (in place in ``employed``); return the accounting.

    Parameters
    ----------
    year, base_year
        Current and base year.
    treated
        Treated areas; area index ``i`` is ``treated[i]`` (treated areas come first).
    person_area, area_base
        Named-area index of each person now and in the base year (-1 outside).
    working
        Present persons aged 16-64.
    untreated_area
        Per area index: True for comparison and placebo areas.
    prob
        Untreated employment probability of each person this year.
    employed
        Employment drawn from the untreated model; modified in place.
    rng
        Random generator.
    """
    records: list[ChannelRecord] = []
    in_named = person_area >= 0
    comp = working & in_named & untreated_area[np.maximum(person_area, 0)]
    comp_new = comp & (area_base != person_area)
    for i, area in enumerate(treated):
        if year < area.start:
            continue
        res = working & (person_area == i)
        if not res.any():
            continue
        t_all = area.effect("all", year)
        c_all = 100 * (float(prob[res].mean()) - float(prob[comp].mean()))
        n_res = int(res.sum())
        if year > base_year:
            new = res & (area_base != i)
            stay = res & ~new
            t_new = area.effect("newcomers", year)
            c_new = 100 * (float(prob[new].mean()) - float(prob[comp_new].mean())) if new.any() else 0.0
            share = float(new.sum()) / n_res
            w_new = t_new - c_new
            w_stay = (t_all - c_all - share * w_new) / (1 - share) if share < 1 else 0.0
            _flip(employed, new, w_new, rng)
            _flip(employed, stay, w_stay, rng)
            records.append(ChannelRecord(i, year, "newcomers", t_new, c_new, w_new, int(new.sum())))
        else:
            _flip(employed, res, t_all - c_all, rng)
        records.append(ChannelRecord(i, year, "all", t_all, c_all, t_all - c_all, n_res))
    return records
