"""The labour-market process: one latent status per person and year.

Employment is a threshold model: a person is employed in year t when
``alpha + age + education + place + year + u_t > 0``, with a persistent person
effect ``alpha`` and an AR(1) shock ``u_t``. Non-employed persons get a
sub-status (student, unemployed, cash benefit, sickness, pensions, other) drawn
by age, with disability pension sticky. The status then drives RAS, AKM and IND.

Examples
--------
>>> float(round(expected_rate(np.array([0.0]), 0.0), 3))
0.5
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from synthetic.codes import Status

__all__ = [
    "AGE_EFFECT",
    "EDU_EFFECT",
    "RHO",
    "SIGMA_ALPHA",
    "SIGMA_U",
    "assign_status",
    "employment_probability",
    "expected_rate",
    "year_effect",
]

SIGMA_ALPHA = 0.8
SIGMA_U = 0.6
RHO = 0.75
#: Sd of the AR(1) innovation.
SIGMA_EPS = SIGMA_U * float(np.sqrt(1 - RHO**2))


def _age_effect() -> npt.NDArray[np.float64]:
    eff = np.full(121, -9.0)
    points = [(16, -1.3), (19, -0.8), (22, -0.35), (26, 0.0), (30, 0.2), (50, 0.25), (55, 0.05),
              (59, -0.25), (62, -0.75), (64, -1.0), (66, -2.0), (70, -2.6), (74, -3.0)]  # fmt: skip
    ages, vals = zip(*points, strict=True)
    grid = np.arange(16, 75)
    eff[16:75] = np.interp(grid, ages, vals)
    return eff


#: Additive age effect on the latent index, indexed by age 0-120 (never employed outside 16-74).
AGE_EFFECT = _age_effect()
#: Additive education effect by education index (see codes.EDU_LEVELS).
EDU_EFFECT = np.array([-0.3, -0.3, 0.0, 0.15, 0.25, 0.35, 0.45, 0.5])
_YEAR_EFFECT = {2008: 0.10, 2009: -0.02, 2010: -0.08, 2011: -0.08, 2012: -0.09, 2013: -0.08,
                2014: -0.05, 2015: -0.02, 2016: 0.01, 2017: 0.04, 2018: 0.07, 2019: 0.08}  # fmt: skip


def year_effect(year: int) -> float:
    """National business-cycle effect on the latent index (0 outside 2008-2019).

    Examples
    --------
    >>> year_effect(2008) > year_effect(2011)
    True
    """
    return _YEAR_EFFECT.get(year, 0.0)


def expected_rate(mean: npt.NDArray[np.float64], shift: float) -> float:
    """Average employment probability with the shock at its stationary law.

    Parameters
    ----------
    mean
        Index without the shock, per person.
    shift
        Common shift added to ``mean``.
    """
    return float(ndtr((mean + shift) / SIGMA_U).mean()) if mean.size else 0.0


def employment_probability(mean: npt.NDArray[np.float64], u_prev: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Probability of employment this year given last year's shock (the untreated model).

    Examples
    --------
    >>> p = employment_probability(np.array([0.0, 1.0]), np.zeros(2, dtype=np.float32))
    >>> bool(p[1] > p[0] == 0.5)
    True
    """
    return np.asarray(ndtr((mean + RHO * u_prev) / SIGMA_EPS), dtype=np.float64)


# Sub-status probabilities for the non-employed aged 16-64, by age band.
_BANDS = np.array([16, 25, 30, 60, 65])
_NONEMP = {
    # band index: probabilities over (student, unemployed, cash, sickness, disability, early ret, other)
    0: (0.78, 0.06, 0.08, 0.02, 0.01, 0.00, 0.05),
    1: (0.45, 0.15, 0.20, 0.06, 0.04, 0.00, 0.10),
    2: (0.05, 0.25, 0.28, 0.14, 0.18, 0.00, 0.10),
    3: (0.00, 0.12, 0.08, 0.08, 0.27, 0.40, 0.05),
}
_NONEMP_STATUS = np.array(
    [
        Status.STUDENT,
        Status.UNEMPLOYED,
        Status.CASH_BENEFIT,
        Status.SICKNESS_LEAVE,
        Status.DISABILITY_PENSION,
        Status.EARLY_RETIREMENT,
        Status.OTHER,
    ],
    dtype=np.int8,
)
_NONEMP_CUM: npt.NDArray[np.float64] = np.array([np.cumsum(_NONEMP[b]) for b in range(4)])

