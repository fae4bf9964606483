"""Differencing findings name their cells by codes (issue 20, item 5), and the names cannot be forged.

The attacker (a researcher) releases a table, then the same table for the population minus one
person. The kit refuses it; before this, the error and the checker's report said only "3 cells
involved": the output checker could not tell WHICH cells to look at. Now every finding names both
cells by output and codes (``residents [KOM=K3, KON=F]`` vs ``residents [KOM=K3, KON=F]``), in the
error, ``checker.json``, the checker's report, ``kit review`` and the workbench; the codes come
from a sidecar of the registry whose digest is in its index (edited -> the next release stops).

The expected cells are computed here from the data frames (the test's own set arithmetic), not by
the kit.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kit
from kit.core.populations import CellPopulations
from kit.errors import DisclosureError, KitError
from kit.release.registry import REGISTRY_FOLDER, RegistryDamagedError
from kit.release.review import review_release
from kit.release.set_compare import LinkKind, OutputCells, compare, risky_links

CREATED = "2026-01-01T00:00:00+00:00"
T = 3  # the dst differencing threshold
EVIL = '<img src=x onerror="document.title=1">'


def persons(evil: bool = False) -> pd.DataFrame:
    koms = [f"K{i}" for i in range(4)] + ([EVIL] if evil else [])
    n = 40 * len(koms)
    return pd.DataFrame({"PNR": np.arange(5_000_001, 5_000_001 + n), "KOM": np.repeat(koms, 40),
                         "KON": np.tile(["M", "F"], n // 2)})


def session() -> kit.Session:
    return kit.Session(rules="dst", unit="PNR", created=CREATED)


def release(s: kit.Session, root: Path, name: str, df: pd.DataFrame, **options: object) -> Path:
    table = s.table(df, rows="KOM", cols="KON", stat="count", name="residents", margins=True, title="Residents")
    s.release(root / name, [table], title=name, formats=("html", "csv"), checker_dir=root / "checker",
              state_dir=root / "state", **options)  # type: ignore[arg-type]
    return root / name


def cells_differing_by_few(before: pd.DataFrame, after: pd.DataFrame) -> set[tuple[str, str]]:
    """The attacker's own arithmetic: inner cells (KOM, KON) whose person sets differ by 1..T-1."""
    out = set()
    for (kom, kon), grp in after.groupby(["KOM", "KON"]):
        old = set(before.loc[before.KOM.eq(kom) & before.KON.eq(kon), "PNR"])
        d = len(old ^ set(grp.PNR))
        if 1 <= d <= T - 1:
            out.add((str(kom), str(kon)))
    return out


def test_refusal_names_the_cell_by_its_codes_and_no_count(tmp_path: Path) -> None:
    df = persons()
    s = session()
    release(s, tmp_path, "r1", df)
    gone = df.index[(df.KOM == "K3") & (df.KON == "F")][0]
    smaller = df.drop(index=gone)
    assert cells_differing_by_few(df, smaller) == {("K3", "F")}
    with pytest.raises(DisclosureError) as err:
        release(s, tmp_path, "r2", smaller)
    msg = str(err.value)
    assert "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]" in msg
    # no count of units: with the cell names taken out, the only numbers are the pairs and cells involved
    pairs = err.value.pairs  # type: ignore[attr-defined]
    bare = re.sub(r"and \d+ more", "", re.sub(r"\[[^\]]*\]", "", msg))  # "and N more" counts cell links
    numbers = set(re.findall(r"\b\d+\b", bare))
    assert numbers <= {str(len(pairs)), str(sum(p.n_risky_cells for p in pairs))}
    # checker.json of the refused release names the same cells
    doc = json.loads((tmp_path / "checker" / "r2" / "checker.json").read_text())
    texts = [k["text"] for p in doc["differencing_pairs"] for k in p["cell_links"]]
    assert "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]" in texts
    link = next(k for p in doc["differencing_pairs"] for k in p["cell_links"]
                if k["text"] == "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]")
    assert link["cells"][0]["codes"] == {"KOM": "K3", "KON": "F"} and link["other_cells"][0]["output"] == "residents"
    report = (tmp_path / "checker" / "r2" / "checker_report.txt").read_text()
    assert "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]" in report


