"""Keys are never released keys: a DP table keyed by CPR (or any identifier) is refused.

The red team's release: a DP count keyed by ``CPR`` with observed keys, where every released
key is a person number from the data. Every variant below must be refused before the data are
read and before the ledger is charged, and no identifier-keyed table may ever be cleared.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("opendp")
pl = pytest.importorskip("polars")

import kit  # noqa: E402
from kit.core.schema import Column, ColumnRole, DatasetSchema  # noqa: E402
from kit.dp import BudgetLedger, Derive, DPConfig, DPTableSpec, dp_table, preview  # noqa: E402
from kit.errors import DisclosureError, SpecError  # noqa: E402

N = 500


def _cpr(i: int) -> str:
    return f"{(i % 28) + 1:02d}{(i % 12) + 1:02d}80{i:04d}"


@pytest.fixture()
def data() -> pl.LazyFrame:
    rng = np.random.default_rng(11)
    return pl.DataFrame({
        "PNR": np.arange(N),
        "CPR": [_cpr(i) for i in range(N)],
        "person_ref": np.arange(N) + 10_000,
        "KOM": rng.integers(0, 3, N).astype(str),
    }).lazy()


@pytest.fixture()
def ledger() -> BudgetLedger:
    return BudgetLedger.create(cap_rho="10", project="p")


def _touched(data: pl.LazyFrame) -> object:
    calls: list[int] = []

    def load() -> pl.LazyFrame:
        calls.append(1)
        return data

    return load, calls


def _assert_refused(session: kit.Session, spec: DPTableSpec, data: pl.LazyFrame, ledger: BudgetLedger) -> None:
    before = ledger.path.read_bytes()
    load, calls = _touched(data)  # type: ignore[misc]
    with pytest.raises(SpecError) as info:
        dp_table(session, load, spec, ledger)
    assert calls == [] and ledger.path.read_bytes() == before       # no data read, nothing charged
    assert not re.search(r"\d{6}-?\d{4}", str(info.value))           # and no person number in the message
    with pytest.raises(SpecError):
        preview(session, spec, ledger)


def test_cpr_keyed_table_with_observed_keys_is_refused(data, ledger) -> None:
    spec = DPTableSpec(name="by_cpr", dims=("CPR",), statistic="count", rho="1", public_keys=False,
                       delta="1e-9", config=DPConfig(population=10_000))
    _assert_refused(kit.Session(unit="PNR"), spec, data, ledger)


def test_cpr_keyed_table_with_public_keys_is_refused(data, ledger) -> None:
    cfg = DPConfig(population=10_000, codes={"cpr": tuple(_cpr(i) for i in range(20))})
    spec = DPTableSpec(name="by_cpr", dims=("cpr",), statistic="count", rho="1", config=cfg)
    _assert_refused(kit.Session(unit="PNR"), spec, data.rename({"CPR": "cpr"}), ledger)


def test_declared_schema_key_is_refused(data, ledger) -> None:
    schema = DatasetSchema.of(Column("PNR", ColumnRole.UNIT), Column("person_ref", ColumnRole.KEY),
                              Column("KOM", ColumnRole.DIMENSION))
    spec = DPTableSpec(name="by_ref", dims=("KOM", "person_ref"), statistic="count", rho="1",
                       public_keys=False, delta="1e-9", config=DPConfig(population=10_000))
    _assert_refused(kit.Session(unit="PNR", schema=schema), spec, data, ledger)


def test_unit_column_under_another_case_is_refused(data, ledger) -> None:
    spec = DPTableSpec(name="by_unit", dims=("pnr",), statistic="count", rho="1", public_keys=False,
                       delta="1e-9", config=DPConfig(population=10_000))
    _assert_refused(kit.Session(unit="PNR"), spec, data.rename({"PNR": "pnr"}), ledger)


def test_dimension_derived_from_a_key_is_refused(data, ledger) -> None:
    mapping = {_cpr(i): f"g{i}" for i in range(N)}
    spec = DPTableSpec(name="by_group", dims=("grp",), statistic="count", rho="1", public_keys=False,
                       delta="1e-9", config=DPConfig(population=10_000),
                       derive=(Derive("grp", "CPR", mapping),))
    _assert_refused(kit.Session(unit="PNR"), spec, data, ledger)


def test_a_forged_result_keyed_by_cpr_is_never_cleared(data, ledger) -> None:
    cfg = DPConfig(population=10_000, codes={"KOM": ("0", "1", "2")})
    honest = dp_table(kit.Session(unit="PNR"), data, DPTableSpec(name="t", dims=("KOM",), statistic="count",
                                                                  rho="1", config=cfg), ledger)
    forged_spec = DPTableSpec(name="t", dims=("CPR",), statistic="count", rho="1",
                              config=DPConfig(population=10_000, codes={"CPR": ("0", "1", "2")}))
    forged = dataclasses.replace(honest, spec=forged_spec)
    with pytest.raises(DisclosureError):
        kit.clear(forged)


def test_grouping_column_is_still_released(data, ledger, tmp_path: Path) -> None:
    cfg = DPConfig(population=10_000, codes={"KOM": ("0", "1", "2")})
    r = dp_table(kit.Session(unit="PNR"), data, DPTableSpec(name="t", dims=("KOM",), statistic="count",
                                                             rho="1", config=cfg), ledger)
    assert [k for (k,) in r.keys] == ["0", "1", "2"]
