"""Property: no copy, pickle, replace or mutation of a cleared table yields an object the writer accepts
with a changed value (issue 16, item 1).

For random small tables (persons in areas, a count or a sum), ``kit.clear()`` then one attack:
pickling, ``copy``/``deepcopy``, ``dataclasses.replace`` with changed rows, or
``object.__setattr__`` on the table, a row or the provenance. Each attack must raise a KitError
at once, or the writer must refuse the result and write nothing. The changed value is the
attacker's own: a published number plus a random offset, or a suppressed cell's true value
computed here with plain Python from the frame.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
from kit.core.cleared import ClearedRow, Provenance
from kit.core.rules import load_rule_set
from kit.errors import KitError
from kit.release import write_release

AREAS = ("a", "b", "c", "d")
ATTACKS = ("pickle", "copy", "deepcopy", "replace", "set_row", "set_rows", "set_provenance", "unsuppress")


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    n = draw(st.integers(min_value=4, max_value=30))
    areas = draw(st.lists(st.sampled_from(AREAS), min_size=n, max_size=n))
    values = draw(st.lists(st.integers(min_value=1, max_value=10_000), min_size=n, max_size=n))
    frame = pd.DataFrame({"PNR": range(1, n + 1), "area": areas, "inc": [float(v) for v in values]})
    return frame, draw(st.sampled_from(("count", "sum")))


def _true_values(frame: pd.DataFrame, stat: str) -> dict[str, float]:
    """The attacker's own computation of every cell (plain Python, no kit code)."""
    out: dict[str, float] = {}
    for area, value in zip(frame["area"], frame["inc"]):
        out[area] = out.get(area, 0.0) + (1.0 if stat == "count" else float(value))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=tables(), attack=st.sampled_from(ATTACKS), offset=st.integers(min_value=1, max_value=999),
       pick=st.integers(min_value=0, max_value=10))
def test_no_attack_on_a_cleared_table_is_accepted_with_a_changed_value(
        tmp_path_factory: pytest.TempPathFactory, data: tuple[pd.DataFrame, str], attack: str, offset: int,
        pick: int) -> None:
    frame, stat = data
    session = kit.Session(rules="dst", unit="PNR", created="2024-05-01T12:00:00+00:00")
    table = session.table(frame, rows="area", stat=stat, measure="inc" if stat == "sum" else None,
                          codes={"area": list(AREAS)}, name="t")
    cleared = kit.clear(table)
    rows = cleared.rows
    i = pick % len(rows)
    row = rows[i]
    truth = _true_values(frame, stat)
    # a suppressed cell gets its true value; a published one a changed value
    new_value = truth.get(row.keys[0], 0.0) if row.suppressed else float(row.values[0] or 0.0) + offset
    changed = tuple(ClearedRow(r.keys, (new_value,), False, r.is_margin) if k == i else r
                    for k, r in enumerate(rows))
    try:
        if attack == "pickle":
            candidate = pickle.loads(pickle.dumps(cleared))
        elif attack == "copy":
            candidate = copy.copy(cleared)
        elif attack == "deepcopy":
            candidate = copy.deepcopy(cleared)
        elif attack == "replace":
            candidate = dataclasses.replace(cleared, rows=changed)
        elif attack == "set_row":
            object.__setattr__(rows[i], "values", (new_value,))
            object.__setattr__(rows[i], "suppressed", False)
            candidate = cleared
        elif attack == "set_rows":
            object.__setattr__(cleared, "rows", changed)
            candidate = cleared
        elif attack == "set_provenance":
            prov = cleared.provenance
            assert isinstance(prov, Provenance)
            object.__setattr__(prov, "rule_set_id", "other")
            candidate = cleared
        else:  # unsuppress through the private table, then clear again
            from kit.core.status import CellStatus

            table.assessment.statuses = tuple(CellStatus.SAFE for _ in table.assessment.statuses)
            candidate = kit.clear(table)
            if candidate.rows == rows:  # nothing was suppressed: there is nothing to let out
                return
    except KitError:
        return
    folder = tmp_path_factory.mktemp("rel") / "r"
    with pytest.raises(KitError):
        write_release(folder, [candidate], load_rule_set("dst"), title="t", formats=("html",))
    assert not folder.exists()
    assert not any(Path(folder.parent).iterdir())
