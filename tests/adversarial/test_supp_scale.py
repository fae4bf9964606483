"""Issue 15: secondary suppression must hold at every scale (no exactly recoverable cell under a PASS).

The attacker here is the test's own: ``scipy.optimize.linprog`` over the published table's additive
relations (every published cell fixes the sum of its inner cells), each inner cell bounded by the sign
of its true value (the attacker is assumed to know every cell's sign: at least as strong as the usual
non-negativity). It does not use ``kit.protect``. The LP is written in deviations from the true table
(``x = truth + d``, published rows ``A d = 0``), which is the same LP as over ``x`` but numerically
robust at 1e12.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

import kit
from kit.protect import Dimension, ProtectionProblem, TableStructure, protect

TOTAL = "Total"
REL = 1e-6  # relative to the cell's own level, never to the table


def membership(keys: list[tuple[str, ...]], atoms: list[tuple[str, ...]],
               parents: list[dict[str, str]] | None = None) -> np.ndarray:
    """0/1 matrix: cell ``i`` contains inner cell ``j`` (Total or an ancestor code in every dimension)."""
    parents = parents or [{} for _ in keys[0]]

    def ancestors(code: str, par: dict[str, str]) -> set[str]:
        out = {code, TOTAL}
        while code in par:
            code = par[code]
            out.add(code)
        return out

    m = np.zeros((len(keys), len(atoms)))
    for j, atom in enumerate(atoms):
        anc = [ancestors(a, par) for a, par in zip(atom, parents)]
        for i, key in enumerate(keys):
            m[i, j] = all(k in an for k, an in zip(key, anc))
    return m


def attacker_intervals(m: np.ndarray, truth: np.ndarray, published: np.ndarray,
                       targets: list[int]) -> dict[int, tuple[float, float]]:
    """Feasible interval of each target cell given the published cells (rows of ``m``)."""
    atoms_truth = np.linalg.lstsq(m, truth, rcond=None)[0]  # exact: inner cells are rows of identity
    bounds = [(-t, None) if t >= 0 else (None, -t) for t in atoms_truth]
    a_eq = m[published]
    out = {}
    for c in targets:
        ext = []
        for sign in (1.0, -1.0):
            r = linprog(sign * m[c], A_eq=a_eq, b_eq=np.zeros(len(a_eq)), bounds=bounds, method="highs")
            assert r.status in (0, 3), r.message
            ext.append(-sign * np.inf if r.status == 3 else sign * r.fun)
        out[c] = (truth[c] + ext[0], truth[c] + ext[1])
    return out


def assert_protected(intervals: dict[int, tuple[float, float]], truth: np.ndarray,
                     lpl: np.ndarray, upl: np.ndarray) -> None:
    for c, (lo, hi) in intervals.items():
        v = truth[c]
        if lpl[c] <= 0 and upl[c] <= 0:
            assert hi - lo > 1e-9 * max(abs(v), 1.0), f"cell {c} is exactly recoverable"
            continue
        assert hi >= v + upl[c] * (1 - REL), f"cell {c}: upper bound {hi - v:.6g} above, needs {upl[c]:.6g}"
        assert lo <= v - lpl[c] * (1 - REL), f"cell {c}: lower bound {v - lo:.6g} below, needs {lpl[c]:.6g}"


def income_frame() -> pd.DataFrame:
    """A tax economist's table: 150,002 persons, a municipality x sex cell with 2 low incomes."""
    rng = np.random.default_rng(15)
    sizes = {("A", "M"): 40_000, ("A", "F"): 2, ("B", "M"): 35_000, ("B", "F"): 75_000}
    parts = []
    for (m, s), n in sizes.items():
        lo, hi = (1.5e4, 2.5e4) if n == 2 else (2e5, 4e5)
        parts.append(pd.DataFrame({"KOM": m, "KOEN": s, "INC": rng.uniform(lo, hi, n)}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "PNR", np.arange(len(df)))
    return df


def test_session_income_table_at_4_5e10_hides_the_two_person_cell() -> None:
    df = income_frame()
    assert 4e10 < df.INC.sum() < 5e10
    table = kit.Session("dst", unit="PNR").table(df, rows="KOM", cols="KOEN", stat="sum", measure="INC",
                                                 margins=True)
    frame = kit.clear(table).to_frame(symbols=False)
    keys = [(str(r), str(c)) for r, c in zip(frame.KOM, frame.KOEN)]
    atoms = [k for k in keys if TOTAL not in k]
    m = membership(keys, atoms)
    inner_truth = df.groupby(["KOM", "KOEN"]).INC.sum()
    truth = m @ np.array([inner_truth[a] for a in atoms])
    published = frame.value.notna().to_numpy()
    counts = df.groupby(["KOM", "KOEN"]).PNR.nunique()
    primary = [i for i, k in enumerate(keys) if TOTAL not in k and counts[k] < 3]
    assert primary and not published[primary].any()
    share = 0.10  # dst-secondary protection_share
    lpl = np.where(np.isin(np.arange(len(keys)), primary), share * np.abs(truth), 0.0)
    intervals = attacker_intervals(m, truth, published, primary)
    assert_protected(intervals, truth, lpl, lpl)


def wage_table() -> tuple[pd.DataFrame, list[str], list[str]]:
    """5 x 3 national wage sums with margins; the grand total is about 1e12; one 2-unit cell of 600,000."""
    rows = [f"R{i}" for i in range(1, 6)]
    cols = ["C1", "C2", "C3"]
    rng = np.random.default_rng(3)
    val = rng.uniform(4e10, 1e11, (5, 3))
    n = rng.integers(5_000, 50_000, (5, 3))
    val[2, 1], n[2, 1] = 600_000.0, 2
    recs = []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            recs.append((r, c, n[i, j], val[i, j]))
        recs.append((r, TOTAL, n[i].sum(), val[i].sum()))
    for j, c in enumerate(cols):
        recs.append((TOTAL, c, n[:, j].sum(), val[:, j].sum()))
    recs.append((TOTAL, TOTAL, n.sum(), val.sum()))
    df = pd.DataFrame(recs, columns=["R", "C", "n", "wage"])
    df["top1"] = np.where(df.n == 2, 350_000.0, 3 * df.wage / df.n)
    df["top2"] = np.where(df.n == 2, 250_000.0, 2 * df.wage / df.n)
    return df, rows, cols


def _check_cli(tmp_path: Path, hierarchy: bool) -> None:
    df, rows, _ = wage_table()
    assert 5e11 < df.wage.max() < 2e12
    src = tmp_path / "wages.csv"
    df.to_csv(src, index=False, float_format="%.17g")
    cmd = [sys.executable, "-m", "kit", "check", str(src), "--dims", "R,C", "--count", "n", "--value", "wage",
           "--top1", "top1", "--top2", "top2",
           "--rules", "dst", "--out", str(tmp_path / "out.csv")]
    if hierarchy:
        (tmp_path / "r.hrc").write_text("\n".join(rows) + "\n")
        cmd += ["--hierarchy", f"R={tmp_path / 'r.hrc'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(kit.__file__).parents[1])
    assert proc.returncode == 3, proc.stderr[-2000:]
    out = pd.read_csv(tmp_path / "out.csv", dtype={"R": str, "C": str})
    keys = list(zip(out.R, out.C))
    atoms = [k for k in keys if TOTAL not in k]
    m = membership(keys, atoms)
    inner = dict(zip(keys, out.wage))
    truth = m @ np.array([inner[a] for a in atoms])
    published = (out.status == "SAFE").to_numpy()
    primary = [i for i, s in enumerate(out.status) if s == "PRIMARY"]
    assert primary and not published[primary].any()
    lpl = np.where(np.isin(np.arange(len(keys)), primary), 0.10 * np.abs(truth), 0.0)
    assert_protected(attacker_intervals(m, truth, published, primary), truth, lpl, lpl)


def test_kit_check_wage_table_at_1e12(tmp_path: Path) -> None:
    _check_cli(tmp_path, hierarchy=False)


def test_kit_check_wage_table_at_1e12_with_hierarchy(tmp_path: Path) -> None:
    _check_cli(tmp_path, hierarchy=True)


def test_protect_api_wage_table_at_1e12() -> None:
    df, rows, cols = wage_table()
    s = TableStructure.from_dimensions([Dimension("R", tuple(rows)), Dimension("C", tuple(cols))])
    frame = df.rename(columns={"wage": "value"})
    frame["primary"] = (frame.n < 3).astype(int)
    p = ProtectionProblem.from_frame(frame, s, value="value", primary="primary", share=0.10)
    for method in ("milp", "gauss_lp"):
        res = protect(p, method=method)
        keys = list(s.keys)
        atoms = [k for k in keys if TOTAL not in k]
        m = membership(keys, atoms)
        truth = np.asarray(p.values)
        primary = list(np.flatnonzero(p.mask(kit.CellStatus.PRIMARY)))
        published = ~res.suppressed
        intervals = attacker_intervals(m, truth, published, primary)
        assert_protected(intervals, truth, np.asarray(p.lpl), np.asarray(p.upl))
        # the kit's own reported intervals are finite and agree with the attacker
        for c in primary:
            lo, hi = res.audit.interval(int(c))
            alo, ahi = intervals[c]
            assert np.isfinite(hi) == np.isfinite(ahi) and np.isfinite(lo)
            assert abs(lo - alo) <= 1e-6 * max(abs(truth[c]), p.lpl[c]) + 1e-6 * abs(alo - truth[c])
            if np.isfinite(ahi):
                assert abs(hi - ahi) <= 1e-6 * max(abs(truth[c]), p.upl[c]) + 1e-6 * abs(ahi - truth[c])
