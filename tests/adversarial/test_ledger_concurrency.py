"""Concurrent charges: several processes spending one ledger at once never overspend.

Each process charges as fast as it can until the ledger refuses. Check-and-charge happen under
one inter-process lock, so exactly ``cap / charge`` charges succeed however the processes
interleave, the chain and the anchor stay valid, and every refusal is a BudgetExceededError.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from fractions import Fraction
from pathlib import Path

from kit.dp import BudgetLedger
from kit.errors import BudgetExceededError

N_PROCESSES = 4
CAP = Fraction(3, 2)
CHARGE = Fraction(1, 20)          # 30 charges fit


def _charge_until_refused(state: str, out: str) -> None:
    os.environ["KIT_STATE_DIR"] = state
    ledger = BudgetLedger.find()
    ok = refused = 0
    while refused < 3:
        try:
            with ledger.spend(rho=str(CHARGE), label=f"p{os.getpid()}"):
                pass
            ok += 1
        except BudgetExceededError:
            refused += 1
    Path(out).write_text(json.dumps({"ok": ok, "refused": refused}))


def test_concurrent_charges_never_overspend(tmp_path: Path) -> None:
    state = os.environ["KIT_STATE_DIR"]
    BudgetLedger.create(cap_rho=str(CAP), project="p")
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    outs = [tmp_path / f"out{i}.json" for i in range(N_PROCESSES)]
    procs = [ctx.Process(target=_charge_until_refused, args=(state, str(o))) for o in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    results = [json.loads(o.read_text()) for o in outs]
    assert sum(r["ok"] for r in results) == CAP / CHARGE
    # the attacker's own sum over the file, independent of the kit's verifier
    lines = [json.loads(x) for x in BudgetLedger.find().path.read_bytes().splitlines()]
    spent = sum(Fraction(x["rho"]) for x in lines if x["type"] == "submitted")
    assert spent == CAP
    rep = BudgetLedger.find().verify()
    assert rep.ok and rep.n_released == CAP / CHARGE and rep.unanchored_lines == 0
    assert len({x["seq"] for x in lines}) == len(lines)
