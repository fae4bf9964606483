"""The simulation state: person and family arrays (internal, mutable, never exported).

A :class:`State` holds one numpy array per attribute. Persons are never
removed: death and emigration clear ``present``. Families group persons who
share an address; moves act on whole families.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["State", "concat_families", "concat_persons", "jan1_days", "seeded_rng"]

I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]
I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

PERSON_FIELDS: tuple[tuple[str, type], ...] = (
    ("sex", np.int8), ("byear", np.int16), ("bday", np.int16), ("ie", np.int8), ("land", np.int16),
    ("fam", np.int32), ("mother", np.int32), ("father", np.int32), ("present", np.bool_),
    ("alpha", np.float32), ("u", np.float32), ("edu_target", np.int8), ("edu", np.int8),
    ("edu_sub", np.int8), ("civst", np.int8), ("area_base", np.int16), ("status", np.int8),
    ("emp", np.bool_), ("arr_year", np.int16), ("arr_day", np.int16), ("se_code", np.int8),
)  # fmt: skip
FAMILY_FIELDS: tuple[tuple[str, type], ...] = (
    ("head", np.int32), ("partner", np.int32), ("kom", np.int16), ("addr", np.int32),
    ("area", np.int16), ("vfra_year", np.int16), ("vfra_day", np.int16),
)  # fmt: skip

#: CIVST letters indexed by the ``civst`` code.
CIVST_LETTERS = np.array(list("UGFEPOLD"))


@dataclass
class State:
    """Arrays of the simulation (see PERSON_FIELDS / FAMILY_FIELDS for names and dtypes)."""

    p: dict[str, np.ndarray]
    f: dict[str, np.ndarray]

    @property
    def n_persons(self) -> int:
        """Number of person slots (present or not)."""
        return int(self.p["sex"].shape[0])

    @property
    def n_families(self) -> int:
        """Number of family slots."""
        return int(self.f["head"].shape[0])

    def person_area(self) -> I16:
        """Named-area index of each person's address (-1 outside named areas)."""
        return np.asarray(self.f["area"][self.p["fam"]], dtype=np.int16)

    def person_kom(self) -> I16:
        """Municipality code of each person's address."""
        return np.asarray(self.f["kom"][self.p["fam"]], dtype=np.int16)

    def family_sizes(self) -> npt.NDArray[np.int64]:
        """Number of present members per family."""
        pres = self.p["present"]
        return np.bincount(self.p["fam"][pres], minlength=self.n_families)


def concat_persons(state: State, new: Mapping[str, Any]) -> npt.NDArray[np.int64]:
    """Append persons (all fields must be given); return their indices."""
    start = state.n_persons
    for name, dtype in PERSON_FIELDS:
        state.p[name] = np.concatenate([state.p[name], np.asarray(new[name], dtype=dtype)])
    return np.arange(start, state.n_persons)


def concat_families(state: State, new: Mapping[str, Any]) -> npt.NDArray[np.int64]:
    """Append families (all fields must be given); return their indices."""
    start = state.n_families
    for name, dtype in FAMILY_FIELDS:
        state.f[name] = np.concatenate([state.f[name], np.asarray(new[name], dtype=dtype)])
    return np.arange(start, state.n_families)


def seeded_rng(seed: int, *tags: int) -> np.random.Generator:
    """An independent generator for (seed, tags...), so streams do not depend on call order.

    Examples
    --------
    >>> float(seeded_rng(1, 2008, 3).random()) == float(seeded_rng(1, 2008, 3).random())
    True
    """
    return np.random.default_rng(np.random.SeedSequence([seed, *tags]))


def jan1_days(years: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Days since 1970-01-01 of 1 January of each year (vectorised, Gregorian).

    Examples
    --------
    >>> jan1_days([1970, 2000, 2019]).tolist()
    [0, 10957, 17897]
    """
    y = np.asarray(years, dtype=np.int64) - 1
    days = 365 * y + y // 4 - y // 100 + y // 400
    return (days - 719162).astype(np.int32)