def test_sidecar_holds_codes_only(tmp_path: Path) -> None:
    df = persons()
    release(session(), tmp_path, "r1", df)
    files = list((tmp_path / "state" / REGISTRY_FOLDER / "cellcodes").glob("*.json.gz"))
    assert len(files) == 1
    doc = json.loads(gzip.decompress(files[0].read_bytes()))
    assert doc["dims"] == ["KOM", "KON"]
    flat = {c for row in doc["codes"] for c in row} | set(doc["labels"])
    assert flat <= {"K0", "K1", "K2", "K3", "M", "F", "Total", ""}  # no unit id, count or value
    index = json.loads((tmp_path / "state" / REGISTRY_FOLDER / "index.json").read_text())
    assert index["outputs"][0]["codes_sha256"]


def _edit_sidecar(root: Path, change: str) -> None:
    path = next((root / "state" / REGISTRY_FOLDER / "cellcodes").glob("*.json.gz"))
    if change == "delete":
        path.unlink()
        return
    doc = json.loads(gzip.decompress(path.read_bytes()))
    doc["codes"] = [["K9" if c == "K3" else c for c in row] for row in doc["codes"]]  # same length: K3 -> K9
    path.write_bytes(gzip.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(), mtime=0))


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_edited_sidecar_stops_the_next_release(tmp_path: Path, change: str) -> None:
    df = persons()
    s = session()
    release(s, tmp_path, "r1", df)
    _edit_sidecar(tmp_path, change)
    with pytest.raises(RegistryDamagedError) as err:
        release(s, tmp_path, "r2", df[df.KOM != "K0"])
    assert "cell codes" in str(err.value) and err.value.exit_code == 4
    assert not (tmp_path / "r2").exists()


def test_opted_out_release_reports_the_named_risk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """differencing=False: written (the caller's explicit opt-out), but the checker sees which cell."""
    df = persons()
    s = session()
    release(s, tmp_path, "r1", df)
    smaller = df.drop(index=df.index[(df.KOM == "K3") & (df.KON == "F")][0])
    r2 = release(s, tmp_path, "r2", smaller, differencing=False)
    doc = json.loads((tmp_path / "checker" / "r2" / "checker.json").read_text())
    risky = [p for p in doc["differencing_pairs"] if p["result"] != "ok"]
    assert risky and all("NOT ENFORCED" in p["result"] for p in risky)
    assert any(k["text"] == "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]"
               for p in risky for k in p["cell_links"])
    text = review_release(r2, checker_dir=tmp_path / "checker").render()
    assert "DIFFERENCING RISK" in text and "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]" in text
    from kit.cli import main

    capsys.readouterr()
    assert main(["review", str(r2), "--checker-dir", str(tmp_path / "checker")]) == 3  # ATTENTION
    out = capsys.readouterr().out
    assert "DIFFERENCING RISK" in out and "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]" in out


def test_codes_with_markup_are_escaped_in_the_checkers_report(tmp_path: Path) -> None:
    df = persons(evil=True)
    s = session()
    release(s, tmp_path, "r1", df)
    smaller = df.drop(index=df.index[(df.KOM == EVIL) & (df.KON == "F")][0])
    with pytest.raises(DisclosureError) as err:
        release(s, tmp_path, "r2", smaller)
    assert f"residents [KOM={EVIL}, KON=F]" in str(err.value)  # a text message: the code as it is
    html = (tmp_path / "checker" / "r2" / "checker_report.html").read_text()
    assert EVIL not in html and "&lt;img src=x onerror=" in html


