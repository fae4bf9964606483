"""The release writer: refusal of non-cleared input, atomicity, file types, manifest."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError, OptionalDependencyError, OutputExistsError, SpecError
from kit.release import Figure, render_chart, write_release
from kit.release.context import output_context
from kit.release.manifest import find_manifest, sha256_file, verify_seal

from .conftest import cleared_estimate_fixture_factory


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("bad", ["table", "frame", "dict"])
def test_writer_refuses_anything_not_cleared(tmp_path, count_table, bad):
    obj = {"table": count_table, "frame": pd.DataFrame({"a": [1]}), "dict": {"a": 1}}[bad]
    with pytest.raises(DisclosureError, match="not a cleared output"):
        write_release(tmp_path / "rel", [obj], count_table.rules, title="t", differencing=False)
    assert _siblings(tmp_path) == []


@pytest.mark.parametrize("bad", ["table", "frame", "dict"])
def test_context_figure_and_chart_refuse_anything_not_cleared(count_table, bad):
    obj = {"table": count_table, "frame": pd.DataFrame({"a": [1]}), "dict": {"a": 1}}[bad]
    with pytest.raises(DisclosureError):
        output_context(obj, symbol="x", note_suppressed="x")
    with pytest.raises(DisclosureError):
        Figure.bar(obj, name="f", x="area", value="value")
    with pytest.raises(DisclosureError):
        render_chart(obj)  # type: ignore[arg-type]


def test_refusal_message_shows_no_values(tmp_path, count_table):
    with pytest.raises(DisclosureError) as err:
        write_release(tmp_path / "rel", [count_table], count_table.rules, title="t", differencing=False)
    assert "Kildeparken" not in str(err.value) and "1001" not in str(err.value)


def test_dst_release_writes_only_allowed_types(tmp_path, count_table, rate_table, estimate, bl_figure):
    rules = count_table.rules
    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table), kit.clear(rate_table), estimate, bl_figure],
        rules,
        title="Aalborg",
        differencing=False,
    )
    exts = {Path(f).suffix.lstrip(".") for f in res.files}
    assert exts <= set(rules.release.file_types)
    assert {"html", "tab", "xlsx", "png", "svg", "txt"} <= exts
    assert res.manifest_path.name == "manifest.txt"
    doc = json.loads(res.manifest_path.read_text())
    assert {s["format"] for s in doc["skipped"]} == {"csv", "md", "tex"}
    assert (tmp_path / "rel" / "report.html").is_file()
    assert (tmp_path / "rel" / "tables" / "residents.tab").read_text().startswith("area\tyear\tvalue\n")


def test_sacro_release_writes_every_format(tmp_path, sacro_session, frame):
    t = sacro_session.table(frame, rows="area", stat="count", name="by_area")
    cleared = kit.clear(t)
    estimate = cleared_estimate_fixture_factory(cleared.provenance)  # cleared under sacro too
    res = write_release(tmp_path / "rel", [cleared, estimate], sacro_session.rules, title="t", differencing=False)
    names = set(res.files)
    for ext in ("html", "md", "tex", "csv", "xlsx"):
        assert f"tables/by_area.{ext}" in names
    assert res.skipped == ()


def test_manifest_lists_every_file_with_checksums(tmp_path, count_table, estimate, bl_figure):
    res = write_release(
        tmp_path / "rel", [kit.clear(count_table), estimate, bl_figure], count_table.rules, title="t"
    , differencing=False)
    doc = json.loads(res.manifest_path.read_text())
    assert verify_seal(doc)
    on_disk = sorted(p.relative_to(res.folder).as_posix() for p in res.folder.rglob("*") if p.is_file())
    assert sorted([f["path"] for f in doc["files"]] + [res.manifest_path.name]) == on_disk
    for f in doc["files"]:
        assert sha256_file(res.folder / f["path"]) == f["sha256"]
        assert not f["path"].startswith("/") and ":" not in f["path"] and ".." not in f["path"]
    by_name = {o["name"]: o for o in doc["outputs"]}
    assert by_name["residents"]["kind"] == "table" and by_name["residents"]["n_suppressed"] == 1
    assert by_name["effects"]["flags"] == {"not_distinguishable_from_zero": 1}
    assert by_name["bl_figure"]["source"] == "effects"
    assert doc["rule_set"]["fingerprint"] == count_table.rules.fingerprint
    assert by_name["residents"]["provenance"]["rule_set"]["id"] == "dst"
    assert doc["kit_version"] == kit.__version__


def test_refuses_to_overwrite(tmp_path, count_table):
    (tmp_path / "rel").mkdir()
    with pytest.raises(OutputExistsError):
        write_release(tmp_path / "rel", [kit.clear(count_table)], count_table.rules, title="t", differencing=False)
    assert list((tmp_path / "rel").iterdir()) == []


def test_failure_half_way_leaves_nothing(tmp_path, monkeypatch, count_table, bl_figure):
    import kit.release.writer as writer

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "render_chart", boom)
    with pytest.raises(RuntimeError):
        write_release(
            tmp_path / "rel",
            [kit.clear(count_table), bl_figure],
            count_table.rules,
            title="t",
            checker_dir=tmp_path / "checker",
            private_results=[count_table],
            differencing=False,
        )
    assert _siblings(tmp_path) == []


def test_checker_dir_inside_release_is_refused(tmp_path, count_table):
    with pytest.raises(DisclosureError, match="inside the release"):
        write_release(
            tmp_path / "rel",
            [kit.clear(count_table)],
            count_table.rules,
            title="t",
            checker_dir=tmp_path / "rel" / "checker",
            differencing=False,
        )
    assert _siblings(tmp_path) == []


def test_unsafe_and_register_like_names_are_refused(tmp_path, session, frame):
    t = session.table(frame, rows="area", stat="count", name="bef2018")
    with pytest.raises(SpecError, match="register file"):
        write_release(tmp_path / "rel", [kit.clear(t)], session.rules, title="t", differencing=False)


def test_duplicate_names_are_refused(tmp_path, count_table):
    c = kit.clear(count_table)
    with pytest.raises(SpecError, match="two outputs"):
        write_release(tmp_path / "rel", [c, c], count_table.rules, title="t", differencing=False)


def test_same_outputs_give_identical_files(tmp_path, count_table, rate_table, estimate, bl_figure):
    outs = [kit.clear(count_table), kit.clear(rate_table), estimate, bl_figure]
    a = write_release(tmp_path / "a", outs, count_table.rules, title="t", differencing=False)
    b = write_release(tmp_path / "b", outs, count_table.rules, title="t", differencing=False)
    da, db = (json.loads(r.manifest_path.read_text()) for r in (a, b))
    assert da["files"] == db["files"]


def test_xlsx_without_openpyxl_names_the_extra(tmp_path, monkeypatch, count_table):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(OptionalDependencyError, match="sdc-kit"):
        write_release(
            tmp_path / "rel", [kit.clear(count_table)], count_table.rules, title="t", formats=("html", "xlsx")
        , differencing=False)
    assert _siblings(tmp_path) == []


def test_xlsx_values_are_rounded_and_symbol_kept(tmp_path, rate_table):
    from openpyxl import load_workbook

    res = write_release(
        tmp_path / "rel", [kit.clear(rate_table)], rate_table.rules, title="t", formats=("xlsx",)
    , differencing=False)
    ws = load_workbook(res.folder / "tables" / "employment.xlsx").active
    values = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, float)]
    assert values and all(round(v, 3) == v for v in values)
    assert "x" in [c.value for row in ws.iter_rows() for c in row]


def test_unknown_format_is_an_error(tmp_path, count_table):
    with pytest.raises(SpecError, match="unknown format"):
        write_release(
            tmp_path / "rel", [kit.clear(count_table)], count_table.rules, title="t", formats=("pdf",)
        , differencing=False)


def test_site_template_overrides_a_block(tmp_path, count_table):
    site = tmp_path / "site" / "release"
    site.mkdir(parents=True)
    (site / "_output.html.j2").write_text(
        '{% extends "kit/release/_output.html.j2" %}'
        "{% block provenance %}<p>SITE PROVENANCE</p>{% endblock %}"
    )
    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table)],
        count_table.rules,
        title="t",
        site_templates=tmp_path / "site",
        formats=("html",),
        differencing=False,
    )
    text = (res.folder / "report.html").read_text()
    assert "SITE PROVENANCE" in text and "Provenance of residents" not in text


def test_report_is_self_contained(tmp_path, count_table, estimate, bl_figure):
    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table), estimate, bl_figure],
        count_table.rules,
        title="Aalborg <model>",
        differencing=False,
    )
    html = (res.folder / "report.html").read_text()
    assert "Aalborg &lt;model&gt;" in html
    stripped = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    stripped = stripped.replace("url(#", "")
    for marker in ("http://", "https://", "<link", "<script", "src=", "url(", "@import"):
        assert marker not in stripped
    assert "<svg" in html and "Hatched: the effect cannot be statistically distinguished from zero." in html
    assert "x: not shown to protect confidentiality" in html


def test_find_manifest(tmp_path, count_table):
    res = write_release(tmp_path / "rel", [kit.clear(count_table)], count_table.rules, title="t", differencing=False)
    assert find_manifest(res.folder) == res.manifest_path