# Employee sub-status by education index: cumulative over (top, high, medium, basic, other).
_EMP_STATUS = np.array(
    [
        Status.EMPLOYEE_TOP,
        Status.EMPLOYEE_HIGH,
        Status.EMPLOYEE_MEDIUM,
        Status.EMPLOYEE_BASIC,
        Status.EMPLOYEE_OTHER,
    ],
    dtype=np.int8,
)
_EMP_CUM: npt.NDArray[np.float64] = np.cumsum(np.array([
    (0.00, 0.00, 0.05, 0.50, 0.45),  # none
    (0.01, 0.02, 0.07, 0.50, 0.40),  # 10
    (0.02, 0.05, 0.18, 0.45, 0.30),  # 20
    (0.03, 0.04, 0.15, 0.63, 0.15),  # 35
    (0.05, 0.15, 0.50, 0.25, 0.05),  # 40
    (0.06, 0.20, 0.60, 0.10, 0.04),  # 60
    (0.15, 0.70, 0.12, 0.02, 0.01),  # 70
    (0.15, 0.75, 0.08, 0.01, 0.01),  # 80
]), axis=1)  # fmt: skip


def assign_status(
    employed: npt.NDArray[np.bool_],
    age: npt.NDArray[np.int64],
    edu: npt.NDArray[np.int8],
    prev_status: npt.NDArray[np.int8],
    rng: np.random.Generator,
) -> npt.NDArray[np.int8]:
    """Latent :class:`~synthetic.codes.Status` of each person from employment, age and education.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> s = assign_status(np.array([True, False, False]), np.array([40, 70, 5]),
    ...                   np.array([3, 3, 0], dtype=np.int8), np.zeros(3, dtype=np.int8), rng)
    >>> [Status(int(v)).name for v in s[1:]]
    ['OLD_AGE_PENSION', 'CHILD']
    """
    n = employed.shape[0]
    u1: npt.NDArray[np.float64] = np.asarray(rng.random(n))
    u2: npt.NDArray[np.float64] = np.asarray(rng.random(n))
    out = np.full(n, Status.OTHER, dtype=np.int8)
    # employed
    se_prob = np.where(age >= 30, 0.085, 0.03)
    cat = (u2[:, None] > _EMP_CUM[edu]).sum(axis=1).clip(0, 4)
    emp_status = np.where(
        u1 < se_prob,
        Status.SELF_EMPLOYED,
        np.where(u1 < se_prob + 0.003, Status.ASSISTING_SPOUSE, _EMP_STATUS[cat]),
    )
    out[employed] = emp_status[employed]
    # not employed, working age
    band = (np.searchsorted(_BANDS, age, side="right") - 1).clip(0, 3)
    sub = (u1[:, None] > _NONEMP_CUM[band]).sum(axis=1).clip(0, 6)
    nonemp = _NONEMP_STATUS[sub]
    sticky = prev_status == Status.DISABILITY_PENSION
    nonemp = np.where(sticky & (age < 65), Status.DISABILITY_PENSION, nonemp)
    working_age = (age >= 16) & (age <= 64)
    sel = ~employed & working_age
    out[sel] = nonemp[sel]
    out[~employed & (age >= 65)] = Status.OLD_AGE_PENSION
    out[~employed & (age == 15)] = Status.STUDENT
    out[age < 15] = Status.CHILD
    return out
