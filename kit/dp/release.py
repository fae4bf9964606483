"""DP count, sum, mean and rate tables with OpenDP, charged to the project ledger.

:func:`dp_table` is the one call: it checks the charge against the ledger
*before* any data are read, prepares the data so the declared person-level
bounds are true (:mod:`kit.dp.data`), opens OpenDP's compositor with the
ledger's remaining budget, writes the ledger's ``submitted`` line, releases,
and writes ``released`` (or ``failed``: the budget stays spent). The result
is a :class:`DPResult`, which :func:`kit.clear` turns into a
:class:`~kit.core.cleared.ClearedEstimate` of kind ``DP_TABLE``.

:func:`preview` shows what a release would look like (noise scale, 95 %
accuracy, bounds, cost and its ε-equivalent) without touching data or budget.

No true count is ever used to suppress a DP cell: the result holds only noisy
values, and everything done to them afterwards is post-processing.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pandas as pd

from kit.core.cleared import _GATE, ClearedEstimate, EstimateKind, EstimateRow, Flag, Provenance, _mac
from kit.core.schema import looks_like_key
from kit.core.spec_types import Statistic
from kit.dp import _engine
from kit.dp.accounting import float_down, float_up, fraction_text, zcdp_to_epsilon
from kit.dp.anchor import ProvenanceAnchor, anchor_text
from kit.dp.audit import check_anchor
from kit.dp.data import DataLike, empty_frame, native_key_types, prepare, resolve
from kit.dp.intervals import noise_accuracy, ratio_interval
from kit.dp.keys import refuse_key_dimensions
from kit.dp.ledger import BudgetLedger, Charge, project_ledger
from kit.dp.spec import DPConfig, DPTableSpec, Mechanism
from kit.errors import DisclosureError, KitError, SpecError

__all__ = ["DPPreview", "DPResult", "NoiseInfo", "dp_table", "preview"]

log = logging.getLogger(__name__)

_Rows = tuple[tuple[float | None, ...], ...]
N_COL = "__kit_n"
SUM_COL = "__kit_sum"


@dataclass(frozen=True)
class NoiseInfo:
    """The noise on one released statistic (public)."""

    statistic: str
    distribution: str
    scale: float
    accuracy: float
    alpha: float
    bounds: tuple[int, int] | None

    def describe(self) -> str:
        """One line for notes."""
        b = f", clipped to [{self.bounds[0]}, {self.bounds[1]}]" if self.bounds else ""
        return (f"{self.statistic}: {self.distribution} noise, scale {self.scale:.4g}, "
                f"{100 * (1 - self.alpha):.1f} % accuracy ±{self.accuracy:.4g}{b}")


# ---------------------------------------------------------------- plan building
def _privacy_unit(dp: Any, config: DPConfig) -> Any:
    if config.period is None:
        return dp.unit_of(contributions=1)
    k = len(config.periods)
    return dp.unit_of(contributions=[dp.polars.Bound(per_group=k),
                                     dp.polars.Bound(by=[config.period], per_group=1)])


def unit_text(config: DPConfig) -> str:
    """The privacy unit in words."""
    if config.period is None:
        return "a person (at most one row per person, made true by de-duplication before OpenDP)"
    return (f"a person (at most one row per person and {config.period}, at most {len(config.periods)} "
            f"{config.period}s; made true by de-duplication and filtering before OpenDP)")


def _compositor(libs: _engine.Libs, frame: Any, config: DPConfig, mechanism: Mechanism,
                rho: Fraction, delta: Fraction) -> Any:
    dp = libs.dp
    if mechanism is Mechanism.ZCDP:
        loss = dp.loss_of(rho=float_up(rho), delta=float_up(delta)) if delta > 0 else \
            dp.loss_of(rho=float_up(rho))
    else:
        loss = dp.loss_of(epsilon=math.sqrt(float_up(2 * rho)) * (1 + 1e-12))
    return dp.Context.compositor(data=frame, privacy_unit=_privacy_unit(dp, config), privacy_loss=loss,
                                 margins=[dp.polars.Margin(max_length=config.population)])


def _query(libs: _engine.Libs, ctx: Any, spec: DPTableSpec, ctx_has_delta: bool,
           native: dict[str, Any] | None = None) -> Any:
    dp, pl = libs.dp, libs.pl
    if spec.mech is Mechanism.ZCDP:
        kw: dict[str, float] = {"rho": float_down(spec.rho_exact)}
        if ctx_has_delta:
            kw["delta"] = float_down(spec.delta_exact)
    else:
        assert spec.epsilon_exact is not None
        kw = {"epsilon": float_down(spec.epsilon_exact)}
    aggs = []
    stat = spec.stat
    if stat is not Statistic.SUM:
        aggs.append(dp.len(signed=True).alias(N_COL))
    if stat is not Statistic.COUNT:
        assert spec.measure is not None
        aggs.append(pl.col(spec.measure).dp.sum(_bounds(spec)).alias(SUM_COL))
    q = ctx.query(**kw).group_by(*spec.dims).agg(*aggs)
    if spec.public_keys:
        q = q.with_keys(_keys(pl, spec, native))
    return q


def _bounds(spec: DPTableSpec) -> tuple[int, int]:
    if spec.stat is Statistic.RATE:
        return (0, 1)
    assert spec.measure is not None
    b = spec.config.bounds(spec.measure)
    assert b is not None
    return b


def _keys(pl: Any, spec: DPTableSpec, native: dict[str, Any] | None = None) -> Any:
    """The public cells; columns in ``native`` as integers (see :func:`kit.dp.data.native_key_types`)."""
    native = native or {}
    sets = spec.key_sets()
    rows = list(itertools.product(*(codes for _, codes in sets)))
    return pl.DataFrame({dim: [int(r[i]) if dim in native else r[i] for r in rows]
                         for i, (dim, _) in enumerate(sets)},
                        schema={dim: native.get(dim, pl.String) for dim, _ in sets})


def _noise(spec: DPTableSpec, summary: Any) -> tuple[dict[str, NoiseInfo], int | None]:
    """Noise per released column from OpenDP's summary (accuracies computed by the kit)."""
    ratio = spec.stat in (Statistic.MEAN, Statistic.RATE)
    alpha = spec.alpha / 2 if ratio else spec.alpha
    out: dict[str, NoiseInfo] = {}
    threshold = None
    records = summary.to_dicts()
    for rec in records:
        col = str(rec["column"])
        dist = "discrete Gaussian" if "Gaussian" in str(rec["distribution"]) else "discrete Laplace"
        scale = float(rec["scale"])
        name = "count" if col == N_COL else (spec.measure or col)
        bounds = _bounds(spec) if col == SUM_COL else None
        if ratio:
            name = "denominator (count)" if col == N_COL else f"numerator (sum of {spec.measure})"
        out[col] = NoiseInfo(name, dist, scale, noise_accuracy(dist, scale, alpha), alpha, bounds)
        if rec.get("threshold") is not None:
            threshold = int(rec["threshold"])
    return out, threshold


