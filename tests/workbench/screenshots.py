"""Take the screenshots of docs/review.md: ``python tests/workbench/screenshots.py`` (about a minute;
``--diff-only`` takes only the diff view's, in seconds).

Builds the demo release (smallest population) and two small releases in a temporary folder,
walks a request through its lifecycle in headless Chromium and saves one PNG per view into
``docs/img/``. Needs playwright and the system Chromium (tests/workbench/browser.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"


def diff_screenshot(page: object, root: Path) -> None:
    """The diff view of a release whose registry found a risky cell (``--diff-only`` takes just this one)."""
    from helpers import two_releases  # type: ignore[import-not-found]

    from kit.workbench.server import start_workbench

    r1, r2, checker = two_releases(root)
    bench = start_workbench(r2, checker_dir=checker, reviewer="anna", against=r1)
    try:
        page.goto(bench.url)  # type: ignore[attr-defined]
        page.goto(f"{bench.base}/diff")  # type: ignore[attr-defined]
        page.screenshot(path=str(IMG / "workbench-diff.png"), full_page=True)  # type: ignore[attr-defined]
    finally:
        bench.close()


def main() -> int:
    """Write the screenshots; returns the exit code."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from browser import launch, missing  # type: ignore[import-not-found]
    from helpers import make_release  # type: ignore[import-not-found]
    from playwright.sync_api import sync_playwright

    from kit.demo.pipeline import run_demo
    from kit.release.request import RequestEvent
    from kit.release.review import Decision, record_decision, record_event
    from kit.workbench.server import start_workbench

    reason = missing()
    if reason:
        print(f"screenshots skipped: {reason}")
        return 1
    IMG.mkdir(parents=True, exist_ok=True)
    if "--diff-only" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
            browser = launch(pw)
            diff_screenshot(browser.new_page(viewport={"width": 1400, "height": 900}), Path(tmp))
            browser.close()
        print(f"screenshot written to {IMG / 'workbench-diff.png'}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = run_demo(root / "demo", persons=190_000, permutations=19, progress=False, echo=lambda _: None)
        checker = root / "demo" / "checker"
        release = demo.release
        record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
        record_event(release, RequestEvent.QUESTION, "e1_event_study", checker_dir=checker, reviewer="anna",
                     comment="Are the 30 comparison areas listed anywhere in the release?")
        record_event(release, RequestEvent.ANSWER, "e1_event_study", checker_dir=checker,
                     comment="No: only the effects are released; the areas stay in the project folder.")
        record_decision(release, "e0_employment_rates", Decision.APPROVE, checker_dir=checker, reviewer="anna")
        record_decision(release, "e3_decomposition", Decision.REJECT, checker_dir=checker, reviewer="anna",
                        comment="Stayers and movers together are too detailed for this transfer.")
        earlier, _ = make_release(root / "a")
        small, small_checker = make_release(root / "b", employment_offset=30)
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            bench = start_workbench(release, checker_dir=checker, reviewer="anna")
            try:
                page.goto(bench.url)
                page.screenshot(path=str(IMG / "workbench-overview.png"), full_page=True)
                page.goto(f"{bench.base}/output/e1_event_study")
                page.screenshot(path=str(IMG / "workbench-estimate.png"), full_page=False)
                page.goto(f"{bench.base}/output/bl_figure")
                page.screenshot(path=str(IMG / "workbench-figure.png"), full_page=False)
            finally:
                bench.close()
            bench = start_workbench(small, checker_dir=small_checker, reviewer="anna", against=earlier)
            try:
                page.goto(bench.url)
                page.goto(f"{bench.base}/output/residents")
                page.screenshot(path=str(IMG / "workbench-output.png"), full_page=True)
            finally:
                bench.close()
            diff_screenshot(page, root / "pair")
            report = small_checker / "rel" / "checker_report.html"
            page.goto(report.as_uri())
            page.screenshot(path=str(IMG / "checker-report.png"), full_page=False)
            browser.close()
    print(f"screenshots written to {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
