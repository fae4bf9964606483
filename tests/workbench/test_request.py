"""The release request's lifecycle, through the library and the command line."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from kit.cli.review import register
from kit.errors import SpecError
from kit.release.request import REQUEST_FILE, OutputState, RequestEvent, RequestState, SiteReview
from kit.release.review import Decision, ReviewStatus, read_decisions, record_decision, record_event, review_release

from .helpers import author


def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="kit")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["review", *argv])
    out = io.StringIO()
    return args.handler(args, out=out), out.getvalue()


def test_request_written_beside_the_checker_report_not_in_the_release(rel):
    release, checker = rel
    doc = json.loads((checker / "rel" / REQUEST_FILE).read_text())
    assert doc["author"] == author()
    assert doc["outputs"]["residents"]["controls"].startswith("threshold 3")
    assert not list(release.rglob(REQUEST_FILE))
    result = review_release(release, checker_dir=checker)
    assert result.request is not None and result.request.state is RequestState.DRAFT


def test_full_lifecycle(rel):
    release, checker = rel
    with pytest.raises(SpecError, match="draft"):
        record_decision(release, "residents", Decision.APPROVE, checker_dir=checker, reviewer="anna")
    with pytest.raises(SpecError, match="only the request's author can submit"):
        record_event(release, RequestEvent.SUBMIT, checker_dir=checker, reviewer="anna")
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)  # the OS user: the author
    r = record_event(release, RequestEvent.QUESTION, "residents", comment="why 2017?", checker_dir=checker,
                     reviewer="anna")
    assert r.request is not None and r.request.state is RequestState.RETURNED
    assert r.request.outputs["residents"].state is OutputState.QUESTION
    with pytest.raises(SpecError, match="open question"):
        record_decision(release, "residents", "approve", checker_dir=checker, reviewer="anna")
    with pytest.raises(SpecError, match="only the request's author answers"):
        record_event(release, RequestEvent.ANSWER, "residents", comment="x", checker_dir=checker, reviewer="anna")
    r = record_event(release, RequestEvent.ANSWER, "residents", comment="the programme year", checker_dir=checker)
    assert r.request is not None and r.request.state is RequestState.SUBMITTED
    with pytest.raises(SpecError, match="cannot review"):
        record_decision(release, "residents", "approve", checker_dir=checker, reviewer=author())
    with pytest.raises(SpecError, match="needs a comment"):
        record_decision(release, "employment", "reject", checker_dir=checker, reviewer="anna")
    record_decision(release, "residents", "approve", checker_dir=checker, reviewer="anna")
    r = record_decision(release, "employment", "reject", comment="too detailed", checker_dir=checker,
                        reviewer="anna")
    assert r.request is not None
    assert {n: s.state for n, s in r.request.outputs.items()} == {
        "residents": OutputState.APPROVED, "employment": OutputState.REJECTED}
    assert r.request.state is RequestState.REVIEWED
    entries, problems = read_decisions(checker / "rel" / "decisions.jsonl")
    assert problems == []
    assert [e.get("event") for e in entries] == ["submit", "question", "answer", "decision", "decision"]
    assert all(e["os_user"] == author() for e in entries)


def test_two_independent_reviews_when_the_site_asks(rel, monkeypatch, tmp_path):
    release, checker = rel
    state = tmp_path / "state"
    state.mkdir()
    (state / "review.toml").write_text("reviews_required = 2\n")
    monkeypatch.setenv("KIT_STATE_DIR", str(state))
    code, _ = cli(str(release), "--checker-dir", str(checker), "--submit")
    assert code in (0, 3)
    code, text = cli(str(release), "--checker-dir", str(checker), "--approve", "residents", "--reviewer", "anna")
    assert "residents: in review" in text
    # the same reviewer twice is still one review
    code, text = cli(str(release), "--checker-dir", str(checker), "--approve", "residents", "--reviewer", "anna")
    assert "residents: in review" in text
    code, text = cli(str(release), "--checker-dir", str(checker), "--approve", "residents", "--reviewer", "bo")
    assert "residents: approved (anna approve, bo approve)" in text


def test_replacing_an_output_resets_its_reviews(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    record_decision(release, "residents", "approve", checker_dir=checker, reviewer="anna")
    record_decision(release, "employment", "approve", checker_dir=checker, reviewer="anna")
    # the researcher replaces one output: a digest of different content must not carry the review
    from kit.release.request import load_request, output_digests, replay

    log = checker / "rel" / "decisions.jsonl"
    entries, _ = read_decisions(log)
    request, sha = load_request(checker / "rel")
    assert request is not None
    digests = {"residents": "0" * 64, "employment": entries[-1]["output_sha256"]}
    status = replay(request, sha, entries, ["residents", "employment"], digests, 1)
    assert status.outputs["residents"].state is OutputState.PENDING
    assert status.outputs["employment"].state is OutputState.APPROVED
    assert output_digests({"outputs": [{"name": "a", "files": []}]}) != output_digests(
        {"outputs": [{"name": "a", "files": [], "n_rows": 2}]})


def test_an_edited_request_file_is_tampered(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    path = checker / "rel" / REQUEST_FILE
    doc = json.loads(path.read_text())
    doc["author"] = "someone-else"  # so that the author could approve their own outputs
    path.write_text(json.dumps(doc))
    result = review_release(release, checker_dir=checker)
    assert result.status is ReviewStatus.TAMPERED
    assert any("request.json" in p for p in result.problems)


def test_site_can_require_a_request(tmp_path, monkeypatch):
    import kit

    from .helpers import CREATED, frame

    session = kit.Session(rules="dst", unit="PNR", created=CREATED)
    t = session.table(frame(), rows="area", cols="year", stat="count", name="t")
    session.release(tmp_path / "r", [t], title="t", checker_dir=tmp_path / "c")
    with pytest.raises(SpecError, match="requires a release request"):
        record_decision(tmp_path / "r", "t", "approve", checker_dir=tmp_path / "c", reviewer="anna",
                        site=SiteReview(1, True))
    # without the site's requirement the release is decided as before (no lifecycle)
    r = record_decision(tmp_path / "r", "t", "approve", checker_dir=tmp_path / "c", reviewer="anna")
    assert r.request is None and r.outputs[0].decision == "approve"


def test_request_names_unknown_output_refused(tmp_path):
    import kit

    from .helpers import CREATED, frame

    session = kit.Session(rules="dst", unit="PNR", created=CREATED)
    t = session.table(frame(), rows="area", cols="year", stat="count", name="t")
    with pytest.raises(SpecError, match="does not hold"):
        session.release(tmp_path / "r", [t], title="t", checker_dir=tmp_path / "c", request={"nope": "x"})
    with pytest.raises(SpecError, match="checker folder"):
        session.release(tmp_path / "r", [t], title="t", request={"t": "x"})
    assert not (tmp_path / "r").exists()


def test_a_request_cannot_be_bypassed_by_leaving_out_the_checker_folder(rel):
    """The author decides without --checker-dir (a log beside the release, no lifecycle): refused."""
    from kit.workbench.takehome import build_takehome
    from kit.workbench.views import snapshot

    release, _ = rel
    manifest = json.loads(next(release.glob("manifest.*")).read_text())
    assert manifest["review_request"] is True
    with pytest.raises(SpecError, match="written as a request"):
        record_decision(release, "residents", "approve", reviewer=author())
    assert not (release.parent / "rel.decisions.jsonl").exists()
    result = review_release(release)
    assert result.exit_code == 3 and any("written as a request" in n for n in result.notes)
    snap = snapshot(release, checker_dir=None, log_path=None, site=SiteReview(), reviewer=author())
    with pytest.raises(SpecError, match="written as a request"):
        build_takehome(snap, time="2024-01-01T00:00:00+00:00")


def test_kit_check_release_can_be_a_request(tmp_path, monkeypatch):
    """`kit check --release --checker-dir --context ...` writes request.json beside the checker's report."""
    import json

    from kit.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("KOM,n\n101,12\n147,20\n851,30\n", encoding="utf-8")
    args = ["check", "t.csv", "--dims", "KOM", "--count", "n", "--release", "rel", "--checker-dir", "chk",
            "--no-differencing-check", "--context", "Residents by municipality", "--controls", "counts >= 3"]
    assert main(args) == 0
    request = json.loads((tmp_path / "chk" / "rel" / "request.json").read_text(encoding="utf-8"))
    text = json.dumps(request)
    assert "Residents by municipality" in text and "counts >= 3" in text
    assert not (tmp_path / "rel" / "request.json").exists()
    # a request without a checker folder is refused before anything is written
    assert main(["check", "t.csv", "--dims", "KOM", "--count", "n", "--release", "rel2",
                 "--context", "x"]) == 2
    assert not (tmp_path / "rel2").exists()
