"""The privacy-budget ledger: exact arithmetic, tamper evidence, locking, CLI."""

from __future__ import annotations

import json
import multiprocessing as mp
from fractions import Fraction
from pathlib import Path

import pytest

from kit.cli.budget import main
from kit.dp.anchor import EXIT_TAMPERED
from kit.dp.ledger import BudgetLedger, LedgerIntegrityError, verify_file
from kit.errors import BudgetExceededError, OutputExistsError, SpecError


@pytest.fixture()
def ledger(tmp_path: Path) -> BudgetLedger:
    return BudgetLedger.create(tmp_path / "budget.jsonl", cap_rho="2", delta="1e-7", project="p")


def _spend(ledger: BudgetLedger, rho: str, label: str = "t") -> None:
    with ledger.spend(rho=rho, label=label):
        pass


def test_exact_boundary(ledger: BudgetLedger) -> None:
    _spend(ledger, "1")
    with pytest.raises(BudgetExceededError) as info:
        ledger.check(rho="1.000000001")
    assert info.value.difference == Fraction(1, 10**9)
    assert info.value.remaining == 1
    _spend(ledger, "1")                      # exactly to the cap is allowed
    assert ledger.spent_rho == 2 and ledger.remaining_rho == 0
    with pytest.raises(BudgetExceededError):
        ledger.submit(rho="1/10**9".replace("10**9", "1000000000"))
    assert verify_file(ledger.path).ok


def test_thirds_add_up_exactly(ledger: BudgetLedger) -> None:
    for _ in range(6):
        _spend(ledger, "1/3")
    assert ledger.spent_rho == 2
    with pytest.raises(BudgetExceededError):
        ledger.check(rho="1/1000000000000")


def test_delta_cap(ledger: BudgetLedger) -> None:
    with pytest.raises(BudgetExceededError) as info:
        ledger.check(rho="1/8", delta="2e-7")
    assert "delta" in str(info.value)


def test_refused_charge_writes_nothing(ledger: BudgetLedger) -> None:
    before = ledger.path.read_bytes()
    with pytest.raises(BudgetExceededError):
        ledger.submit(rho="3")
    assert ledger.path.read_bytes() == before


def test_failed_release_keeps_budget_spent(ledger: BudgetLedger) -> None:
    with pytest.raises(RuntimeError), ledger.spend(rho="1/2", label="boom"):
        raise RuntimeError("opendp failed")
    rep = ledger.verify()
    assert rep.ok and rep.n_failed == 1 and rep.spent_rho == Fraction(1, 2)
    assert [e["type"] for e in rep.entries] == ["created", "submitted", "failed"]


def test_create_refuses_overwrite_and_bad_caps(tmp_path: Path, ledger: BudgetLedger) -> None:
    with pytest.raises(OutputExistsError):
        BudgetLedger.create(ledger.path, cap_rho="5")
    with pytest.raises(SpecError):
        BudgetLedger.create(tmp_path / "x.jsonl", cap_rho="0")
    with pytest.raises(SpecError):
        BudgetLedger(tmp_path / "y.jsonl")


def test_format_is_canonical_json_lines(ledger: BudgetLedger) -> None:
    _spend(ledger, "1/8")
    lines = ledger.path.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["cap_rho"] == "2" and first["cap_delta"] == "1/10000000" and first["prev"] == "0" * 64
    sub = json.loads(lines[1])
    assert sub["type"] == "submitted" and sub["rho"] == "1/8" and sub["total_rho"] == "1/8"


# ----------------------------------------------------------------- tampering
def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture()
def used(ledger: BudgetLedger) -> BudgetLedger:
    for i in range(3):
        _spend(ledger, "1/4", f"t{i}")
    assert ledger.verify().ok
    return ledger


def test_edited_value_detected(used: BudgetLedger) -> None:
    raw = used.path.read_bytes().replace(b'"rho":"1/4"', b'"rho":"1/40"', 1)
    used.path.write_bytes(raw)
    rep = used.verify()
    assert not rep.ok and any("chain" in p or "add up" in p for p in rep.problems)
    with pytest.raises(LedgerIntegrityError):
        used.check(rho="1/8")


def test_deleted_line_detected(used: BudgetLedger) -> None:
    lines = _lines(used.path)
    del lines[2]
    used.path.write_bytes(b"".join(lines))
    assert not used.verify().ok


def test_reordered_lines_detected(used: BudgetLedger) -> None:
    lines = _lines(used.path)
    lines[1], lines[3] = lines[3], lines[1]
    used.path.write_bytes(b"".join(lines))
    assert not used.verify().ok


