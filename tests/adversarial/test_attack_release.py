"""Red team: what a refused release leaves behind, and what the next release makes of it.

A release refused by the differencing registry writes the checker's report on purpose (it lists
the pairs). The researcher then drops the offending output and releases again under the same
name: the kit must either replace the refused report or refuse with a KitError; never a raw
OSError, and never a release whose checker's report is the refused one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError, KitError


def test_release_again_after_a_differencing_refusal(tmp_path: Path) -> None:
    n = 60
    df = pd.DataFrame({"PNR": np.arange(n), "KOM": np.repeat(["A", "B", "C"], 20), "age": 30})
    df.loc[0, "age"] = 70
    s = kit.Session("dst", unit="PNR", created="2026-01-01T00:00:00+00:00")
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"] <= 64], rows="KOM", name="working")
    with pytest.raises(DisclosureError):
        s.release(tmp_path / "r", [everyone, working], title="t", formats=("html",), checker_dir=tmp_path / "c")
    assert not (tmp_path / "r").exists()
    try:
        s.release(tmp_path / "r", [everyone], title="t", formats=("html",), checker_dir=tmp_path / "c")
    except KitError:
        assert not (tmp_path / "r").exists()
        return
    from kit.release import review_release

    assert review_release(tmp_path / "r", checker_dir=tmp_path / "c").exit_code == 0
