"""Planted effects beside employment: education, in education, public support, and rehoused movers-out.

Each treated area has a schedule per outcome (percentage points, see
:class:`~synthetic.config.TreatedArea`). As for employment
(:mod:`synthetic.treatment`) the planted effect is the difference between the
area's share and the pooled comparison/placebo areas' share; the realised
*composition* difference is measured first and a *within* change of persons'
states supplies the rest, so composition + within = planted in expectation:

* ``education`` (residents 25-64 with HFAUDD level 20 or higher): unqualified
  residents complete an adult vocational qualification (level 35, permanent);
  never removed, so when composition alone exceeds the schedule the realised
  effect is the composition (recorded);
* ``in_education`` (residents 16-24 with SOCIO13 310): non-employed residents
  who are not students become students (that year);
* ``support`` (residents 16-64 on SOCIO13 220, 321, 323 or 330): residents on
  cash benefit or sickness benefit become job-seeking unemployed (negative
  effect), or the reverse.

Movers-out: base-year residents of a named area who live elsewhere in Denmark
in year t, outside every treated area, by destination (same municipality as
the area, elsewhere). Those
who left a treated area in one of its renovation years are *rehoused*; their
employment changes by ``mover_effect`` pp in every later year. The recorded
difference between the treated area's movers and the comparison areas' movers
(same destination, aged 16-64) is the composition (mean untreated employment
probability) plus the within part (``mover_effect`` times the rehoused share).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> status = np.full(10_000, Status.CASH_BENEFIT, dtype=np.int8)
>>> group = np.ones(10_000, dtype=bool)
>>> move_share(status, group, status == Status.CASH_BENEFIT, Status.UNEMPLOYED, 20.0, rng)
>>> bool(0.18 < (status == Status.UNEMPLOYED).mean() < 0.22)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthetic.codes import Status
from synthetic.config import TreatedArea

__all__ = [
    "MOVER_DESTINATIONS",
    "MoverRecord",
    "OutcomeRecord",
    "apply_education_channel",
    "apply_mover_channel",
    "apply_status_channels",
    "move_share",
    "mover_destination",
]

#: Destinations of movers-out with a planted comparison (``back`` has none: the area's own effects apply).
MOVER_DESTINATIONS = ("same_municipality", "elsewhere")
SUPPORT_STATUSES = (Status.CASH_BENEFIT, Status.SICKNESS_LEAVE, Status.DISABILITY_PENSION, Status.EARLY_RETIREMENT)
_FLEXIBLE_SUPPORT = (Status.CASH_BENEFIT, Status.SICKNESS_LEAVE)
_NOT_STUDYING = (Status.UNEMPLOYED, Status.CASH_BENEFIT, Status.SICKNESS_LEAVE, Status.OTHER)
#: Education index of level 20 (upper secondary); index 3 is vocational (35).
QUALIFIED_INDEX = 2
VOCATIONAL_INDEX = 3


@dataclass(frozen=True)
class OutcomeRecord:
    """Accounting for one treated area, outcome and year (percentage points)."""

    area: int
    year: int
    outcome: str
    planted: float
    composition: float
    within: float
    residents: int

    @property
    def effect(self) -> float:
        """The realised planted effect (composition + within)."""
        return self.composition + self.within


@dataclass(frozen=True)
class MoverRecord:
    """Movers-out of one treated area against the comparison areas' movers, one destination and year."""

    area: int
    year: int
    destination: str
    composition: float
    within: float
    movers: int
    comparison_movers: int
    rehoused: int


def move_share(status: npt.NDArray[np.int8], group: npt.NDArray[np.bool_], source: npt.NDArray[np.bool_],
               target: Status, pp: float, rng: np.random.Generator) -> None:
    """Move about ``pp`` % of ``group`` from ``source`` states to ``target`` (in place).

    Each source person moves with probability ``pp/100 * |group| / |source|`` (at most 1).
    """
    idx = np.flatnonzero(group & source)
    n = int(group.sum())
    if idx.size == 0 or pp <= 0.0 or n == 0:
        return
    prob = min(1.0, pp / 100 * n / idx.size)
    status[idx[rng.random(idx.size) < prob]] = target


def _share(flag: npt.NDArray[np.bool_], mask: npt.NDArray[np.bool_]) -> float:
    return 100 * float(flag[mask].mean()) if mask.any() else 0.0


def apply_education_channel(
    year: int, treated: tuple[TreatedArea, ...], person_area: npt.NDArray[np.int16],
    untreated_area: npt.NDArray[np.bool_], age: npt.NDArray[np.int64], edu: npt.NDArray[np.int8],
    edu_target: npt.NDArray[np.int8], rng: np.random.Generator,
) -> list[OutcomeRecord]:
    """Adult qualifications in the treated areas (in place in ``edu`` and ``edu_target``)."""
    records: list[OutcomeRecord] = []
    adult = (age >= 25) & (age <= 64)
    qualified = edu >= QUALIFIED_INDEX
    in_named = person_area >= 0
    comp = adult & in_named & untreated_area[np.maximum(person_area, 0)]
    for i, area in enumerate(treated):
        if year < area.start:
            continue
        res = adult & (person_area == i)
        if not res.any():
            continue
        planted = area.outcome_effect("education", year)
        comp_pp = _share(qualified, res) - _share(qualified, comp)
        within = max(0.0, planted - comp_pp)
        if within > 0:
            idx = np.flatnonzero(res & ~qualified)
            if idx.size:
                prob = min(1.0, within / 100 * int(res.sum()) / idx.size)
                up = idx[rng.random(idx.size) < prob]
                edu_target[up] = VOCATIONAL_INDEX
                edu[up] = VOCATIONAL_INDEX
        records.append(OutcomeRecord(i, year, "education", planted, comp_pp, within, int(res.sum())))
    return records


