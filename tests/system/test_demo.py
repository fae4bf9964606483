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
