"""Births, deaths, immigration, emigration and young adults leaving home, one year at a time.

Examples
--------
>>> float(death_probability(np.array([80]))[0]) > float(death_probability(np.array([40]))[0])
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthetic.education import draw_target, level_at_age
from synthetic.labour import SIGMA_ALPHA, SIGMA_U
from synthetic.population import NON_AREA_ADDR, NONWESTERN_ALPHA, WESTERN_ALPHA, Calibration, draw_origin
from synthetic.state import State, concat_families, concat_persons

__all__ = ["MigrationEvents", "advance_demography", "death_probability"]

IMMIGRATION_RATE = 0.009
FERTILITY_AGES = np.array([15, 20, 25, 30, 35, 40, 45, 50])
FERTILITY = np.array([0.0, 0.01, 0.06, 0.12, 0.10, 0.04, 0.004, 0.0])


@dataclass(frozen=True)
class MigrationEvents:
    """VNDS events of one year: person index, 'I' or 'U', day of year."""

    person: npt.NDArray[np.int64]
    inbound: npt.NDArray[np.bool_]
    day: npt.NDArray[np.int16]


def death_probability(age: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Annual death probability by age (Gompertz with an infant term)."""
    q = np.exp(-10.4 + 0.094 * age.astype(np.float64))
    return np.clip(np.where(age == 0, 0.004, q), 0.0, 0.6)


def advance_demography(
    state: State, year: int, initial_persons: int, cal: Calibration, rng: np.random.Generator
) -> MigrationEvents:
    """Apply one year of demography in place; return the year's migration events."""
    p = state.p
    age = year - p["byear"].astype(np.int64)  # age at the end of `year`
    pres = p["present"]
    # ---- deaths
    dies = pres & (rng.random(state.n_persons) < death_probability(np.maximum(age - 1, 0)))
    p["present"] = pres & ~dies
    # ---- emigration, whole families, by the head's origin
    head = state.f["head"]
    sizes = state.family_sizes()
    active = sizes > 0
    head_ie = p["ie"][head]
    head_age = age[head]
    rate = np.where(head_ie == 2, 0.045, np.where((head_age >= 20) & (head_age <= 40), 0.006, 0.002))
    fam_out = active & (rng.random(state.n_families) < rate) & (state.f["area"] < 0)
    out_persons = np.flatnonzero(p["present"] & fam_out[p["fam"]])
    out_day = rng.integers(0, 365, out_persons.shape[0]).astype(np.int16)
    p["present"][out_persons] = False
    _replace_missing_heads(state)
    # ---- births
    pres = p["present"]
    woman = pres & (p["sex"] == 2) & (age >= 16) & (age <= 50)
    mothers = np.flatnonzero(woman & (rng.random(state.n_persons) < np.interp(age, FERTILITY_AGES, FERTILITY)))
    _add_births(state, year, mothers, cal, rng)
    # ---- immigration: new families
    in_idx = _add_immigrants(state, year, int(IMMIGRATION_RATE * initial_persons), cal, rng)
    # ---- young adults leave home
    _leave_home(state, year, rng)
    persons = np.concatenate([in_idx, out_persons])
    inbound = np.concatenate([np.ones(in_idx.shape[0], bool), np.zeros(out_persons.shape[0], bool)])
    day = np.concatenate([p["arr_day"][in_idx], out_day]).astype(np.int16)
    return MigrationEvents(persons, inbound, day)


def _replace_missing_heads(state: State) -> None:
    """Families whose head left get the partner, else their lowest-index present member, as head."""
    p, f = state.p, state.f
    head_gone = ~p["present"][f["head"]]
    partner_ok = (f["partner"] >= 0) & p["present"][np.maximum(f["partner"], 0)]
    fix_partner = head_gone & partner_ok
    f["head"][fix_partner] = f["partner"][fix_partner]
    f["partner"][fix_partner] = -1
    gone_partner = (f["partner"] >= 0) & ~p["present"][np.maximum(f["partner"], 0)]
    f["partner"][gone_partner] = -1
    still = ~p["present"][f["head"]]
    if still.any():
        idx = np.flatnonzero(p["present"])
        fam = p["fam"][idx]
        first = np.full(state.n_families, -1, dtype=np.int64)
        # lowest index per family: iterate reversed so the smallest index is written last
        first[fam[::-1]] = idx[::-1]
        ok = still & (first >= 0)
        f["head"][ok] = first[ok]


def _add_births(
    state: State, year: int, mothers: npt.NDArray[np.int64], cal: Calibration, rng: np.random.Generator
) -> None:
    p, f = state.p, state.f
    n = mothers.shape[0]
    fam = p["fam"][mothers]
    partner = f["partner"][fam]
    head = f["head"][fam]
    dad = np.where(
        (partner == mothers) & (p["sex"][head] == 1),
        head,
        np.where((partner >= 0) & (partner != mothers), partner, -1),
    )
    dad = np.where((dad >= 0) & (p["sex"][np.maximum(dad, 0)] == 1), dad, -1)
    m_ie = p["ie"][mothers]
    alpha_std = rng.standard_normal(n)
    alpha = 0.5 * p["alpha"][mothers] + 0.5 * cal.nat_shift + np.sqrt(0.75) * SIGMA_ALPHA * alpha_std
    byear = np.full(n, year, dtype=np.int16)
    concat_persons(state, {
        "sex": 1 + (rng.random(n) < 0.487), "byear": byear, "bday": rng.integers(0, 365, n),
        "ie": np.where(m_ie == 1, 1, 3), "land": p["land"][mothers], "fam": fam, "mother": mothers,
        "father": dad, "present": np.ones(n, bool), "alpha": alpha,
        "u": SIGMA_U * rng.standard_normal(n),
        "edu_target": draw_target((alpha - cal.nat_shift) / SIGMA_ALPHA, byear, m_ie > 1, rng),
        "edu": np.zeros(n), "edu_sub": rng.integers(0, 10, n), "civst": np.zeros(n),
        "area_base": np.full(n, -1), "status": np.zeros(n), "emp": np.zeros(n, bool),
        "arr_year": np.full(n, -1), "arr_day": np.zeros(n), "se_code": rng.integers(0, 5, n),
    })  # fmt: skip


