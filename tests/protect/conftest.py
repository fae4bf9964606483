from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kit.protect import Dimension, Hierarchy, ProtectionProblem, TableStructure

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "suppression"
if not DATA.exists():
    DATA = Path("/work/shared/data/suppression")


def load_bench(name: str) -> tuple[TableStructure, ProtectionProblem]:
    folder = DATA / name
    if not folder.exists():
        pytest.skip(f"benchmark folder {name} absent")
    meta = json.loads((folder / "meta.json").read_text())
    cells = pd.read_csv(folder / "cells.csv", dtype={d["name"]: str for d in meta["dims"]})
    dims = [Dimension(d["name"], None, Hierarchy.from_parents(d["parent"])) for d in meta["dims"]]
    s = TableStructure.from_dimensions(dims)
    p = ProtectionProblem.from_frame(cells, s, value="value", primary="primary", lpl="lpl", upl="upl",
                                     n_units="freq", top1="top1")
    return s, p
