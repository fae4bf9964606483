"""The checker's report lists the project's DP budget ledgers when the caller names none (issue 20)."""

from __future__ import annotations

import kit
from kit.dp.ledger import BudgetLedger
from kit.release import write_release


def _report(tmp_path, table, **options):
    res = write_release(tmp_path / "rel", [kit.clear(table)], table.rules, title="t",
                        checker_dir=tmp_path / "checker", state_dir=tmp_path / "state", **options)
    assert res.checker_folder is not None
    return (res.checker_folder / "checker_report.txt").read_text()


def test_project_ledgers_are_listed_by_default(tmp_path, count_table):
    for source in ("bef", "ind"):
        BudgetLedger.create(cap_rho="1/2", project="p", source=source, state_dir=tmp_path / "state")
    text = _report(tmp_path, count_table)
    assert "DP budget ledger (dp-ledger-bef.jsonl)" in text and "DP budget ledger (dp-ledger-ind.jsonl)" in text


def test_no_ledger_no_section_and_an_explicit_one_wins(tmp_path, count_table):
    assert "DP budget ledger" not in _report(tmp_path / "a", count_table)
    BudgetLedger.create(cap_rho="1/2", project="p", state_dir=tmp_path / "b" / "state")
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"seq": 1, "measure": "rho", "amount": "1/16", "label": "t_rate"}\n')
    text = _report(tmp_path / "b", count_table, ledger=mine)
    assert "DP budget ledger (mine.jsonl)" in text and "t_rate" in text and "dp-ledger-" not in text
