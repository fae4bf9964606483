"""Attacks on the DP budget ledger: reset it, raise its cap, replace it, or open a second one.

Each test is the attacker's own file manipulation (plain ``json`` and ``hashlib``, no kit code
to forge lines) followed by what the kit must do: ``kit budget verify`` exits 4, no budget can
be charged, and ``kit review`` of an earlier DP release exits 4 (tampered).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kit
from kit.cli import main as kit_main
from kit.dp import BudgetLedger, LedgerIntegrityError
from kit.errors import OutputExistsError

TAMPERED = 4
STATE = "KIT_STATE_DIR"


# ------------------------------------------------------------- attacker's own tools
def attacker_chain(objects: list[dict[str, Any]]) -> bytes:
    """Re-link ledger lines the way the file format is documented (docs/dp.md), independently."""
    prev, out = "0" * 64, b""
    for seq, obj in enumerate(objects):
        obj = {**obj, "prev": prev, "seq": seq}
        line = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        out += line + b"\n"
        prev = hashlib.sha256(line).hexdigest()
    return out


def attacker_head(raw: bytes) -> str:
    return hashlib.sha256(raw.rstrip(b"\n").split(b"\n")[-1]).hexdigest()


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_bytes().splitlines()]


def state_dir() -> Path:
    return Path(os.environ[STATE])


def verify_exit(*args: str) -> int:
    return kit_main(["budget", "verify", *args])


def spend(ledger: BudgetLedger, rho: str, n: int) -> None:
    for i in range(n):
        with ledger.spend(rho=rho, label=f"t{i}"):
            pass


@pytest.fixture()
def used() -> BudgetLedger:
    """The project's ledger (found by the kit), cap 1, three quarters spent."""
    ledger = BudgetLedger.create(cap_rho="1", delta="1e-7", project="p")
    spend(ledger, "1/4", 3)
    assert verify_exit() == 0
    return ledger


# -------------------------------------------------------------------- truncation
def test_truncated_to_first_line_is_detected(used: BudgetLedger) -> None:
    raw = used.path.read_bytes()
    used.path.write_bytes(raw.split(b"\n")[0] + b"\n")          # a fresh-looking ledger, full budget
    assert verify_exit() == TAMPERED
    with pytest.raises(LedgerIntegrityError):
        used.check(rho="1/2")
    with pytest.raises(LedgerIntegrityError):
        BudgetLedger.find()
    with pytest.raises(LedgerIntegrityError), used.spend(rho="1/2"):
        pass
    assert used.path.read_bytes() == raw.split(b"\n")[0] + b"\n"   # nothing was charged or repaired


def test_truncated_after_a_complete_line_is_detected(used: BudgetLedger) -> None:
    raw = used.path.read_bytes()
    used.path.write_bytes(b"".join(raw.splitlines(keepends=True)[:-2]))
    assert verify_exit() == TAMPERED


# ------------------------------------------------ rewritten header, recomputed chain
def test_rewritten_cap_with_recomputed_chain_is_detected(used: BudgetLedger, capsys: Any) -> None:
    objects = read_lines(used.path)
    objects[0]["cap_rho"] = "100"
    used.path.write_bytes(attacker_chain(objects))
    assert verify_exit() == TAMPERED
    out = capsys.readouterr().out
    assert "cap differs" in out and "first line differs" in out
    with pytest.raises(LedgerIntegrityError):
        used.check(rho="50")


def test_rewritten_spending_with_recomputed_chain_is_detected(used: BudgetLedger) -> None:
    objects = [o for o in read_lines(used.path) if o.get("label") != "t0"]   # drop one charge ...
    kept = {o["charge"] for o in objects if o["type"] == "submitted"}
    objects = [o for o in objects if o["type"] in ("created", "submitted") or o.get("charge") in kept]
    total = 0
    for o in objects:                                                         # ... fix the totals
        if o["type"] == "submitted":
            total += 1
            o["total_rho"] = f"{total}/4"
    used.path.write_bytes(attacker_chain(objects))
    assert verify_exit() == TAMPERED


# ------------------------------------------------------------ fresh and second ledgers
def test_fresh_ledger_through_the_kit_is_refused(used: BudgetLedger) -> None:
    before = used.path.read_bytes()
    used.path.unlink()
    with pytest.raises(OutputExistsError):
        BudgetLedger.create(cap_rho="1", project="p")
    with pytest.raises(OutputExistsError):
        BudgetLedger.create(used.path, cap_rho="1", project="p")
    assert not used.path.exists()
    used.path.write_bytes(before)
    assert verify_exit() == 0


