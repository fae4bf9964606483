"""Adversarial: forged cleared objects (issue 16, item 1).

Each test is an attack a hurried researcher could write with ordinary Python (no
monkeypatching). The attacker's own computation is the true, risky value of a cell that
the rules suppress (a sum over two persons, computed here with plain Python). Every
attack must raise a KitError, or be caught by ``write_release``, and no file anywhere
under the test folder may hold the forged value.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.core.cleared import ClearedRow, ClearedTable
from kit.core.rules import load_rule_set
from kit.core.status import CellStatus
from kit.errors import DisclosureError, KitError
from kit.release import write_release

CREATED = "2024-05-01T12:00:00+00:00"
# Area "Risky" has two persons; their incomes sum to a number that appears nowhere else.
RISKY_INCOMES = (61111.0, 62346.0)
SAFE_INCOMES = (10000.0, 10100.0, 10200.0, 10300.0, 10400.0)


def _frame() -> pd.DataFrame:
    rows = [(1, "Risky", RISKY_INCOMES[0]), (2, "Risky", RISKY_INCOMES[1])]
    rows += [(10 + i, "Safe", v) for i, v in enumerate(SAFE_INCOMES)]
    return pd.DataFrame(rows, columns=["PNR", "area", "inc"])


def _secret_text() -> str:
    """The attacker's own computation: the risky cell's true sum, as it would be printed."""
    total = 0.0
    for v in RISKY_INCOMES:
        total += v
    return f"{total:.0f}"  # "123457"


def _session() -> kit.Session:
    return kit.Session(rules="dst", unit="PNR", created=CREATED)


def _table() -> kit.core.table.Table:
    return _session().table(_frame(), rows="area", stat="sum", measure="inc", name="income")


def _no_file_holds(root: Path, text: str) -> None:
    variants = {text, f"{int(text):,}", f"{int(text):,}".replace(",", " "), f"{int(text):,}".replace(",", ".")}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", errors="replace")
            for v in variants:
                assert v not in data, path.name


def _release_refused(tmp_path: Path, outputs: list[object]) -> None:
    with pytest.raises(KitError):
        write_release(tmp_path / "rel", outputs, load_rule_set("dst"), title="t",
                      formats=("html", "md"), checker_dir=tmp_path / "checker")
    assert not (tmp_path / "rel").exists()
    _no_file_holds(tmp_path, _secret_text())


def _forged_rows(cleared: ClearedTable) -> tuple[ClearedRow, ...]:
    secret = float(_secret_text())
    return tuple(ClearedRow(r.keys, (secret,), False, r.is_margin) if r.suppressed else r for r in cleared.rows)


def test_the_honest_table_suppresses_the_risky_cell(tmp_path: Path) -> None:
    cleared = kit.clear(_table())
    assert [r.suppressed for r in cleared.rows] == [True, False]
    res = write_release(tmp_path / "rel", [cleared], load_rule_set("dst"), title="t", formats=("html", "md"))
    assert res.folder.exists()
    _no_file_holds(tmp_path, _secret_text())


def test_dataclasses_replace_refuses(tmp_path: Path) -> None:
    cleared = kit.clear(_table())
    with pytest.raises(DisclosureError):
        dataclasses.replace(cleared, rows=_forged_rows(cleared))
    with pytest.raises(DisclosureError):
        cleared.__replace__(rows=_forged_rows(cleared))  # what copy.replace (3.13) calls
    _no_file_holds(tmp_path, _secret_text())


def test_reusing_another_objects_gate_refuses() -> None:
    cleared = kit.clear(_table())
    gate = getattr(cleared, "gate", kit.core.cleared._GATE)  # the gate is not even a field any more
    assert gate is None or gate is kit.core.cleared._GATE  # no capability is stored on the object
    with pytest.raises(DisclosureError):
        ClearedTable(name="x", title="x", statistic="sum", dims=cleared.dims, value_columns=cleared.value_columns,
                     rows=_forged_rows(cleared), notes=(), symbol="x", provenance=cleared.provenance, gate=gate)


def test_importing_the_module_gate_refuses() -> None:
    from kit.core.cleared import _GATE

    cleared = kit.clear(_table())
    with pytest.raises(DisclosureError):
        ClearedTable(name="x", title="x", statistic="sum", dims=cleared.dims, value_columns=cleared.value_columns,
                     rows=_forged_rows(cleared), notes=(), symbol="x", provenance=cleared.provenance, gate=_GATE)
    table = _table()
    with pytest.raises(DisclosureError):
        table._build_cleared(_GATE)  # the builder outside kit.clear()


def test_a_look_alike_result_class_is_refused_by_clear() -> None:
    class Mine:
        def _build_cleared(self, gate: object, *, allow_review: bool = False) -> object:
            return None

    with pytest.raises(DisclosureError):
        kit.clear(Mine())


@pytest.mark.parametrize("target", ["row", "table"])
def test_object_setattr_is_caught_by_the_writer(tmp_path: Path, target: str) -> None:
    cleared = kit.clear(_table())
    forged = _forged_rows(cleared)
    if target == "row":
        i = next(i for i, r in enumerate(cleared.rows) if r.suppressed)
        object.__setattr__(cleared.rows[i], "suppressed", False)
        object.__setattr__(cleared.rows[i], "values", (float(_secret_text()),))
    else:
        object.__setattr__(cleared, "rows", forged)
    _release_refused(tmp_path, [cleared])


def test_pickle_and_copies_refuse_and_a_state_copy_is_caught(tmp_path: Path) -> None:
    cleared = kit.clear(_table())
    for attack in (lambda: pickle.dumps(cleared), lambda: copy.copy(cleared), lambda: copy.deepcopy(cleared),
                   lambda: pickle.dumps(cleared.rows[0]), lambda: copy.deepcopy(cleared.provenance)):
        with pytest.raises(DisclosureError):
            attack()
    # the slot state copied by hand into a fresh object, with one value changed
    state = cleared.__getstate__()  # type: ignore[attr-defined]
    clone = object.__new__(ClearedTable)
    clone.__setstate__(state)  # type: ignore[attr-defined]
    object.__setattr__(clone, "rows", _forged_rows(cleared))
    _release_refused(tmp_path, [clone])


def test_statuses_set_to_safe_on_the_private_table(tmp_path: Path) -> None:
    table = _table()
    with pytest.raises(TypeError):
        table.assessment.statuses[0] = CellStatus.SAFE  # type: ignore[index]
    with pytest.raises(ValueError):
        table.assessment.published[0] = False
    table.assessment.statuses = (CellStatus.SAFE,) * len(table.assessment.statuses)
    cleared = kit.clear(table)  # clear() uses the forged statuses ...
    assert not any(r.suppressed for r in cleared.rows)
    _release_refused(tmp_path, [cleared])  # ... the writer re-derives them from the evidence
    with pytest.raises(KitError):
        _session().release(tmp_path / "rel2", [table], title="t", formats=("md",))
    assert not (tmp_path / "rel2").exists()
    _no_file_holds(tmp_path, _secret_text())


@pytest.mark.parametrize("when", ["before clear", "after clear"])
def test_edited_evidence_is_caught(tmp_path: Path, when: str) -> None:
    table = _table()
    cleared = kit.clear(table) if when == "after clear" else None
    cells = table.evidence.cells
    cells.loc[cells["n_units"] == 2, "n_units"] = 7  # the risky cell now claims 7 persons
    table.assessment.statuses = (CellStatus.SAFE,) * len(table.assessment.statuses)
    if cleared is None:
        with pytest.raises(DisclosureError):
            kit.clear(table)
        with pytest.raises(KitError):
            _session().release(tmp_path / "rel2", [table], title="t", formats=("md",))
        assert not (tmp_path / "rel2").exists()
    else:
        _release_refused(tmp_path, [cleared])


def test_an_output_without_evidence_is_refused(tmp_path: Path) -> None:
    cleared = kit.clear(_table())
    object.__setattr__(cleared, "_source", None)
    _release_refused(tmp_path, [cleared])


def test_a_swapped_private_result_is_caught(tmp_path: Path) -> None:
    a, b = kit.clear(_table()), _table()
    object.__setattr__(a, "_source", b)
    _release_refused(tmp_path, [a])


def test_key_columns_are_refused_by_the_writer_even_with_mixed_rule_sets(tmp_path: Path) -> None:
    text = (Path(kit.__file__).resolve().parents[1] / "disclosure_rules" / "dst.toml").read_text()
    text = text.replace('id = "dst"', 'id = "keys-allowed"', 1)
    start = text.index('id = "dst-keys"')
    end = text.index("[[rules]]", start)
    text = text[:start] + text[start:end].replace("allow = false", "allow = true") + text[end:]
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    session = kit.Session(rules=str(path), unit="PNR", created=CREATED)
    frame = _frame().assign(CPR_AREA=lambda d: d["area"])
    cleared = kit.clear(session.table(frame, rows="CPR_AREA", stat="count", name="by_key"))
    with pytest.raises(DisclosureError, match="key column"):
        write_release(tmp_path / "rel", [cleared], load_rule_set("dst"), title="t", formats=("md",),
                      mixed_rule_sets=True)
    assert not (tmp_path / "rel").exists()


def test_dropping_secondary_suppression_is_caught_by_the_re_audit(tmp_path: Path) -> None:
    # 40 persons in four areas over two years, plus two persons alone in area E in 2019
    rows = [(i, "ABCD"[i % 4], ("2019", "2020")[(i // 4) % 2]) for i in range(40)]
    rows += [(100, "E", "2019"), (101, "E", "2019"), (102, "E", "2020"), (103, "E", "2020"), (104, "E", "2020")]
    frame = pd.DataFrame(rows, columns=["PNR", "area", "year"])
    table = _session().table(frame, rows="area", cols="year", stat="count", margins=True, name="grid")
    assert CellStatus.SECONDARY in table.assessment.statuses
    # the attack: publish the secondary cells, keep the primary one suppressed
    table.assessment.statuses = tuple(CellStatus.SAFE if s is CellStatus.SECONDARY else s
                                      for s in table.assessment.statuses)
    cleared = kit.clear(table)
    # the attacker's own recovery: the E row total minus E/2020 gives E/2019 exactly
    published = {r.keys: r.values[0] for r in cleared.rows if not r.suppressed}
    total_keys = next(k for k in published if k[0] == "E" and k[1] not in ("2019", "2020"))
    recovered = published[total_keys] - published[("E", "2020")]
    assert recovered == sum(1 for _, a, y in rows if a == "E" and y == "2019")
    with pytest.raises(DisclosureError, match="audit"):
        write_release(tmp_path / "rel", [cleared], load_rule_set("dst"), title="t", formats=("html",))
    assert not (tmp_path / "rel").exists()


def test_an_estimate_labelled_by_a_key_column_is_refused_by_the_writer(tmp_path: Path) -> None:
    """Writer backstop for every producer (DP tables included): labels that are key columns never leave."""
    from kit.core.cleared import _GATE, ClearedEstimate, EstimateKind, EstimateRow, _clearance, _seal

    class _Source:  # stand-in for a producer's private result (test-only use of the clearance window)
        pass

    provenance = kit.clear(_table()).provenance
    person = "0101701234"  # a CPR-shaped label the producer let through
    with _clearance():
        forged = ClearedEstimate(name="by_person", title="t", kind=EstimateKind.DP_TABLE, columns=("value",),
                                 rows=(EstimateRow(term=person, keys=(("CPR", person),), values=(1.0,)),),
                                 n_reported="1", notes=(), symbol="x", provenance=provenance, gate=_GATE)
        _seal(forged, _Source())
    with pytest.raises(DisclosureError, match="key column"):
        write_release(tmp_path / "rel", [forged], load_rule_set("dst"), title="t", formats=("html",))
    assert not (tmp_path / "rel").exists()
    _no_file_holds(tmp_path, person)