def apply_status_channels(
    year: int, treated: tuple[TreatedArea, ...], person_area: npt.NDArray[np.int16],
    untreated_area: npt.NDArray[np.bool_], age: npt.NDArray[np.int64], status: npt.NDArray[np.int8],
    rng: np.random.Generator,
) -> list[OutcomeRecord]:
    """In-education and public-support effects in the treated areas (in place in ``status``)."""
    records: list[OutcomeRecord] = []
    in_named = person_area >= 0
    untreated = in_named & untreated_area[np.maximum(person_area, 0)]
    young = (age >= 16) & (age <= 24)
    working = (age >= 16) & (age <= 64)
    for i, area in enumerate(treated):
        if year < area.start:
            continue
        here = person_area == i
        # in education, 16-24
        res, comp = young & here, young & untreated
        if res.any():
            planted = area.outcome_effect("in_education", year)
            studying = status == Status.STUDENT
            comp_pp = _share(studying, res) - _share(studying, comp)
            within = planted - comp_pp
            if within > 0:
                move_share(status, res, np.isin(status, _NOT_STUDYING), Status.STUDENT, within, rng)
            else:
                move_share(status, res, studying, Status.OTHER, -within, rng)
            records.append(OutcomeRecord(i, year, "in_education", planted, comp_pp, within, int(res.sum())))
        # public support, 16-64
        res, comp = working & here, working & untreated
        if res.any():
            planted = area.outcome_effect("support", year)
            support = np.isin(status, SUPPORT_STATUSES)
            comp_pp = _share(support, res) - _share(support, comp)
            within = planted - comp_pp
            if within < 0:
                move_share(status, res, np.isin(status, _FLEXIBLE_SUPPORT), Status.UNEMPLOYED, -within, rng)
            else:
                move_share(status, res, status == Status.UNEMPLOYED, Status.CASH_BENEFIT, within, rng)
            records.append(OutcomeRecord(i, year, "support", planted, comp_pp, within, int(res.sum())))
    return records


def mover_destination(person_area: npt.NDArray[np.int16], area_base: npt.NDArray[np.int16],
                      person_kom: npt.NDArray[np.int16], area_kom: npt.NDArray[np.int64],
                      treated_area: npt.NDArray[np.bool_]) -> npt.NDArray[np.int8]:
    """Destination code per person: -1 not a mover, 0 same municipality, 1 elsewhere.

    A mover is a base-year resident of a named area who now lives outside that area and
    outside every treated area (a mover into a treated area is exposed to its plan: not a
    control, and not followed as a mover-out).

    Examples
    --------
    >>> mover_destination(np.array([-1, -1, 0, 1, 2], dtype=np.int16), np.array([0, 0, 0, -1, 1], dtype=np.int16),
    ...                   np.array([851, 101, 851, 851, 851], dtype=np.int16), np.array([851, 851, 851]),
    ...                   np.array([True, True, False])).tolist()
    [0, 1, -1, -1, 0]
    >>> mover_destination(np.array([1], dtype=np.int16), np.array([2], dtype=np.int16),
    ...                   np.array([851], dtype=np.int16), np.array([851, 851, 851]),
    ...                   np.array([True, True, False])).tolist()
    [-1]
    """
    base = np.maximum(area_base, 0)
    into_treated = (person_area >= 0) & treated_area[np.maximum(person_area, 0)]
    mover = (area_base >= 0) & (person_area != area_base) & ~into_treated
    same = person_kom.astype(np.int64) == area_kom[base]
    return np.where(mover, np.where(same, 0, 1), -1).astype(np.int8)


def apply_mover_channel(
    year: int, base_year: int, treated: tuple[TreatedArea, ...], destination: npt.NDArray[np.int8],
    area_base: npt.NDArray[np.int16], left_year: npt.NDArray[np.int16], untreated_area: npt.NDArray[np.bool_],
    working: npt.NDArray[np.bool_], prob: npt.NDArray[np.float64], employed: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> list[MoverRecord]:
    """Employment of rehoused movers-out (in place in ``employed``); the movers' accounting.

    ``left_year`` is the first year a person was seen outside their base-year area (0: never),
    wherever they went.
    """
    from synthetic.treatment import _flip

    records: list[MoverRecord] = []
    if year <= base_year:
        return records
    base = np.maximum(area_base, 0)
    comp_origin = (area_base >= 0) & untreated_area[base]
    for i, area in enumerate(treated):
        movers = working & (area_base == i) & (destination >= 0)
        if not movers.any():
            continue
        rehoused = movers & (left_year >= area.renovation[0]) & (left_year <= area.renovation[1])
        for code, name in enumerate(MOVER_DESTINATIONS):
            mine = movers & (destination == code)
            _flip(employed, rehoused & mine, area.mover_effect, rng)  # per destination: exact expectation
            theirs = working & comp_origin & (destination == code)
            if not mine.any() or not theirs.any():
                continue
            share = float((rehoused & mine).sum()) / float(mine.sum())
            comp_pp = 100 * (float(prob[mine].mean()) - float(prob[theirs].mean()))
            records.append(MoverRecord(i, year, name, comp_pp, area.mover_effect * share, int(mine.sum()),
                                       int(theirs.sum()), int((rehoused & mine).sum())))
    return records
