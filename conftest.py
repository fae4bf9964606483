"""Test-wide fixtures: every test gets its own project state folder (registry, ledger, decision log).

Without this, releases made by tests would share the developer's ``~/.kit-state`` and see each
other's outputs in the differencing registry.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_project_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_STATE_DIR", str(tmp_path_factory.mktemp("kit-state")))