def test_truncated_file_detected(used: BudgetLedger) -> None:
    raw = used.path.read_bytes()
    used.path.write_bytes(raw[:-10])
    assert not used.verify().ok
    used.path.write_bytes(b"")
    assert not used.verify().ok


def test_truncation_at_line_boundary_detected_with_anchor(used: BudgetLedger) -> None:
    head = used.head
    lines = _lines(used.path)
    used.path.write_bytes(b"".join(lines[:-2]))
    assert verify_file(used.path, anchored=False).ok       # a chain alone cannot see this ...
    assert not verify_file(used.path, anchored=False, expect_head=head).ok  # ... a pinned head can
    rep = used.verify()                                    # ... and so can the project's anchor
    assert any("lines were removed" in p for p in rep.problems)


def test_changed_cap_detected(used: BudgetLedger) -> None:
    raw = used.path.read_bytes().replace(b'"cap_rho":"2"', b'"cap_rho":"20"', 1)
    used.path.write_bytes(raw)
    assert not used.verify().ok


def test_overspend_detected_even_if_chain_rebuilt(tmp_path: Path) -> None:
    from kit.dp.ledger import GENESIS, canonical_line, line_hash

    entries = [
        {"format": "kit-dp-ledger/1", "seq": 0, "type": "created", "time": "t", "project": "",
         "cap_rho": "1", "cap_delta": "0", "prev": GENESIS},
        {"seq": 1, "type": "submitted", "time": "t", "charge": "a", "label": "", "spec": "",
         "measure": "zCDP",
         "rho": "2", "delta": "0", "total_rho": "2", "total_delta": "0"},
    ]
    prev, out = GENESIS, b""
    for e in entries:
        e["prev"] = prev
        line = canonical_line(e)
        out += line + b"\n"
        prev = line_hash(line)
    path = tmp_path / "forged.jsonl"
    path.write_bytes(out)
    rep = verify_file(path)
    assert any("beyond the cap" in p for p in rep.problems)


# --------------------------------------------------------------- concurrency
def _worker(path: str, n: int) -> None:
    ledger = BudgetLedger.open(path)
    for i in range(n):
        with ledger.spend(rho="1/1000", label=f"w{i}"):
            pass


def test_concurrent_appends_keep_a_valid_chain(ledger: BudgetLedger) -> None:
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    procs = [ctx.Process(target=_worker, args=(str(ledger.path), 15)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rep = ledger.verify()
    assert rep.ok, rep.problems
    assert rep.n_charges == 30 and rep.n_released == 30
    assert rep.spent_rho == Fraction(30, 1000)


# ----------------------------------------------------------------------- CLI
def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "b.jsonl")
    assert main(["budget", "create", path, "--rho", "1/2", "--delta", "1e-8", "--project", "x"]) == 0
    assert main(["budget", "create", path, "--rho", "1"]) != 0
    _spend(BudgetLedger.open(path), "1/8", "counts")
    assert main(["budget", "show", path]) == 0
    out = capsys.readouterr().out
    assert "remaining: rho=3/8" in out and "counts" in out
    assert main(["budget", "verify", path]) == 0
    Path(path).write_bytes(Path(path).read_bytes().replace(b'"1/8"', b'"1/80"', 1))
    assert main(["budget", "verify", path]) == EXIT_TAMPERED
    assert "FAILED" in capsys.readouterr().out


def test_register_sets_handlers() -> None:
    import argparse

    from kit.cli.budget import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["budget", "verify", "x.jsonl", "--expect-head", "abc"])
    assert callable(args.handler) and args.expect_head == "abc"


def test_cached_verification_matches_a_fresh_one(ledger: BudgetLedger) -> None:
    """The ledger object re-verifies only appended lines; any other change is still caught."""
    def same() -> None:
        fresh = verify_file(ledger.path)
        kept = ledger.verify()
        assert kept == fresh
        anchor = ledger.verify(expect_head="0" * 64)
        assert anchor == verify_file(ledger.path, expect_head="0" * 64)

    same()
    _spend(ledger, "1/4")
    same()
    other = BudgetLedger.open(ledger.path)       # another session appends
    with other.spend(rho="1/8", label="other"):
        pass
    same()
    assert ledger.spent_rho == Fraction(3, 8)
    raw = ledger.path.read_bytes()
    lines = raw.split(b"\n")
    lines[1] = lines[1].replace(b'"rho":"1/4"', b'"rho":"1/8"')   # edit a verified line
    ledger.path.write_bytes(b"\n".join(lines))
    same()
    assert not ledger.verify().ok
    with pytest.raises(LedgerIntegrityError):
        ledger.report()
    ledger.path.write_bytes(raw[:-5])              # cut inside the last line
    same()
    ledger.path.write_bytes(raw)
    same()
    assert ledger.verify().ok
    ledger.path.write_bytes(raw + b'{"not":"a ledger line"}\n')   # garbage appended
    same()
    assert not ledger.verify().ok


