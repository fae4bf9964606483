"""Adversarial: weak rule sets posing as dst (issue 16, item 2).

The attacker writes their own rule files and edits loaded rule sets with ordinary Python.
Each attack must raise a KitError (RuleSetError / DisclosureError, exit 2 on the CLI) or be
caught by the writer, and no file of a release may hold the value the weak set would let out.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.core.rules import load_rule_set
from kit.core.rules.model import Rule, RuleKind, Threshold
from kit.errors import DisclosureError, KitError, RuleSetError
from kit.release import write_release

ROOT = Path(kit.__file__).resolve().parents[1]
DST_TEXT = (ROOT / "disclosure_rules" / "dst.toml").read_text(encoding="utf-8")
CREATED = "2024-05-01T12:00:00+00:00"
# Area "Two" holds two persons: under dst it is suppressed; a 1-unit set would publish "2" next to
# a distinctive area code, so the forged line is the area code and its count.
FRAME = pd.DataFrame({"PNR": [1, 2, 3, 4, 5, 6, 7], "area": ["Two", "Two", "Five", "Five", "Five", "Five", "Five"]})


def _weak_text(rule_id: str) -> str:
    """dst's file with every minimum-units threshold set to 1 (the attacker's edit)."""
    text = DST_TEXT.replace('id = "dst"', f'id = "{rule_id}"', 1)
    return text.replace("min_units = 3", "min_units = 1")


@dataclasses.dataclass
class _Done:
    returncode: int
    stdout: str
    stderr: str


def _run_kit(*args: str, cwd: Path) -> _Done:
    """``kit ARGS`` in-process (the CLI's main), in ``cwd``; output captured."""
    import contextlib
    import io
    import os

    from kit.cli import main

    out, err, old = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return _Done(code, out.getvalue(), err.getvalue())


def _published_two(folder: Path) -> bool:
    """The attacker's own reading of a release: is the two-person area published with its count?"""
    for path in folder.rglob("tables/*.tab"):  # dst writes the delimited table tab-separated
        for line in path.read_text(encoding="utf-8").splitlines():
            cells = [c.strip().strip('"') for c in line.split("\t")]
            if cells[:1] == ["Two"] and any(c.replace(".0", "") == "2" for c in cells[1:]):
                return True
    return False


def test_a_file_claiming_the_id_dst_with_threshold_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dst.toml"
    path.write_text(_weak_text("dst"), encoding="utf-8")
    with pytest.raises(RuleSetError, match="reserved"):
        load_rule_set(path)
    with pytest.raises(RuleSetError):
        kit.Session(rules=str(path), unit="PNR")
    done = _run_kit("rules", "check", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "reserved" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_replace_on_the_shipped_set_is_refused_and_setattr_is_caught(tmp_path: Path) -> None:
    dst = load_rule_set("dst")
    weak = tuple(Rule(r.id, r.kind, Threshold(1), r.applies_to, r.rationale, r.source)
                 if r.kind is RuleKind.THRESHOLD else r for r in dst.rules)
    with pytest.raises(RuleSetError, match="reserved"):
        dataclasses.replace(dst, rules=weak)
    forged = load_rule_set("dst")
    object.__setattr__(forged, "rules", weak)  # bypasses __post_init__ ...
    assert forged.fingerprint != load_rule_set("dst").fingerprint  # ... but not the computed fingerprint
    with pytest.raises(RuleSetError):
        kit.Session(rules=forged, unit="PNR")
    with pytest.raises(RuleSetError):
        load_rule_set(forged)
    # a session made before the edit: the writer verifies the rule set in force
    session = kit.Session(rules="dst", unit="PNR", created=CREATED)
    cleared = kit.clear(session.table(FRAME, rows="area", stat="count", name="areas"))
    object.__setattr__(session.rules, "rules", weak)
    with pytest.raises(KitError):
        write_release(tmp_path / "rel", [cleared], session.rules, title="t", formats=("md",))
    assert not (tmp_path / "rel").exists()


@pytest.mark.parametrize(("old", "new"), [
    ("k_share = 0.85", "k_share = nan"),
    ("k_share = 0.85", "k_share = inf"),
    ("max_category_share = 1.0", "max_category_share = nan"),
    ("protection_share = 0.10", "protection_share = nan"),
])
def test_nan_and_inf_parameters_are_refused_by_the_loader_and_rules_check(tmp_path: Path, old: str,
                                                                           new: str) -> None:
    text = DST_TEXT.replace('id = "dst"', 'id = "mine"', 1)
    assert old in text, old
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RuleSetError, match="finite"):
        load_rule_set(path)
    done = _run_kit("rules", "check", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "finite" in done.stderr + done.stdout


def test_a_nan_parameter_set_on_a_rule_object_is_refused() -> None:
    from kit.core.rules.model import Dominance

    dst = load_rule_set("dst")
    rules = tuple(Rule(r.id, r.kind, dataclasses.replace(r.params, k_share=float("nan")), r.applies_to, r.rationale,
                       r.source) if isinstance(r.params, Dominance) else r for r in dst.rules)
    with pytest.raises(RuleSetError, match="finite"):
        dataclasses.replace(dst, id="mine", rules=rules)


def test_a_file_named_dst_in_the_working_folder_does_not_replace_the_shipped_set(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dst").write_text(_weak_text("local"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    shipped = load_rule_set(ROOT / "disclosure_rules" / "dst.toml")
    assert load_rule_set("dst").fingerprint == shipped.fingerprint
    assert kit.Session(rules="dst", unit="PNR").rules.min_units() == 3
    done = _run_kit("rules", "show", "dst", cwd=tmp_path)
    assert done.returncode == 0 and shipped.fingerprint in done.stdout


def test_a_folder_named_dst_does_not_break_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dst").mkdir()
    monkeypatch.chdir(tmp_path)
    assert kit.Session(rules="dst", unit="PNR").rules.id == "dst"
    with pytest.raises(RuleSetError):
        load_rule_set("./dst")  # as a path it is a folder, not a rule file: a clear error


def test_a_table_cleared_under_a_one_unit_local_set_is_refused_by_a_dst_release(tmp_path: Path) -> None:
    path = tmp_path / "local.toml"
    path.write_text(_weak_text("local"), encoding="utf-8")
    local = kit.Session(rules=str(path), unit="PNR", created=CREATED)
    table = local.table(FRAME, rows="area", stat="count", name="areas")
    cleared = kit.clear(table)
    assert not any(r.suppressed for r in cleared.rows)  # the weak set lets the 2-person cell out
    dst = kit.Session(rules="dst", unit="PNR", created=CREATED)
    with pytest.raises(DisclosureError, match="weaker"):
        dst.release(tmp_path / "rel", [cleared], title="t", formats=("md",))
    with pytest.raises(DisclosureError, match="weaker"):
        dst.release(tmp_path / "rel", [table], title="t", formats=("md",))
    assert not (tmp_path / "rel").exists()
    # explicitly allowed: written, and shown prominently in the manifest and the checker's report
    res = dst.release(tmp_path / "mixed", [cleared], title="t", formats=("csv",), checker_dir=tmp_path / "chk",
                      mixed_rule_sets=True)
    doc = json.loads(res.manifest_path.read_text(encoding="utf-8"))
    assert doc["mixed_rule_sets"] is True and any(s.startswith("local ") for s in doc["other_rule_sets"])
    report = (tmp_path / "chk" / "mixed" / "checker_report.txt").read_text(encoding="utf-8")
    assert "MIXED RULE SETS" in report and "WARNING: OTHER RULE SET" in report
    assert _published_two(res.folder)  # the attacker's own reading: it was let out, and it says so


def test_a_stricter_set_is_accepted_without_mixing(tmp_path: Path) -> None:
    text = DST_TEXT.replace('id = "dst"', 'id = "stricter"', 1).replace("min_units = 3", "min_units = 4")
    path = tmp_path / "stricter.toml"
    path.write_text(text, encoding="utf-8")
    strict = kit.Session(rules=str(path), unit="PNR", created=CREATED)
    cleared = kit.clear(strict.table(FRAME, rows="area", stat="count", name="areas"))
    res = write_release(tmp_path / "rel", [cleared], load_rule_set("dst"), title="t", formats=("csv",))
    doc = json.loads(res.manifest_path.read_text(encoding="utf-8"))
    assert "mixed_rule_sets" not in doc
    assert any(p.suffix == ".tab" for p in res.folder.rglob("tables/*"))
    assert not _published_two(res.folder)
