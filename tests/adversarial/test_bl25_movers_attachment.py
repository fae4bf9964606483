"""Issue 25, item 2: the movers-out's attachment released as one distribution per cell.

The attack: two rate tables over the same small movers cells (employment, public support), each
suppressing one of two cells whose populations differ by one person, publish both together; and
a distribution with one share suppressed gives it away as one minus the others. The attacker's own
computation below reads only the cleared table and the microdata it was built from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.demo.extended import movers_outputs
from kit.demo.movers_release import attachment_table
from kit.release.registry import DifferencingError

YEARS = [str(y) for y in range(2012, 2018)]
CODES = {"area": ["T", "Comparison areas"], "destination": ["same_municipality", "elsewhere", "back"],
         "year": ["2016", "2017"]}


def _rows(area: str, dest: str, year: int, pnrs: list[str], statuses: list[str]) -> list[tuple[object, ...]]:
    return [(p, year, area, dest, int(s == "employed"), s, int(s == "support")) for p, s in zip(pnrs, statuses)]


def _movers() -> pd.DataFrame:
    b = [f"b{i}" for i in range(12)]
    rows = []
    # (T, back): 12 persons in 2016 (each status >= 3), the same 12 and one more in 2017
    rows += _rows("T", "back", 2016, b, ["employed"] * 3 + ["unemployed"] * 3 + ["support"] * 3 + ["outside"] * 3)
    rows += _rows("T", "back", 2017, [*b, "b12"], ["employed"] * 4 + ["unemployed"] * 3 + ["support"] * 3
                  + ["outside"] * 3)
    # (T, elsewhere, 2016): two persons outside: that share fails, so the whole distribution goes
    e = [f"e{i}" for i in range(12)]
    rows += _rows("T", "elsewhere", 2016, e, ["employed"] * 4 + ["unemployed"] * 3 + ["support"] * 3 + ["outside"] * 2)
    c = [f"c{i}" for i in range(40)]
    for year in (2016, 2017):
        rows += _rows("Comparison areas", "elsewhere", year, c, ["employed", "unemployed", "support", "outside"] * 10)
    return pd.DataFrame(rows, columns=["PNR", "year", "area", "destination", "employed", "attachment", "support"])


def _attacker_check(cleared: kit.core.cleared.ClearedTable, movers: pd.DataFrame) -> int:
    """The attacker's view: which cells are published, and what they give away. Returns the
    number of published cells."""
    frame = cleared.to_frame(symbols=False)
    published = 0
    pops = {k: set(g["PNR"]) for k, g in movers.groupby(["area", "destination", "year"])}
    shown = []
    for (area, dest, year), g in frame.groupby(["area", "destination", "year"]):
        values = g["estimate"].to_numpy(dtype=float)
        known = ~np.isnan(values)
        # all or none: one suppressed share would be one minus the others
        assert known.sum() in (0, len(values)), (area, dest, year)
        if known.all():
            assert abs(values.sum() - 1.0) < 1e-9
            published += 1
            members = movers[(movers["area"] == area) & (movers["destination"] == dest)
                             & (movers["year"].astype(str) == year)]
            counts = members.groupby("attachment")["PNR"].nunique()
            n = members["PNR"].nunique()
            for status in ("employed", "unemployed", "support", "outside"):
                k = int(counts.get(status, 0))
                assert 3 <= k <= n - 3, (area, dest, year, status)
            shown.append(pops[(area, dest, int(year))])
    # no two published populations differ by one or two persons
    for i, a in enumerate(shown):
        for b in shown[i + 1:]:
            if a & b:
                assert not 1 <= len(a ^ b) <= 2
    return published


def test_two_rate_tables_over_the_movers_are_refused(tmp_path: Path) -> None:
    """The old design: employment and support as two rate tables; the registry refuses the pair."""
    b = [f"b{i}" for i in range(12)]
    rows = _rows("T", "back", 2016, b, ["employed"] * 9 + ["support"] * 2 + ["outside"])
    rows += _rows("T", "back", 2017, b[:11], ["employed"] * 8 + ["support"] * 3)  # one person fewer
    movers = pd.DataFrame(rows, columns=["PNR", "year", "area", "destination", "employed", "attachment", "support"])
    session = kit.Session("dst", unit="PNR")
    common = {"rows": ["area", "destination"], "cols": "year", "stat": "rate",
              "codes": {"area": ["T"], "destination": ["back"], "year": ["2016", "2017"]}}
    employment = session.table(movers, measure="employed", name="emp", **common)  # type: ignore[arg-type]
    support = session.table(movers, measure="support", name="sup", **common)  # type: ignore[arg-type]
    with pytest.raises(DifferencingError):
        session.release(tmp_path / "old", [employment, support], title="t", checker_dir=tmp_path / "chk",
                        state_dir=tmp_path / "state")


def test_attachment_table_is_whole_and_free_of_small_differences(tmp_path: Path) -> None:
    movers = _movers()
    session = kit.Session("dst", unit="PNR")
    table = attachment_table(session, movers, CODES, published_elsewhere=[], name="att", title="", notes=())
    cleared = kit.clear(table)
    published = _attacker_check(cleared, movers)
    frame = cleared.to_frame(symbols=False)

    def shown(area: str, dest: str, year: str) -> bool:
        g = frame[(frame["area"] == area) & (frame["destination"] == dest) & (frame["year"] == year)]
        return bool(g["estimate"].notna().all())

    assert not shown("T", "elsewhere", "2016")  # a failing share takes its distribution with it
    assert not shown("T", "back", "2016") and shown("T", "back", "2017")  # 12 vs 13: the smaller goes
    assert shown("Comparison areas", "elsewhere", "2016") and published == 3
    # and the registry (on) accepts it
    release = session.release(tmp_path / "rel", [table], title="t", checker_dir=tmp_path / "chk",
                              state_dir=tmp_path / "st")
    manifest = json.loads(next(Path(release.folder).glob("manifest.*")).read_text(encoding="utf-8"))
    assert manifest["differencing"]["checked"] is True


def test_movers_outputs_release_with_the_difference(tmp_path: Path) -> None:
    """The attachment table and the employment difference together pass the registry.

    The difference publishes no movers' cell the attachment table hides (T elsewhere 2016: the
    employed share there would be a suppressed cell's value, which the registry refuses), and keeps
    the cells both publish (T elsewhere 2017, added here)."""
    f = [f"f{i}" for i in range(12)]
    movers = pd.concat([_movers(), pd.DataFrame(
        _rows("T", "elsewhere", 2017, f, ["employed"] * 3 + ["unemployed"] * 3 + ["support"] * 3 + ["outside"] * 3),
        columns=["PNR", "year", "area", "destination", "employed", "attachment", "support"])], ignore_index=True)
    session = kit.Session("dst", unit="PNR")
    attachment, difference = movers_outputs(session, movers.assign(year=movers["year"].astype(int)), ["T"], 2011,
                                            YEARS, (16, 64))
    assert difference is not None
    shown = kit.clear(difference).to_frame(symbols=False)
    assert set(shown["year"].astype(str)) == {"2017"}  # the hidden 2016 cell is not compared
    _attacker_check(kit.clear(attachment), movers)
    session.release(tmp_path / "rel", [attachment, difference], title="t",checker_dir=tmp_path / "chk",
                    state_dir=tmp_path / "st")


def test_residents_attachment_share_is_not_one_minus_the_others() -> None:
    """E6 (residents' attachment): an area-year with no unemployed resident had that share suppressed
    and the other three published, so the attacker read it as one minus their sum."""
    from kit.demo.extended import attachment_shares

    rows = []
    for year in (2016, 2017):
        statuses = ["employed"] * 10 + ["support"] * 6 + ["outside"] * 4 + (["unemployed"] * 5 if year == 2016 else [])
        rows += [(f"r{i}", year, "T", s) for i, s in enumerate(statuses)]
        rows += [(f"c{i}", year, "C", ["employed", "unemployed", "support", "outside"][i % 4]) for i in range(40)]
    frame = pd.DataFrame(rows, columns=["PNR", "year", "area", "attachment"])
    cleared = kit.clear(attachment_shares(kit.Session("dst", unit="PNR"), frame, ["T"], ["2016", "2017"], (16, 64)))
    table = cleared.to_frame(symbols=False)
    for (area, year), g in table.groupby(["area", "year"]):
        values = g["estimate"].to_numpy(dtype=float)
        # the attacker: with exactly one share hidden, it is one minus the others
        assert int(np.isnan(values).sum()) in (0, len(values)), (area, year)
    t17 = table[(table["area"] == "T") & (table["year"] == "2017")]
    assert t17["estimate"].isna().all()  # the whole 2017 distribution of T goes
    assert table[(table["area"] == "T") & (table["year"] == "2016")]["estimate"].notna().all()