# -------------------------------------------------------------------- anchoring
def test_find_create_and_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kit.errors import KitError

    with pytest.raises(KitError, match="no privacy-budget ledger"):
        BudgetLedger.find()
    first = BudgetLedger.create(cap_rho="1", project="p")
    assert BudgetLedger.find().path == first.path and first.source == "project"
    other = BudgetLedger.create(cap_rho="1", project="p", source="BEF")
    assert other.source == "bef" and other.verify().n_ledgers == 2
    with pytest.raises(SpecError, match="2 ledgers"):
        BudgetLedger.find()
    assert BudgetLedger.find(source="bef").path == other.path
    assert main(["budget", "show"]) == 0                      # every ledger of the project
    out = capsys.readouterr().out
    assert "data source project" in out and "data source bef" in out and "2 ledgers" in out
    with pytest.raises(KitError, match="no ledger for data source"):
        BudgetLedger.find(source="ind")
    with pytest.raises(SpecError):
        BudgetLedger.create(cap_rho="1", source="no spaces")
    with pytest.raises(SpecError):
        BudgetLedger.create(cap_rho=None, source="x")


def test_interrupted_writer_leaves_a_verifiable_ledger(ledger: BudgetLedger) -> None:
    """Killed between the ledger write and the anchor write: one line after the anchored head."""
    from kit.dp.ledger import canonical_line, line_hash

    _spend(ledger, "1/4")
    rep = ledger.verify()
    entry = {"charge": "c0ffee", "delta": "0", "label": "x", "measure": "zCDP", "rho": "1/4", "spec": "",
             "seq": rep.n_lines, "type": "submitted", "time": "t", "prev": rep.head, "total_rho": "1/2",
             "total_delta": "0"}
    ledger.path.write_bytes(ledger.path.read_bytes() + canonical_line(entry) + b"\n")
    rep = ledger.verify()
    assert rep.ok and rep.unanchored_lines == 1 and rep.spent_rho == Fraction(1, 2)
    _spend(ledger, "1/4")                                   # the next change anchors again
    rep = ledger.verify()
    assert rep.ok and rep.unanchored_lines == 0 and rep.anchored_head == rep.head
    assert line_hash(ledger.path.read_bytes().splitlines()[-1]) == rep.head


def test_adopt_a_ledger_made_before_anchors(tmp_path: Path) -> None:
    from kit.dp.ledger import GENESIS, canonical_line

    header = {"format": "kit-dp-ledger/1", "seq": 0, "type": "created", "time": "t", "project": "old",
              "cap_rho": "1", "cap_delta": "1/10000000", "prev": GENESIS}
    path = tmp_path / "old.jsonl"
    path.write_bytes(canonical_line(header) + b"\n")
    with pytest.raises(LedgerIntegrityError):
        BudgetLedger.open(path)                              # not the project's ledger yet
    assert main(["budget", "adopt", str(path)]) == 0
    assert BudgetLedger.open(path).cap_rho == 1 and BudgetLedger.find().path == path
    with pytest.raises(OutputExistsError):
        BudgetLedger.adopt(path, source="other")
    assert main(["budget", "adopt", str(path), "--source", "x"]) != 0


def test_cli_head_and_expect_head(ledger: BudgetLedger, capsys: pytest.CaptureFixture[str]) -> None:
    _spend(ledger, "1/4")
    assert main(["budget", "head"]) == 0
    head = capsys.readouterr().out.strip()
    assert head == ledger.head
    _spend(ledger, "1/4")
    assert main(["budget", "verify", "--expect-head", head]) == 0      # still in the chain
    assert main(["budget", "verify", "--expect-head", "f" * 64]) == EXIT_TAMPERED
    assert main(["budget", "show"]) == 0
    assert "data source project" in capsys.readouterr().out
    ledger.path.write_bytes(ledger.path.read_bytes()[:-3])
    assert main(["budget", "head"]) == EXIT_TAMPERED


def test_provenance_carries_the_anchor() -> None:
    from kit.dp.anchor import anchor_text, parse_anchor_text

    text = anchor_text("bef", Fraction(1, 2), Fraction(1, 10**7), "ab" * 8, "c" * 64)
    [a] = parse_anchor_text(f"rho=1/8; ledger p line 2; {text}")
    assert (a.source, a.cap_rho, a.cap_delta, a.charge, a.head) == ("bef", Fraction(1, 2),
                                                                    Fraction(1, 10**7), "ab" * 8, "c" * 64)
    assert parse_anchor_text("rho=1/8; head sha256:" + "c" * 64) == []
