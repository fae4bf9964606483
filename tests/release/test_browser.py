"""A real browser renders the release report (headless Chromium; skipped when absent).

The screenshot is kept as a test artifact in ``$KIT_TEST_ARTIFACTS`` (default:
``tests/artifacts/release/``, ignored by git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import kit
from kit.release import write_release

CHROMIUM = next(
    (
        p
        for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
        if p and Path(p).exists()
    ),
    None,
)
ARTIFACTS = (
    Path(os.environ.get("KIT_TEST_ARTIFACTS", Path(__file__).resolve().parents[1] / "artifacts")) / "release"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium (/usr/bin/chromium) is not installed"),
]


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


def test_report_renders_in_chromium(tmp_path, count_table, rate_table, estimate, bl_figure):
    import matplotlib.image

    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table), kit.clear(rate_table), estimate, bl_figure],
        count_table.rules,
        title="Aalborg East: employment",
        formats=("html", "svg"),
        differencing=False,
    )
    url = (res.folder / "report.html").resolve().as_uri()
    dom = _chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for text in ("Aalborg East: employment", "Residents by area and year", "<svg", "Provenance"):
        assert text in dom.stdout
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    run = _chromium(
        "--window-size=1200,2600",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        url,
        profile=tmp_path / "profile-shot",
    )
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[0] >= 2000 and float(pixels[..., :3].std()) > 0.05