# ---------------------------------------------------------------------- preview
@dataclass(frozen=True)
class DPPreview:
    """What a DP release will cost and how noisy it will be. Spends nothing."""

    spec: DPTableSpec
    noise: tuple[NoiseInfo, ...]
    rho: Fraction
    delta: Fraction
    epsilon: Fraction | None
    project_delta: Fraction | None
    epsilon_equivalent: float | None
    remaining_rho_after: Fraction | None
    threshold: int | None
    n_cells: int | None

    def to_frame(self) -> pd.DataFrame:
        """One row per released statistic."""
        return pd.DataFrame([{
            "statistic": n.statistic, "distribution": n.distribution, "scale": n.scale,
            "accuracy": n.accuracy, "alpha": n.alpha,
            "lower": None if n.bounds is None else n.bounds[0],
            "upper": None if n.bounds is None else n.bounds[1],
        } for n in self.noise])

    def __str__(self) -> str:
        lines = [f"Preview of DP table '{self.spec.name}' ({self.spec.stat.value} over "
                 f"{', '.join(self.spec.dims)}; {self.n_cells if self.n_cells is not None else 'unknown'} "
                 "cells)"]
        lines += [f"  {n.describe()}" for n in self.noise]
        cost = f"rho={fraction_text(self.rho)}"
        if self.epsilon is not None:
            cost = f"epsilon={fraction_text(self.epsilon)} (charged as {cost})"
        if self.delta:
            cost += f", delta={float(self.delta):.3g}"
        lines.append(f"  cost: {cost}")
        if self.epsilon_equivalent is not None and self.project_delta is not None:
            lines.append(f"  epsilon-equivalent: {self.epsilon_equivalent:.4g} at delta="
                         f"{float(self.project_delta):.3g}")
        if self.threshold is not None:
            lines.append(f"  unknown keys: only keys with a noisy count above tau={self.threshold} "
                         "are released")
        if self.remaining_rho_after is not None:
            lines.append(f"  ledger after this release: rho={fraction_text(self.remaining_rho_after)} "
                         f"({float(self.remaining_rho_after):.4g}) remaining")
        if spec_ratio(self.spec):
            lines.append("  ratio intervals: numerator and denominator each at alpha/2 (union bound)")
        lines.append("  accuracy is noise only (not sampling error, not clipping bias); nothing was spent")
        return "\n".join(lines)

    __repr__ = __str__


