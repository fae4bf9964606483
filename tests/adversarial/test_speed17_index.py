"""Issue 17, speed item: the merged sketch index is exact, tamper-evident and crash-safe.

The registry tests every recorded output at once on one merged, memory-mapped index
(kit/release/index.py, kit/release/prefilter.py). An attacker would look for

- a pair the index lets through although the rule fires: across index chunks, across records,
  after a dropped (aborted) release rebuilt the index, with a larger comparison bound;
- an edited or deleted index file that silently makes the registry forget outputs;
- a writer killed while appending that leaves rows the next release misreads.

The reference is an independent brute force with Python sets (the rule of docs/releases.md),
shared with test_diff2_index.py.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit.release.prefilter as prefilter
from kit.core.rules import load_rule_set
from kit.release.index import RegistryDamagedError
from kit.release.registry import ReleaseRegistry
from tests.adversarial.test_diff2_index import _cells, _keys, _output, _risky

RULES = load_rule_set("dst")


def _reference(new: list, recorded: list, k: int) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for i, a in enumerate(new):
        others = [(f"n{j}", c) for j, c in enumerate(new) if j > i] + [(f"r{j}", c) for j, c in enumerate(recorded)]
        for name, b in others:
            risky = _risky(a, b, k)
            if risky:
                out[(f"n{i}", name)] = risky
    return out


@pytest.fixture
def tiny_chunks_and_small_cells_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefilter, "SMALL", 3)  # the sketch paths do the work, not the small-cell keys
    monkeypatch.setattr(prefilter, "CHUNK_ROWS", 7)  # many vectorised passes of a few outputs each


@pytest.mark.usefixtures("tiny_chunks_and_small_cells_off")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1), st.sampled_from([2, 3, 4]), st.booleans())
def test_chunked_incremental_index_finds_exactly_the_brute_force_pairs(seed: int, threshold: int, drop: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 90))
    units, keys = np.arange(n), _keys(rng, n)
    recorded = [_output(rng, units, keys) for _ in range(int(rng.integers(2, 8)))]
    new = [_output(rng, units, keys) for _ in range(int(rng.integers(1, 3)))]
    with tempfile.TemporaryDirectory() as tmp:
        reg = ReleaseRegistry(Path(tmp) / "differencing")
        bound = threshold - 1 + int(rng.integers(0, 3))  # a larger comparison bound: more buckets
        with reg.held():
            for i, c in enumerate(recorded):  # one record per output: the index grows incrementally
                reg.record_cells([_cells(f"r{i}", c)], RULES, "t", bound=bound)
            if drop:  # a failed release in the middle, then another record: the index is rebuilt
                extra = _output(rng, units, keys)
                reg.record_cells([_cells("gone", extra)], RULES, "t", pending="/nowhere/x", bound=bound)
                reg.record_cells([_cells("late", recorded[0])], RULES, "t", bound=bound)
                recorded.append(recorded[0])
                reg.abort("/nowhere/x")
            found = reg.check_cells([_cells(f"n{i}", c) for i, c in enumerate(new)], threshold, bound=bound)
    fast = {(p.table, p.other_table.replace("late", f"r{len(recorded) - 1}")): p.n_risky_cells
            for p in found if p.blocking}
    assert fast == _reference(new, recorded, threshold - 1)


def _registry(tmp_path: Path) -> ReleaseRegistry:
    rng = np.random.default_rng(3)
    keys = _keys(rng, 300)
    reg = ReleaseRegistry(tmp_path / "differencing")
    with reg.held():
        for i in range(3):
            cells = [(frozenset(keys[j * 100:(j + 1) * 100 - i].tolist()), True, 0, False) for j in range(3)]
            reg.record_cells([_cells(f"o{i}", cells)], RULES, "t")
    return reg


def _minus_one(reg: ReleaseRegistry) -> list:
    keys = _keys(np.random.default_rng(3), 300)
    return [_cells("new", [(frozenset(keys[1:100].tolist()), True, 0, False)])]


@pytest.mark.parametrize("damage", ["flip", "delete", "truncate", "forget"])
def test_a_damaged_or_edited_index_stops_the_check(tmp_path: Path, damage: str) -> None:
    reg = _registry(tmp_path)
    column = reg.folder / "index" / "m3" / "total.bin"
    if damage == "flip":  # the attacker zeroes one recorded key sum (the output would look unrelated)
        data = bytearray(column.read_bytes())
        data[8] ^= 0xFF
        column.write_bytes(bytes(data))
    elif damage == "delete":
        column.unlink()
    elif damage == "truncate":
        column.write_bytes(column.read_bytes()[:-8])
    else:  # drop the index lengths from index.json
        doc = json.loads(reg.path.read_text())
        doc["index"] = {}
        reg.path.write_text(json.dumps(doc))
    with reg.held(), pytest.raises(RegistryDamagedError) as err:
        reg.check_cells(_minus_one(reg), 3)
    assert err.value.exit_code == 4 and "rebuild_index" in str(err.value)


def test_rebuilt_index_finds_the_pair_again(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    (reg.folder / "index" / "m3" / "low.bin").write_bytes(b"")
    with reg.held():
        with pytest.raises(RegistryDamagedError):
            reg.check_cells(_minus_one(reg), 3)
        reg.rebuild_index()
        pairs = reg.check_cells(_minus_one(reg), 3)
    assert sorted(p.other_table for p in pairs if p.blocking) == ["o0", "o1"]


def test_rows_of_a_killed_writer_are_ignored_then_cut(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    sizes = {p.name: p.stat().st_size for p in (reg.folder / "index" / "m3").iterdir()}
    for p in (reg.folder / "index" / "m3").iterdir():  # a writer killed after appending, before index.json
        with open(p, "ab") as f:
            f.write(b"\x00" * 24)
    with reg.held():
        assert sorted(p.other_table for p in reg.check_cells(_minus_one(reg), 3) if p.blocking) == ["o0", "o1"]
        keys = _keys(np.random.default_rng(9), 50)
        reg.record_cells([_cells("o3", [(frozenset(keys.tolist()), True, 0, False)])], RULES, "t")
        assert sorted(p.other_table for p in reg.check_cells(_minus_one(reg), 3) if p.blocking) == ["o0", "o1"]
    grown = {p.name: p.stat().st_size for p in (reg.folder / "index" / "m3").iterdir()}
    assert all(grown[n] >= sizes[n] for n in sizes)


def test_an_index_of_the_earlier_format_is_rebuilt_from_the_data_files(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    doc = json.loads(reg.path.read_text())
    for e in doc["outputs"]:  # format 3: no merged index, one sketch file per output
        del e["index"]
        e["sketch"] = e["file"]
    doc["format"], doc["index"] = 3, {}
    reg.path.write_text(json.dumps(doc))
    (reg.folder / "sketches").mkdir()
    shutil.rmtree(reg.folder / "index")
    with reg.held():
        pairs = reg.check_cells(_minus_one(reg), 3)
    assert sorted(p.other_table for p in pairs if p.blocking) == ["o0", "o1"]
    assert json.loads(reg.path.read_text())["format"] == 4


def test_republished_and_near_repeat_outputs_are_proved_safe_without_reading_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(11)
    keys = _keys(rng, 20_000)
    cells = [(frozenset(keys[j * 400:(j + 1) * 400].tolist()), True, 0, False) for j in range(50)]
    reg = ReleaseRegistry(tmp_path / "differencing")
    with reg.held():
        for i in range(4):
            reg.record_cells([_cells(f"same{i}", cells)], RULES, "t")
        # the same classification for other populations: every cell loses 30-60 of its persons
        for i in range(4):
            near = [(frozenset(list(c[0])[30 + 10 * i:]), True, 0, False) for c in cells]
            reg.record_cells([_cells(f"near{i}", near)], RULES, "t")
    read: list[str] = []
    real = ReleaseRegistry._cells

    def spy(self: ReleaseRegistry, e: dict) -> object:
        read.append(str(e["output"]))
        return real(self, e)

    monkeypatch.setattr(ReleaseRegistry, "_cells", spy)
    with reg.held():
        assert not reg.check_cells([_cells("again", cells)], 3)
        assert read == []
        # one person fewer in one cell: every output holding that cell is read and blocks
        minus = [(cells[0][0] - {next(iter(cells[0][0]))}, True, 0, False), *cells[1:]]
        pairs = reg.check_cells([_cells("minus", minus)], 3)
    assert sorted(p.other_table for p in pairs if p.blocking) == [f"same{i}" for i in range(4)]
    assert sorted(read) == [f"same{i}" for i in range(4)]


def test_a_writer_killed_while_dropping_a_middle_release_leaves_a_rebuildable_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = _registry(tmp_path)
    keys = _keys(np.random.default_rng(5), 40)
    with reg.held():
        reg.record_cells([_cells("gone", [(frozenset(keys.tolist()), True, 0, False)])], RULES, "t", pending="/no/x")
        reg.record_cells([_cells("late", [(frozenset(keys[:20].tolist()), True, 0, False)])], RULES, "t")

        def killed(self: ReleaseRegistry, bound: int | None = None) -> None:
            raise KeyboardInterrupt  # the writer dies before rebuilding the index

        monkeypatch.setattr(ReleaseRegistry, "rebuild_index", killed)
        with pytest.raises(KeyboardInterrupt):
            reg.abort("/no/x")
        monkeypatch.undo()
        # the next use rebuilds the index from the data files and still finds the recorded pair
        pairs = reg.check_cells(_minus_one(reg), 3)
    assert sorted(p.other_table for p in pairs if p.blocking) == ["o0", "o1"]
    assert [e["output"] for e in reg._index()] == ["o0", "o1", "o2", "late"]
