"""Adversarial: ``kit review --checker-dir`` re-checks from the checker's report (issue 16, item 3).

The attacker writes a release under a weak 1-unit rule set of their own (the writer allows
that: it is their set, and it says so), then relabels the manifest and the checker's report
as ``dst`` with ordinary JSON edits, recomputing every checksum the kit uses (the manifest's
self-checksum and the manifest SHA-256 recorded in the checker's folder). Review must say
TAMPERED (exit 4) with a clear reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.core.rules import load_rule_set
from kit.release import write_release

ROOT = Path(kit.__file__).resolve().parents[1]
DST_TEXT = (ROOT / "disclosure_rules" / "dst.toml").read_text(encoding="utf-8")
CREATED = "2024-05-01T12:00:00+00:00"
FRAME = pd.DataFrame({"PNR": [1, 2, 3, 4, 5, 6, 7], "area": ["Two", "Two", "Five", "Five", "Five", "Five", "Five"]})


def _review(release: Path, checker: Path) -> tuple[int, str]:
    from kit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["review", str(release), "--checker-dir", str(checker)])
    return code, out.getvalue() + err.getvalue()


def _weak_release(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "local.toml"
    path.write_text(DST_TEXT.replace('id = "dst"', 'id = "local"', 1).replace("min_units = 3", "min_units = 1"),
                    encoding="utf-8")
    session = kit.Session(rules=str(path), unit="PNR", created=CREATED)
    cleared = kit.clear(session.table(FRAME, rows="area", stat="count", name="areas"))
    res = write_release(tmp_path / "rel", [cleared], session.rules, title="t", formats=("html",),
                        checker_dir=tmp_path / "chk")
    return res.folder, tmp_path / "chk"


def _relabel(release: Path, checker: Path, fingerprint: str) -> None:
    """The attacker's own edit: call the weak release dst, and recompute every checksum."""
    dst = load_rule_set("dst")
    label = {"id": "dst", "version": dst.version, "fingerprint": fingerprint}
    manifest = next(release.glob("manifest.*"))
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["rule_set"] = label
    for out in doc["outputs"]:
        out["provenance"]["rule_set"] = label
    body = {k: v for k, v in doc.items() if k != "integrity"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    doc["integrity"] = {"algorithm": "sha256", "content_sha256": hashlib.sha256(canonical.encode()).hexdigest()}
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    manifest.write_text(text, encoding="utf-8")
    chk_file = checker / release.name / "checker.json"
    chk = json.loads(chk_file.read_text(encoding="utf-8"))
    chk["manifest_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    chk["rule_set"] = label
    for out in chk["outputs"]:
        if "rule_set" in out:
            out["rule_set"] = label
            out["min_units"] = 3
    chk_file.write_text(json.dumps(chk, indent=2, sort_keys=True), encoding="utf-8")


def test_an_honest_dst_release_reviews_clean(tmp_path: Path) -> None:
    session = kit.Session(rules="dst", unit="PNR", created=CREATED)
    cleared = kit.clear(session.table(FRAME, rows="area", stat="count", name="areas"))
    res = write_release(tmp_path / "rel", [cleared], session.rules, title="t", formats=("html",),
                        checker_dir=tmp_path / "chk")
    code, text = _review(res.folder, tmp_path / "chk")
    assert code == 0, text


def test_a_weak_release_relabelled_dst_with_the_genuine_fingerprint_is_tampered(tmp_path: Path) -> None:
    release, checker = _weak_release(tmp_path)
    code, _ = _review(release, checker)
    assert code == 3  # a non-shipped set: attention, and said so
    _relabel(release, checker, load_rule_set("dst").fingerprint)
    code, text = _review(release, checker)
    assert code == 4, text
    assert "fewer than 3 distinct units" in text


def test_a_weak_release_relabelled_dst_with_its_own_fingerprint_is_tampered(tmp_path: Path) -> None:
    release, checker = _weak_release(tmp_path)
    _relabel(release, checker, load_rule_set(tmp_path / "local.toml").fingerprint)
    code, text = _review(release, checker)
    assert code == 4, text
    assert "not the shipped set's" in text


@pytest.mark.parametrize("edit", ["drop cells", "raise units"])
def test_edited_checker_facts_are_tampered(tmp_path: Path, edit: str) -> None:
    release, checker = _weak_release(tmp_path)
    _relabel(release, checker, load_rule_set("dst").fingerprint)
    chk_file = checker / release.name / "checker.json"
    chk = json.loads(chk_file.read_text(encoding="utf-8"))
    for out in chk["outputs"]:
        if edit == "drop cells":
            out.pop("cells", None)
        else:  # claim more units: the suppression counts still disagree with what is published
            for cell in out.get("cells", []):
                cell["n_units"] = max(cell["n_units"], 3)
                cell["suppressed"] = True
    chk_file.write_text(json.dumps(chk), encoding="utf-8")
    code, text = _review(release, checker)
    assert code == 4, text