def spec_ratio(spec: DPTableSpec) -> bool:
    """True for means and rates (numerator and denominator released together)."""
    return spec.stat in (Statistic.MEAN, Statistic.RATE)


def preview(session: Any, spec: DPTableSpec, ledger: BudgetLedger | None = None) -> DPPreview:
    """Noise scale, accuracy, bounds and cost of a DP table, before any data are touched.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session` (for symmetry with :func:`dp_table`).
    spec
        The table to preview.
    ledger
        Optional: report the project δ, the ε-equivalent and the budget left after.
    """
    unit = getattr(session, "unit", None)
    if isinstance(unit, str) and unit:
        _refuse_keys(session, spec, unit, f"DP table '{spec.name}'")
    libs = _engine.load()
    measures = [spec.measure] if spec.measure else []
    frame = empty_frame(libs.pl, config=spec.config, dims=spec.dims, measures=measures)
    rho = spec.rho_exact
    ctx = _compositor(libs, frame, spec.config, spec.mech, rho, spec.delta_exact)
    q = _query(libs, ctx, spec, spec.delta_exact > 0)
    meas, _ = _engine.resolve_query(libs, q)
    noise, threshold = _noise(spec, libs.summarize(meas, None))
    project_delta = remaining = None
    eps_eq: float | None = None
    if ledger is not None:
        rep = ledger.report()
        project_delta = rep.cap_delta
        remaining = rep.remaining_rho - rho
        eps_eq = zcdp_to_epsilon(rho, project_delta)
    n_cells = None
    if spec.public_keys:
        n_cells = 1
        for _, codes in spec.key_sets():
            n_cells *= len(codes)
    return DPPreview(spec=spec, noise=tuple(noise.values()), rho=rho, delta=spec.delta_exact,
                     epsilon=spec.epsilon_exact, project_delta=project_delta, epsilon_equivalent=eps_eq,
                     remaining_rho_after=remaining, threshold=threshold, n_cells=n_cells)


