"""environment.yml and the install docs agree with pyproject.toml (issue 22)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
#: conda-forge names that differ from the package index's.
CONDA_NAMES = {"matplotlib": "matplotlib-base"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def test_every_core_dependency_is_in_the_conda_environment() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    listed = {_name(line.strip().lstrip("- ")) for line in (ROOT / "environment.yml").read_text().splitlines()
              if line.strip().startswith("- ")}
    for requirement in project["dependencies"]:
        name = _name(requirement)
        assert CONDA_NAMES.get(name, name) in listed, name
    for requirement in project["optional-dependencies"]["dp"] + project["optional-dependencies"]["sas"]:
        assert _name(requirement) in listed, requirement


def test_the_distribution_name_is_used_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "sdc-kit"
    assert project["scripts"] == {"kit": "kit.cli:main"}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        assert "install 'kit[" not in text and 'install "kit[' not in text, path.name
        assert not re.search(r"pip install kit\b", text), path.name
