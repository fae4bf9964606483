"""Education: a target level per person, reached along a fixed path of completion ages.

Examples
--------
>>> level_at_age(np.array([15, 16, 20, 30]), np.array([6, 6, 6, 6], dtype=np.int8)).tolist()
[0, 1, 2, 6]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from synthetic.codes import EDU_COMPLETION_AGE

__all__ = ["completion_year", "draw_target", "level_at_age"]

# PATH[target, level] is True when `level` lies on the path to `target` (index as codes.EDU_LEVELS).
_PATH = np.zeros((8, 8), dtype=bool)
_PATHS = {1: (1,), 2: (1, 2), 3: (1, 3), 4: (1, 2, 4), 5: (1, 2, 5), 6: (1, 2, 5, 6), 7: (1, 2, 5, 6, 7)}
for _t, _levels in _PATHS.items():
    _PATH[_t, list(_levels)] = True

# Standard-normal cut points giving shares 22/10/33/6/17/10/2 % for levels 10..80.
_CUTS = np.array([-0.772, -0.468, 0.385, 0.553, 1.175, 2.054])


def draw_target(
    alpha_std: npt.NDArray[np.float64],
    byear: npt.NDArray[np.int16],
    nonwestern: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.int8]:
    """Highest education each person will reach (index 1-7), correlated with employability.

    Examples
    --------
    >>> t = draw_target(np.zeros(1000), np.full(1000, 1980, dtype=np.int16),
    ...                 np.zeros(1000, dtype=bool), np.random.default_rng(0))
    >>> int(t.min()) >= 1 and int(t.max()) <= 7
    True
    """
    cohort = np.clip(1975 - byear.astype(np.float64), 0, None) * 0.015
    z = 0.5 * alpha_std + 0.866 * rng.standard_normal(alpha_std.shape[0]) - cohort - 0.35 * nonwestern
    return (1 + np.searchsorted(_CUTS, z)).astype(np.int8)


def level_at_age(age: npt.NDArray[np.int64], target: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """Education index reached by ``age`` (0 = none yet) on the path to ``target``."""
    out = np.zeros(age.shape[0], dtype=np.int8)
    for level in range(1, 8):
        reached = _PATH[target, level] & (age >= EDU_COMPLETION_AGE[level])
        out[reached] = level
    return out


def completion_year(byear: npt.NDArray[np.int16], level: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
    """Calendar year in which ``level`` was completed (birth year + completion age).

    Examples
    --------
    >>> completion_year(np.array([1990], dtype=np.int16), np.array([1], dtype=np.int8)).tolist()
    [2006]
    """
    return byear.astype(np.int64) + EDU_COMPLETION_AGE[level].astype(np.int64)