def test_fresh_ledger_by_hand_is_detected(used: BudgetLedger) -> None:
    header = read_lines(used.path)[0]
    header["time"] = "2030-01-01T00:00:00+00:00"
    used.path.write_bytes(attacker_chain([header]))      # same cap, same project, nothing spent
    assert verify_exit() == TAMPERED
    with pytest.raises(LedgerIntegrityError):
        used.check(rho="1")


def test_second_ledger_for_the_same_data_is_refused(used: BudgetLedger, tmp_path: Path) -> None:
    with pytest.raises(OutputExistsError):
        BudgetLedger.create(tmp_path / "second.jsonl", cap_rho="1", project="p")
    assert not (tmp_path / "second.jsonl").exists()
    assert kit_main(["budget", "create", str(tmp_path / "second.jsonl"), "--rho", "1"]) != 0
    # a second ledger made by hand is not the project's ledger: nothing can be charged to it
    (tmp_path / "second.jsonl").write_bytes(attacker_chain([read_lines(used.path)[0]]))
    assert verify_exit(str(tmp_path / "second.jsonl")) == TAMPERED
    with pytest.raises(LedgerIntegrityError):
        BudgetLedger.open(tmp_path / "second.jsonl")


def test_deleted_anchor_is_detected(used: BudgetLedger) -> None:
    (state_dir() / "dp-ledgers.json").unlink()
    assert verify_exit(str(used.path)) == TAMPERED
    with pytest.raises(LedgerIntegrityError):
        used.check(rho="1/8")


def test_edited_anchor_is_detected(used: BudgetLedger) -> None:
    anchor = state_dir() / "dp-ledgers.json"
    doc = json.loads(anchor.read_text())
    doc["ledgers"][0]["cap_rho"] = "100"                  # the anchor alone, the ledger untouched
    anchor.write_text(json.dumps(doc))
    assert verify_exit() == TAMPERED


# ------------------------------------------------------------ kit review of a DP release
@pytest.fixture()
def dp_release(tmp_path: Path) -> Path:
    pytest.importorskip("opendp")
    pl = pytest.importorskip("polars")
    from kit.dp import DPConfig, DPTableSpec, dp_table

    rng = np.random.default_rng(5)
    df = pl.DataFrame({"PNR": np.arange(3000), "KOM": rng.integers(0, 3, 3000).astype(str)})
    cfg = DPConfig(population=10_000, codes={"KOM": ("0", "1", "2")})
    BudgetLedger.create(cap_rho="1", project="p")
    session = kit.Session(unit="PNR", data_label="synthetic", created="2024-01-01T00:00:00+00:00")
    spec = DPTableSpec(name="residents", dims=("KOM",), statistic="count", rho="1/4", config=cfg)
    result = dp_table(session, df.lazy(), spec)                   # the kit finds the ledger
    session.release(tmp_path / "rel", [result], title="DP counts")
    return tmp_path / "rel"


def _review(folder: Path) -> Any:
    from kit.release import review_release

    return review_release(folder)


def test_review_of_an_honest_dp_release_is_clean(dp_release: Path) -> None:
    result = _review(dp_release)
    assert result.exit_code == 0, result.render()


@pytest.mark.parametrize("attack", ["truncate", "rewrite_cap", "fresh_by_hand", "delete_ledger"])
def test_review_detects_a_reset_ledger(dp_release: Path, attack: str) -> None:
    ledger = BudgetLedger.find()
    path = ledger.path
    objects = read_lines(path)
    if attack == "truncate":
        path.write_bytes(attacker_chain(objects[:1]))
    elif attack == "rewrite_cap":
        objects[0]["cap_rho"] = "100"
        path.write_bytes(attacker_chain(objects))
    elif attack == "fresh_by_hand":
        objects[0]["time"] = "2030-01-01T00:00:00+00:00"
        path.write_bytes(attacker_chain(objects[:1]))
    else:
        path.unlink()
    result = _review(dp_release)
    assert result.exit_code == TAMPERED, result.render()


def test_insider_rewriting_ledger_and_anchor_is_caught_by_the_release_and_the_pinned_head(
        dp_release: Path, capsys: Any) -> None:
    """Rewriting both copies in the state folder consistently passes 'verify' on its own (out of
    reach, docs/security.md), but not against a head kept elsewhere: the release's provenance or
    the operator's pinned head."""
    assert kit_main(["budget", "head"]) == 0
    pinned = capsys.readouterr().out.strip()
    ledger = BudgetLedger.find()
    objects = read_lines(ledger.path)
    objects[0]["cap_rho"] = "100"
    raw = attacker_chain(objects)
    ledger.path.write_bytes(raw)
    anchor = state_dir() / "dp-ledgers.json"
    doc = json.loads(anchor.read_text())
    doc["ledgers"][0].update(cap_rho="100", genesis=hashlib.sha256(raw.split(b"\n")[0]).hexdigest(),
                             head=attacker_head(raw), n_lines=len(objects))
    anchor.write_text(json.dumps(doc))
    assert verify_exit() == 0                                   # every copy in the folder agrees ...
    assert verify_exit("--expect-head", pinned) == TAMPERED     # ... the operator's pin does not
    assert _review(dp_release).exit_code == TAMPERED            # ... nor does the release


