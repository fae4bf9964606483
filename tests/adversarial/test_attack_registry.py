"""Red team: differencing across outputs that the registry (issue 17) does not see.

Each test releases what a researcher could, keeps what the kit let through, and does the
subtraction itself (the attacker's own arithmetic on the published numbers, no kit code).
A test that recovers a person's value, a suppressed cell or a cell of fewer than 3 units is
marked ``xfail(strict=True)``: the suite stays green while the leak is open, and the test
fails loudly (XPASS) once the kit stops it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError, KitError

T = 3  # dst threshold
CREATED = "2026-01-01T00:00:00+00:00"
KOMS = [f"K{i}" for i in range(6)]


def persons(seed: int = 11, per_kom: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = per_kom * len(KOMS)
    return pd.DataFrame({
        "PNR": np.arange(2_000_001, 2_000_001 + n),
        "KOM": np.repeat(KOMS, per_kom),
        "age": rng.integers(16, 65, n),
        "income": (rng.integers(200, 600, n) * 1000).astype(float),
        "emp_nov": (rng.random(n) < 0.6).astype(int),
    })


def session(unit: str = "PNR", unit_type: str = "person") -> kit.Session:
    return kit.Session(rules="dst", unit=unit, unit_type=unit_type, created=CREATED)


def try_release(s: kit.Session, folder: Path, outputs: Sequence[Any], **options: Any) -> list[Any]:
    """Release; the cleared outputs that landed ([] when the kit refused, and then no folder)."""
    try:
        s.release(folder, list(outputs), title="attack", formats=("html",), **options)
    except DisclosureError:
        assert not folder.exists(), "a refused release must leave no folder"
        return []
    return [kit.clear(o) if hasattr(type(o), "_build_cleared") else o for o in outputs]


def published(cleared: Any, dims: Sequence[str], col: str = "value") -> dict[tuple[str, ...], float]:
    """Published numbers by codes (suppressed cells left out)."""
    frame = cleared.to_frame(symbols=False)
    out = {}
    for _, row in frame.iterrows():
        v = float(row[col])
        if not np.isnan(v):
            out[tuple(str(row[d]) for d in dims)] = v
    return out


# --------------------------------------------------------------------------------- recodes
def test_topcoded_and_raw_income_sums_give_the_rich_persons_income(tmp_path: Path) -> None:
    """An honest pair: income sums by municipality, raw and top-coded at 1 M (a common robustness
    table). In K2 one person earns above the cap: raw - topcoded + cap is her income."""
    df = persons()
    rich = df.index[df["KOM"] == "K2"][4]
    df.loc[rich, "income"] = 4_321_000.0
    cap = 1_000_000.0
    df["income_top"] = df["income"].clip(upper=cap)
    s = session()
    raw = try_release(s, tmp_path / "r1", [s.table(df, rows="KOM", stat="sum", measure="income", name="raw")])
    top = try_release(s, tmp_path / "r2", [s.table(df, rows="KOM", stat="sum", measure="income_top",
                                                   name="topcoded")])
    if raw and top:
        a, b = published(raw[0], ["KOM"]), published(top[0], ["KOM"])
        recovered = {k: a[k] - b[k] + cap for k in a if k in b and a[k] != b[k]}
        # the attacker: a cell where exactly one person is above the cap gives her income
        assert recovered.get(("K2",)) != df.loc[rich, "income"], "one person's income is recovered"


def test_two_rate_definitions_over_the_same_persons_isolate_one(tmp_path: Path) -> None:
    """Employed in November vs employed at any time in the year, by municipality: in K2 one person
    was employed during the year but not in November. The two rates and their published n give the
    count of that group: 1."""
    df = persons()
    df["emp_year"] = df["emp_nov"]
    who = df.index[(df["KOM"] == "K2") & (df["emp_nov"] == 0)][0]
    df.loc[who, "emp_year"] = 1
    s = session()
    nov = try_release(s, tmp_path / "r1", [s.table(df, rows="KOM", stat="rate", measure="emp_nov", name="nov")])
    year = try_release(s, tmp_path / "r2", [s.table(df, rows="KOM", stat="rate", measure="emp_year",
                                                    name="year")])
    if nov and year:
        rn, ry = published(nov[0], ["KOM"], "estimate"), published(year[0], ["KOM"], "estimate")
        n = published(nov[0], ["KOM"], "n")
        diffs = {k: round((ry[k] - rn[k]) * n[k]) for k in rn if k in ry and k in n}
        assert not any(0 < d < T for d in diffs.values()), "a group of fewer than 3 persons is derived"


# --------------------------------------------------------------------------------- opt-out
def test_an_opted_out_release_is_still_recorded(tmp_path: Path) -> None:
    df = persons()
    df.loc[df.index[df["KOM"] == "K3"][0], "age"] = 70
    s = session()
    first = try_release(s, tmp_path / "r1", [s.table(df, rows="KOM", name="all_ages")], differencing=False)
    assert first, "the first table alone is safe (its manifest says it was not checked)"
    second = try_release(s, tmp_path / "r2", [s.table(df[df["age"] <= 64], rows="KOM", name="working")])
    if second:
        a, b = published(first[0], ["KOM"]), published(second[0], ["KOM"])
        assert not any(0 < a[k] - b[k] < T for k in a if k in b), "the old person is isolated"


# ---------------------------------------------------------------- linked magnitude tables
def enterprises() -> pd.DataFrame:
    """Turnover of 96 enterprises by municipality x branch; K0 x A holds one dominant enterprise
    (a (2, 85 %) dominance primary) whose margins are safe, so the protector picks inner secondaries."""
    rng = np.random.default_rng(3)
    rows, cvr = [], 5000
    for kom in ["K0", "K1", "K2", "K3"]:
        for br in ["A", "B", "C"]:
            for _ in range(8):
                cvr += 1
                rows.append({"FIRM": cvr, "KOM": kom, "BR": br, "turnover": float(rng.integers(100, 200) * 1000)})
    df = pd.DataFrame(rows)
    df.loc[df.index[(df["KOM"] == "K0") & (df["BR"] == "A")][0], "turnover"] = 8_000_000.0
    return df


def test_sum_secondaries_published_by_the_same_table_without_margins(tmp_path: Path) -> None:
    df = enterprises()
    s = session("FIRM", "enterprise")
    with_margins = s.table(df, rows="KOM", cols="BR", stat="sum", measure="turnover", margins=True, name="m")
    inner_only = s.table(df, rows="KOM", cols="BR", stat="sum", measure="turnover", name="inner")
    landed = try_release(s, tmp_path / "r1", [with_margins, inner_only])
    if landed:
        a, b = published(landed[0], ["KOM", "BR"]), published(landed[1], ["KOM", "BR"])
        known = {**b, **a}
        for kom in ["K0", "K1", "K2", "K3"]:
            total = known.get((kom, "Total"))
            parts = [known.get((kom, br)) for br in "ABC"]
            missing = [br for br, v in zip("ABC", parts) if v is None]
            if total is not None and len(missing) == 1:
                # the attacker: a row total minus the other published cells of the row
                got = total - sum(v for v in parts if v is not None)
                truth = df[(df["KOM"] == kom) & (df["BR"] == missing[0])]["turnover"].sum()
                assert not np.isclose(got, truth), f"suppressed cell {kom} x {missing[0]} recovered"


# ------------------------------------------------------------ forged populations (one-liners)
def test_table_with_another_tables_populations(tmp_path: Path) -> None:
    df = persons()
    df.loc[df.index[df["KOM"] == "K3"][0], "age"] = 70
    s = session()
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"] <= 64], rows="KOM", name="working")
    try:
        working = dataclasses.replace(working, unit_populations=everyone.unit_populations)
    except KitError:
        return  # populations are bound to their table's evidence
    first = try_release(s, tmp_path / "r1", [everyone])
    second = try_release(s, tmp_path / "r2", [working])
    assert first
    if second:
        a, b = published(first[0], ["KOM"]), published(second[0], ["KOM"])
        assert not any(0 < a[k] - b[k] < T for k in a if k in b), "the old person is isolated"


def test_estimate_with_its_populations_emptied(tmp_path: Path) -> None:
    pytest.importorskip("statsmodels")
    df = persons()
    target = df.index[5]
    s = session()
    full = s.model(df, "income ~ 1", name="m_all")
    fewer = s.model(df.drop(target), "income ~ 1", name="m_rest")
    try:
        fewer.unit_populations = {}
    except KitError:
        return  # the estimate is frozen once made
    first = try_release(s, tmp_path / "r1", [full])
    second = try_release(s, tmp_path / "r2", [fewer])
    assert first
    if second:
        m_all = next(r.values[0] for r in first[0].rows if r.term == "Intercept")
        m_rest = next(r.values[0] for r in second[0].rows if r.term == "Intercept")
        n = len(df)  # the attacker knows the population size and that one person was dropped
        recovered = n * m_all - (n - 1) * m_rest
        assert abs(recovered - df.loc[target, "income"]) > 1.0, "one person's income is recovered"


def test_review_flags_a_release_whose_differencing_check_was_off(tmp_path: Path) -> None:
    from kit.release import review_release

    df = persons()
    s = session()
    s.release(tmp_path / "r", [s.table(df, rows="KOM", name="t")], title="t", formats=("html",),
              differencing=False, checker_dir=tmp_path / "checker")
    for checker in (None, tmp_path / "checker"):
        result = review_release(tmp_path / "r", checker_dir=checker)
        # the checker must be told to compare this release with the project's others by hand
        assert result.exit_code != 0, result.render()


def determined(equations: list[tuple[dict[str, float], float]], unknowns: list[str]) -> dict[str, float]:
    """The attacker's linear algebra: unknowns fixed exactly by the published equations
    (``sum of coef * unknown = value``): those whose unit vector lies in the row space."""
    a = np.array([[eq.get(u, 0.0) for u in unknowns] for eq, _ in equations])
    b = np.array([v for _, v in equations])
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    rank = np.linalg.matrix_rank(a)
    out = {}
    for k, u in enumerate(unknowns):
        e = np.zeros(len(unknowns))
        e[k] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, e])) == rank:
            out[u] = float(solution[k])
    return out


def test_mean_and_sum_tables_with_margins_protected_apart(tmp_path: Path) -> None:
    """Income by municipality x sex with margins, as a sum table and as a mean table (one release).
    K0 x f holds 2 persons. Each table alone is protected; the two patterns differ."""
    rng = np.random.default_rng(4)
    rows, p = [], 0
    for kom, sizes in [("K0", (20, 2)), ("K1", (20, 25)), ("K2", (30, 15))]:
        for sex, n in zip("mf", sizes):
            for _ in range(n):
                p += 1
                rows.append({"PNR": p, "KOM": kom, "sex": sex, "income": float(rng.integers(200, 600) * 1000)})
    df = pd.DataFrame(rows)
    s = session()
    outputs = [s.table(df, rows="KOM", cols="sex", stat=stat, measure="income", margins=True, name=stat)
               for stat in ("sum", "mean")]
    landed = try_release(s, tmp_path / "r1", outputs)
    if not landed:
        return
    sums = published(landed[0], ["KOM", "sex"])
    means = published(landed[1], ["KOM", "sex"], "estimate")
    cells = [(k, x) for k in ("K0", "K1", "K2") for x in ("m", "f")]

    def inside(key: tuple[str, ...]) -> list[tuple[str, str]]:
        return [c for c in cells if key[0] in (c[0], "Total") and key[1] in (c[1], "Total")]

    # unknowns: the sum x and the number of persons n of every inner cell
    equations = [({f"x{c}": 1.0 for c in inside(key)}, v) for key, v in sums.items()]
    # a published mean m of a cell group: sum of x - m * sum of n = 0 (n never needed exactly)
    equations += [({**{f"x{c}": 1.0 for c in inside(key)}, **{f"n{c}": -m for c in inside(key)}}, 0.0)
                  for key, m in means.items()]
    unknowns = [f"x{c}" for c in cells] + [f"n{c}" for c in cells]
    got = determined(equations, unknowns)
    truth = df.groupby(["KOM", "sex"])["income"].sum()
    n = df.groupby(["KOM", "sex"])["PNR"].nunique()
    for c in cells:
        if n[c] < T and f"x{c}" in got:
            assert not np.isclose(got[f"x{c}"], truth[c]), f"the {n[c]}-person cell {c} is recovered"


def test_two_group_mean_models_whose_groups_differ_by_one(tmp_path: Path) -> None:
    pytest.importorskip("statsmodels")
    df = persons()
    target = df.index[df["KOM"] == "K3"][0]
    others = df.index[df["KOM"] == "K0"][:2]
    s = session()
    full = s.model(df, "income ~ C(KOM)", name="m_all")
    fewer = s.model(df.drop([target, *others]), "income ~ C(KOM)", name="m_fewer")
    first = try_release(s, tmp_path / "r1", [full])
    second = try_release(s, tmp_path / "r2", [fewer])
    assert first
    if not second:
        return

    def read(cleared: Any) -> tuple[float, float]:
        rows = {r.term: r.values for r in cleared.rows if not r.suppressed}
        level = next(t for t in rows if "K3" in t)
        # K3's mean, and (se_K3 / se_Intercept)^2 - 1 = n_K0 / n_K3 (classical OLS, dummies vs K0)
        return rows["Intercept"][0] + rows[level][0], (rows[level][1] / rows["Intercept"][1]) ** 2 - 1

    m_a, r_a = read(first[0])
    m_b, r_b = read(second[0])
    # the attacker's design: target left K3, two persons left K0 -> r_b = (n_K0 - 2) / (n_K3 - 1)
    n_k3 = round((2 - r_b) / (r_a - r_b))
    recovered = n_k3 * m_a - (n_k3 - 1) * m_b
    assert abs(recovered - df.loc[target, "income"]) > 1.0, "one person's income is recovered"
