"""Code lists of the synthetic registers: statuses, education levels, origins.

One latent labour-market :class:`Status` per person and year drives RAS
``SOC_STATUS_KODE``, AKM ``SOCIO13`` and IND ``BESKST13``; the lookup arrays
below translate it. The codes follow registers.md; where DST's exact sub-code
meaning was not available the choice is documented in docs/synthetic.md.

Examples
--------
>>> int(RAS_CODE[Status.EMPLOYEE_BASIC])
134
>>> int(SOCIO13_CODE[Status.CASH_BENEFIT])
330
>>> is_employed_ras(np.array([110, 200, 135])).tolist()
[True, False, True]
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

__all__ = [
    "BESKST13_CODE",
    "EDU_LEVELS",
    "HFAUDD_BASE",
    "ORIGINS",
    "RAS_CODE",
    "SOCIO13_CODE",
    "Status",
    "is_employed_ras",
]


class Status(enum.IntEnum):
    """Latent labour-market status of a person in a year (one per person-year)."""

    CHILD = 0
    SELF_EMPLOYED = 1
    ASSISTING_SPOUSE = 2
    EMPLOYEE_TOP = 3
    EMPLOYEE_HIGH = 4
    EMPLOYEE_MEDIUM = 5
    EMPLOYEE_BASIC = 6
    EMPLOYEE_OTHER = 7
    UNEMPLOYED = 8
    CASH_BENEFIT = 9
    SICKNESS_LEAVE = 10
    DISABILITY_PENSION = 11
    EARLY_RETIREMENT = 12
    OLD_AGE_PENSION = 13
    STUDENT = 14
    OTHER = 15


N_STATUS = len(Status)

#: Statuses counted as employed (RAS 1xx, SOCIO13 1xx).
EMPLOYED_STATUSES = (
    Status.SELF_EMPLOYED,
    Status.ASSISTING_SPOUSE,
    Status.EMPLOYEE_TOP,
    Status.EMPLOYEE_HIGH,
    Status.EMPLOYEE_MEDIUM,
    Status.EMPLOYEE_BASIC,
    Status.EMPLOYEE_OTHER,
)


def _table(mapping: dict[Status, int]) -> npt.NDArray[np.int16]:
    out = np.zeros(N_STATUS, dtype=np.int16)
    for status, code in mapping.items():
        out[status] = code
    return out


#: RAS SOC_STATUS_KODE (November) by status.
RAS_CODE = _table(
    {
        Status.CHILD: 517,
        Status.SELF_EMPLOYED: 110,
        Status.ASSISTING_SPOUSE: 120,
        Status.EMPLOYEE_TOP: 131,
        Status.EMPLOYEE_HIGH: 132,
        Status.EMPLOYEE_MEDIUM: 133,
        Status.EMPLOYEE_BASIC: 134,
        Status.EMPLOYEE_OTHER: 135,
        Status.UNEMPLOYED: 200,
        Status.CASH_BENEFIT: 311,
        Status.SICKNESS_LEAVE: 321,
        Status.DISABILITY_PENSION: 411,
        Status.EARLY_RETIREMENT: 412,
        Status.OLD_AGE_PENSION: 413,
        Status.STUDENT: 511,
        Status.OTHER: 512,
    }
)

#: AKM SOCIO13 by status (self-employed get 110-114 by a per-person draw, see labour.py).
SOCIO13_CODE = _table(
    {
        Status.CHILD: 420,
        Status.SELF_EMPLOYED: 110,
        Status.ASSISTING_SPOUSE: 120,
        Status.EMPLOYEE_TOP: 131,
        Status.EMPLOYEE_HIGH: 132,
        Status.EMPLOYEE_MEDIUM: 133,
        Status.EMPLOYEE_BASIC: 134,
        Status.EMPLOYEE_OTHER: 135,
        Status.UNEMPLOYED: 210,
        Status.CASH_BENEFIT: 330,
        Status.SICKNESS_LEAVE: 220,
        Status.DISABILITY_PENSION: 321,
        Status.EARLY_RETIREMENT: 323,
        Status.OLD_AGE_PENSION: 322,
        Status.STUDENT: 310,
        Status.OTHER: 410,
    }
)

#: IND BESKST13 (main source of income) by status; synthetic coding, see docs/synthetic.md.
BESKST13_CODE = _table(
    {
        Status.CHILD: 99,
        Status.SELF_EMPLOYED: 11,
        Status.ASSISTING_SPOUSE: 12,
        Status.EMPLOYEE_TOP: 13,
        Status.EMPLOYEE_HIGH: 13,
        Status.EMPLOYEE_MEDIUM: 13,
        Status.EMPLOYEE_BASIC: 13,
        Status.EMPLOYEE_OTHER: 13,
        Status.UNEMPLOYED: 21,
        Status.CASH_BENEFIT: 23,
        Status.SICKNESS_LEAVE: 22,
        Status.DISABILITY_PENSION: 31,
        Status.EARLY_RETIREMENT: 32,
        Status.OLD_AGE_PENSION: 33,
        Status.STUDENT: 41,
        Status.OTHER: 51,
    }
)

#: Education levels (index -> first two digits of HFAUDD); index 0 = none yet.
EDU_LEVELS = np.array([0, 10, 20, 35, 40, 60, 70, 80], dtype=np.int16)
#: Completion age of each level (index as EDU_LEVELS).
EDU_COMPLETION_AGE = np.array([0, 16, 19, 21, 22, 24, 26, 30], dtype=np.int16)
#: Four-digit HFAUDD base code per level; a sub-code 0-9 is added (e.g. 1010 + 3 -> 1013).
HFAUDD_BASE = np.array([0, 1010, 2010, 3510, 4010, 6010, 7010, 8010], dtype=np.int16)

#: OPR_LAND codes used: (code, non-Western, weight among immigrants). Denmark = 5100.
ORIGINS: tuple[tuple[int, bool, float], ...] = (
    (5110, False, 0.06),  # Norway
    (5120, False, 0.06),  # Sweden
    (5180, False, 0.09),  # Germany
    (5170, False, 0.05),  # United Kingdom
    (5122, False, 0.10),  # Poland
    (5150, False, 0.04),  # Iceland/other Nordic
    (5130, True, 0.13),  # Turkey
    (5432, True, 0.09),  # Iraq
    (5446, True, 0.07),  # Lebanon
    (5754, True, 0.07),  # Somalia
    (5448, True, 0.07),  # Pakistan
    (5495, True, 0.06),  # Iran
    (5452, True, 0.05),  # Afghanistan
    (5436, True, 0.06),  # Yugoslavia (former)
)
DENMARK = 5100


def is_employed_ras(code: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a RAS ``SOC_STATUS_KODE`` means employed (1xx).

    Parameters
    ----------
    code
        Array of RAS status codes.

    Returns
    -------
    numpy.ndarray
        Boolean array.

    Examples
    --------
    >>> is_employed_ras([131, 511]).tolist()
    [True, False]
    """
    arr = np.asarray(code)
    return (arr >= 100) & (arr < 200)
