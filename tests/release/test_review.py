"""``kit review``: checksums, tampering (exit 4), microdata scan (exit 3), decision log."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from types import SimpleNamespace

import pytest

import kit
from kit.cli.review import register
from kit.errors import SpecError
from kit.release import Figure, review_release, write_release
from kit.release.manifest import find_manifest, manifest_text, seal, sha256_bytes
from kit.release.review import Decision, ReviewStatus, read_decisions, record_decision
from kit.release.scan import FindingKind, scan_table, scan_text

from .conftest import CREATED, cleared_estimate_fixture_factory, residents_frame


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """One release written once per module; each test gets its own copy."""
    root = tmp_path_factory.mktemp("master")
    session = kit.Session(rules="dst", unit="PNR", created=CREATED, data_label="synthetic")
    frame = residents_frame()
    count = session.table(frame, rows="area", cols="year", stat="count", name="residents")
    rate = session.table(frame, rows="area", cols="year", stat="rate", measure="employed", name="employment")
    est = cleared_estimate_fixture_factory(kit.clear(count).provenance)  # type: ignore[arg-type]
    fig = Figure.bar(
        est, name="bl_figure", x="area", group="group", value="effect_pp", low="ci_low", high="ci_high"
    )
    write_release(
        root / "rel",
        [kit.clear(count), kit.clear(rate), est, fig],
        session.rules,
        title="Aalborg",
        checker_dir=root / "checker",
        private_results=[count, rate],
        differencing=False,
    )
    return root


@pytest.fixture
def release(master, tmp_path):
    shutil.copytree(master / "rel", tmp_path / "rel")
    shutil.copytree(master / "checker", tmp_path / "checker")
    folder = tmp_path / "rel"
    return SimpleNamespace(folder=folder, manifest_path=find_manifest(folder))


def plant(res, relpath: str, content: str) -> None:
    """Add a file and re-seal the manifest consistently (a researcher's own file slipped in)."""
    target = res.folder / relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    doc = json.loads(res.manifest_path.read_text())
    doc.pop("integrity")
    data = content.encode("utf-8")
    doc["files"].append(
        {
            "path": relpath,
            "format": relpath.rsplit(".", 1)[-1],
            "sha256": sha256_bytes(data),
            "bytes": len(data),
        }
    )
    res.manifest_path.write_text(manifest_text(seal(doc)), encoding="utf-8")


def run_cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="kit")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["review", *argv])
    out = io.StringIO()
    return args.handler(args, out=out), out.getvalue()


def test_release_without_differencing_check_needs_attention(release, tmp_path):
    # the module's release holds a hand-made estimate without unit populations: written with
    # differencing=False, which review always reports
    result = review_release(release.folder, checker_dir=tmp_path / "checker")
    assert result.exit_code == 3 and not result.problems and not result.findings, result.render()
    assert [n.split(":")[0] for n in result.notes] == ["DIFFERENCING NOT CHECKED"]
    assert [o.name for o in result.outputs] == ["residents", "employment", "effects", "bl_figure"]
    code, text = run_cli(str(release.folder), "--checker-dir", str(tmp_path / "checker"))
    assert code == 3 and "residents" in text and "DIFFERENCING NOT CHECKED" in text


def test_clean_release_exits_0(tmp_path):
    session = kit.Session(rules="dst", unit="PNR", created=CREATED, data_label="synthetic")
    frame = residents_frame()
    count = session.table(frame, rows="area", cols="year", stat="count", name="residents")
    rate = session.table(frame, rows="area", cols="year", stat="rate", measure="employed", name="employment")
    session.release(tmp_path / "rel", [count, rate], title="Aalborg", checker_dir=tmp_path / "checker")
    result = review_release(tmp_path / "rel", checker_dir=tmp_path / "checker")
    assert result.status is ReviewStatus.CLEAN, result.render()
    code, text = run_cli(str(tmp_path / "rel"), "--checker-dir", str(tmp_path / "checker"))
    assert code == 0 and "residents" in text and "CLEAN" in text


def test_edited_file_is_tampered(release):
    path = release.folder / "tables" / "residents.tab"
    path.write_text(path.read_text().replace("44", "45"))
    result = review_release(release.folder)
    assert result.exit_code == 4 and any("was changed" in p for p in result.problems)


def test_deleted_file_is_tampered(release):
    (release.folder / "figures" / "bl_figure.png").unlink()
    assert review_release(release.folder).exit_code == 4


def test_added_file_is_tampered(release):
    (release.folder / "tables" / "extra.txt").write_text("hello")
    result = review_release(release.folder)
    assert result.exit_code == 4 and any("not in the manifest" in p for p in result.problems)


def test_edited_manifest_is_tampered(release):
    text = release.manifest_path.read_text().replace('"title": "Aalborg"', '"title": "Other"')
    release.manifest_path.write_text(text)
    result = review_release(release.folder)
    assert result.exit_code == 4 and any("manifest was edited" in p for p in result.problems)


def test_consistently_resealed_manifest_is_caught_by_the_checker_folder(release, tmp_path):
    plant(release, "tables/notes.txt", "harmless")
    alone = review_release(release.folder)
    assert alone.exit_code == 3 and not alone.problems  # only the differencing note: the reseal is not seen
    result = review_release(release.folder, checker_dir=tmp_path / "checker")
    assert result.exit_code == 4


