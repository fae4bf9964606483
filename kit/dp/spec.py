"""Public, data-free descriptions of DP releases.

:class:`DPConfig` holds everything the privacy guarantee rests on and that
must never come from the data: the public key sets (dimension code lists),
clipping bounds, the public population bound, and the panel structure (the
period column and its public list of periods). :class:`DPTableSpec` and
:class:`DPRegressionSpec` describe one release and its cost.

Examples
--------
>>> cfg = DPConfig(population=7_000_000, period="year", periods=("2017", "2018"),
...                codes={"KOM": ("101", "147")}, clip={"income": (0, 2_000_000)})
>>> cfg.max_contributions, cfg.code_list("KOM"), cfg.bounds("income")
(2, ('101', '147'), (0, 2000000))
>>> spec = DPTableSpec(name="residents", dims=("KOM", "year"), statistic="count", rho="1/8", config=cfg)
>>> spec.rho, spec.mechanism.value
(Fraction(1, 8), 'zcdp')
>>> DPTableSpec(name="x", dims=("KOM",), statistic="sum", measure="income", rho="1/8",
...             config=cfg, derive=(Derive("year", "KOM", {"101": "a"}),))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.SpecError: DP table 'x': derived column 'year' would overwrite the period column ...
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kit.core.spec_types import Statistic
from kit.dp.accounting import BudgetLike, as_fraction, epsilon_to_rho, fraction_text
from kit.errors import SpecError

__all__ = ["DPConfig", "DPRegressionSpec", "DPTableSpec", "Derive", "Mechanism", "check_no_bound_overwrite"]

DP_STATISTICS = (Statistic.COUNT, Statistic.SUM, Statistic.MEAN, Statistic.RATE)


class Mechanism(enum.Enum):
    """Privacy measure and noise."""

    #: zero-concentrated DP (ρ) with discrete Gaussian noise (default).
    ZCDP = "zcdp"
    #: pure ε-DP with discrete Laplace noise (on request; public keys only).
    PURE = "pure"

    @property
    def distribution(self) -> str:
        """Noise distribution name."""
        return "discrete Gaussian" if self is Mechanism.ZCDP else "discrete Laplace"


def _freeze_map(value: Any, where: str, kind: str) -> tuple[tuple[str, Any], ...]:
    items = list(value.items()) if isinstance(value, Mapping) else list(value or ())
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise SpecError(where, f"{kind} must be a mapping of column name to values", "pass a dict")
        out.append((str(item[0]), item[1]))
    return tuple(sorted(out))


@dataclass(frozen=True)
class DPConfig:
    """Public DP configuration: key sets, clipping bounds, population and panel structure.

    Parameters
    ----------
    population
        A public upper bound on the number of rows given to OpenDP after
        de-duplication (persons × periods), e.g. from published population
        totals. Never computed from the data.
    period
        The period column of a panel (``"year"``), or ``None`` for one row per person.
    periods
        The public list of periods; rows outside it are dropped before OpenDP.
    codes
        Public key set (code list) per dimension.
    clip
        Integer clipping bounds ``(lower, upper)`` per measure column.
    """

    population: int
    period: str | None = None
    periods: tuple[str, ...] = ()
    codes: Any = ()
    clip: Any = ()

    def __post_init__(self) -> None:
        where = "DP config"
        if not isinstance(self.population, int) or isinstance(self.population, bool) or self.population < 1:
            raise SpecError(where, "population must be a positive whole number (a public upper bound)",
                            "pass e.g. population=7_000_000")
        object.__setattr__(self, "periods", tuple(str(p) for p in self.periods))
        if self.period is not None:
            if not self.periods:
                raise SpecError(where, f"period column '{self.period}' has no public list of periods",
                                "pass periods=('2015', '2016', ...)")
            if len(set(self.periods)) != len(self.periods):
                raise SpecError(where, "the list of periods has duplicates", "list each period once")
        elif self.periods:
            raise SpecError(where, "periods are given without a period column", 'pass period="year"')
        codes = _freeze_map(self.codes, where, "codes")
        frozen_codes = []
        for dim, values in codes:
            vals = tuple(str(v) for v in values)
            if not vals or len(set(vals)) != len(vals):
                raise SpecError(where, f"the code list of '{dim}' is empty or has duplicates",
                                "list each public code once")
            frozen_codes.append((dim, vals))
        object.__setattr__(self, "codes", tuple(frozen_codes))
        clip = _freeze_map(self.clip, where, "clip")
        frozen_clip = []
        for col, bounds in clip:
            try:
                lo, hi = bounds
            except (TypeError, ValueError):
                raise SpecError(where, f"clip bounds of '{col}' are not a (lower, upper) pair",
                                "pass e.g. clip={'income': (0, 2_000_000)}") from None
            if not all(isinstance(b, int) and not isinstance(b, bool) for b in (lo, hi)) or lo > hi:
                raise SpecError(where, f"clip bounds of '{col}' must be whole numbers with lower <= upper",
                                "use integer units (e.g. kroner); float sums are refused")
            frozen_clip.append((col, (int(lo), int(hi))))
        object.__setattr__(self, "clip", tuple(frozen_clip))

    @property
    def max_contributions(self) -> int:
        """Rows per person after de-duplication: the number of periods (1 without a panel)."""
        return len(self.periods) if self.period is not None else 1

    def code_list(self, dim: str) -> tuple[str, ...] | None:
        """The public code list of a dimension (``period`` uses ``periods``), or ``None``."""
        if dim == self.period:
            return self.periods
        return dict(self.codes).get(dim)

    def bounds(self, column: str) -> tuple[int, int] | None:
        """Clipping bounds of a measure column, or ``None``."""
        return dict(self.clip).get(column)

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping (for fingerprints and provenance)."""
        return {"population": self.population, "period": self.period, "periods": list(self.periods),
                "codes": {d: list(v) for d, v in self.codes}, "clip": {c: list(b) for c, b in self.clip}}


