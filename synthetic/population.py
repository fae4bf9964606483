"""The initial population: families, persons, origins, education, addresses, calibration.

The population at the end of the year before the first simulated year is
drawn family by family; named-area families are placed first so the areas keep
their realistic sizes whatever ``persons`` is. Latent employability is then
shifted so that the expected employment rate of 16-64-year-olds in the base
year is ``area_employment`` in the named areas and ``national_employment``
overall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthetic.codes import DENMARK, ORIGINS
from synthetic.education import draw_target, level_at_age
from synthetic.geography import Area, AreaType, kom_arrays
from synthetic.labour import AGE_EFFECT, EDU_EFFECT, SIGMA_ALPHA, SIGMA_U, expected_rate, year_effect
from synthetic.state import FAMILY_FIELDS, PERSON_FIELDS, State

__all__ = [
    "Calibration",
    "age_weights",
    "draw_origin",
    "family_mean_alpha",
    "initial_population",
    "place_effect",
]

NON_AREA_ADDR = (1_000_000, 9_999_999)
NONWESTERN_ALPHA = -0.35
WESTERN_ALPHA = -0.10
AREA_NONWESTERN = 0.55
AREA_WESTERN = 0.05


@dataclass(frozen=True)
class Calibration:
    """Shifts and effects fixed at initialisation and used by every later year."""

    nat_shift: float
    area_shift: float
    area_head_alpha: float
    kom_eff: npt.NDArray[np.float64]  # indexed by municipality code 0-999
    area_eff: npt.NDArray[np.float64]  # indexed by area index


def age_weights(max_age: int = 100) -> npt.NDArray[np.float64]:
    """Relative number of persons by age 0-``max_age`` (Danish shape around 2008).

    Examples
    --------
    >>> w = age_weights()
    >>> bool(w[30] > w[80] > w[95])
    True
    """
    ages = np.arange(max_age + 1)
    return np.interp(ages, [0, 60, 70, 80, 90, 100], [1.0, 1.0, 0.67, 0.33, 0.08, 0.0])


def draw_origin(
    n: int, p_nonwestern: npt.NDArray[np.float64] | float, p_western: float, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int16]]:
    """Origin class (0 Danish, 1 Western, 2 non-Western) and OPR_LAND per family.

    Examples
    --------
    >>> cls, land = draw_origin(5, 0.0, 0.0, np.random.default_rng(0))
    >>> cls.tolist(), land.tolist()
    ([0, 0, 0, 0, 0], [5100, 5100, 5100, 5100, 5100])
    """
    u = rng.random(n)
    cls = np.where(u < p_nonwestern, 2, np.where(u < p_nonwestern + p_western, 1, 0)).astype(np.int8)
    codes = np.array([c for c, _, _ in ORIGINS], dtype=np.int16)
    nonw = np.array([nw for _, nw, _ in ORIGINS])
    weights = np.array([w for _, _, w in ORIGINS])
    land = np.full(n, DENMARK, dtype=np.int16)
    for flag, klass in ((False, 1), (True, 2)):
        w = np.where(nonw == flag, weights, 0.0)
        pick = rng.choice(codes.shape[0], size=n, p=w / w.sum())
        land = np.where(cls == klass, codes[pick], land)
    return cls, land


def place_effect(state: State, cal: Calibration) -> npt.NDArray[np.float64]:
    """Additive place effect per person: the area's effect inside named areas, else the municipality's."""
    area = state.person_area()
    return np.where(area >= 0, cal.area_eff[np.maximum(area, 0)], cal.kom_eff[state.person_kom()])


def initial_population(
    persons: int,
    first_year: int,
    base_year: int,
    areas: tuple[Area, ...],
    area_employment: float,
    national_employment: float,
    rng: np.random.Generator,
) -> tuple[State, Calibration]:
    """Draw the population at the end of ``first_year - 1`` and calibrate employability.

    Examples
    --------
    >>> from synthetic.geography import Area, AreaType
    >>> areas = (Area(1, "A", 851, AreaType.COMPARISON, 500, 250),)
    >>> st, cal = initial_population(5000, 2008, 2011, areas, 0.4, 0.74, np.random.default_rng(1))
    >>> abs(st.n_persons - 5000) < 10, int((st.person_area() == 0).sum()) >= 500
    (True, True)
    """
    ref = first_year - 1
    n_fam = int(persons / 1.6) + 100
    weights = age_weights()
    adult = np.where(np.arange(101) >= 18, weights, 0.0)
    head_age = rng.choice(101, size=n_fam, p=adult / adult.sum())
    p_couple = np.interp(head_age, [18, 25, 35, 69, 79, 90], [0.15, 0.45, 0.6, 0.55, 0.4, 0.2])
    couple = rng.random(n_fam) < p_couple
    partner_age = np.clip(head_age + np.rint(rng.normal(-1.5, 3.0, n_fam)), 18, 100).astype(np.int64)
    head_female = np.where(couple, False, rng.random(n_fam) < np.where(head_age > 75, 0.68, 0.5))
    mother_age = np.where(couple, partner_age, np.where(head_female, head_age, 0))
    lam = np.interp(mother_age, [19, 22, 27, 32, 37, 42, 47, 52, 56], [0, 0.3, 0.9, 1.6, 1.9, 1.8, 1.1, 0.4, 0])
    lam = np.where(couple, lam, lam * 0.6)
    kids = rng.poisson(lam)
    size = 1 + couple + kids
    keep = np.cumsum(size) <= persons
    head_age, partner_age, mother_age = head_age[keep], partner_age[keep], mother_age[keep]
    couple, head_female = couple[keep], head_female[keep]
    kids, size = kids[keep], size[keep]
    n_fam = int(keep.sum())
    n = int(size.sum())

    # ---- named areas: choose families (heads 18-64, young families and low employability preferred)
    alpha_fam = rng.standard_normal(n_fam)
    area_of_fam = np.full(n_fam, -1, dtype=np.int16)
    cand = np.flatnonzero(head_age <= 64)
    logw = -0.8 * alpha_fam[cand] + np.where(head_age[cand] < 40, 0.5, 0.0)
    order = cand[np.argsort(-(logw + rng.gumbel(size=cand.shape[0])), kind="stable")]
    targets = np.array([a.residents for a in areas])
    starts = np.cumsum(size[order]) - size[order]
    picked = rng.permutation(order[starts < targets.sum()])  # shuffled: no area gets the extreme families
    starts = np.cumsum(size[picked]) - size[picked]
    which = np.searchsorted(np.cumsum(targets), starts, side="right")
    chosen = which < len(areas)
    area_of_fam[picked[chosen]] = which[chosen]
    in_area = area_of_fam >= 0

    # ---- origin per family
    area_persons = int(size[in_area].sum())
    p_nw_other = max(0.01, (0.075 * n - AREA_NONWESTERN * area_persons) / max(1, n - area_persons))
    p_nw = np.where(in_area, AREA_NONWESTERN, p_nw_other)
    ocls = np.empty(n_fam, dtype=np.int8)
    land = np.empty(n_fam, dtype=np.int16)
    ocls[in_area], land[in_area] = draw_origin(int(in_area.sum()), p_nw[in_area], AREA_WESTERN, rng)
    ocls[~in_area], land[~in_area] = draw_origin(int((~in_area).sum()), p_nw[~in_area], 0.035, rng)

    # ---- expand to persons: order within family = head, partner, kids
    fam = np.repeat(np.arange(n_fam), size)
    first = np.cumsum(size) - size
    rank = np.arange(n) - first[fam]
    is_head = rank == 0
    is_partner = (rank == 1) & couple[fam]
    is_kid = ~is_head & ~is_partner
    mom_age = mother_age[fam]
    kid_age = (rng.random(n) * (np.minimum(17, mom_age - 19) + 1)).astype(np.int64)
    age = np.where(is_head, head_age[fam], np.where(is_partner, partner_age[fam], kid_age))
    sex = np.where(is_head, np.where(head_female[fam], 2, 1), np.where(is_partner, 2, 0))
    sex = np.where(is_kid, 1 + (rng.random(n) < 0.487), sex).astype(np.int8)
    byear = (ref - age).astype(np.int16)
    bday = rng.integers(0, 365, n).astype(np.int16)
    mother = np.full(n, -1, dtype=np.int32)
    father = np.full(n, -1, dtype=np.int32)
    mom_idx = np.where(couple, first + 1, first)
    mother[is_kid] = mom_idx[fam[is_kid]]
    father[is_kid & couple[fam]] = first[fam[is_kid & couple[fam]]]
    pcls = ocls[fam]
    ie = np.where(pcls == 0, 1, np.where(is_kid & (rng.random(n) < 0.75), 3, 2)).astype(np.int8)
    pland = land[fam]
    alpha_std = 0.6 * alpha_fam[fam] + 0.8 * rng.standard_normal(n)
    alpha = SIGMA_ALPHA * alpha_std + np.where(pcls == 2, NONWESTERN_ALPHA, np.where(pcls == 1, WESTERN_ALPHA, 0))
    edu_target = draw_target(alpha_std, byear, pcls == 2, rng)
    edu = level_at_age(age, edu_target)
    civ = np.zeros(n, dtype=np.int8)
    adult_single = is_head & ~couple[fam]
    u = rng.random(n)
    civ[is_head & couple[fam]] = np.where(u[is_head & couple[fam]] < 0.72, 1, 0)
    civ[is_partner] = civ[first[fam[is_partner]]]
    single_age = age[adult_single]
    civ[adult_single] = np.where(
        single_age < 30,
        0,
        np.where(
            u[adult_single] < np.clip((single_age - 55) / 40, 0, 0.7),
            3,
            np.where(u[adult_single] < 0.75, 0, 2),
        ),
    )

    # ---- families: municipality, address, moving-in date
    codes, _regions, kw = kom_arrays()
    kom = codes[rng.choice(codes.shape[0], size=n_fam, p=kw)]
    area_kom = np.array([a.kom for a in areas], dtype=np.int16)
    kom = np.where(in_area, area_kom[np.maximum(area_of_fam, 0)], kom).astype(np.int16)
    addr = rng.integers(*NON_AREA_ADDR, size=n_fam).astype(np.int32)
    area_addr = area_address_blocks(areas)
    dw = np.array([a.dwellings for a in areas])
    pick = (rng.random(n_fam) * dw[np.maximum(area_of_fam, 0)]).astype(np.int64)
    addr = np.where(in_area, area_addr[np.maximum(area_of_fam, 0)] + pick, addr).astype(np.int32)
    tenure = np.minimum(rng.geometric(np.where(in_area, 0.15, 0.12)) - 1, np.maximum(head_age - 18, 0))
    vfra_year = (ref - tenure).astype(np.int16)
    vfra_day = rng.integers(0, 365, n_fam).astype(np.int16)

    # ---- calibration of employability at the base year (expected rates, stationary shocks)
    kom_eff = np.zeros(1000)
    kom_eff[codes] = rng.normal(0.0, 0.08, codes.shape[0])
    area_eff = np.zeros(len(areas))
    untreated = np.array([a.area_type is not AreaType.TREATED for a in areas])
    if untreated.any():
        raw = rng.normal(0.0, 0.08, int(untreated.sum()))
        w = targets[untreated]
        area_eff[untreated] = raw - np.average(raw, weights=w)
    age_b = age + (base_year - ref)
    edu_b = level_at_age(age_b, edu_target)
    p_area = area_of_fam[fam]
    place = np.where(p_area >= 0, area_eff[np.maximum(p_area, 0)], kom_eff[kom[fam]])
    mean = alpha + AGE_EFFECT[np.minimum(age_b, 120)] + EDU_EFFECT[edu_b] + place + year_effect(base_year)
    work = (age_b >= 16) & (age_b <= 64)
    a_sel = work & (p_area >= 0)
    o_sel = work & (p_area < 0)
    area_shift = _bisect(mean[a_sel], area_employment)
    n_a, n_o = int(a_sel.sum()), int(o_sel.sum())
    other_target = min(0.97, (national_employment * (n_a + n_o) - area_employment * n_a) / max(1, n_o))
    nat_shift = _bisect(mean[o_sel], other_target)
    alpha = alpha + np.where(p_area >= 0, area_shift, nat_shift)
    fam_alpha = family_mean_alpha(alpha, fam, (age >= 16) & (age <= 64), n_fam)
    head_alpha_area = float(np.nanmean(fam_alpha[in_area])) if n_a else nat_shift
    age_now = age
    mean_now = alpha + AGE_EFFECT[np.minimum(age_now, 120)] + EDU_EFFECT[edu] + place + year_effect(ref)
    u_shock = (SIGMA_U * rng.standard_normal(n)).astype(np.float32)
    emp = (mean_now + u_shock > 0) & (age_now >= 16) & (age_now <= 74)

    p: dict[str, np.ndarray] = {
        "sex": sex, "byear": byear, "bday": bday, "ie": ie, "land": pland, "fam": fam, "mother": mother,
        "father": father, "present": np.ones(n, dtype=bool), "alpha": alpha, "u": u_shock,
        "edu_target": edu_target, "edu": edu, "edu_sub": rng.integers(0, 10, n), "civst": civ,
        "area_base": np.full(n, -1), "status": np.zeros(n), "emp": emp, "arr_year": np.full(n, -1),
        "arr_day": np.zeros(n), "se_code": rng.integers(0, 5, n),
    }  # fmt: skip
    f: dict[str, np.ndarray] = {
        "head": first,
        "partner": np.where(couple, first + 1, -1),
        "kom": kom,
        "addr": addr,
        "area": area_of_fam,
        "vfra_year": vfra_year,
        "vfra_day": vfra_day,
    }
    state = State(
        p={name: np.asarray(p[name], dtype=dtype) for name, dtype in PERSON_FIELDS},
        f={name: np.asarray(f[name], dtype=dtype) for name, dtype in FAMILY_FIELDS},
    )
    cal = Calibration(
        nat_shift=nat_shift,
        area_shift=area_shift,
        area_head_alpha=head_alpha_area,
        kom_eff=kom_eff,
        area_eff=area_eff,
    )
    return state, cal


def family_mean_alpha(
    alpha: npt.NDArray[np.floating], fam: npt.NDArray[np.integer], member: npt.NDArray[np.bool_], n_fam: int
) -> npt.NDArray[np.float64]:
    """Mean latent employability of each family's members flagged in ``member`` (NaN if none).

    Examples
    --------
    >>> family_mean_alpha(np.array([1.0, 3.0, 5.0]), np.array([0, 0, 1]), np.array([True, True, False]), 2)
    array([ 2., nan])
    """
    tot = np.bincount(fam[member], weights=alpha[member], minlength=n_fam)
    cnt = np.bincount(fam[member], minlength=n_fam)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def area_address_blocks(areas: tuple[Area, ...]) -> npt.NDArray[np.int64]:
    """First BOPIKOM of each area's dwellings (areas get disjoint blocks below 1,000,000).

    Examples
    --------
    >>> from synthetic.geography import Area, AreaType
    >>> area_address_blocks((Area(1, "A", 851, AreaType.TREATED, 10, 5),)).tolist()
    [10000]
    """
    return (np.arange(len(areas), dtype=np.int64) + 1) * 10_000


def _bisect(mean: npt.NDArray[np.float64], target: float) -> float:
    lo, hi = -6.0, 6.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if expected_rate(mean, mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
