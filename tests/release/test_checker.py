"""The checker's report: separate folder, banner on every page, defensive sections."""

from __future__ import annotations

import json
from types import SimpleNamespace

import kit
from kit.release import BANNER, write_release
from kit.release.checker import PAGE_LINES, tabular


def test_checker_report_contents(tmp_path, count_table, rate_table, estimate, bl_figure):
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text('{"seq": 1, "measure": "rho", "amount": "1/16", "label": "t_rate"}\n')
    res = write_release(
        tmp_path / "rel",
        [kit.clear(count_table), kit.clear(rate_table), estimate, bl_figure],
        count_table.rules,
        title="Aalborg",
        checker_dir=tmp_path / "checker",
        private_results=[count_table, rate_table],
        ledger=ledger,
        differencing=False,
    )
    folder = res.checker_folder
    assert folder == (tmp_path / "checker" / "rel").resolve()
    assert not any("checker" in f for f in res.files)
    html = (folder / "checker_report.html").read_text()
    assert html.count(BANNER.replace("'", "&#39;")) >= 4 and "position: fixed" in html
    for part in (
        "PRIMARY",
        "BELOW_MIN_UNITS",
        "Suppression pattern",
        "Audit of suppressed cells",
        "Risk diagnostics",
        "DP budget ledger",
        "t_rate",
        "no private result was given",
    ):
        assert part in html, part
    text = (folder / "checker_report.txt").read_text()
    pages = text.split("\f")
    assert all(p.lstrip("\n").startswith(BANNER) for p in pages)
    assert all(len(p.strip("\n").splitlines()) <= PAGE_LINES for p in pages)
    doc = json.loads((folder / "checker.json").read_text())
    assert (
        doc["manifest_sha256"]
        and {o["name"]: o.get("n_input_units") for o in doc["outputs"]}["residents"] == 168
    )


def test_defensive_sections():
    from kit.release.checker import _audit_section, _model_checks

    class Audit:
        def to_frame(self):
            raise RuntimeError("no structure")

        def summary(self):
            return "audit PASS"

    section = _audit_section(SimpleNamespace(audit=Audit()))
    assert "audit PASS" in section.note and "not available" in section.note
    checks = _model_checks(
        SimpleNamespace(checks=lambda: [{"check": "residual dof", "value": 120, "ok": True}])
    )
    assert (
        checks is not None and checks.table is not None and checks.table.columns == ("check", "value", "ok")
    )
    assert _model_checks(object()) is None
    assert tabular([("a", 1), ("b",)]).rows == (("a", "1"), ("b", ""))
