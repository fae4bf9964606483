"""DP linear regression from noisy sufficient statistics.

The outcome and predictors are integer columns clipped to public bounds
(before OpenDP, a row-wise step). One OpenDP ``select`` releases, with one
noise search, ``n``, every ``Σx_j``, ``Σy``, every ``Σx_j x_l``, ``Σx_j y``
and ``Σy²`` (each product's bounds are the corners of its factors' bounds).
The kit then solves the normal equations ``(X'X) β = X'y`` with the noisy
moments (post-processing, free). Standard errors combine

* sampling error: ``s² diag((X'X)^-1)`` with ``s²`` from the noisy ``Σy²``,
  ``β'X'y`` and ``n``;
* noise: the standard deviation of ``β`` over a seeded parametric bootstrap of
  the released noise (Gaussian draws with the released scales).

Intervals are ``β ± z √(se_sampling² + sd_noise²)``. Clipping biases the
coefficients towards the clipping box; choose bounds that rarely bind.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import stats as sps

from kit.core.cleared import _GATE, ClearedEstimate, EstimateKind, EstimateRow, Flag, Provenance
from kit.dp import _engine
from kit.dp.accounting import float_down, fraction_text, zcdp_to_epsilon
from kit.dp.anchor import ProvenanceAnchor, anchor_text
from kit.dp.audit import check_anchor
from kit.dp.data import DataLike, prepare, resolve
from kit.dp.ledger import BudgetLedger, Charge, project_ledger
from kit.dp.release import _compositor, _session_meta, unit_text
from kit.dp.spec import DPRegressionSpec, Mechanism
from kit.errors import KitError

__all__ = ["DPRegressionResult", "dp_regression", "solve_moments"]


def _prod_bounds(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def solve_moments(n: float, sx: np.ndarray, sy: float, sxx: np.ndarray, sxy: np.ndarray,
                  syy: float) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS with an intercept from moments; returns (beta, (X'X)^-1, s²).

    >>> x = np.array([0., 1., 2., 3.]); y = 1 + 2 * x
    >>> b, _, s2 = solve_moments(4, np.array([x.sum()]), y.sum(), np.array([[x @ x]]),
    ...                          np.array([x @ y]), y @ y)
    >>> np.round(b, 6).tolist(), round(s2, 6)
    ([1.0, 2.0], 0.0)
    """
    k = len(sx)
    xtx = np.empty((k + 1, k + 1))
    xtx[0, 0] = n
    xtx[0, 1:] = xtx[1:, 0] = sx
    xtx[1:, 1:] = sxx
    xty = np.concatenate([[sy], sxy])
    inv = np.linalg.pinv(xtx)
    beta = inv @ xty
    rss = syy - 2 * beta @ xty + beta @ xtx @ beta
    s2 = max(float(rss), 0.0) / max(n - k - 1, 1.0)
    return beta, inv, s2


@dataclass(frozen=True)
class DPRegressionResult:
    """DP regression coefficients (clear them with :func:`kit.clear`)."""

    spec: DPRegressionSpec
    terms: tuple[str, ...]
    values: tuple[tuple[float, float, float, float, float], ...]
    scales: tuple[tuple[str, float], ...]
    rho: Fraction
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

    def __repr__(self) -> str:
        return (f"<DPRegressionResult {self.spec.name!r}: {len(self.terms)} coefficients; "
                "clear it with kit.clear()>")

    def _build_cleared(self, gate: object, *, allow_review: bool = False) -> ClearedEstimate:
        check_anchor(ProvenanceAnchor(self.ledger_source, self.cap_rho, self.project_delta, self.charge.id,
                                      self.ledger_head), self.spec.name)
        budget = (f"rho={fraction_text(self.rho)}; epsilon-equivalent "
                  f"{zcdp_to_epsilon(self.rho, self.project_delta):.4g} "
                  f"at delta={float(self.project_delta):.3g}; "
                  f"ledger {self.ledger_name} line {self.charge.seq + 1}; "
                  + anchor_text(self.ledger_source, self.cap_rho, self.project_delta, self.charge.id,
                                self.ledger_head))
        bounds = ", ".join(f"{c} [{b[0]}, {b[1]}]" for c in (self.spec.outcome, *self.spec.predictors)
                           if (b := self.spec.config.bounds(c)) is not None)
        notes = (
            f"Differentially private linear regression (OpenDP {self.opendp_version}): zCDP, discrete "
            f"Gaussian noise on the sufficient statistics; privacy unit: {unit_text(self.spec.config)}.",
            f"Columns clipped to public bounds: {bounds}. Coefficients solve the normal equations of the "
            "noisy moments.",
            "se combines sampling error (from the noisy moments) and the noise (parametric bootstrap, "
            f"seed {self.spec.seed}); intervals at {100 * (1 - self.spec.alpha):.0f} %.",
            f"Privacy budget: {budget}.",
        )
        rid, rver, rfp = self.rules
        prov = Provenance(spec_fingerprint=self.spec.fingerprint, rule_set_id=rid, rule_set_version=rver,
                          rule_set_fingerprint=rfp, created=self.created,
                          methods=(f"differential privacy: OpenDP {self.opendp_version}, zcdp, "
                                   "discrete Gaussian (sufficient statistics)",),
                          data_label=self.data_label, privacy_budget=budget)
        rows = tuple(EstimateRow(term=t, keys=(), values=v, flags=(Flag.DIFFERENTIALLY_PRIVATE,))
                     for t, v in zip(self.terms, self.values, strict=True))
        return ClearedEstimate(name=self.spec.name, title=self.spec.title or self.spec.name,
                               kind=EstimateKind.DP_REGRESSION,
                               columns=("coef", "se", "ci_low", "ci_high", "noise_sd"), rows=rows,
                               n_reported="not reported (differential privacy)", notes=notes, symbol=".",
                               provenance=prov, gate=gate if gate is _GATE else None)


