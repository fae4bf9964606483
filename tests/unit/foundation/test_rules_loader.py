"""The rule-set loader: shipped sets, strictness, fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.core.rules import RuleKind, list_rule_sets, load_rule_set
from kit.core.rules.model import Dominance, FailsWhen, Threshold
from kit.core.spec_types import Statistic, UnitType
from kit.errors import RuleSetError

DST = Path(__file__).resolve().parents[3] / "disclosure_rules" / "dst.toml"


def test_shipped_sets_load_with_their_documented_parameters() -> None:
    assert {"dst", "sacro", "sds"} <= set(list_rule_sets())
    dst, sacro, sds = (load_rule_set(n) for n in ("dst", "sacro", "sds"))
    assert (dst.min_units(), sacro.min_units(), sds.min_units()) == (3, 10, 5)
    (dom,) = dst.of_kind(RuleKind.DOMINANCE)
    assert isinstance(dom.params, Dominance)
    assert (dom.params.n_units, dom.params.k_share, dom.params.fails_when) == (2, 0.85, FailsWhen.ABOVE)
    assert dom.params.unit_types == (UnitType.ENTERPRISE,)
    (sdom,) = sacro.of_kind(RuleKind.DOMINANCE)
    assert isinstance(sdom.params, Dominance) and sdom.params.fails_when is FailsWhen.AT_OR_ABOVE
    assert sacro.param(RuleKind.P_PERCENT, "p_share") == 0.10
    assert sacro.param(RuleKind.RESIDUAL_DOF, "min_dof") == 10
    assert sacro.param(RuleKind.ZEROS, "observed_zero_disclosive") is True
    assert dst.param(RuleKind.EXTREMES, "allow") is False
    assert "csv" not in dst.release.file_types and "html" in dst.release.file_types
    for rs in (dst, sacro, sds):
        assert all(r.source and r.rationale for r in rs.rules)


def test_fingerprint_ignores_layout_but_not_parameters(tmp_path: Path) -> None:
    text = DST.read_text(encoding="utf-8")
    same = tmp_path / "same.toml"
    same.write_text("# a comment\n" + text.replace("min_units = 3", "min_units    =    3"), encoding="utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("min_units = 3", "min_units = 4", 1).replace('id = "dst"', 'id = "mine"', 1),
                       encoding="utf-8")
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(text.replace('id = "dst"', 'id = "mine"', 1), encoding="utf-8")
    base = load_rule_set("dst").fingerprint
    assert load_rule_set(same).fingerprint == base
    assert load_rule_set(renamed).fingerprint != base
    assert load_rule_set(changed).fingerprint not in (base, load_rule_set(renamed).fingerprint)
    assert len(base) == 64 and int(base, 16) >= 0


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DST.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "custom.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("min_units = 3", "min_units = 3\nmin_unitz = 4", ["custom.toml", "dst-min-units", "min_unitz"]),
        ('kind = "threshold"', 'kind = "thresold"', ["dst-min-units", "unknown kind", "thresold"]),
        ("min_units = 3", "min_units = 0", ["dst-min-units", "min_units", "out of range"]),
        ("min_units = 3", 'min_units = "3"', ["dst-min-units", "min_units", "whole number"]),
        ("k_share = 0.85", "k_share = 1.5", ["dst-dominance", "k_share", "out of range"]),
        ('fails_when = "above"', 'fails_when = "over"', ["dst-dominance", "fails_when", "over"]),
        ('applies_to = ["count", "sum", "mean", "rate", "quantile"]', 'applies_to = ["cout"]',
         ["dst-min-units", "applies_to", "cout"]),
        ("schema_version = 1", "schema_version = 2", ["schema_version"]),
        ('id = "dst"', 'id = "dst"\ncolour = "red"', ["top-level", "colour"]),
        ('suppressed_symbol = "x"', 'suppressed_symbol = "x"\nsymbol = "y"', ["[release]", "symbol"]),
        ("allow = false", "allow = 0", ["dst-extremes", "allow", "true or false"]),
    ],
)
def test_strict_loader_names_file_rule_and_key(tmp_path: Path, old: str, new: str,
                                                 expected: list[str]) -> None:
    with pytest.raises(RuleSetError) as info:
        load_rule_set(_broken(tmp_path, old, new))
    for fragment in expected:
        assert fragment in str(info.value)


def test_missing_parameter_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="parameter 'min_units' is missing"):
        load_rule_set(_broken(tmp_path, "min_units = 3\n", ""))
    with pytest.raises(RuleSetError, match="more than once"):
        load_rule_set(_broken(tmp_path, 'id = "dst-differencing"', 'id = "dst-min-units"'))


def test_unknown_name_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="no shipped rule set"):
        load_rule_set("nosuchset")
    bad = tmp_path / "bad.toml"
    bad.write_text("id = [", encoding="utf-8")
    with pytest.raises(RuleSetError, match="not valid TOML"):
        load_rule_set(bad)


def test_threshold_lookup_per_statistic() -> None:
    rs = load_rule_set("dst")
    (rule,) = rs.of_kind(RuleKind.THRESHOLD)
    assert isinstance(rule.params, Threshold)
    assert rs.min_units(Statistic.MODEL) == 1  # the threshold rule does not apply to models
    assert "fingerprint sha256:" in rs.describe()