@dataclass(frozen=True)
class Derive:
    """A new column recoded from an existing one by a public mapping.

    Rows whose source value is not in the mapping get ``None`` (and fall out of
    public-key tables). The new name must not overwrite any column named in the
    privacy unit's bounds (see :func:`check_no_bound_overwrite`).
    """

    name: str
    source: str
    mapping: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", tuple(sorted((str(k), str(v)) for k, v in
                                                          dict(self.mapping).items())))


def check_no_bound_overwrite(written: Sequence[str], bound_columns: Sequence[str], where: str) -> None:
    """Refuse a plan that writes a column named in the privacy unit's bounds.

    OpenDP issue 2949: redefining a bounded column with ``with_columns`` keeps
    the old bound, so the sensitivity is underestimated.

    >>> check_no_bound_overwrite(["age_group"], ["year"], "plan")
    >>> check_no_bound_overwrite(["year"], ["year"], "plan")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    kit.errors.SpecError: plan: derived column 'year' would overwrite the period column ...
    """
    for name in written:
        if name in bound_columns:
            raise SpecError(where, f"derived column '{name}' would overwrite the period column named in the "
                            "privacy unit's bounds (OpenDP issue 2949: the old bound would be kept and the "
                            "noise too small)", "derive it under a new name")


def _budget(rho: BudgetLike | None, epsilon: BudgetLike | None, mechanism: Mechanism,
            where: str) -> tuple[Fraction, Fraction | None]:
    if mechanism is Mechanism.ZCDP:
        if rho is None or epsilon is not None:
            raise SpecError(where, "a zCDP release needs rho (and no epsilon)",
                            'pass rho="1/8", or mechanism="pure" with epsilon')
        return as_fraction(rho, f"{where} rho", allow_zero=False), None
    if epsilon is None or rho is not None:
        raise SpecError(where, "a pure-DP release needs epsilon (and no rho)", 'pass epsilon="1/2"')
    eps = as_fraction(epsilon, f"{where} epsilon", allow_zero=False)
    return epsilon_to_rho(eps), eps


