"""Annual incomes (IND) from the latent status; components add up exactly.

All amounts are whole kroner stored as float64, so the identities hold exactly
in floating point:

* ``ERHVERVSINDK_13 = LOENMV_13 + HONORAR_13 + NETOVSKUD_13``
* ``PERINDKIALT_13 = ERHVERVSINDK_13 + OFF_OVERFORSEL_13 + PRIVAT_PENSION_13 + KAPITALINDK_13 + RESUINK_13``

Examples
--------
>>> from synthetic.codes import Status
>>> inc = draw_income(np.array([Status.EMPLOYEE_BASIC, Status.CHILD], dtype=np.int8),
...                   np.array([40, 5]), np.zeros(2), np.random.default_rng(0))
>>> bool((inc["PERINDKIALT_13"] == inc["ERHVERVSINDK_13"] + inc["OFF_OVERFORSEL_13"]
...       + inc["PRIVAT_PENSION_13"] + inc["KAPITALINDK_13"] + inc["RESUINK_13"]).all())
True
>>> float(inc["PERINDKIALT_13"][1])
0.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from synthetic.codes import N_STATUS, Status

__all__ = ["INCOME_COLUMNS", "draw_income"]

INCOME_COLUMNS = (
    "PERINDKIALT_13",
    "ERHVERVSINDK_13",
    "LOENMV_13",
    "HONORAR_13",
    "NETOVSKUD_13",
    "OFF_OVERFORSEL_13",
    "PRIVAT_PENSION_13",
    "KAPITALINDK_13",
    "RESUINK_13",
)


def _by_status(mapping: dict[Status, tuple[float, float]]) -> tuple[npt.NDArray[np.float64], ...]:
    share = np.zeros(N_STATUS)
    median = np.zeros(N_STATUS)
    for status, (s, m) in mapping.items():
        share[status] = s
        median[status] = m
    return share, median


# (share with the component, median amount) by status
_WAGE = _by_status({
    Status.ASSISTING_SPOUSE: (0.3, 60_000), Status.SELF_EMPLOYED: (0.3, 80_000),
    Status.EMPLOYEE_TOP: (1.0, 720_000), Status.EMPLOYEE_HIGH: (1.0, 520_000),
    Status.EMPLOYEE_MEDIUM: (1.0, 410_000), Status.EMPLOYEE_BASIC: (1.0, 330_000),
    Status.EMPLOYEE_OTHER: (1.0, 270_000), Status.UNEMPLOYED: (0.5, 60_000),
    Status.CASH_BENEFIT: (0.2, 30_000), Status.SICKNESS_LEAVE: (0.7, 150_000),
    Status.STUDENT: (0.7, 45_000), Status.OTHER: (0.3, 40_000), Status.EARLY_RETIREMENT: (0.1, 40_000),
    Status.OLD_AGE_PENSION: (0.05, 50_000), Status.DISABILITY_PENSION: (0.05, 20_000),
})  # fmt: skip
_TRANSFER = _by_status({
    Status.UNEMPLOYED: (1.0, 170_000), Status.CASH_BENEFIT: (1.0, 135_000),
    Status.SICKNESS_LEAVE: (1.0, 90_000), Status.DISABILITY_PENSION: (1.0, 205_000),
    Status.EARLY_RETIREMENT: (1.0, 185_000), Status.OLD_AGE_PENSION: (1.0, 150_000),
    Status.STUDENT: (0.8, 70_000), Status.OTHER: (0.4, 60_000), Status.EMPLOYEE_BASIC: (0.15, 10_000),
    Status.EMPLOYEE_OTHER: (0.2, 12_000),
})  # fmt: skip
_PENSION = _by_status({
    Status.OLD_AGE_PENSION: (0.7, 90_000), Status.EARLY_RETIREMENT: (0.5, 60_000),
    Status.DISABILITY_PENSION: (0.2, 25_000),
})  # fmt: skip


def _amount(
    share_median: tuple[npt.NDArray[np.float64], ...],
    status: npt.NDArray[np.int8],
    scale: npt.NDArray[np.float64],
    sigma: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    share, median = share_median
    n = status.shape[0]
    has = rng.random(n) < share[status]
    value = median[status] * np.exp(sigma * rng.standard_normal(n)) * scale
    return np.where(has, np.rint(value), 0.0)


def draw_income(
    status: npt.NDArray[np.int8],
    age: npt.NDArray[np.int64],
    alpha_dev: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> dict[str, npt.NDArray[np.float64]]:
    """Income components for one year.

    Parameters
    ----------
    status
        Latent status per person.
    age
        Age at the end of the year.
    alpha_dev
        Latent employability relative to the national mean (raises wages).
    rng
        Random generator.
    """
    n = status.shape[0]
    adult = age >= 18
    wage_scale = np.exp(0.15 * np.clip(alpha_dev, -3, 3)) * np.interp(
        age, [18, 25, 35, 50, 67], [0.55, 0.8, 1.0, 1.1, 1.0]
    )
    wages = _amount(_WAGE, status, wage_scale, 0.35, rng)
    fees = np.where(adult & (rng.random(n) < 0.05), np.rint(8_000 * np.exp(rng.standard_normal(n))), 0.0)
    se = status == Status.SELF_EMPLOYED
    surplus = np.rint(np.where(rng.random(n) < 0.12, -50_000, 300_000) * np.exp(0.6 * rng.standard_normal(n)))
    surplus = np.where(
        se,
        surplus,
        np.where(adult & (rng.random(n) < 0.02), np.rint(20_000 * np.exp(rng.standard_normal(n))), 0.0),
    )
    transfers = _amount(_TRANSFER, status, np.ones(n), 0.15, rng)
    pension = _amount(_PENSION, status, np.ones(n), 0.6, rng)
    capital = np.where(adult, np.rint(rng.normal(np.where(age >= 65, 12_000, -6_000), 12_000)), 0.0)
    resid = np.where(adult & (rng.random(n) < 0.1), np.rint(rng.normal(0, 3_000, n)), 0.0)
    earned = wages + fees + surplus
    total = earned + transfers + pension + capital + resid
    return {
        "PERINDKIALT_13": total, "ERHVERVSINDK_13": earned, "LOENMV_13": wages, "HONORAR_13": fees,
        "NETOVSKUD_13": surplus, "OFF_OVERFORSEL_13": transfers, "PRIVAT_PENSION_13": pension,
        "KAPITALINDK_13": capital, "RESUINK_13": resid,
    }  # fmt: skip