def dp_regression(session: Any, data: DataLike, spec: DPRegressionSpec, ledger: BudgetLedger | None = None
                  ) -> DPRegressionResult:
    """Release DP linear-regression coefficients (see the module docs) and charge the ledger.

    Same protocol as :func:`kit.dp.release.dp_table`: refused before the data
    are read when the charge does not fit. ``ledger=None`` finds the project's
    ledger in the project state folder (:meth:`BudgetLedger.find`).
    """
    where = f"DP regression '{spec.name}'"
    libs = _engine.load()
    dp, pl = libs.dp, libs.pl
    meta, created, data_label, unit = _session_meta(session)
    ledger = project_ledger(session, ledger)
    rep = ledger.report()
    ledger.check(spec.rho_exact, 0)
    lf = resolve(pl, data, where)
    cols = [spec.outcome, *spec.predictors]
    frame = prepare(pl, lf, unit=unit, config=spec.config, dims=(), measures=cols, aggregate=False,
                    clip_measures=True, where=where)
    bounds = {c: spec.config.bounds(c) for c in cols}
    aggs = [dp.len(signed=True).alias("__kit_n")]
    for c in cols:
        cb = bounds[c]
        assert cb is not None
        aggs.append(pl.col(c).dp.sum(cb).alias(f"__kit_s_{c}"))
    for a, b in itertools.combinations_with_replacement(cols, 2):
        ba, bb = bounds[a], bounds[b]
        assert ba is not None and bb is not None
        aggs.append((pl.col(a) * pl.col(b)).dp.sum(_prod_bounds(ba, bb)).alias(f"__kit_p_{a}__{b}"))
    # sized to this release's loss (the ledger accounts across releases; see kit.dp.release.dp_table)
    ctx = _compositor(libs, frame, spec.config, Mechanism.ZCDP, spec.rho_exact, Fraction(0))
    query = ctx.query(rho=float_down(spec.rho_exact)).select(*aggs)
    meas, run = _engine.resolve_query(libs, query)
    summary = libs.summarize(meas, None).to_dicts()
    scales = {str(r["column"]): float(r["scale"]) for r in summary}
    charge = ledger.submit(spec.rho_exact, 0, label=spec.name, spec=spec.fingerprint, measure="zCDP")
    try:
        released = run(meas).collect()
        loss = ctx.current_privacy_loss()
    except BaseException as exc:
        ledger.failed(charge, type(exc).__name__)
        if isinstance(exc, (KitError, KeyboardInterrupt, SystemExit)):
            raise
        raise KitError(where, f"OpenDP failed after the budget was charged ({type(exc).__name__})",
                       "the charge stays spent; report the error class to the kit's maintainers") from None
    loss_t = tuple(float(x) for x in loss) if isinstance(loss, tuple) else (float(loss),)
    head = ledger.released(charge, {"mechanism": "zcdp", "opendp": libs.version, "opendp_loss": list(loss_t),
                                    "scales": scales})
    row = released.row(0, named=True)
    values = _solve(spec, cols, row, scales)
    return DPRegressionResult(
        spec=spec, terms=("const", *spec.predictors), values=values, scales=tuple(sorted(scales.items())),
        rho=spec.rho_exact, project_delta=rep.cap_delta, ledger_name=rep.project or ledger.path.name,
        charge=charge, ledger_head=head, opendp_loss=loss_t, opendp_version=libs.version, rules=meta,
        created=created, data_label=data_label, ledger_source=rep.source, cap_rho=rep.cap_rho,
    )


def _moments(cols: list[str], get: Any) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray, float]:
    y, xs = cols[0], cols[1:]
    n = get("__kit_n")
    sx = np.array([get(f"__kit_s_{x}") for x in xs])
    sy = get(f"__kit_s_{y}")

    def prod(a: str, b: str) -> float:
        i, j = sorted((cols.index(a), cols.index(b)))
        return float(get(f"__kit_p_{cols[i]}__{cols[j]}"))

    sxx = np.array([[prod(a, b) for b in xs] for a in xs])
    sxy = np.array([prod(x, y) for x in xs])
    return float(n), sx, float(sy), sxx, sxy, prod(y, y)


def _solve(spec: DPRegressionSpec, cols: list[str], row: dict[str, Any], scales: dict[str, float]
           ) -> tuple[tuple[float, float, float, float, float], ...]:
    n, sx, sy, sxx, sxy, syy = _moments(cols, lambda c: float(row[c]))
    beta, inv, s2 = solve_moments(n, sx, sy, sxx, sxy, syy)
    se_samp = np.sqrt(np.maximum(np.diag(inv) * s2, 0.0))
    rng = np.random.default_rng(spec.seed)
    draws = np.empty((spec.n_draws, len(beta)))
    for i in range(spec.n_draws):
        noisy = {c: float(row[c]) + rng.normal(0.0, scales.get(c, 0.0)) for c in row}
        m = _moments(cols, lambda c, noisy=noisy: noisy[c])
        draws[i] = solve_moments(*m)[0]
    noise_sd = draws.std(axis=0, ddof=1)
    z = float(sps.norm.isf(spec.alpha / 2))
    out = []
    for b, s, ns in zip(beta, se_samp, noise_sd, strict=True):
        half = z * math.sqrt(float(s) ** 2 + float(ns) ** 2)
        out.append((float(b), float(s), float(b) - half, float(b) + half, float(ns)))
    return tuple(out)
