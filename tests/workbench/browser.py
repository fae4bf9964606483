"""Headless Chromium through Playwright for the workbench tests and the screenshots.

Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/run``) is used; Playwright's own
browser download is never needed. :func:`chromium_or_skip` gives the reason when either is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """The system Chromium, or ``None``."""
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str:
    """Why the browser tests cannot run ("" when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; the test extra has it)"
    if chromium_path() is None:
        return "no system Chromium (apt-get install chromium; .ci/run installs it)"
    return ""


def launch(pw: Any) -> Any:
    """Launch headless Chromium from the system."""
    return pw.chromium.launch(executable_path=chromium_path(), headless=True, args=ARGS)
