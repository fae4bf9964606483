"""DP releases with OpenDP: accounting, refusal before data, guards, cleared output."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("opendp")
pl = pytest.importorskip("polars")

import kit  # noqa: E402
from kit.core.cleared import EstimateKind, Flag  # noqa: E402
from kit.dp import (  # noqa: E402
    BudgetLedger,
    Derive,
    DPConfig,
    DPTableSpec,
    dp_table,
    preview,
)
from kit.errors import BudgetExceededError, SpecError  # noqa: E402

YEARS = ("2015", "2016", "2017")
CFG = DPConfig(population=100_000, period="year", periods=YEARS,
               codes={"KOM": ("0", "1", "2", "3", "9")}, clip={"inc": (0, 1000)})


@pytest.fixture()
def session() -> kit.Session:
    return kit.Session(unit="PNR", data_label="synthetic panel", created="2024-01-01T00:00:00+00:00")


@pytest.fixture()
def ledger(tmp_path: Path) -> BudgetLedger:
    return BudgetLedger.create(tmp_path / "budget.jsonl", cap_rho="1/2", delta="1e-7", project="test")


def spec(stat: str = "count", **kw: object) -> DPTableSpec:
    base: dict[str, object] = {"name": f"t_{stat}", "dims": ("KOM", "year"), "statistic": stat,
                               "rho": "1/16", "config": CFG}
    if stat != "count":
        base["measure"] = "emp" if stat == "rate" else "inc"
    base.update(kw)
    return DPTableSpec(**base)  # type: ignore[arg-type]


def test_ledger_total_equals_opendp_loss(session, ledger, panel_parquet) -> None:
    results = [dp_table(session, panel_parquet, spec(s), ledger) for s in ("count", "rate", "mean", "sum")]
    opendp_total = sum(r.opendp_loss[0] for r in results)
    assert ledger.spent_rho == Fraction(1, 4)
    assert abs(opendp_total - float(ledger.spent_rho)) < 1e-12
    for r in results:
        assert abs(r.opendp_loss[0] - float(r.rho)) < 1e-12
    rep = ledger.verify()
    assert rep.ok and rep.n_released == 4
    # the released lines record OpenDP's own accounting too
    released = [e for e in rep.entries if e["type"] == "released"]
    assert all(abs(e["details"]["opendp_loss"][0] - 1 / 16) < 1e-12 for e in released)


def test_over_budget_refused_before_data_are_touched(session, ledger) -> None:
    calls = []

    def data():  # pragma: no cover - must never run
        calls.append(1)
        raise AssertionError("data touched")

    with pytest.raises(BudgetExceededError) as info:
        dp_table(session, data, spec(rho="1/2000000000000").__class__(**{**_kw(spec()), "rho": "0.5000001"}),
                 ledger)
    assert calls == []
    assert info.value.requested == Fraction(5000001, 10000000)
    assert ledger.verify().n_charges == 0


def _kw(s: DPTableSpec) -> dict[str, object]:
    return {"name": s.name, "dims": s.dims, "statistic": s.statistic, "config": s.config, "rho": s.rho}


def test_data_callable_invoked_once_when_affordable(session, ledger, panel_parquet) -> None:
    calls = []

    def data():
        calls.append(1)
        return pl.scan_parquet(panel_parquet)

    dp_table(session, data, spec(), ledger)
    assert calls == [1]


def test_column_redefinition_guard(session, ledger, panel_parquet) -> None:
    # OpenDP issue 2949: overwriting a bounded column keeps its old bound
    with pytest.raises(SpecError, match="2949"):
        spec(derive=(Derive("year", "KOM", {"0": "2015"}),))
    # overwriting any existing column is refused at data time, before any charge
    s = spec(dims=("KOM2", "year"), derive=(Derive("KOM2", "KOM", {"0": "a", "1": "b"}),))
    assert dp_table(session, panel_parquet, s, ledger).keys[0] == ("a", "2015")
    clash = spec(dims=("emp", "year"), derive=(Derive("emp", "KOM", {"0": "a"}),))
    spent = ledger.spent_rho
    with pytest.raises(SpecError, match="overwrite"):
        dp_table(session, panel_parquet, clash, ledger)
    assert ledger.spent_rho == spent


def test_float_sums_refused(session, ledger, tmp_path) -> None:
    df = pl.DataFrame({"PNR": [1, 2], "year": ["2015", "2015"], "KOM": ["0", "1"], "inc": [1.5, 2.0]})
    with pytest.raises(SpecError, match="float"):
        dp_table(session, df, spec("sum"), ledger)
    assert ledger.verify().n_charges == 0


def test_cleared_output(session, ledger, panel_parquet) -> None:
    result = dp_table(session, panel_parquet, spec("rate"), ledger)
    cleared = kit.clear(result)
    assert cleared.kind is EstimateKind.DP_TABLE
    assert cleared.columns == ("value", "ci_low", "ci_high", "numerator", "denominator")
    assert len(cleared.rows) == 5 * 3                     # every public cell, '9' included
    assert all(r.flags == (Flag.DIFFERENTIALLY_PRIVATE,) for r in cleared.rows)
    assert not any(r.suppressed for r in cleared.rows)    # no true-count suppression, ever
    assert cleared.rows[0].keys == (("KOM", "0"), ("year", "2015"))
    for r in cleared.rows:
        v, lo, hi = r.values[:3]
        assert 0 <= lo <= hi <= 1 and (v is None or lo <= v <= hi or hi - lo == 1)
    budget = cleared.provenance.privacy_budget
    assert budget is not None and "rho=1/16" in budget and result.ledger_head in budget
    text = " ".join(cleared.notes)
    for word in ("discrete Gaussian", "Privacy unit", "public code lists", "union bound", "[0, 1]"):
        assert word in text
    assert ledger.verify(expect_head=result.ledger_head).ok


def test_preview_spends_nothing_and_matches_release(session, ledger, panel_parquet) -> None:
    before = ledger.path.read_bytes()
    p = preview(session, spec("mean"), ledger)
    assert ledger.path.read_bytes() == before
    text = str(p)
    assert "epsilon-equivalent" in text and "scale" in text
    assert p.remaining_rho_after == Fraction(7, 16)
    r = dp_table(session, panel_parquet, spec("mean"), ledger)
    assert [n.scale for n in p.noise] == pytest.approx([n.scale for n in r.noise], rel=1e-9)
    frame = p.to_frame()
    assert set(frame["statistic"]) == {"denominator (count)", "numerator (sum of inc)"}


def test_fast_resolve_matches_opendp(session, ledger) -> None:
    from kit.dp import _engine
    from kit.dp.data import empty_frame
    from kit.dp.release import _compositor, _query

    libs = _engine.load()
    for s in (spec("mean"), spec(dims=("KOM",), public_keys=False, delta="1e-9")):
        frame = empty_frame(libs.pl, config=CFG, dims=s.dims, measures=[s.measure] if s.measure else [])
        ctx = _compositor(libs, frame, CFG, s.mech, Fraction(1, 2), s.delta_exact)
        q = _query(libs, ctx, s, s.delta_exact > 0)
        meas, _ = _engine.resolve_query(libs, q)
        ours = libs.summarize(meas, None)
        stock = q.summarize()
        assert ours["scale"].to_list() == pytest.approx(stock["scale"].to_list(), rel=1e-6)
        if "threshold" in stock.columns:
            assert ours["threshold"].to_list() == stock["threshold"].to_list()


def test_unknown_keys_and_pure_epsilon(session, ledger, panel_parquet) -> None:
    r = dp_table(session, panel_parquet, spec(dims=("KOM",), public_keys=False, delta="1e-9"), ledger)
    assert r.threshold is not None and {k[0] for k in r.keys} <= {"0", "1", "2", "3"}
    assert ledger.spent_delta == Fraction(1, 10**9)
    pure = spec(dims=("KOM",), rho=None, epsilon="1/4", mechanism="pure")
    p = dp_table(session, panel_parquet, pure, ledger)
    assert p.rho == Fraction(1, 32) and abs(p.opendp_loss[0] - 0.25) < 1e-12
    assert "Laplace" in " ".join(kit.clear(p).notes)
    with pytest.raises(SpecError):
        spec(public_keys=False, rho=None, epsilon="1", mechanism="pure", delta="1e-9")


def test_interval_coverage_with_opendp(session, tmp_path) -> None:
    # 40 real releases of 20 cells: the 95 % intervals must cover about 95 % of the true counts
    # (a small rho gives scale 32, where the integer noise's discreteness hardly matters)
    rng = np.random.default_rng(3)
    n = 4000
    kom = rng.integers(0, 20, n).astype(str)
    df = pl.DataFrame({"PNR": np.arange(n), "KOM": kom})
    truth = {k: int((kom == k).sum()) for k in map(str, range(20))}
    cfg = DPConfig(population=10_000, codes={"KOM": tuple(map(str, range(20)))})
    led = BudgetLedger.create(tmp_path / "cov.jsonl", cap_rho="100")
    hits = total = 0
    lf = df.lazy()
    for _ in range(40):
        s = DPTableSpec(name="c", dims=("KOM",), statistic="count", rho="1/2000", config=cfg)
        r = dp_table(session, lf, s, led)
        for (k,), (_, lo, hi) in zip(r.keys, r.values, strict=True):
            hits += lo <= truth[k] <= hi
            total += 1
    assert 0.92 <= hits / total <= 0.98


def test_truncate_num_groups_keeps_k_minus_one_groups() -> None:
    """Pins OpenDP 0.16 behaviour: truncate_num_groups(k) keeps k-1 groups per person.

    If an OpenDP upgrade changes this, this test fails: re-check the trap in
    shared/domain/differential-privacy.md before relying on truncation.
    """
    from kit.dp import _engine

    dp = _engine.load().dp
    n = 1000
    df = pl.DataFrame({"pid": np.repeat(np.arange(n), 3), "g": np.tile(["a", "b", "c"], n)})
    kept, scales = {}, {}
    for k in (1, 2, 3):
        unit = dp.unit_of(contributions=1, identifier="pid")
        ctx = dp.Context.compositor(data=df.lazy(), privacy_unit=unit,
                                    privacy_loss=dp.loss_of(rho=1000.0),
                                    margins=[dp.polars.Margin(max_length=10_000)])
        q = (ctx.query(rho=1000.0).truncate_per_group(1, by=["g"])
             .truncate_num_groups(k, by=["g"], keep="first")
             .group_by("g").agg(dp.len(signed=True)).with_keys(pl.DataFrame({"g": ["a", "b", "c"]})))
        scales[k] = float(q.summarize()["scale"][0])
        out = dict(q.release().collect().iter_rows())
        kept[k] = round((out["a"] + out["b"] + out["c"]) / n)
    assert kept == {1: 0, 2: 1, 3: 2}                 # k - 1 groups kept per person ...
    assert scales[1] < scales[2] < scales[3]          # ... while the noise is calibrated for k


def test_session_without_unit_and_bad_data(ledger) -> None:
    class Bare:
        unit = ""

    with pytest.raises(SpecError):
        dp_table(Bare(), None, spec(), ledger)