def test_missing_manifest_is_tampered(release):
    release.manifest_path.unlink()
    assert review_release(release.folder).exit_code == 4


def test_planted_pnr_column_needs_attention(release):
    plant(release, "tables/own.tab", "PNR\tarea\n0101801234\tKildeparken\n0202902345\tSundparken\n")
    result = review_release(release.folder)
    kinds = {f.kind for f in result.findings}
    assert result.exit_code == 3 and {FindingKind.KEY_COLUMN, FindingKind.CPR_LIKE} <= kinds
    assert all("0101801234" not in str(f) for f in result.findings)
    code, _ = run_cli(str(release.folder))
    assert code == 3


def test_cpr_values_in_html_and_raw_paths_need_attention(release):
    plant(
        release,
        "tables/own.html",
        "<table><tr><th>id</th></tr><tr><td>010180-1234</td></tr></table>"
        "<p>read from E:\\Rawdata\\706000\\bef2018.sas7bdat</p>",
    )
    kinds = {f.kind for f in review_release(release.folder).findings}
    assert {FindingKind.CPR_LIKE, FindingKind.RAW_PATH} <= kinds


def test_scanner_units():
    assert scan_text("a", "checksum 6aae82d3223a6bf0581334f21781882a", allowed_hex=()) != []
    assert (
        scan_text(
            "a", "sha 6aae82d3223a6bf0581334f21781882a", allowed_hex={"6aae82d3223a6bf0581334f21781882a"}
        )
        == []
    )
    assert scan_text("a", "rate 0.41509433962264153 and 1,234,567") == []
    assert [f.kind for f in scan_text("a", "id A1B2C3D4E5F6G7")] == [FindingKind.LONG_ID]
    rows = [["area", "value"]] + [[f"a{i}", str(i)] for i in range(12)]
    assert [f.kind for f in scan_table("t", rows, n_input_units=12)] == [FindingKind.ROWS_EQUAL_UNITS]
    assert scan_table("t", rows, n_input_units=500) == []
    assert [f.kind for f in scan_table("t", [["V_PNR_ENCRYPTED"], ["1"]])] == [FindingKind.KEY_COLUMN]


def test_decisions_are_logged_and_chained(release, tmp_path):
    checker = tmp_path / "checker"
    record_decision(
        release.folder,
        "residents",
        Decision.APPROVE,
        checker_dir=checker,
        reviewer="anna",
        time="2024-05-02T09:00:00+00:00",
    )
    result = record_decision(
        release.folder, "effects", "reject", comment="too detailed", checker_dir=checker, reviewer="anna"
    )
    assert result.exit_code == 3
    log = checker / "rel" / "decisions.jsonl"
    entries, problems = read_decisions(log)
    assert problems == [] and [e["decision"] for e in entries] == ["approve", "reject"]
    assert entries[1]["prev"] == entries[0]["hash"]
    decisions = {o.name: o.decision for o in result.outputs}
    assert decisions == {
        "residents": "approve",
        "employment": "pending",
        "effects": "reject",
        "bl_figure": "pending",
    }
    assert not (release.folder / "decisions.jsonl").exists()


def test_edited_decision_log_is_tampered(release, tmp_path):
    checker = tmp_path / "checker"
    record_decision(release.folder, "residents", "approve", checker_dir=checker, reviewer="anna")
    record_decision(release.folder, "employment", "approve", checker_dir=checker, reviewer="anna")
    log = checker / "rel" / "decisions.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0].replace("approve", "reject") + "\n" + lines[1] + "\n")
    assert review_release(release.folder, checker_dir=checker).exit_code == 4
    log.write_text(lines[1] + "\n")
    assert review_release(release.folder, checker_dir=checker).exit_code == 4


def test_no_decision_on_a_tampered_release(release):
    (release.folder / "tables" / "extra.txt").write_text("x")
    result = record_decision(release.folder, "residents", "approve", reviewer="anna")
    assert result.exit_code == 4
    assert not (release.folder.parent / "rel.decisions.jsonl").exists()


def test_decision_errors(release):
    with pytest.raises(SpecError, match="needs a comment"):
        record_decision(release.folder, "residents", "reject")
    with pytest.raises(SpecError, match="no output"):
        record_decision(release.folder, "nope", "approve")


def test_cli_approve_and_reject(release):
    code, text = run_cli(str(release.folder), "--approve", "residents", "--reviewer", "anna")
    assert code == 3 and "recorded: approve residents" in text  # 3: written without the differencing check
    assert (release.folder.parent / "rel.decisions.jsonl").exists()
    code, _ = run_cli(str(release.folder), "--reject", "effects", "--comment", "no", "--json")
    assert code == 3


def test_checksums_with_ten_digits_in_a_row_are_not_cpr_numbers() -> None:
    """A SHA-256 hex digest can contain a CPR-shaped digit run; it is part of a longer token."""
    from kit.release import scan

    digest = "3f0102031234aa" + "0" * 50
    assert not scan.has_cpr(digest)
    assert scan.has_cpr("id 0102031234 in text")
    assert scan.has_cpr("010203-1234")
