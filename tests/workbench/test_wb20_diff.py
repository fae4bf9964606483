"""The workbench's diff and one-output views name the registry's risky cells by their codes (issue 20, item 5).

Two releases of one project: ``r1`` publishes residents by KOM and KON; ``r2`` the same table for
the population minus one person in ``[KOM=K3, KON=F]``, written with the differencing check turned
off (the caller's explicit opt-out; the registry still compares and reports). The checker's diff of
``r2`` against ``r1`` shows the changed cell and names the risky pair of cells. A municipality code
with markup arrives as text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.workbench.server import cookie_name, start_workbench

from .browser import launch, missing
from .helpers import EVIL_CODE, request, two_releases

EVIL = EVIL_CODE
LINK = "residents [KOM=K3, KON=F] vs residents [KOM=K3, KON=F]"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return two_releases(tmp_path_factory.mktemp("wb20-diff"), evil=True)


def test_diff_and_output_views_name_the_risky_cells(pair: tuple[Path, Path, Path]) -> None:
    r1, r2, checker = pair
    bench = start_workbench(r2, checker_dir=checker, reviewer="anna", against=r1)
    try:
        cookie = f"{cookie_name(bench.port)}={bench.config.token}"
        status, _, body = request(bench.base, "GET", "/diff", cookie=cookie)
        page = body.decode()
        assert status == 200
        assert 'id="diff-risks"' in page and LINK in page and "NOT ENFORCED" in page
        assert "K3 × F" in page  # the changed cell of the same output name
        assert EVIL not in page and "&lt;img src=x onerror=" in page  # the code arrives as text
        status, _, body = request(bench.base, "GET", "/output/residents", cookie=cookie)
        page = body.decode()
        assert status == 200 and 'id="output-differencing"' in page and LINK in page
        assert EVIL not in page
    finally:
        bench.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(bool(missing()), reason=missing() or "browser available")
def test_diff_view_in_the_browser(pair: tuple[Path, Path, Path]) -> None:
    from playwright.sync_api import sync_playwright

    r1, r2, checker = pair
    bench = start_workbench(r2, checker_dir=checker, reviewer="anna", against=r1)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(bench.url)
            page.goto(f"{bench.base}/diff")
            risks = page.locator("#diff-risks")
            assert risks.is_visible()
            links = page.locator("#diff-risks code.cell-link").all_inner_texts()
            assert LINK in links
            assert any(f"KOM={EVIL}" in t for t in links)  # the code with markup, shown as text
            assert page.title().startswith("Diff")  # the markup in a code did not run
            page.goto(f"{bench.base}/output/residents")
            assert LINK in page.locator("#output-differencing").inner_text()
            browser.close()
    finally:
        bench.close()
