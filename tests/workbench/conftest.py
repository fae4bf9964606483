"""Fixtures of the workbench tests: one small release with a request per module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import make_release


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wb-master")
    make_release(root)
    return root


@pytest.fixture
def rel(master: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of the release and its checker folder (decisions do not leak between tests)."""
    shutil.copytree(master / "rel", tmp_path / "rel")
    shutil.copytree(master / "checker", tmp_path / "checker")
    return tmp_path / "rel", tmp_path / "checker"
