"""Moves between dwellings, by whole families.

Every family moves with a hazard that depends on the head's age, tenure and
employment; families in named areas move out at the configured rate, and
non-employed families in a treated area move out more in its renovation years.
Vacancies in named areas are filled by families drawn from the rest of the
country with exponential tilting on the head's latent employability (so
in-movers resemble the areas' residents) and a weight on non-Western origin;
from a treated area's start year its in-movers are tilted further
(``selection_shift``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthetic.geography import Area, kom_arrays
from synthetic.population import NON_AREA_ADDR, Calibration, area_address_blocks, family_mean_alpha
from synthetic.state import State

__all__ = ["AreaPlan", "advance_moves"]

SAME_KOM = 0.7


@dataclass(frozen=True)
class AreaPlan:
    """Per-area treatment parameters as arrays (index = area index; untreated areas have zeros)."""

    start: npt.NDArray[np.int64]
    shift: npt.NDArray[np.float64]
    ren_first: npt.NDArray[np.int64]
    ren_last: npt.NDArray[np.int64]
    extra: npt.NDArray[np.float64]


def _select(
    alpha: npt.NDArray[np.float64],
    base_key: npt.NDArray[np.float64],
    nonwestern: npt.NDArray[np.bool_],
    sizes: npt.NDArray[np.int64],
    need: int,
    target_mean: float,
    target_nw: float,
) -> npt.NDArray[np.int64]:
    """Candidates (in key order) filling ``need`` persons, tilted so that their mean family employability
    and non-Western share hit the targets.

    ``base_key`` is log-weight plus Gumbel noise (taken candidates at -inf), so the top-k by
    ``base_key + theta * alpha + log_k * nonwestern`` is a weighted sample without replacement. theta is
    found by bisection on the *realised* mean of the selection, which corrects for the depletion of the
    pool's tail when many families are drawn from a small population.
    """
    k = min(need, int(np.isfinite(base_key).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)

    def pick(theta: float, log_k: float) -> npt.NDArray[np.int64]:
        key = base_key + theta * alpha + log_k * nonwestern
        top = np.argpartition(-key, k - 1)[:k] if k < key.shape[0] else np.arange(key.shape[0])
        top = top[np.argsort(-key[top], kind="stable")]
        top = top[np.isfinite(key[top])]
        starts = np.cumsum(sizes[top]) - sizes[top]
        return top[starts < need]

    log_k = 0.0
    theta = 0.0
    for _ in range(3):
        lo, hi = -20.0, 20.0
        for _ in range(14):
            theta = (lo + hi) / 2
            if float(alpha[pick(theta, log_k)].mean()) > target_mean:
                hi = theta
            else:
                lo = theta
        chosen = pick(theta, log_k)
        p_nw = min(max(float(nonwestern[chosen].mean()), 1e-3), 1 - 1e-3)
        log_k += float(np.log(target_nw / (1 - target_nw)) - np.log(p_nw / (1 - p_nw)))
        log_k = min(max(log_k, -10.0), 10.0)
    return pick(theta, log_k)


def advance_moves(
    state: State,
    year: int,
    areas: tuple[Area, ...],
    plan: AreaPlan,
    cal: Calibration,
    area_move_out: float,
    area_nonwestern: float,
    rng: np.random.Generator,
) -> None:
    """Apply one year of moves in place (out-moves, ordinary moves, then filling named-area vacancies)."""
    p, f = state.p, state.f
    nf = state.n_families
    sizes = state.family_sizes()
    active = sizes > 0
    head = f["head"]
    head_age = year - p["byear"][head].astype(np.int64)
    head_emp = p["emp"][head]
    tenure = year - f["vfra_year"].astype(np.int64)
    area = f["area"].astype(np.int64)
    in_area = area >= 0
    a_idx = np.maximum(area, 0)

    # ---- hazards
    base = np.interp(head_age, [18, 25, 30, 45, 65, 80], [0.30, 0.25, 0.15, 0.08, 0.05, 0.05])
    base = base * np.where(tenure <= 1, 1.3, 1.0)
    h_area = area_move_out * np.where(head_emp, 1.15, 0.9)
    renov = in_area & (year >= plan.ren_first[a_idx]) & (year <= plan.ren_last[a_idx]) & ~head_emp
    h_area = h_area + np.where(renov, plan.extra[a_idx], 0.0)
    hazard = np.where(in_area, h_area, base)
    movers = np.flatnonzero(active & (rng.random(nf) < hazard))
    codes, _regions, kw = kom_arrays()
    same = rng.random(movers.shape[0]) < SAME_KOM
    other = codes[rng.choice(codes.shape[0], size=movers.shape[0], p=kw)]
    f["kom"][movers] = np.where(same, f["kom"][movers], other)
    f["addr"][movers] = rng.integers(*NON_AREA_ADDR, size=movers.shape[0])
    f["area"][movers] = -1
    f["vfra_year"][movers] = year
    f["vfra_day"][movers] = rng.integers(0, 365, movers.shape[0])

    # ---- vacancies in named areas
    pres = p["present"]
    p_area = f["area"][p["fam"][pres]]
    current = np.bincount(p_area[p_area >= 0], minlength=len(areas))
    targets = np.array([a.residents for a in areas])
    vacancies = np.maximum(targets - current, 0)
    if vacancies.sum() == 0:
        return
    cand = np.flatnonzero(active & (f["area"] < 0) & (head_age >= 18) & (head_age <= 64) & (f["vfra_year"] < year))
    page = year - p["byear"].astype(np.int64)
    fam_alpha = family_mean_alpha(p["alpha"], p["fam"], p["present"] & (page >= 16) & (page <= 64), nf)
    alpha = np.where(np.isnan(fam_alpha[cand]), p["alpha"][head[cand]], fam_alpha[cand])
    nonw = np.isin(p["ie"][head[cand]], (2, 3)) & ~_western(p["land"][head[cand]])
    base_logw = np.where(head_age[cand] < 35, np.log(2.0), np.where(head_age[cand] > 55, np.log(0.5), 0.0))
    gumbel = rng.gumbel(size=cand.shape[0])
    taken = np.zeros(cand.shape[0], dtype=bool)
    selecting = (year >= plan.start) & (plan.shift != 0.0)
    groups: list[tuple[npt.NDArray[np.int64], float]] = [(np.flatnonzero(~selecting), 0.0)]
    groups += [(np.array([i]), float(plan.shift[i])) for i in np.flatnonzero(selecting)]
    blocks = area_address_blocks(areas)
    dwellings = np.array([a.dwellings for a in areas])
    area_kom = np.array([a.kom for a in areas])
    for members, shift in groups:
        need = vacancies[members]
        if need.sum() == 0:
            continue
        base_key = np.where(taken, -np.inf, base_logw + gumbel)
        top = _select(alpha, base_key, nonw, sizes[cand], int(need.sum()), cal.area_head_alpha + shift, area_nonwestern)
        top = rng.permutation(top)  # shuffled: areas share the selection evenly
        order = rng.permutation(members.shape[0])
        bounds = np.cumsum(need[order])
        fam_sizes = sizes[cand[top]]
        starts = np.cumsum(fam_sizes) - fam_sizes
        which = np.searchsorted(bounds, starts, side="right")
        ok = which < members.shape[0]
        chosen = top[ok]
        dest = members[order[which[ok]]]
        taken[chosen] = True
        fams = cand[chosen]
        f["area"][fams] = dest
        f["kom"][fams] = area_kom[dest]
        f["addr"][fams] = blocks[dest] + (rng.random(fams.shape[0]) * dwellings[dest]).astype(np.int64)
        f["vfra_year"][fams] = year
        f["vfra_day"][fams] = rng.integers(0, 365, fams.shape[0])


def _western(land: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    from synthetic.codes import ORIGINS

    western = [c for c, nw, _ in ORIGINS if not nw]
    return np.isin(land, western)
