"""Red team 6: two histograms on one grid whose first edges differ.

Edges ``[0, 10, 20]`` and ``[10, 20, 30]`` are both consecutive multiples of the width 10 (the
kit's grid), so both are accepted. The open lowest bins are ``< 10`` (3 persons) and ``< 20``
(4 persons): their difference is the one person in ``[10, 20)``. Histograms (and quantiles) had
no unit populations, so a release holding one was refused by the differencing registry and the
only way out was ``differencing=False``, which checks nothing. Now each published (merged) bin
carries its units, and the registry compares them like table cells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import kit
from kit.errors import DisclosureError
from kit.estimate import histogram, safe_quantiles

T = 3
CREATED = "2026-01-01T00:00:00+00:00"
VALUES = [1.0, 3.0, 5.0, 15.0, 25.0, 26.0, 27.0, 35.0, 36.0, 37.0, 45.0, 46.0]


def _session() -> kit.Session:
    return kit.Session("dst", unit="PNR", created=CREATED)


def _release(s: kit.Session, folder: Path, out: Any) -> Any | None:
    try:
        s.release(folder, [out], title="histogram", formats=("html",))
    except DisclosureError:
        assert not folder.exists()
        return None
    return kit.clear(out)


def _lowest_bin(cleared: Any) -> float:
    frame = cleared.to_frame(symbols=False)
    low = frame[frame["lower"].isna()]
    return float(low["count"].iloc[0])


def test_two_histograms_one_grid_apart_do_not_give_a_bin_of_one(tmp_path: Path) -> None:
    df = pd.DataFrame({"PNR": np.arange(100, 100 + len(VALUES)), "inc": VALUES})
    s = _session()
    first = _release(s, tmp_path / "h1", histogram(s, df, "inc", [0, 10, 20], name="h1"))
    assert first is not None, "a histogram must be releasable with the differencing check on"
    second = _release(s, tmp_path / "h2", histogram(s, df, "inc", [10, 20, 30], name="h2"))
    if second is None:
        return
    # the attacker: persons in [10, 20) = (< 20) - (< 10)
    between = _lowest_bin(second) - _lowest_bin(first)
    assert not 0 < between < T


def test_quantiles_of_populations_one_apart_are_compared(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"PNR": np.arange(40), "inc": rng.normal(300, 50, 40).round(2)})
    s = _session()
    assert _release(s, tmp_path / "q1", safe_quantiles(s, df, "inc", probs=(0.5,), name="q1")) is not None
    # all but one person: the registry must see that the two groups differ by one unit
    assert _release(s, tmp_path / "q2", safe_quantiles(s, df.iloc[1:], "inc", probs=(0.5,), name="q2")) is None
