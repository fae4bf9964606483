"""Issue 15, items 4-7: protection levels from the rule, empty cells, non-additive input, negative cells.

Each attack is checked with the test's own attacker (scipy ``linprog`` over the published relations,
cells bounded by the sign of their true value), not with ``kit.protect``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import kit
from kit.errors import SpecError

TOTAL = "Total"


def grid_frame(inner: dict[tuple[str, str], tuple[int, float, float, float]]) -> pd.DataFrame:
    """Long frame (R, C, n, v, top1, top2) with all margins from inner cells (n, v, top1, top2)."""
    rows = sorted({r for r, _ in inner})
    cols = sorted({c for _, c in inner})
    recs = [(r, c, *inner[(r, c)]) for r in rows for c in cols]
    for r in rows:
        sub = [inner[(r, c)] for c in cols]
        recs.append((r, TOTAL, sum(x[0] for x in sub), sum(x[1] for x in sub), max(x[2] for x in sub),
                     max(x[3] for x in sub)))
    for c in cols:
        sub = [inner[(r, c)] for r in rows]
        recs.append((TOTAL, c, sum(x[0] for x in sub), sum(x[1] for x in sub), max(x[2] for x in sub),
                     max(x[3] for x in sub)))
    allc = list(inner.values())
    recs.append((TOTAL, TOTAL, sum(x[0] for x in allc), sum(x[1] for x in allc), max(x[2] for x in allc),
                 max(x[3] for x in allc)))
    return pd.DataFrame(recs, columns=["R", "C", "n", "v", "top1", "top2"])


def intervals_2d(frame: pd.DataFrame, value: str, published: np.ndarray, targets: list[int]
                 ) -> dict[int, tuple[float, float]]:
    keys = list(zip(frame.R, frame.C))
    atoms = [k for k in keys if TOTAL not in k]
    m = np.array([[float(all(a in (TOTAL, b) for a, b in zip(k, at))) for at in atoms] for k in keys])
    truth = frame[value].to_numpy(dtype=float)
    atom_truth = np.array([truth[keys.index(a)] for a in atoms])
    bounds = [(-t, None) if t >= 0 else (None, -t) for t in atom_truth]
    out = {}
    for c in targets:
        ext = []
        for sign in (1.0, -1.0):
            r = linprog(sign * m[c], A_eq=m[published], b_eq=np.zeros(int(published.sum())), bounds=bounds,
                        method="highs")
            assert r.status in (0, 3)
            ext.append(-sign * np.inf if r.status == 3 else sign * r.fun)
        out[c] = (truth[c] + ext[0], truth[c] + ext[1])
    return out


def run_check(tmp_path: Path, frame: pd.DataFrame, *extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    src = tmp_path / "t.csv"
    frame.to_csv(src, index=False, float_format="%.17g")
    out = tmp_path / "t.out.csv"
    cmd = [sys.executable, "-m", "kit", "check", str(src), "--dims", "R,C", "--count", "n", "--value", "v",
           "--top1", "top1", "--top2", "top2", "--out", str(out), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(kit.__file__).parents[1])
    return proc, out


def dominance_table() -> pd.DataFrame:
    # the primary (R1, C1) = 100 has x1 + x2 = 95 > 85 %: its upper bound must reach 95 / 0.85 = 111.76;
    # the cheapest 10 % partner (R1, C2) = 11 allows only 11 upwards
    return grid_frame({
        ("R1", "C1"): (5, 100.0, 80.0, 15.0), ("R1", "C2"): (9, 11.0, 2.0, 2.0), ("R1", "C3"): (40, 1000.0, 40.0, 40.0),
        ("R2", "C1"): (30, 500.0, 30.0, 30.0), ("R2", "C2"): (30, 500.0, 30.0, 30.0),
        ("R2", "C3"): (40, 1000.0, 40.0, 40.0),
    })


def test_dominance_primary_gets_the_nk_level(tmp_path: Path) -> None:
    frame = dominance_table()
    proc, out = run_check(tmp_path, frame, "--unit-type", "enterprise")
    assert proc.returncode == 3, proc.stderr[-1500:]
    res = pd.read_csv(out, dtype={"R": str, "C": str})
    primary = [i for i, s in enumerate(res.status) if s == "PRIMARY"]
    p = list(zip(res.R, res.C)).index(("R1", "C1"))
    assert p in primary
    lo, hi = intervals_2d(frame, "v", (res.status == "SAFE").to_numpy(), [p])[p]
    need = (80.0 + 15.0) / 0.85  # (x1 + x2) / k: the dominance rule's own bound
    assert hi >= need * (1 - 1e-9), f"upper bound {hi:.4g} does not reach (x1+x2)/k = {need:.4g}"
    assert lo <= 100.0 - (need - 100.0) * (1 - 1e-9)


def empty_table() -> pd.DataFrame:
    # (R1, C2) is empty (no units): the cheapest secondary for the primary (R1, C1) if empties were free
    return grid_frame({
        ("R1", "C1"): (2, 50.0, 30.0, 20.0), ("R1", "C2"): (0, 0.0, 0.0, 0.0), ("R1", "C3"): (40, 900.0, 40.0, 40.0),
        ("R2", "C1"): (30, 700.0, 30.0, 30.0), ("R2", "C2"): (30, 600.0, 30.0, 30.0),
        ("R2", "C3"): (40, 800.0, 40.0, 40.0),
    })


def empty_pattern_table() -> pd.DataFrame:
    # found by a search on the old code: its cheapest pattern hid two empty cells as secondaries
    t = {("R1", "C1"): (2, 760.15), ("R1", "C2"): (2, 534.02), ("R1", "C3"): (2, 787.93),
         ("R2", "C1"): (0, 0.0), ("R2", "C2"): (2, 737.14), ("R2", "C3"): (20, 932.74),
         ("R3", "C1"): (20, 123.78), ("R3", "C2"): (0, 0.0), ("R3", "C3"): (20, 928.15)}
    return grid_frame({k: (n, v, 0.6 * v if n == 2 else v / 17, 0.35 * v if n == 2 else v / 18)
                       for k, (n, v) in t.items()})


def test_empty_cells_are_not_free_secondaries(tmp_path: Path) -> None:
    proc, out = run_check(tmp_path, empty_table())
    assert proc.returncode == 3, proc.stderr[-1500:]
    assert pd.read_csv(out).status[1] == "SAFE"  # (R1, C2), the empty cell
    frame = empty_pattern_table()
    from kit.external.check import check_table

    res = check_table(frame, dims=["R", "C"], count="n", value="v", top1="top1", top2="top2")
    status = res.frame.status.to_numpy()
    assert not ((frame.n.to_numpy() == 0) & (status == "SECONDARY")).any()
    # the attacker knows the empty cells are 0 (they are published as such) and cannot narrow any primary
    published = status == "SAFE"
    primary = [i for i, s in enumerate(status) if s == "PRIMARY"]
    for p, (lo, hi) in intervals_2d(frame, "v", published, primary).items():
        v = frame.v[p]
        assert hi >= v * 1.1 * (1 - 1e-9) and lo <= v * 0.9 * (1 + 1e-9)


def test_empty_secondaries_only_when_allowed() -> None:
    from kit.external.check import check_table

    frame = empty_pattern_table()
    res = check_table(frame, dims=["R", "C"], count="n", value="v", top1="top1", top2="top2",
                      allow_empty_secondaries=True)
    status = res.frame.status.to_numpy()
    # opting in: the cheaper pattern with empty secondaries is allowed again
    assert ((frame.n.to_numpy() == 0) & (status == "SECONDARY")).any()


def test_non_additive_margin_is_refused_with_exit_2(tmp_path: Path) -> None:
    frame = empty_table()
    i = list(zip(frame.R, frame.C)).index(("R2", TOTAL))
    frame.loc[i, "v"] += 1.0  # 2,100 published as 2,101
    proc, out = run_check(tmp_path, frame)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert "R2" in proc.stderr and "not the sum" in proc.stderr
    for secret in ("2101", "2100", "700", "600", "800"):
        assert secret not in proc.stderr
    assert not out.exists()


def test_subtotal_codes_without_hierarchy_are_refused(tmp_path: Path) -> None:
    frame = empty_table()
    inner = frame[(frame.R != TOTAL)].copy()
    sub = inner[inner.R.isin(["R1", "R2"])].groupby("C", as_index=False)[["n", "v", "top1", "top2"]].sum()
    sub["R"] = "RA"  # a region = R1 + R2, published next to them
    both = pd.concat([frame, sub[frame.columns]], ignore_index=True)
    proc, _ = run_check(tmp_path, both)
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert "--hierarchy" in proc.stderr
    (tmp_path / "r.hrc").write_text("RA\n@R1\n@R2\n")
    proc, _ = run_check(tmp_path, both, "--hierarchy", f"R={tmp_path / 'r.hrc'}", "--out",
                        str(tmp_path / "second.csv"))
    assert proc.returncode == 3, proc.stderr[-1500:]


@pytest.mark.parametrize("hrc", ["", "\n\n", "R1\n"])
def test_empty_or_non_covering_hrc_is_refused(tmp_path: Path, hrc: str) -> None:
    (tmp_path / "r.hrc").write_text(hrc)
    proc, out = run_check(tmp_path, empty_table(), "--hierarchy", f"R={tmp_path / 'r.hrc'}")
    assert proc.returncode == 2, proc.stderr[-1500:]
    assert "r.hrc" in proc.stderr
    assert not out.exists()


def test_check_table_api_raises_spec_error_on_non_additive_input() -> None:
    from kit.external.check import check_table

    frame = empty_table()
    frame.loc[len(frame) - 1, "v"] *= 1.001
    with pytest.raises(SpecError, match="not the sum"):
        check_table(frame, dims=["R", "C"], count="n", value="v", top1="top1", top2="top2")


def test_income_table_with_a_net_negative_cell_is_protected() -> None:
    rng = np.random.default_rng(7)
    parts = []
    for (m, s), n in {("A", "M"): 40, ("A", "F"): 2, ("B", "M"): 30, ("B", "F"): 35, ("C", "M"): 25,
                      ("C", "F"): 28}.items():
        inc = rng.uniform(2e5, 5e5, n)
        if (m, s) == ("B", "M"):
            inc = -inc  # business losses: the cell is net-negative
        parts.append(pd.DataFrame({"KOM": m, "KOEN": s, "INC": inc}))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "PNR", np.arange(len(df)))
    table = kit.Session("dst", unit="PNR").table(df, rows="KOM", cols="KOEN", stat="sum", measure="INC",
                                                 margins=True)
    assert table.verdict is not kit.Verdict.FAIL
    frame = kit.clear(table).to_frame(symbols=False).rename(columns={"KOM": "R", "KOEN": "C"})
    truth = df.groupby(["KOM", "KOEN"]).INC.sum()
    keys = list(zip(frame.R, frame.C))
    atoms = [k for k in keys if TOTAL not in k]
    frame["truth"] = [sum(truth[a] for a in atoms if all(x in (TOTAL, y) for x, y in zip(k, a))) for k in keys]
    published = frame.value.notna().to_numpy()
    p = keys.index(("A", "F"))
    assert not published[p]
    lo, hi = intervals_2d(frame, "truth", published, [p])[p]
    v = frame.truth[p]
    assert hi >= v * 1.1 * (1 - 1e-9) and lo <= v * 0.9 * (1 + 1e-9)