# ---------------------------------------------------------------------- release
@dataclass(frozen=True)
class DPResult:
    """A DP table released by OpenDP (noisy values only; clear it with :func:`kit.clear`).

    ``columns`` are ``value, ci_low, ci_high`` for counts and sums; means and
    rates add ``numerator`` and ``denominator`` and ``value`` is their ratio.
    """

    spec: DPTableSpec
    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    values: tuple[tuple[float | None, ...], ...]
    noise: tuple[NoiseInfo, ...]
    threshold: int | None
    rho: Fraction
    delta: Fraction
    epsilon: Fraction | None
    project_delta: Fraction
    ledger_name: str
    charge: Charge
    ledger_head: str
    opendp_loss: tuple[float, ...]
    opendp_version: str
    rules: tuple[str, str, str]
    created: str
    data_label: str
    ledger_source: str
    cap_rho: Fraction
    #: Seal over the released values, set by :func:`dp_table` only. ``dataclasses.replace`` copies
    #: it unchanged, so a result with replaced values no longer matches it and is never cleared.
    seal: str = field(default="", repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"<DPResult {self.spec.name!r}: {self.spec.stat.value} over {list(self.spec.dims)}, "
                f"{len(self.keys)} cells, rho={fraction_text(self.rho)}; clear it with kit.clear()>")

    @property
    def epsilon_equivalent(self) -> float:
        """ε-equivalent of the charge at the project δ."""
        return zcdp_to_epsilon(self.rho, self.project_delta)

    def budget_text(self) -> str:
        """The budget statement for provenance."""
        cost = f"rho={fraction_text(self.rho)}"
        if self.epsilon is not None:
            cost = f"epsilon={fraction_text(self.epsilon)} (pure DP; ledger charge {cost})"
        if self.delta:
            cost += f", delta={fraction_text(self.delta)}"
        return (f"{cost}; epsilon-equivalent {self.epsilon_equivalent:.4g} at delta="
                f"{float(self.project_delta):.3g}; ledger {self.ledger_name} line {self.charge.seq + 1}; "
                + anchor_text(self.ledger_source, self.cap_rho, self.project_delta, self.charge.id,
                              self.ledger_head))

    def notes(self) -> list[str]:
        """Numbered-note texts for the cleared output."""
        spec = self.spec
        mech = ("zero-concentrated DP (rho) with discrete Gaussian noise" if spec.mech is Mechanism.ZCDP
                else "pure epsilon-DP with discrete Laplace noise")
        notes = [f"Differentially private release (OpenDP {self.opendp_version}): {mech}. "
                 f"Privacy unit: {unit_text(spec.config)}."]
        notes += [f"Noise: {n.describe()}." for n in self.noise]
        if spec.public_keys:
            notes.append("Keys: public code lists from configuration; every cell is released, noisy zeros "
                         "included.")
        else:
            notes.append(f"Keys: observed keys whose noisy count passed OpenDP's threshold (tau = "
                         f"{self.threshold}); delta = {float(self.delta):.3g} charged.")
        if spec_ratio(spec):
            notes.append(f"{spec.stat.value.capitalize()}s are the ratio of a noisy sum and a noisy count "
                         f"released together; intervals cover both at {100 * (1 - spec.alpha):.0f} % "
                         "by a union bound (each at alpha/2) and are limited to the clipping range.")
        notes.append("Intervals cover the noise only, not sampling error or clipping bias. Bounds, keys and "
                     "the population bound are public configuration, never computed from the data.")
        notes.append("No suppression based on true counts is applied (a DP table is released whole).")
        notes.append(f"Privacy budget: {self.budget_text()}.")
        notes.extend(spec.notes)
        return notes

    def _payload(self) -> bytes:
        """What the seal covers: the spec, keys, values, noise and the budget's charge and anchor."""
        fields = (self.spec.fingerprint, self.columns, self.keys, self.values, self.noise, self.threshold,
                  self.rho, self.delta, self.epsilon, self.project_delta, self.ledger_name, self.charge,
                  self.ledger_head, self.opendp_loss, self.opendp_version, self.rules, self.created,
                  self.data_label, self.ledger_source, self.cap_rho)
        return hashlib.sha256(repr(fields).encode()).digest()

    def _build_cleared(self, gate: object, *, allow_review: bool = False) -> ClearedEstimate:
        check_anchor(ProvenanceAnchor(self.ledger_source, self.cap_rho, self.project_delta, self.charge.id,
                                      self.ledger_head), self.spec.name)
        if not hmac.compare_digest(_mac(b"dp|" + self._payload()), self.seal):
            raise DisclosureError(f"DP table '{self.spec.name}'", "it was changed after OpenDP released it "
                                  "(or built by hand)", "release the table again with kit.dp.dp_table; never "
                                  "edit a private result")
        id_dims = [d for d in self.spec.dims if looks_like_key(d)]
        if id_dims:
            raise DisclosureError(f"DP table '{self.spec.name}'", f"dimension(s) {id_dims} are identifier "
                                  "columns; a table keyed by them is never cleared",
                                  "release a table by a coarser public variable instead")
        rows = []
        for keys, values in zip(self.keys, self.values, strict=True):
            labelled = tuple(zip(self.spec.dims, keys, strict=True))
            term = ", ".join(f"{d}={k}" for d, k in labelled)
            rows.append(EstimateRow(term=term, keys=labelled, values=values,
                                    flags=(Flag.DIFFERENTIALLY_PRIVATE,)))
        rule_id, rule_version, rule_fp = self.rules
        provenance = Provenance(
            spec_fingerprint=self.spec.fingerprint, rule_set_id=rule_id, rule_set_version=rule_version,
            rule_set_fingerprint=rule_fp, created=self.created,
            methods=(f"differential privacy: OpenDP {self.opendp_version}, {self.spec.mech.value}, "
                     f"{self.spec.mech.distribution}", "privacy-budget ledger (hash chain)"),
            data_label=self.data_label, privacy_budget=self.budget_text(),
        )
        return ClearedEstimate(
            name=self.spec.name, title=self.spec.title or self.spec.name, kind=EstimateKind.DP_TABLE,
            columns=self.columns, rows=tuple(rows), n_reported="not reported (differential privacy)",
            notes=tuple(self.notes()), symbol=".", provenance=provenance,
            gate=gate if gate is _GATE else None,
        )


