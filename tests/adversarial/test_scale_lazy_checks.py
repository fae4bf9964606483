"""Attacks on the DuckDB path: a lazy input must not skip the checks a DataFrame gets, or show data.

The attacker evaluates a table over a Parquet file instead of a DataFrame, hoping
the new path forgets a check: rows without a unit id (counted as nobody),
codes outside the public code list (silently dropped cells, a differencing
pair), an identifier used as a dimension, infinite measures, a rate measure
that is not 0/1, negative weights. Each must be refused with the message the
DataFrame path gives, and no message may carry a data value. Before this work
a Parquet path was not accepted at all; the attacker's own expectation (the
DataFrame path's error class and message) is what the lazy path must match.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the scale extra (duckdb) is not installed")

import kit
from kit.engine import EngineOptions
from kit.errors import KitError

SECRET = 987654321.5  # a value that must never appear in a message


def _base(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({"PNR": np.arange(n, dtype=float), "KOM": rng.choice(["101", "147"], n),
                         "INC": rng.integers(1, 100, n).astype(float), "W": np.ones(n)})


CASES = {
    "missing unit ids": (lambda d: d.assign(PNR=d["PNR"].where(d.index % 7 != 0)), {"rows": "KOM"}),
    "code outside the code list": (lambda d: d.assign(KOM=d["KOM"].where(d.index != 3, "999")),
                                   {"rows": "KOM", "codes": {"KOM": ["101", "147"]}}),
    "identifier as a dimension": (lambda d: d.assign(ID=np.arange(len(d)).astype(str)),
                                  {"rows": "ID"}),
    "infinite measure": (lambda d: d.assign(INC=d["INC"].where(d.index != 2, np.inf)),
                         {"rows": "KOM", "stat": "sum", "measure": "INC"}),
    "rate not 0/1": (lambda d: d.assign(INC=d["INC"].where(d.index != 2, SECRET)),
                     {"rows": "KOM", "stat": "rate", "measure": "INC"}),
    "negative weight": (lambda d: d.assign(W=d["W"].where(d.index != 2, -SECRET)),
                        {"rows": "KOM", "stat": "mean", "measure": "INC", "weight": "W"}),
    "text measure": (lambda d: d.assign(INC=d["INC"].astype(str)),
                     {"rows": "KOM", "stat": "sum", "measure": "INC"}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lazy_input_gets_the_dataframe_checks(tmp_path: Path, name: str) -> None:
    make, spec = CASES[name]
    df = make(_base())
    path = tmp_path / "attack.parquet"
    df.to_parquet(path)
    session = kit.Session(rules="dst", unit="PNR", max_categories=50,
                          engine_options=EngineOptions(progress=False))
    with pytest.raises(KitError) as eager:
        session.table(df, engine="pandas", **spec)
    with pytest.raises(KitError) as lazy:
        session.table(path, **spec)
    assert type(lazy.value) is type(eager.value)
    assert str(lazy.value) == str(eager.value)
    assert str(SECRET) not in str(lazy.value) and "987654321" not in str(lazy.value)


def test_relation_and_evidence_reprs_show_no_values(tmp_path: Path) -> None:
    df = _base().assign(INC=SECRET)
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    rel = kit.registers.scan(path, filters=[("INC", "==", SECRET)])
    table = kit.Session(rules="dst", unit="PNR", engine_options=EngineOptions(progress=False)).table(
        rel, rows="KOM", stat="sum", measure="INC")
    for text in (repr(rel), str(rel), repr(table), repr(table.evidence)):
        assert "987654321" not in text


def test_engine_errors_do_not_quote_data(tmp_path: Path) -> None:
    """DuckDB's own message for a failed conversion quotes the value; the kit's must not."""
    path = tmp_path / "d.parquet"
    pd.DataFrame({"PNR": [1, 2, 3], "KOM": ["101", "101", "147"], "NAME": ["0101701234", "x", "y"]}).to_parquet(path)
    rel = kit.registers.scan(path).filter([("NAME", "==", 5)])  # text column against a number
    session = kit.Session(rules="dst", unit="PNR", engine_options=EngineOptions(progress=False))
    for action in (lambda: session.table(rel, rows="KOM"), rel.count, rel.to_pandas):
        with pytest.raises(KitError) as caught:
            action()
        assert "0101701234" not in str(caught.value) and "DuckDB failed" in str(caught.value)