def _add_immigrants(
    state: State, year: int, n_persons: int, cal: Calibration, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    from synthetic.geography import kom_arrays

    n_fam = max(1, int(n_persons / 1.4))
    couple = rng.random(n_fam) < 0.25
    kids = np.where(couple, rng.poisson(0.9, n_fam), np.where(rng.random(n_fam) < 0.1, rng.poisson(1.2, n_fam), 0))
    size = 1 + couple + kids
    n = int(size.sum())
    head_age = np.clip(np.rint(rng.gamma(6.0, 5.0, n_fam)), 18, 80).astype(np.int64)
    cls, land = draw_origin(n_fam, 0.5, 0.5, rng)
    fam_local = np.repeat(np.arange(n_fam), size)
    first = np.cumsum(size) - size
    rank = np.arange(n) - first[fam_local]
    is_head = rank == 0
    is_partner = (rank == 1) & couple[fam_local]
    is_kid = ~is_head & ~is_partner
    age = np.where(is_kid, rng.integers(0, 18, n), head_age[fam_local] + np.where(is_partner, -2, 0))
    age = np.maximum(age, 0)
    sex = np.where(is_head, np.where(couple[fam_local], 1, 1 + (rng.random(n) < 0.45)), 2)
    sex = np.where(is_kid, 1 + (rng.random(n) < 0.487), sex)
    pcls = cls[fam_local]
    byear = (year - age).astype(np.int16)
    alpha_std = rng.standard_normal(n)
    alpha = SIGMA_ALPHA * alpha_std + cal.nat_shift - 0.25 + np.where(pcls == 2, NONWESTERN_ALPHA, WESTERN_ALPHA)
    target = draw_target(alpha_std, byear, pcls == 2, rng)
    base = state.n_persons
    fam_base = state.n_families
    fam_day = rng.integers(0, 365, n_fam)
    mother = np.where(is_kid, base + np.where(couple[fam_local], first[fam_local] + 1, first[fam_local]), -1)
    mother = np.where(is_kid & ~couple[fam_local] & (sex[first[fam_local]] == 1), -1, mother)
    father = np.where(is_kid & couple[fam_local], base + first[fam_local], -1)
    idx = concat_persons(state, {
        "sex": sex, "byear": byear, "bday": rng.integers(0, 365, n), "ie": np.full(n, 2),
        "land": land[fam_local], "fam": fam_base + fam_local, "mother": mother, "father": father,
        "present": np.ones(n, bool), "alpha": alpha, "u": SIGMA_U * rng.standard_normal(n),
        "edu_target": target, "edu": level_at_age(age, target), "edu_sub": rng.integers(0, 10, n),
        "civst": np.where(couple[fam_local] & ~is_kid, 1, 0), "area_base": np.full(n, -1),
        "status": np.zeros(n), "emp": np.zeros(n, bool), "arr_year": np.full(n, year),
        "arr_day": fam_day[fam_local], "se_code": rng.integers(0, 5, n),
    })  # fmt: skip
    codes, _r, kw = kom_arrays()
    kw = kw.copy()
    kw[codes == 101] *= 1.8
    concat_families(
        state,
        {
            "head": base + first,
            "partner": np.where(couple, base + first + 1, -1),
            "kom": codes[rng.choice(codes.shape[0], size=n_fam, p=kw / kw.sum())],
            "addr": rng.integers(*NON_AREA_ADDR, size=n_fam),
            "area": np.full(n_fam, -1),
            "vfra_year": np.full(n_fam, year),
            "vfra_day": fam_day,
        },
    )
    return idx


def _leave_home(state: State, year: int, rng: np.random.Generator) -> None:
    p, f = state.p, state.f
    age = year - p["byear"].astype(np.int64)
    idx = np.flatnonzero(p["present"] & (age >= 18) & (age <= 30))
    fam = p["fam"][idx]
    dependent = (f["head"][fam] != idx) & (f["partner"][fam] != idx)
    leave = idx[dependent & (rng.random(idx.shape[0]) < 0.35)]
    n = leave.shape[0]
    if n == 0:
        return
    old = p["fam"][leave]
    same = rng.random(n) < 0.6
    from synthetic.geography import kom_arrays

    codes, _r, kw = kom_arrays()
    kom = np.where(same, f["kom"][old], codes[rng.choice(codes.shape[0], size=n, p=kw)])
    new = concat_families(
        state,
        {
            "head": leave,
            "partner": np.full(n, -1),
            "kom": kom,
            "addr": rng.integers(*NON_AREA_ADDR, size=n),
            "area": np.full(n, -1),
            "vfra_year": np.full(n, year),
            "vfra_day": rng.integers(0, 365, n),
        },
    )
    p["fam"][leave] = new
