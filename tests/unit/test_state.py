"""The project state folder, its inter-process lock and atomic writes (kit/state.py)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.state import (
    ENV_STATE_DIR,
    STATE_FOLDER_NAME,
    StateLockError,
    atomic_write_bytes,
    locked,
    project_state_dir,
)


def test_explicit_folder_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_STATE_DIR, str(tmp_path / "env"))
    assert project_state_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert (tmp_path / "explicit").is_dir()
    assert project_state_dir() == tmp_path / "env"


def test_nearest_state_folder_above_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STATE_DIR)
    (tmp_path / STATE_FOLDER_NAME).mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_state_dir() == tmp_path / STATE_FOLDER_NAME


def test_home_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STATE_DIR)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert project_state_dir(create=False) == tmp_path / "home" / STATE_FOLDER_NAME


def test_a_file_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(KitError, match="not a folder"):
        project_state_dir(tmp_path / "f")


def test_atomic_write_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "s.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def _hold(path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    with locked(path):
        ready.set()
        release.wait(30)


def test_lock_held_by_another_process_times_out_closed(tmp_path: Path) -> None:
    target = tmp_path / "ledger.jsonl"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(target), ready, release))
    proc.start()
    try:
        assert ready.wait(60)
        with pytest.raises(StateLockError, match="nothing was changed"), locked(target, timeout=0.2):
            atomic_write_bytes(target, b"never")
        assert not target.exists()
    finally:
        release.set()
        proc.join(30)
    with locked(target, timeout=5):
        atomic_write_bytes(target, b"after")
    assert target.read_bytes() == b"after"


def _increment(path: str, times: int) -> None:
    for _ in range(times):
        with locked(path):
            value = int(Path(path).read_text()) if os.path.exists(path) else 0
            atomic_write_bytes(path, str(value + 1).encode())


def test_concurrent_read_modify_write_loses_nothing(tmp_path: Path) -> None:
    target = tmp_path / "counter"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(str(target), 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert target.read_text() == "100"