def test_second_data_source_needs_the_checkers_attention(dp_release: Path, capsys: Any) -> None:
    other = BudgetLedger.create(cap_rho="1", project="p", source="other")
    assert other.path != BudgetLedger.find(source="project").path
    result = _review(dp_release)
    assert result.exit_code == 3 and any("2 DP ledgers" in n for n in result.notes), result.render()
    assert kit_main(["budget", "verify", "--source", "other"]) == 0
    assert "their budgets add up" in capsys.readouterr().out


def _dp_count(rho: str, ledger: BudgetLedger | None = None) -> Any:
    pl = pytest.importorskip("polars")
    from kit.dp import DPConfig, DPTableSpec, dp_table

    df = pl.DataFrame({"PNR": np.arange(300), "KOM": (np.arange(300) % 3).astype(str)})
    cfg = DPConfig(population=10_000, codes={"KOM": ("0", "1", "2")})
    spec = DPTableSpec(name="again", dims=("KOM",), statistic="count", rho=rho, config=cfg)
    return dp_table(kit.Session(unit="PNR"), df.lazy(), spec, ledger)


def test_ledger_of_a_fresh_state_folder_is_refused(dp_release: Path, tmp_path: Path) -> None:
    from kit.errors import DisclosureError

    fresh = BudgetLedger.create(cap_rho="100", project="p", state_dir=tmp_path / "elsewhere")
    with pytest.raises(DisclosureError):
        _dp_count("50", fresh)
    assert fresh.verify().n_charges == 0


def test_release_charged_to_a_fresh_project_state_is_caught_by_review(
        dp_release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.environ[STATE]
    monkeypatch.setenv(STATE, str(tmp_path / "fresh-state"))     # a whole new project state, full budget
    BudgetLedger.create(cap_rho="100", project="p")
    result = _dp_count("50")
    kit.Session(unit="PNR").release(tmp_path / "rel2", [result], title="more")
    monkeypatch.setenv(STATE, real)                               # the checker reviews in the project
    review = _review(tmp_path / "rel2")
    assert review.exit_code == TAMPERED, review.render()


@pytest.mark.parametrize("field", ["cap_rho", "ledger_source", "ledger_head"])
def test_forged_ledger_anchor_in_a_dp_result_is_refused_by_the_writer(dp_release: Path, tmp_path: Path,
                                                                      field: str) -> None:
    import dataclasses
    from fractions import Fraction

    result = _dp_count("1/8")
    values = {"cap_rho": Fraction(100), "ledger_source": "other", "ledger_head": hashlib.sha256(b"x").hexdigest()}
    forged = dataclasses.replace(result, **{field: values[field]})
    with pytest.raises(LedgerIntegrityError):
        kit.clear(forged)
    with pytest.raises(LedgerIntegrityError):
        kit.Session(unit="PNR").release(tmp_path / "forged", [forged], title="forged")
    assert not (tmp_path / "forged").exists()
    kit.clear(result)                                   # the honest result still clears


def test_dp_result_of_a_reset_ledger_is_refused_by_the_writer(dp_release: Path) -> None:
    result = _dp_count("1/8")
    ledger = BudgetLedger.find()
    ledger.path.write_bytes(attacker_chain(read_lines(ledger.path)[:1]))
    with pytest.raises(LedgerIntegrityError):
        kit.clear(result)


def test_forged_anchor_in_a_manifest_is_caught_by_review(dp_release: Path) -> None:
    """A release whose manifest was re-sealed with another head (the writer never saw it)."""
    from kit.release.manifest import find_manifest, load_manifest

    path = find_manifest(dp_release)
    assert path is not None
    doc = load_manifest(path)
    budget = doc["outputs"][0]["provenance"]["privacy_budget"]
    forged_head = hashlib.sha256(b"x").hexdigest()
    doc["outputs"][0]["provenance"]["privacy_budget"] = budget[: budget.index("head=sha256:")] + \
        f"head=sha256:{forged_head}"
    path.write_text(json.dumps(doc))
    review = _review(dp_release)
    assert review.exit_code == TAMPERED
    assert any("head is not in the ledger" in p for p in review.problems), review.render()
