"""Event-study subgroups that overlap (issue 18, item 6): the demo's stacked 'all' + 'newcomers' rows.

BL's newcomers are a subset of all residents, so the demo stacks the rows (every resident with
group 'all', the newcomers again with group 'newcomers'). The complement that 'all' minus
'newcomers' publishes is the stayers; when a cell holds 2 stayers their outcome follows from the two
effects and the comparison areas' published rates. The attacker's own algebra is below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import kit
from kit.errors import SpecError
from kit.estimate import event_study


def _stacked(n_stayers_t: int, rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """2011 and 2012, 30 residents per area and year; T keeps ``n_stayers_t`` of its 2011 residents."""
    rows = []
    stay_t: list[float] = []
    for area, n_stay in (("T", n_stayers_t), ("C1", 15), ("C2", 15), ("C3", 15)):
        base = [(f"{area}-{i}", float(rng.random() < 0.5)) for i in range(30)]
        for pnr, y in base:
            rows += [(pnr, area, 2011, y, "all"), (pnr, area, 2011, y, "newcomers")]
        for i in range(30):
            y = float(rng.random() < 0.5)
            if i < n_stay:
                pnr = base[i][0]
                rows.append((pnr, area, 2012, y, "all"))
                if area == "T":
                    stay_t.append(y)
            else:
                pnr = f"{area}-new-{i}"
                rows += [(pnr, area, 2012, y, "all"), (pnr, area, 2012, y, "newcomers")]
    df = pd.DataFrame(rows, columns=["PNR", "area", "year", "emp", "group"])
    return df, float(np.mean(stay_t))


def test_two_stayers_cannot_be_recovered_from_all_and_newcomers_effects() -> None:
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    df, stayers_mean = _stacked(2, np.random.default_rng(4))
    try:
        c = kit.clear(event_study(s, df, "emp", group="area", period="year", treated={"T": 2012},
                                  comparison=["C1", "C2", "C3"], base_period=2011, subgroup="group",
                                  include_all=False, permutations=0))
    except SpecError:
        return  # refused before anything was estimated
    eff = {r.key("group"): r.values[list(c.columns).index("estimate")] / 100 for r in c.rows
           if r.key("area") == "T" and r.key("year") == "2012" and not r.suppressed}
    if len(eff) < 2:
        return
    # attacker: published rates of T in 2011 and of the comparison areas (E0 table) ...
    rate = df.groupby(["group", "area", "year"])["emp"].mean()
    comp = ["C1", "C2", "C3"]
    d_all = np.mean([rate["all", a, 2012] - rate["all", a, 2011] for a in comp])
    d_new = np.mean([rate["newcomers", a, 2012] - rate["newcomers", a, 2011] for a in comp])
    t11 = rate["all", "T", 2011]
    # ... and the two effects: mean(all 2012) = (28 newcomers + 2 stayers) / 30
    stayers = (30 * (eff["all"] + d_all + t11) - 28 * (eff["newcomers"] + d_new + t11)) / 2
    assert abs(stayers - stayers_mean) > 1e-6, "the two stayers' employment was recovered"


def test_enough_stayers_are_estimated() -> None:
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    df, _ = _stacked(10, np.random.default_rng(5))
    c = kit.clear(event_study(s, df, "emp", group="area", period="year", treated={"T": 2012},
                              comparison=["C1", "C2", "C3"], base_period=2011, subgroup="group",
                              include_all=False, permutations=0))
    assert any(r.key("area") == "T" and not r.suppressed for r in c.rows)