def _fingerprint(doc: Mapping[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DPTableSpec:
    """A DP count, sum, mean or rate table.

    Parameters
    ----------
    name, title
        Public names of the table.
    dims
        Dimensions. With ``public_keys`` (default) each needs a code list in
        the config (the period column uses ``periods``); every cell of their
        cross product is released, noisy zeros included.
    statistic
        ``count`` (persons, or person-periods on a panel), ``sum``, ``mean`` or
        ``rate`` (a 0/1 measure). Means and rates release numerator and
        denominator together; the kit forms the ratio.
    measure
        Integer or 0/1 column for sum, mean and rate (float columns are refused).
    rho, epsilon
        The cost: ``rho`` for zCDP (default), ``epsilon`` with ``mechanism="pure"``
        (charged to the ledger as ρ = ε²/2).
    public_keys
        ``False`` releases only the keys that pass OpenDP's τ-threshold, which
        needs ``delta`` (zCDP only).
    alpha
        Error level of the intervals (0.05: 95 %).
    derive
        New columns recoded by public mappings, available as dimensions.
    """

    name: str
    dims: tuple[str, ...]
    statistic: Statistic | str
    config: DPConfig
    measure: str | None = None
    rho: BudgetLike | None = None
    epsilon: BudgetLike | None = None
    mechanism: Mechanism | str = Mechanism.ZCDP
    public_keys: bool = True
    delta: BudgetLike = 0
    alpha: float = 0.05
    title: str = ""
    derive: tuple[Derive, ...] = ()
    notes: tuple[str, ...] = ()
    epsilon_exact: Fraction | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        where = f"DP table '{self.name}'"
        object.__setattr__(self, "dims", tuple(self.dims) if not isinstance(self.dims, str) else (self.dims,))
        stat = Statistic.parse(self.statistic, f"{where} statistic")
        if stat not in DP_STATISTICS:
            raise SpecError(where, f"statistic '{stat.value}' has no DP release in the kit",
                            "use count, sum, mean or rate")
        object.__setattr__(self, "statistic", stat)
        mech = Mechanism(self.mechanism) if not isinstance(self.mechanism, Mechanism) else self.mechanism
        object.__setattr__(self, "mechanism", mech)
        rho, eps = _budget(self.rho, self.epsilon, mech, where)
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "epsilon_exact", eps)
        delta = as_fraction(self.delta, f"{where} delta")
        object.__setattr__(self, "delta", delta)
        object.__setattr__(self, "derive", tuple(self.derive))
        object.__setattr__(self, "notes", tuple(self.notes))
        if not self.dims:
            raise SpecError(where, "no dimensions", "pass dims=('KOM',)")
        if len(set(self.dims)) != len(self.dims):
            raise SpecError(where, "a dimension is listed twice", "list each dimension once")
        if stat is Statistic.COUNT and self.measure is not None:
            raise SpecError(where, "a count takes no measure", "drop measure=")
        if stat is not Statistic.COUNT:
            if not self.measure:
                raise SpecError(where, f"a DP {stat.value} needs a measure column", 'pass measure="COLUMN"')
            if stat is not Statistic.RATE and self.config.bounds(self.measure) is None:
                raise SpecError(where, f"measure '{self.measure}' has no clipping bounds in the config",
                                "add clip={'COLUMN': (lower, upper)} to the DPConfig (public values, never "
                                "from the data)")
        if not 0 < self.alpha < 0.5:
            raise SpecError(where, "alpha must be between 0 and 0.5", "use alpha=0.05 for 95 % intervals")
        if self.public_keys:
            if delta != 0:
                raise SpecError(where, "delta is only spent on unknown keys", "drop delta= for public keys")
            missing = [d for d in self.dims if self.config.code_list(d) is None and
                       d not in {x.name for x in self.derive}]
            if missing:
                raise SpecError(where, f"dimension(s) {missing} have no public code list",
                                "add them to DPConfig(codes=...) or use public_keys=False with a delta")
        else:
            if mech is Mechanism.PURE:
                raise SpecError(where, "unknown keys need approximate DP (a delta)",
                                "use zCDP (rho) with delta for unknown keys, or public keys")
            if not 0 < delta < 1:
                raise SpecError(where, "unknown keys need a delta for the τ-threshold",
                                'pass delta="1e-8" (it is charged to the ledger)')
        bound_cols = [c for c in (self.config.period,) if c]
        check_no_bound_overwrite([d.name for d in self.derive], bound_cols, where)
        for d in self.derive:
            if self.measure is not None and d.name == self.measure:
                raise SpecError(where, f"derived column '{d.name}' would overwrite the measure",
                                "derive it under a new name")

    @property
    def stat(self) -> Statistic:
        """The statistic as an enum."""
        assert isinstance(self.statistic, Statistic)
        return self.statistic

    @property
    def mech(self) -> Mechanism:
        """The mechanism as an enum."""
        assert isinstance(self.mechanism, Mechanism)
        return self.mechanism

    @property
    def rho_exact(self) -> Fraction:
        """The ρ charged to the ledger (ε²/2 for pure DP)."""
        assert isinstance(self.rho, Fraction)
        return self.rho

    @property
    def delta_exact(self) -> Fraction:
        """The δ charged to the ledger."""
        assert isinstance(self.delta, Fraction)
        return self.delta

    def key_sets(self) -> list[tuple[str, tuple[str, ...]]]:
        """Public code list per dimension (derived dimensions: the mapping's values)."""
        derived = {d.name: tuple(dict.fromkeys(v for _, v in d.mapping)) for d in self.derive}
        out = []
        for dim in self.dims:
            codes = self.config.code_list(dim)
            out.append((dim, codes if codes is not None else derived.get(dim, ())))
        return out

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical content (config included)."""
        return _fingerprint({
            "kind": "dp_table", "name": self.name, "dims": list(self.dims), "statistic": self.stat.value,
            "measure": self.measure, "rho": fraction_text(self.rho_exact),
            "epsilon": None if self.epsilon_exact is None else fraction_text(self.epsilon_exact),
            "mechanism": self.mech.value, "public_keys": self.public_keys,
            "delta": fraction_text(self.delta_exact), "alpha": self.alpha, "config": self.config.as_dict(),
            "derive": [(d.name, d.source, list(d.mapping)) for d in self.derive],
        })


@dataclass(frozen=True)
class DPRegressionSpec:
    """DP linear-regression coefficients from noisy sufficient statistics.

    ``outcome`` and ``predictors`` are integer columns with clipping bounds in
    the config; an intercept is added. Costs ``rho`` (zCDP).
    """

    name: str
    outcome: str
    predictors: tuple[str, ...]
    config: DPConfig
    rho: BudgetLike = "1/8"
    alpha: float = 0.05
    title: str = ""
    seed: int = 0
    n_draws: int = 400

    def __post_init__(self) -> None:
        where = f"DP regression '{self.name}'"
        preds = (self.predictors,) if isinstance(self.predictors, str) else tuple(self.predictors)
        object.__setattr__(self, "predictors", preds)
        object.__setattr__(self, "rho", as_fraction(self.rho, f"{where} rho", allow_zero=False))
        if not preds:
            raise SpecError(where, "no predictors", "pass predictors=('x1',)")
        cols = [self.outcome, *preds]
        if len(set(cols)) != len(cols):
            raise SpecError(where, "a column is used twice", "list each column once")
        missing = [c for c in cols if self.config.bounds(c) is None]
        if missing:
            raise SpecError(where, f"column(s) {missing} have no clipping bounds in the config",
                            "add clip={'COLUMN': (lower, upper)} to the DPConfig")
        if not 0 < self.alpha < 0.5:
            raise SpecError(where, "alpha must be between 0 and 0.5", "use alpha=0.05")

    @property
    def rho_exact(self) -> Fraction:
        """The ρ charged."""
        assert isinstance(self.rho, Fraction)
        return self.rho

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical content."""
        return _fingerprint({"kind": "dp_regression", "name": self.name, "outcome": self.outcome,
                             "predictors": list(self.predictors), "rho": fraction_text(self.rho_exact),
                             "alpha": self.alpha, "config": self.config.as_dict(), "seed": self.seed})