def _session_meta(session: Any) -> tuple[tuple[str, str, str], str, str, str]:
    rules = getattr(session, "rules", None)
    meta = (str(getattr(rules, "id", "none")), str(getattr(rules, "version", "")),
            str(getattr(rules, "fingerprint", "")))
    from kit.core.cleared import utc_now

    unit = getattr(session, "unit", None)
    if not isinstance(unit, str) or not unit:
        raise SpecError("DP release", "the session has no unit column", 'use kit.Session(unit="PNR")')
    created = str(getattr(session, "created", "") or utc_now())
    return meta, created, str(getattr(session, "data_label", "")), unit


def _loss_tuple(loss: Any) -> tuple[float, ...]:
    if isinstance(loss, tuple):
        return tuple(float(x) for x in loss)
    return (float(loss),)


def _refuse_keys(session: Any, spec: DPTableSpec, unit: str, where: str) -> None:
    derived = {d.name: d.source for d in spec.derive}
    refuse_key_dimensions(spec.dims, [(d, derived[d]) for d in spec.dims if d in derived], unit=unit,
                          schema=getattr(session, "schema", None), where=where)


def dp_table(session: Any, data: DataLike, spec: DPTableSpec, ledger: BudgetLedger | None = None) -> DPResult:
    """Release a DP table and charge the project's ledger.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session`: its ``unit`` is the person id;
        ``rules``, ``created`` and ``data_label`` go into provenance.
    data
        A Parquet path (read lazily: fastest and leanest), a polars LazyFrame or
        DataFrame, a pandas DataFrame, or a callable returning one (called only
        after the ledger has accepted the charge).
    spec
        What to release and its cost.
    ledger
        The project's :class:`~kit.dp.ledger.BudgetLedger`; by default the kit finds it in
        the project state folder (:meth:`BudgetLedger.find`).

    Raises
    ------
    SpecError
        A dimension is a key column (:mod:`kit.dp.keys`); raised before the data are read.
    BudgetExceededError
        The charge does not fit; raised before the data are read.
    LedgerIntegrityError
        The ledger or its anchor fails verification.
    OptionalDependencyError
        OpenDP is not installed (``pip install "sdc-kit[dp]"``).
    """
    where = f"DP table '{spec.name}'"
    libs = _engine.load()
    meta, created, data_label, unit = _session_meta(session)
    _refuse_keys(session, spec, unit, where)
    ledger = project_ledger(session, ledger)
    rep = ledger.report()
    ledger.check(spec.rho_exact, spec.delta_exact)      # refuse before touching any data
    lf = resolve(libs.pl, data, where)
    measures = [spec.measure] if spec.measure else []
    native = native_key_types(libs.pl, lf.collect_schema(), config=spec.config, dims=spec.dims,
                              derive=spec.derive, public_keys=spec.public_keys)
    frame = prepare(libs.pl, lf, unit=unit, config=spec.config, dims=spec.dims, measures=measures,
                    aggregate=spec.stat is not Statistic.COUNT, derive=spec.derive, where=where,
                    native=native)
    # the compositor holds this release's own loss, not the budget left: the ledger is the accountant
    # across releases (it refused above what would exceed the cap), and a compositor sized to the
    # remaining budget made OpenDP warn "rho should be less than or equal to 0.5" on every release of
    # a project with a budget above 1/2, whatever the release spent (issue 22)
    has_delta = spec.delta_exact > 0 and spec.mech is Mechanism.ZCDP
    ctx = _compositor(libs, frame, spec.config, spec.mech, spec.rho_exact,
                      spec.delta_exact if has_delta else Fraction(0))
    query = _query(libs, ctx, spec, has_delta, native)
    meas, run = _engine.resolve_query(libs, query)
    noise, threshold = _noise(spec, libs.summarize(meas, None))
    charge = ledger.submit(spec.rho_exact, spec.delta_exact, label=spec.name, spec=spec.fingerprint,
                           measure="zCDP" if spec.mech is Mechanism.ZCDP else "pure-DP",
                           epsilon=spec.epsilon_exact)
    try:
        released = run(meas).collect()
        loss = _loss_tuple(ctx.current_privacy_loss())
    except BaseException as exc:
        ledger.failed(charge, type(exc).__name__)
        if isinstance(exc, (KitError, KeyboardInterrupt, SystemExit)):
            raise
        raise KitError(where, f"OpenDP failed after the budget was charged ({type(exc).__name__}); the "
                       "charge stays spent", "check the spec with kit.dp.preview(); report the error "
                       "class to the kit's maintainers") from None
    details = {"mechanism": spec.mech.value, "opendp": libs.version, "opendp_loss": list(loss),
               "scales": {n.statistic: n.scale for n in noise.values()}, "threshold": threshold}
    head = ledger.released(charge, details)
    columns, keys, values = _post_process(libs.pl, spec, released, noise, native)
    log.info("released DP table %s: %d cells", spec.name, len(keys))
    result = DPResult(
        spec=spec, columns=columns, keys=keys, values=values, noise=tuple(noise.values()),
        threshold=threshold, rho=spec.rho_exact, delta=spec.delta_exact, epsilon=spec.epsilon_exact,
        project_delta=rep.cap_delta, ledger_name=rep.project or ledger.path.name, charge=charge,
        ledger_head=head, opendp_loss=loss, opendp_version=libs.version, rules=meta, created=created,
        data_label=data_label, ledger_source=rep.source, cap_rho=rep.cap_rho,
    )
    object.__setattr__(result, "seal", _mac(b"dp|" + result._payload()))
    return result


