"""The flagship demo end to end on the default seed (issue 9's acceptance)."""

from __future__ import annotations

import json

import pytest

from kit.demo import run_demo
from kit.release import review_release

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo") / "out"
    lines: list[str] = []
    result = run_demo(out, progress=False, echo=lines.append, created="2026-01-01T00:00:00+00:00")
    return result, lines


def _row(result, area: str, group: str):  # type: ignore[no-untyped-def]
    (row,) = [r for r in result.comparison if r["area"] == area and r["group"] == group]
    return row


def test_headline_effects_match_bl_and_the_planted_truth(demo) -> None:  # type: ignore[no-untyped-def]
    result, _ = demo
    sund = _row(result, "Sundparken", "all")
    kilde = _row(result, "Kildeparken", "all")
    assert not sund["suppressed"] and not kilde["suppressed"]
    # Sundparken: near +11 pp and significant; Kildeparken: near +3 pp and not significant (hatched)
    assert 7.0 <= sund["estimate"] <= 15.0
    assert "not_distinguishable_from_zero" not in sund["flags"]
    assert 0.0 <= kilde["estimate"] <= 6.5
    assert "not_distinguishable_from_zero" in kilde["flags"]
    # newcomers: near +19 % of the 2011 level
    for area in ("Sundparken", "Kildeparken"):
        new = _row(result, area, "newcomers")
        assert 5.0 <= new["pct_of_base"] <= 35.0
    # the intervals cover the planted effects
    assert all(r["covered"] for r in result.comparison)


def test_release_is_complete_verified_and_apart_from_the_checker(demo) -> None:  # type: ignore[no-untyped-def]
    result, lines = demo
    release, checker = result.release, result.checker
    assert (release / "report.html").is_file()
    assert (release / "figures" / "bl_figure.svg").is_file()
    assert checker.is_dir() and release not in checker.parents
    review = review_release(release, checker_dir=checker.parent)
    assert review.exit_code == 0, review.render()
    manifest = json.loads(next(release.glob("manifest.*")).read_text(encoding="utf-8"))
    assert manifest["rule_set"]["id"] == "dst"
    assert {o["name"] for o in manifest["outputs"]} >= {"e0_employment_rates", "e1_event_study", "bl_figure"}
    html = (release / "report.html").read_text(encoding="utf-8")
    for external in ('src="http', "src='http", 'href="http', "url(http", "@import"):
        assert external not in html  # self-contained: no external resources
    assert any("release:" in line for line in lines)


def test_no_microdata_in_the_release(demo) -> None:  # type: ignore[no-untyped-def]
    result, _ = demo
    project = result.out / "project"
    bef = next(project.glob("bef2011.*"))
    import pandas as pd

    ids = pd.read_parquet(bef, columns=["PNR"])["PNR"].astype(str).head(2000).tolist()
    for path in result.release.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".tab", ".txt", ".svg"}:
            text = path.read_text(encoding="utf-8", errors="ignore")
            assert "\tPNR\t" not in text and "<th>PNR</th>" not in text  # no id column
            assert not any(pid in text for pid in ids)


def test_released_rates_rest_on_enough_units(demo) -> None:  # type: ignore[no-untyped-def]
    result, _ = demo
    tab = (result.release / "tables" / "e0_employment_rates.tab").read_text(encoding="utf-8").splitlines()
    header = tab[0].split("\t")
    n_col = header.index("n")
    for line in tab[1:]:
        fields = line.split("\t")
        if fields[n_col] not in ("x", "", ".", "0"):
            assert float(fields[n_col].replace(",", "")) >= 3


def test_outcomes_and_movers_recover_the_planted_truth(demo) -> None:  # type: ignore[no-untyped-def]
    """Issue 25, fast recovery at the default seed: every interval covers its planted value."""
    result, _ = demo
    assert {(r["area"], r["what"]) for r in result.outcomes} == {
        (a, o) for a in ("Sundparken", "Kildeparken")
        for o in ("education", "in_education", "support", "employment_share")}
    for row in result.outcomes:
        assert not row["suppressed"] and row["covered"], row
    # the education effect is BL's "progress": clearly positive in Sundparken
    (sund_edu,) = [r for r in result.outcomes if r["area"] == "Sundparken" and r["what"] == "education"]
    assert sund_edu["ci_low"] > 0
    assert len(result.movers) == 4
    for row in result.movers:
        assert not row["suppressed"] and row["covered"], row
    # the newcomer share is the generator's own count (up to the rounding of the display)
    for row in result.newcomers:
        if row["planted"] is not None:
            assert row["covered"], row
            assert row["estimate"] > 60  # BL: more than three out of five