# ------------------------------------------------------------------ risky_links agrees with compare
def _cells(draw: st.DrawFn, name: str) -> OutputCells:
    n_cells = draw(st.integers(1, 5))
    parts = [np.unique(np.asarray(draw(st.lists(st.integers(0, 14), max_size=8)), dtype=np.uint64))
             for _ in range(n_cells)]
    pub = draw(st.lists(st.booleans(), min_size=n_cells, max_size=n_cells))
    layer = draw(st.lists(st.integers(0, 1), min_size=n_cells, max_size=n_cells))
    attr = draw(st.lists(st.booleans(), min_size=n_cells, max_size=n_cells))
    return OutputCells.build(name, "r", CellPopulations.from_lists(parts), pub, layer, attr)


@st.composite
def two_outputs(draw: st.DrawFn) -> tuple[OutputCells, OutputCells]:
    return _cells(draw, "a"), _cells(draw, "b")


@settings(max_examples=300, deadline=None)
@given(two_outputs(), st.integers(2, 4))
def test_risky_links_name_every_risky_cell(ab: tuple[OutputCells, OutputCells], t: int) -> None:
    a, b = ab
    found = compare(a, b, t)
    links = risky_links(a, b, t, found, limit=10_000)
    assert {c for k in links for c in k.a} >= set(found.risky_a)
    assert {c for k in links for c in k.b} >= set(found.risky_b)
    assert len(found.risky_a) + len(found.risky_b) == found.n_risky
    # the test's own arithmetic: a pair is within t-1 units; a union's cells lie (nearly) inside the cell
    keys_a = [set(a.keys[a.cells == c].tolist()) for c in range(a.n_cells)]
    keys_b = [set(b.keys[b.cells == c].tolist()) for c in range(b.n_cells)]
    for k in links:
        if k.kind is LinkKind.PAIR and k.a and k.b:
            (x,), (y,) = k.a, k.b
            assert keys_a[x] & keys_b[y] and len(keys_a[x] ^ keys_b[y]) <= t - 1
        elif k.kind is LinkKind.A_VS_UNION:
            assert all(len(keys_b[y] - keys_a[k.a[0]]) <= t - 1 for y in k.b)
        elif k.kind is LinkKind.UNION_VS_B:
            assert all(len(keys_a[x] - keys_b[k.b[0]]) <= t - 1 for x in k.a)


def test_kit_error_of_a_damaged_sidecar_is_a_kit_error() -> None:
    assert issubclass(RegistryDamagedError, KitError)


def test_a_failed_release_leaves_no_cell_codes(tmp_path: Path) -> None:
    """pending -> abort drops the sidecar with the data file; pending -> commit keeps both."""
    from dataclasses import replace

    from kit.core.rules import load_rule_set
    from kit.release.cellnames import CellCodes
    from kit.release.registry import ReleaseRegistry

    reg = ReleaseRegistry(tmp_path / REGISTRY_FOLDER)
    k = np.arange(20, dtype=np.uint64)
    cells = replace(OutputCells.build("t", "r1", CellPopulations.from_lists([k[:10], k[10:]]), [True, True], [0, 0]),
                    codes=CellCodes(("KOM",), (("K1",), ("K2",)), ("", "")))
    rules = load_rule_set("dst")
    with reg.held():
        reg.record_cells([cells], rules, CREATED, pending=str(tmp_path / "gone"))
        assert len(list((tmp_path / REGISTRY_FOLDER / "cellcodes").iterdir())) == 1
        reg.abort(str(tmp_path / "gone"))
    assert list((tmp_path / REGISTRY_FOLDER / "cellcodes").iterdir()) == []
    with reg.held():
        reg.record_cells([cells], rules, CREATED, pending=str(tmp_path / "kept"))
        reg.commit(str(tmp_path / "kept"))
        # a second output one unit away from K2: the finding names both cells
        other = replace(OutputCells.build("u", "r2", CellPopulations.from_lists([k[10:19]]), [True], [0]),
                        codes=CellCodes(("REGION",), (("North",),), ("",)))
        pairs = reg.check_cells([other], threshold=3)
    assert [str(link) for p in pairs for link in p.cells] == ["u [REGION=North] vs t [KOM=K2]"]
