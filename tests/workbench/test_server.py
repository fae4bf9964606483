"""The workbench over HTTP (no browser): pages, actions, the take-home zip."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile

import pytest

from kit.release.request import RequestEvent
from kit.release.review import read_decisions, record_event
from kit.workbench.server import cookie_name, start_workbench
from kit.workbench.takehome import TAKEHOME_MANIFEST, takehome_path

from .helpers import author, request


@pytest.fixture
def bench(rel):
    release, checker = rel
    b = start_workbench(release, checker_dir=checker, reviewer="anna")
    yield b
    b.close()


def login(b) -> str:
    status, headers, _ = request(b.base, "GET", f"/?token={b.config.token}")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return f"{cookie_name(b.port)}={b.config.token}"


def test_overview_lists_outputs_with_counts(bench):
    cookie = login(bench)
    status, headers, body = request(bench.base, "GET", "/", cookie=cookie)
    html = body.decode()
    assert status == 200 and "default-src 'none'" in headers["content-security-policy"]
    for name in ("residents", "employment"):
        assert f'data-output="{name}"' in html
    # residents: 1 primary (Vejgaard 2011) and secondaries; the row shows "1 / n"
    assert re.search(r'<span class="supp-count">1 / [1-9]', html)


def test_output_page_shows_suppressed_cells_and_reasons(bench):
    cookie = login(bench)
    status, _, body = request(bench.base, "GET", "/output/residents", cookie=cookie)
    html = body.decode()
    assert status == 200
    assert 'class="cell st-primary"' in html and "BELOW_MIN_UNITS" in html
    assert 'class="supp"' in html  # the published table marks its suppressed cells
    assert "Vejgaard" in html


def test_actions_and_zip(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    b = start_workbench(release, checker_dir=checker, reviewer="anna")
    try:
        cookie = login(b)
        tok = b.config.token
        st, h, _ = request(b.base, "POST", "/act", cookie=cookie,
                           body={"token": tok, "action": "approve", "output": "residents", "comment": ""})
        assert st == 303 and h["location"] == "/output/residents"
        st, _, body = request(b.base, "POST", "/act", cookie=cookie,
                              body={"token": tok, "action": "reject", "output": "employment", "comment": ""})
        assert st == 400 and b"needs a comment" in body
        st, _, _ = request(b.base, "POST", "/act", cookie=cookie,
                           body={"token": tok, "action": "reject", "output": "employment", "comment": "no"})
        assert st == 303
        st, h, data = request(b.base, "POST", "/takehome", cookie=cookie, body={"token": tok})
        assert st == 200 and h["content-type"] == "application/zip"
    finally:
        b.close()
    target = takehome_path(release)
    assert target.read_bytes() == data
    doc = json.loads(release.joinpath("manifest.txt").read_text()) if release.joinpath("manifest.txt").exists() \
        else json.loads(next(release.glob("manifest.*")).read_text())
    residents_files = next(o["files"] for o in doc["outputs"] if o["name"] == "residents")
    allowed = set(doc["file_types_allowed"])
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        inner = json.loads(zf.read(TAKEHOME_MANIFEST))
        expected = {f for f in residents_files if f.rsplit(".", 1)[-1] in allowed}
        assert names == expected | {TAKEHOME_MANIFEST}
        for rec in inner["files"]:
            assert hashlib.sha256(zf.read(rec["path"])).hexdigest() == rec["sha256"]
    assert [o["name"] for o in inner["outputs"]] == ["residents"]
    entries, problems = read_decisions(checker / "rel" / "decisions.jsonl")
    assert problems == [] and len(entries) == 3


def test_author_is_refused_as_reviewer(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    b = start_workbench(release, checker_dir=checker, reviewer=author())
    try:
        cookie = login(b)
        st, _, body = request(b.base, "POST", "/act", cookie=cookie, body={
            "token": b.config.token, "action": "approve", "output": "residents", "comment": ""})
        assert st == 400 and b"cannot review" in body
    finally:
        b.close()


def test_diff_against_an_earlier_release(tmp_path):
    from .helpers import make_release

    earlier, _ = make_release(tmp_path / "a")
    now, checker = make_release(tmp_path / "b", employment_offset=30)
    b = start_workbench(now, checker_dir=checker, reviewer="anna", against=earlier)
    try:
        cookie = login(b)
        st, _, body = request(b.base, "GET", "/diff", cookie=cookie)
    finally:
        b.close()
    html = body.decode()
    assert st == 200
    assert re.search(r'<tr class="d-unchanged"><td><a href="/output/residents">', html)
    assert re.search(r'<tr class="d-changed"><td><a href="/output/employment">', html)