def test_the_docs_quote_this_run(demo) -> None:  # type: ignore[no-untyped-def]
    """docs/aalborg.md and README.md hold the blocks `kit demo --record` writes for the default run."""
    from pathlib import Path

    import synthetic
    from kit.demo.record import blocks, read_block

    result, _ = demo
    recorded = blocks(result, synthetic.DEFAULT_SEED, synthetic.DEFAULT_DEMO_PERSONS)
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "aalborg.md").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    fix = "python -m kit demo --out DIR --record docs/aalborg.md --record README.md"
    assert read_block(docs, "estimates") == recorded["estimates"], f"regenerate with: {fix}"
    assert read_block(readme, "headline") == recorded["headline"], f"regenerate with: {fix}"


def test_movers_cells_rest_on_enough_persons(demo) -> None:  # type: ignore[no-untyped-def]
    """Every released movers-out cell counts at least 3 persons (counted here from the register files)."""
    import pandas as pd

    result, _ = demo
    project = result.out / "project"
    key = pd.read_csv(project / "area_key.csv")
    treated = set(key.loc[key["AREA_TYPE"] == "treated", "AREA_NAME"])
    base = pd.read_parquet(project / "bef2011.parquet", columns=["PNR", "KOM", "BOPIKOM"]).merge(
        key[["KOM", "BOPIKOM", "AREA_NAME"]], on=["KOM", "BOPIKOM"])[["PNR", "AREA_NAME"]]
    base = base.rename(columns={"AREA_NAME": "origin"})
    seen_away: set[str] = set()
    counts: dict[tuple[str, str, str], int] = {}
    for year in range(2012, 2020):
        bef = pd.read_parquet(project / f"bef{year}.parquet", columns=["PNR", "KOM", "BOPIKOM", "ALDER"]).merge(
            key[["KOM", "BOPIKOM", "AREA_NAME"]], on=["KOM", "BOPIKOM"], how="left").merge(base, on="PNR")
        here = bef["AREA_NAME"] == bef["origin"]
        back = here & bef["PNR"].isin(seen_away)
        seen_away |= set(bef.loc[~here, "PNR"])
        keep = bef[(~here | back) & bef["ALDER"].between(16, 64)]
        keep = keep.assign(back=back[keep.index])
        for (origin, is_back), n in keep.groupby(["origin", "back"])["PNR"].nunique().items():
            if origin in treated and is_back:
                counts[(origin, "back", str(year))] = int(n)
    tab = (result.release / "tables" / "e7_movers_attachment.tab").read_text(encoding="utf-8").splitlines()
    header = tab[0].split("\t")
    released = {}
    for line in tab[1:]:
        f = dict(zip(header, line.split("\t")))
        released[(f["area"], f["destination"], f["year"], f["status"])] = f["estimate"]
    counts = {(a, d, y, s): n for (a, d, y), n in counts.items() for s in ("employed", "support")}
    for key, n in counts.items():
        if n < 3:  # a small group is never published
            assert released.get(key, "x") == "x", key
    assert counts  # some movers came back: the check above ran on real cells


def test_release_holds_the_movers_attachment_with_the_registry_on(demo) -> None:  # type: ignore[no-untyped-def]
    """Issue 25, item 2: the movers' attachment (support share included) is released, cleared, with the
    differencing registry on, and every published distribution is whole and sums to one."""
    result, _ = demo
    manifest = json.loads(next(result.release.glob("manifest.*")).read_text(encoding="utf-8"))
    assert manifest["differencing"]["checked"] is True  # never turned off for the demo
    names = {o["name"] for o in manifest["outputs"]}
    assert {"e7_movers_attachment", "e7_movers_difference", "movers_attachment_elsewhere"} <= names
    tab = (result.release / "tables" / "e7_movers_attachment.tab").read_text(encoding="utf-8").splitlines()
    header = tab[0].split("\t")
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    for line in tab[1:]:
        f = dict(zip(header, line.split("\t")))
        cells.setdefault((f["area"], f["destination"], f["year"]), {})[f["status"]] = f["estimate"]
    assert all(set(c) == {"employed", "unemployed", "support", "outside"} for c in cells.values())
    published = {k: c for k, c in cells.items() if all(v not in ("x", "", ".") for v in c.values())}
    for key, c in cells.items():  # whole or nothing: no share is one minus the published ones
        assert key in published or all(v in ("x", "", ".") for v in c.values()), key
    for c in published.values():
        assert abs(sum(float(v.replace(",", "")) for v in c.values()) - 1) < 0.01
    # the treated areas' movers who moved away have a published support share in the target year
    for area in ("Sundparken", "Kildeparken"):
        assert (area, "elsewhere", "2017") in published
    assert (result.release / "figures" / "movers_attachment_elsewhere.svg").is_file()
    by_area = {(r["area"], r["destination"]): r for r in result.attachment}
    assert by_area[("Sundparken", "elsewhere")]["shares"]["support"] is not None
