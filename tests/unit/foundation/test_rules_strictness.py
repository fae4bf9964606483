"""Strictness of one rule set against another, and the reserved-id and finiteness checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.core.rules import load_rule_set
from kit.core.rules.strictness import at_least_as_strict, strictness_gaps
from kit.errors import RuleSetError

DST = (Path(__file__).resolve().parents[3] / "disclosure_rules" / "dst.toml").read_text(encoding="utf-8")


def _variant(tmp_path: Path, rule_id: str, *edits: tuple[str, str]) -> object:
    text = DST.replace('id = "dst"', f'id = "{rule_id}"', 1)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{rule_id}.toml"
    path.write_text(text, encoding="utf-8")
    return load_rule_set(path)


@pytest.mark.parametrize(("edit", "stricter"), [
    (("min_units = 3", "min_units = 4"), True),
    (("min_units = 3", "min_units = 2"), False),
    (("k_share = 0.85", "k_share = 0.80"), True),
    (("k_share = 0.85", "k_share = 0.90"), False),
    (('fails_when = "above"', 'fails_when = "at_or_above"'), True),
    (("protection_share = 0.10", "protection_share = 0.05"), False),
    (("protection_share = 0.10", "protection_share = 0.20"), True),
    (("max_category_share = 1.0", "max_category_share = 0.9"), True),
])
def test_each_parameter_direction(tmp_path: Path, edit: tuple[str, str], stricter: bool) -> None:
    dst = load_rule_set("dst")
    other = _variant(tmp_path, "other", edit)
    assert at_least_as_strict(other, dst) is stricter  # type: ignore[arg-type]
    assert (strictness_gaps(other, dst) == ()) is stricter  # type: ignore[arg-type]


def test_sacro_and_dst_are_each_weaker_somewhere() -> None:
    dst, sacro = load_rule_set("dst"), load_rule_set("sacro")
    assert strictness_gaps(sacro, dst) and strictness_gaps(dst, sacro)
    assert at_least_as_strict(dst, dst)


def test_a_missing_rule_is_a_gap(tmp_path: Path) -> None:
    start = DST.index('[[rules]]\nid = "dst-differencing"')
    end = DST.index("[[rules]]", start + 5)
    text = DST[:start] + DST[end:]
    path = tmp_path / "nodiff.toml"
    path.write_text(text.replace('id = "dst"', 'id = "nodiff"', 1), encoding="utf-8")
    gaps = strictness_gaps(load_rule_set(path), load_rule_set("dst"))
    assert any("differencing" in g for g in gaps)


@pytest.mark.parametrize("rid", ["DST", " dst", "Sacro"])
def test_ids_that_look_like_shipped_ids_are_refused(tmp_path: Path, rid: str) -> None:
    with pytest.raises(RuleSetError, match="reserved"):
        _variant(tmp_path, rid)


def test_the_exact_shipped_content_under_its_id_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text("# my copy\n" + DST, encoding="utf-8")
    assert load_rule_set(path).fingerprint == load_rule_set("dst").fingerprint


def test_a_bare_unknown_name_is_not_read_as_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine").write_text(DST.replace('id = "dst"', 'id = "mine"', 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuleSetError, match="no shipped rule set"):
        load_rule_set("mine")
    assert load_rule_set("./mine").id == "mine"
