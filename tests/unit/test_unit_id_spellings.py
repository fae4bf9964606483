"""Two spellings of one unit id (leading zeros, blanks) are found exactly, by an independent count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.core.unit_ids import spelling_twins

_ID = st.tuples(
    st.sampled_from(["", " ", "  "]),
    st.integers(0, 3),  # leading zeros
    st.text("0123456789AB", min_size=1, max_size=6),
    st.sampled_from(["", " "]),
).map(lambda p: p[0] + "0" * p[1] + p[2] + p[3])


@settings(max_examples=200, deadline=None)
@given(st.lists(_ID, min_size=0, max_size=30, unique=True))
def test_twins_are_ids_that_another_id_spells(ids: list[str]) -> None:
    expected = len(ids) - len({i.strip().lstrip("0") for i in ids})  # the independent count
    assert spelling_twins(np.array(ids, dtype=object)) == expected


def test_ids_of_one_length_without_blanks_are_never_twins() -> None:
    ids = np.array([f"{i:010d}" for i in range(0, 10**6, 997)], dtype=object)
    assert spelling_twins(ids) == 0
    assert spelling_twins(np.append(ids, "997")) == 1  # 0000000997 without its zeros
