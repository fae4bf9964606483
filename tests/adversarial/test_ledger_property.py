"""Property: every change to an anchored ledger other than appending valid lines is detected.

Random truncations (at any byte, including line boundaries), byte edits and deleted lines of a
ledger with a few charges must all fail `verify` (exit 4 from `kit budget verify`), and then no
budget can be charged.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.dp import BudgetLedger


def test_any_edit_of_an_anchored_ledger_is_detected() -> None:
    ledger = BudgetLedger.create(cap_rho="1", project="p")
    for i in range(4):
        with ledger.spend(rho="1/8", label=f"t{i}"):
            pass
    raw = ledger.path.read_bytes()
    lines = raw.splitlines(keepends=True)

    mutation = st.one_of(
        st.tuples(st.just("truncate"), st.integers(0, len(raw) - 1), st.just(0)),
        st.tuples(st.just("edit"), st.integers(0, len(raw) - 1), st.integers(1, 255)),
        st.tuples(st.just("delete"), st.integers(0, len(lines) - 1), st.just(0)),
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutation)
    def check(m: tuple[str, int, int]) -> None:
        kind, at, xor = m
        if kind == "truncate":
            forged = raw[:at]
        elif kind == "edit":
            forged = raw[:at] + bytes([raw[at] ^ xor]) + raw[at + 1:]
        else:
            forged = b"".join(lines[:at] + lines[at + 1:])
        ledger.path.write_bytes(forged)
        try:
            assert not ledger.verify().ok
        finally:
            ledger.path.write_bytes(raw)

    check()
    assert ledger.verify().ok
