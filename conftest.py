"""Test-wide fixtures: every test gets its own project state folder (registry, ledger, decision log).

Without this, releases made by tests would share the developer's ``~/.kit-state`` and see each
other's outputs in the differencing registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_project_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A state folder for module- and session-scoped fixtures (set up before the per-test one), so
    that no test ever writes into the developer's ``~/.kit-state``."""
    old = os.environ.get("KIT_STATE_DIR")
    os.environ["KIT_STATE_DIR"] = str(tmp_path_factory.mktemp("kit-state-session"))
    yield
    if old is None:
        os.environ.pop("KIT_STATE_DIR", None)
    else:
        os.environ["KIT_STATE_DIR"] = old


@pytest.fixture(autouse=True)
def _isolated_project_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_STATE_DIR", str(tmp_path_factory.mktemp("kit-state")))
