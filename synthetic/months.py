"""Months in employment per year: the share-of-year employment behind the November status.

RAS gives the status on the last working day of November; a project with monthly employment
(BFL, eIndkomst) also measures how much of the year a person worked. The generator writes the
number of months with employment in the year (0-12) beside SOCIO13 in the synthetic AKM
(column :data:`MONTHS_COLUMN`), consistent with the November status:

* employed last November and this November: 12 months, except an interruption of 1-3 months
  with probability :data:`P_GAP`;
* not employed last November, employed this November: entered at the start of month ``s``,
  uniform on January-November, so ``13 - s`` months (2-12);
* employed last November, not this November: left at the start of month ``s`` (January-
  November), so ``s - 1`` months (0-10);
* employed in neither November: a short spell of 1-3 months with probability :data:`P_SPELL`,
  else 0;
* persons who arrived during the year work at most the months since arrival; arrivals after
  November (outside RAS) and persons outside ages 16-74 hold 0 months unless they left a job.

So an employed November status always comes with at least 2 months (at least 1 after a late
arrival), and a non-employed one with at most 10. :func:`expected_months` is the expectation
given last year's status and this year's employment probability, for the truth's composition
part.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> m = months_employed(np.array([True, False, True, False]), np.array([True, True, False, False]),
...                     np.full(4, -1, dtype=np.int64), rng)
>>> bool(m[0] >= 9 and 2 <= m[1] <= 12 and m[2] <= 10 and m[3] <= 3)
True
>>> expected_months(np.array([True, False]), np.array([1.0, 0.0])).tolist()
[11.84, 0.2]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MONTHS_COLUMN", "P_GAP", "P_SPELL", "expected_months", "months_employed"]

#: Column of the synthetic AKM with the months in employment (0-12); not a DST variable name.
MONTHS_COLUMN = "BESK_MDR"
#: Probability of a 1-3 month interruption for a person employed in both Novembers.
P_GAP = 0.08
#: Probability of a 1-3 month spell for a person employed in neither November.
P_SPELL = 0.10


def months_employed(prev: npt.NDArray[np.bool_], now: npt.NDArray[np.bool_], arrival_month: npt.NDArray[np.int64],
                    rng: np.random.Generator) -> npt.NDArray[np.int8]:
    """Months with employment in the year (0-12) from the two November statuses.

    Parameters
    ----------
    prev, now
        Employed last November / this November.
    arrival_month
        Month (1-12) of arrival in Denmark this year, or -1 for persons here all year; a
        December arrival (12) is outside RAS and gets 0 months.
    rng
        The year's own random stream (every person draws the same numbers whatever their state).
    """
    n = now.shape[0]
    s = rng.integers(1, 12, n)  # month of a transition, January-November
    g = rng.integers(1, 4, n)  # length of an interruption or spell
    u = rng.random(n)
    months = np.where(
        prev & now, np.where(u < P_GAP, 12 - g, 12),
        np.where(now, 13 - s, np.where(prev, s - 1, np.where(u < P_SPELL, g, 0))),
    )
    arrived = arrival_month > 0
    late = arrival_month >= 12  # arrived in December: outside RAS, no months counted
    cap = np.where(late, 0, np.where(arrived, 13 - arrival_month, 12))
    # an employed arrival worked from the month of arrival at the latest
    months = np.where(arrived & now & ~late, np.maximum(np.minimum(months, cap), 1), np.minimum(months, cap))
    return np.clip(months, 0, 12).astype(np.int8)


def expected_months(prev: npt.NDArray[np.bool_], prob: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Expected months in employment given last November's status and this year's employment probability.

    Persons here all year; ``E[13 - s] = 7`` and ``E[s - 1] = 5`` for ``s`` uniform on 1-11,
    and an interruption or spell lasts 2 months on average.
    """
    stay = 12 - 2 * P_GAP
    return np.where(prev, prob * stay + (1 - prob) * 5.0, prob * 7.0 + (1 - prob) * 2 * P_SPELL)
