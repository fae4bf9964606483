"""The workbench's templates and assets ship in the wheel (package data), so it works offline."""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_every_template_and_asset_is_package_data():
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    tool = doc["tool"]["setuptools"]
    assert "kit.workbench" in tool["packages"]
    globs = tool["package-data"]["kit.workbench"]
    folder = ROOT / "kit" / "workbench"
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
             if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts]
    assert files, "no templates or assets found"
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert missing == []


def test_pages_reference_only_packaged_assets():
    folder = ROOT / "kit" / "workbench"
    html = "".join(p.read_text() for p in (folder / "templates").glob("*.j2"))
    assert "http://" not in html and "https://" not in html  # no CDN
    for asset in ("workbench.css", "workbench.js"):
        assert f"/static/{asset}" in html and (folder / "static" / asset).is_file()