def _post_process(pl: Any, spec: DPTableSpec, released: Any, noise: dict[str, NoiseInfo],
                  native: dict[str, Any] | None = None) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], _Rows]:
    dims = list(spec.dims)
    if spec.public_keys:
        frame = _keys(pl, spec, native).join(released, on=dims, how="left", maintain_order="left")
    else:
        frame = released.sort(dims)
    keys = tuple(tuple(str(v) for v in row) for row in frame.select(dims).iter_rows())
    stat = spec.stat
    if stat in (Statistic.COUNT, Statistic.SUM):
        col = N_COL if stat is Statistic.COUNT else SUM_COL
        acc = noise[col].accuracy
        vals = [None if v is None else float(v) for v in frame[col].to_list()]
        out = tuple((v, None if v is None else v - acc, None if v is None else v + acc) for v in vals)
        return ("value", "ci_low", "ci_high"), keys, out
    lo, hi = _bounds(spec)
    a_num, a_den = noise[SUM_COL].accuracy, noise[N_COL].accuracy
    rows: list[tuple[float | None, ...]] = []
    for num, den in zip(frame[SUM_COL].to_list(), frame[N_COL].to_list(), strict=True):
        if num is None or den is None:
            rows.append((None, None, None, None, None))
            continue
        ratio, r_lo, r_hi = ratio_interval(float(num), float(den), a_num, a_den, float(lo), float(hi))
        rows.append((ratio, r_lo, r_hi, float(num), float(den)))
    return ("value", "ci_low", "ci_high", "numerator", "denominator"), keys, tuple(rows)


def key_frame(spec: DPTableSpec) -> Sequence[tuple[str, ...]]:
    """The public cells of a spec in release order (no OpenDP needed).

    >>> from kit.dp.spec import DPConfig
    >>> cfg = DPConfig(population=100, codes={"A": ("1", "2"), "B": ("x",)})
    >>> list(key_frame(DPTableSpec(name="t", dims=("A", "B"), statistic="count", rho="1/8", config=cfg)))
    [('1', 'x'), ('2', 'x')]
    """
    return list(itertools.product(*(codes for _, codes in spec.key_sets())))
