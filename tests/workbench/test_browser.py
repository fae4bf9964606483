"""The workbench end to end in headless Chromium (Playwright), on the demo release.

One demo release per module (``kit demo`` at its smallest population, a few placebo runs),
one small release with suppressed cells; each user is a separate browser context with its own
workbench (the identity is the server's: the author is the OS user, reviewers are declared).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from kit.release.review import ReviewStatus, read_decisions, review_release
from kit.workbench.server import start_workbench

from .browser import launch, missing
from .helpers import author, make_release

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(bool(missing()), reason=missing() or "browser available")]

DEMO_PERSONS = 190_000  # the generator's smallest population for its named areas


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import synthetic
    from kit.demo.pipeline import run_demo

    out = tmp_path_factory.mktemp("wb-demo") / "demo"
    persons = max(DEMO_PERSONS, getattr(synthetic, "MIN_DEMO_PERSONS", DEMO_PERSONS))
    result = run_demo(out, persons=persons, permutations=19, progress=False, echo=lambda _: None)
    return result.release, out / "checker"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        yield b
        b.close()


def open_as(browser, bench):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(bench.url)
    return context, page


def manifest(release: Path) -> dict:
    return json.loads(next(release.glob("manifest.*")).read_text())


def test_suppressed_cells_are_highlighted(browser, tmp_path):
    release, checker = make_release(tmp_path)
    bench = start_workbench(release, checker_dir=checker, reviewer="anna")
    context, page = open_as(browser, bench)
    try:
        page.click("a[href='/output/residents']")
        primary = page.locator("#cells tr.st-primary")
        assert primary.count() == 1 and "Vejgaard" in primary.inner_text()
        colour = primary.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        assert page.locator("#published td.supp").count() >= 1
        n_all = page.locator("#cells tbody tr:visible").count()
        page.select_option("#cell-filter", "supp")  # the script's enhancement
        n_supp = page.locator("#cells tbody tr:visible").count()
        assert 1 <= n_supp < n_all
        # the researcher's context with markup arrives as text
        page.goto(f"{bench.base}/")
        assert page.title().startswith("Overview") and "<script>" in page.locator("#overview").inner_text()
    finally:
        context.close()
        bench.close()


def test_request_lifecycle_on_the_demo(browser, demo):
    release, checker = demo
    outputs = [o["name"] for o in manifest(release)["outputs"]]
    me = author()
    owner = start_workbench(release, checker_dir=checker)
    anna = start_workbench(release, checker_dir=checker, reviewer="anna")
    c1, a_page = open_as(browser, owner)
    c2, r_page = open_as(browser, anna)
    try:
        # overview lists every output
        assert a_page.locator("#me").inner_text() == me
        listed = a_page.locator("#overview tbody tr").evaluate_all("rows => rows.map(r => r.dataset.output)")
        assert listed == outputs
        a_page.click("#submit-request")
        assert "submitted" in a_page.locator("#request-state").inner_text()

        # a question returns the request to the author, who answers
        first, second = outputs[0], outputs[1]
        r_page.goto(f"{anna.base}/output/{first}")
        r_page.fill("textarea[name=comment]", "Which population is this?")
        r_page.click("button[value=question]")
        assert "returned" in r_page.locator("#request-state").inner_text()
        a_page.goto(f"{owner.base}/output/{first}")
        assert "Which population is this?" in a_page.locator(".thread").inner_text()
        assert a_page.locator("button[value=approve]").count() == 0  # the author has no decision buttons
        a_page.fill("textarea[name=comment]", "Residents aged 16-64, see the context.")
        a_page.click("button[value=answer]")
        assert "submitted" in a_page.locator("#request-state").inner_text()

        # the author is refused as reviewer (a forged post with the author's own token)
        resp = a_page.request.post(f"{owner.base}/act", form={
            "token": owner.config.token, "action": "approve", "output": first, "comment": ""})
        assert resp.status == 400 and "cannot review" in resp.text()

        # a second user approves one output and rejects another with a reason
        r_page.goto(f"{anna.base}/output/{first}")
        r_page.click("button[value=approve]")
        assert r_page.locator("#output-state").inner_text() == "approved"
        r_page.goto(f"{anna.base}/output/{second}")
        r_page.fill("textarea[name=comment]", "Too detailed for a first transfer.")
        r_page.click("button[value=reject]")
        assert r_page.locator("#output-state").inner_text() == "rejected"

        # the zip holds exactly the approved outputs, with valid checksums
        r_page.goto(f"{anna.base}/")
        with r_page.expect_download() as info:
            r_page.click("#takehome")
        saved = Path(info.value.path())
        doc = manifest(release)
        allowed = set(doc["file_types_allowed"])
        files = next(o["files"] for o in doc["outputs"] if o["name"] == first)
        with zipfile.ZipFile(saved) as zf:
            inner = json.loads(zf.read("takehome-manifest.json"))
            assert set(zf.namelist()) == {f for f in files if f.rsplit(".", 1)[-1] in allowed} | {
                "takehome-manifest.json"}
            for rec in inner["files"]:
                assert hashlib.sha256(zf.read(rec["path"])).hexdigest() == rec["sha256"]
                assert rec["sha256"] == next(f["sha256"] for f in doc["files"] if f["path"] == rec["path"])
        assert [o["name"] for o in inner["outputs"]] == [first]
    finally:
        c1.close()
        c2.close()
        owner.close()
        anna.close()
    # the decision log verifies
    result = review_release(release, checker_dir=checker)
    assert result.status is not ReviewStatus.TAMPERED
    entries, problems = read_decisions(checker / release.name / "decisions.jsonl")
    assert problems == []
    assert [e["event"] for e in entries] == ["submit", "question", "answer", "decision", "decision"]
