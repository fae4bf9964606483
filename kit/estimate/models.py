"""Regression models through statsmodels, with output checks.

:func:`model` fits OLS, WLS, logit, probit or Poisson from a formula
(categorical fixed effects with ``C()``), with classical, HC1 or
cluster-robust errors, then runs the checks:

* the formula is read before patsy sees the data: a name of the unit column
  or of a key column (also inside ``I(...)``), or of a text column with more
  than 1,000 values, is a :class:`~kit.errors.SpecError`; patsy's own messages
  (which can quote data values) are replaced by the kit's;
* residual degrees of freedom ``>= min_dof`` (``residual_dof``), else the
  model is blocked;
* the design matrix, not the formula's terms (:mod:`kit.estimate.design`):
  no column whose non-modal values are held by fewer than ``k`` units, no
  combination of columns (with the constant) non-zero for fewer than ``k``
  units, whatever the contrast coding, transformation, interaction or spline;
  OLS/WLS: no group of identical regressors fitted exactly (zero variance);
* every column of a categorical term (each dummy, each interaction cell) rests
  on at least ``min_units`` distinct units (``model_term_units``), for a 0/1
  outcome also within each outcome class, and the reference category of a
  one-factor term too.

A failing check blocks the model: a single suppressed coefficient could be
recovered from the others together with the public total (``Σ y = Σ fitted``).

The statsmodels results object is dropped once coefficients, standard errors,
intervals and p-values are taken: no residuals, fitted values, predictions,
influence measures or data are kept. Bad input (perfect collinearity,
separation, a constant outcome, non-convergence, missing values under
``missing="raise"``) is a :class:`~kit.errors.SpecError` or
:class:`~kit.errors.SchemaError`, never a silently wrong number.

Examples
--------
>>> import numpy as np, pandas as pd, kit
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"PNR": np.arange(200), "x": rng.normal(size=200),
...                    "area": np.repeat(["a", "b", "c", "d"], 50)})
>>> df["y"] = 1 + 0.5 * df["x"] + rng.normal(size=200)
>>> s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
>>> res = model(s, df, "y ~ x + C(area)", cov="cluster", cluster="area")
>>> res
<ModelResult 'model' (regression): 5 rows, 0 suppressed; values hidden>
>>> kit.clear(res).n_reported
'200 observations (rounded to a multiple of 5)'
"""

from __future__ import annotations

import enum
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.core.cleared import EstimateKind, Flag
from kit.core.populations import design_populations
from kit.core.spec import safe_name
from kit.core.spec_types import Statistic
from kit.core.status import Reason, ReasonCode
from kit.errors import SchemaError, SpecError
from kit.estimate.checks import (
    count_distinct,
    dof_reasons,
    is_key_column,
    key_columns_allowed,
    min_term_units,
    term_unit_reasons,
)
from kit.estimate.design import exact_fit_groups, isolated_units, sparse_columns
from kit.estimate.prepare import MissingPolicy, check_columns, drop_missing, is_binary
from kit.estimate.results import (
    CheckRecord,
    Context,
    EstimateResult,
    ResultRow,
    check_threshold,
    report_round_to,
    spec_fingerprint,
)
from kit.estimate.weights import validate_weights

__all__ = ["MODEL_COLUMNS", "CovType", "Family", "ModelResult", "ModelSpec", "model"]

log = logging.getLogger(__name__)

#: Columns of a model's cleared estimate.
MODEL_COLUMNS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")


class Family(enum.Enum):
    """Model family."""

    OLS = "ols"
    WLS = "wls"
    LOGIT = "logit"
    PROBIT = "probit"
    POISSON = "poisson"


class CovType(enum.Enum):
    """Covariance of the coefficients."""

    NONROBUST = "nonrobust"
    HC1 = "HC1"
    CLUSTER = "cluster"


def _parse(enum_cls: Any, value: Any, where: str) -> Any:
    if isinstance(value, enum_cls):
        return value
    for m in enum_cls:
        if str(m.value).lower() == str(value).strip().lower():
            return m
    raise SpecError(
        where, f"unknown option {str(value)!r}", f"use one of: {', '.join(m.value for m in enum_cls)}"
    )


@dataclass(frozen=True)
class ModelSpec:
    """Frozen, data-free description of a regression model."""

    formula: str
    family: Family = Family.OLS
    weights: str | None = None
    cov: CovType = CovType.NONROBUST
    cluster: str | None = None
    missing: MissingPolicy = MissingPolicy.DROP
    alpha: float = 0.05
    report_terms: tuple[str, ...] = ()
    name: str = "model"
    title: str = ""

    def __post_init__(self) -> None:
        where = "model"
        if "~" not in self.formula:
            raise SpecError(where, "the formula has no '~'", 'write it as "y ~ x + C(area)"')
        if self.cov is CovType.CLUSTER and not self.cluster:
            raise SpecError(where, "cluster-robust errors need a cluster column", 'pass cluster="area"')
        if self.cluster and self.cov is not CovType.CLUSTER:
            raise SpecError(where, "a cluster column was given without cov='cluster'", "pass cov='cluster'")
        if self.weights and self.family is not Family.WLS:
            raise SpecError(
                where,
                f"weights are supported with family='wls' only, not '{self.family.value}'",
                "use family='wls' or leave weights out",
            )
        if self.family is Family.WLS and not self.weights:
            raise SpecError(where, "family='wls' needs a weights column", 'pass weights="COLUMN"')
        if not 0 < self.alpha < 1:
            raise SpecError(where, "alpha must lie between 0 and 1", "pass alpha=0.05")
        safe_name(self.name, "model name")


class ModelResult(EstimateResult):
    """Private regression result (zone 2). Clear it with :func:`kit.clear`."""


def model(
    session: Any,
    df: pd.DataFrame,
    formula: str,
    family: str | Family = "ols",
    weights: str | None = None,
    cov: str | CovType = "nonrobust",
    cluster: str | None = None,
    missing: str | MissingPolicy = "drop",
    alpha: float = 0.05,
    report_terms: Sequence[str] = (),
    name: str = "model",
    title: str = "",
) -> ModelResult:
    """Fit a regression through the statsmodels formula API and check its output.

    Parameters
    ----------
    session
        The :class:`~kit.session.Session` (rule set, unit column, provenance).
    df
        Microdata.
    formula
        A patsy formula, e.g. ``"emp ~ C(area) * C(year) + age"``.
    family
        ``"ols"``, ``"wls"``, ``"logit"``, ``"probit"`` or ``"poisson"``.
    weights
        Weight column (``family="wls"`` only).
    cov
        ``"nonrobust"``, ``"HC1"`` or ``"cluster"``.
    cluster
        Cluster column for ``cov="cluster"``.
    missing
        ``"drop"`` rows with missing values (count reported) or ``"raise"``.
    alpha
        Level of the ``1 - alpha`` intervals and of the "not distinguishable
        from zero" flag (``p_value >= alpha``).
    report_terms
        Publish only coefficients whose names start with one of these
        (default: all). The checks run on every term regardless.
    name, title
        Output name and title.

    Returns
    -------
    ModelResult
        Columns :data:`MODEL_COLUMNS`; one row per coefficient keyed ``(("term", name),)``.
    """
    where = "model"
    spec = ModelSpec(
        formula=formula,
        family=_parse(Family, family, where),
        weights=weights,
        cov=_parse(CovType, cov, where),
        cluster=cluster,
        missing=MissingPolicy.parse(missing, where),
        alpha=float(alpha),
        report_terms=tuple(report_terms),
        name=name,
        title=title,
    )
    unit = session.unit
    check_columns(df, [weights, cluster], where, unit=unit)
    refuse_formula_keys(session, spec.formula, df, where)
    data = df.reset_index(drop=True)
    data, n_pre = drop_missing(data, [c for c in (unit, weights, cluster) if c], spec.missing, where)
    mod = _build(spec, data, where)
    n_used = int(mod.exog.shape[0])
    n_dropped = n_pre + (len(data) - n_used)
    if n_dropped and spec.missing is MissingPolicy.RAISE:
        raise SchemaError(
            where,
            f"{n_dropped} row(s) have missing values in the formula's columns",
            'drop or impute them first, or pass missing="drop"',
        )
    rows_kept = np.asarray(mod.data.row_labels) if mod.data.row_labels is not None else np.arange(n_used)
    # only the unit and cluster columns of the rows used (the index is 0..n-1 after reset_index)
    kept = data[list(dict.fromkeys(c for c in (unit, spec.cluster) if c))].iloc[rows_kept]
    exog = np.asarray(mod.exog, dtype=float)
    y = np.asarray(mod.endog, dtype=float)
    names = list(mod.exog_names)
    _precheck(spec, y, exog, names, where)
    unit_codes, unit_levels = pd.factorize(kept[unit])
    n_units = len(unit_levels)  # factorize leaves missing values out, like nunique()
    term_reasons = _term_checks(session, mod, exog, y, unit_codes, n_units, names, spec)
    design_block, design_private = _design_checks(session, exog, unit_codes, n_units, names)
    if spec.family is Family.WLS:
        design_block += _weight_checks(session, exog, np.asarray(mod.weights, dtype=float), unit_codes, n_units)
    fit_kw: dict[str, Any] = {}
    n_clusters = None
    if spec.cov is CovType.CLUSTER:
        groups = pd.factorize(kept[spec.cluster])[0]
        n_clusters = int(groups.max()) + 1
        design_block += _cluster_checks(session, groups, unit_codes, str(spec.cluster))
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    elif spec.cov is CovType.HC1:
        fit_kw = {"cov_type": "HC1"}
    res = _fit(spec, mod, fit_kw, where)
    if spec.family in (Family.OLS, Family.WLS) and int(res.model.rank) < exog.shape[1]:
        raise SpecError(
            where,
            f"the design is perfectly collinear ({exog.shape[1] - int(res.model.rank)} "
            "column(s) are combinations of the others)",
            "drop a redundant term or a reference category",
        )
    params = np.asarray(res.params, dtype=float)
    if spec.family in (Family.OLS, Family.WLS) and exact_fit_groups(
        exog, y - exog @ params, float(np.abs(y).max())
    ):
        design_block.append(
            Reason(
                "kit",
                ReasonCode.GROUP_DISCLOSURE,
                "units with identical regressors all have the same outcome (zero variance within the "
                "group): the fitted value is each unit's value",
            )
        )
    bse = np.asarray(res.bse, dtype=float)
    ci = np.asarray(res.conf_int(alpha=spec.alpha), dtype=float)
    pvalues = np.asarray(res.pvalues, dtype=float)
    df_resid = float(res.df_resid)
    use_t = bool(getattr(res, "use_t", False))
    w_model = np.asarray(mod.weights, dtype=float) if spec.family is Family.WLS else None
    del res, mod  # nothing unit-level is kept
    rows = []
    blocked: list[Reason] = [*dof_reasons(session.rules, df_resid), *design_block]
    for j, nm in enumerate(names):
        reasons = term_reasons.get(j, [])
        if reasons:
            # a suppressed coefficient follows from the others and the public total: block
            blocked.extend(r for r in reasons if r not in blocked)
        if spec.report_terms and not any(nm.startswith(p) for p in spec.report_terms):
            continue
        flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if not pvalues[j] < spec.alpha else ()
        rows.append(
            ResultRow(
                nm, (("term", nm),), (params[j], bse[j], ci[j, 0], ci[j, 1], pvalues[j]), list(reasons), flags
            )
        )
    round_to = report_round_to(session.rules, Statistic.MODEL)
    notes = _notes(spec, use_t, n_clusters, n_dropped, round_to)
    private = (
        [f"{n_dropped} row(s) with missing values were dropped (exact count, not for release)."]
        if n_dropped
        else []
    )
    private += design_private
    result = ModelResult(
        name=spec.name,
        title=spec.title or f"{spec.family.value.upper()}: {spec.formula}",
        kind=EstimateKind.REGRESSION,
        columns=MODEL_COLUMNS,
        rows=rows,
        n_total=n_used,
        context=Context.from_session(session),
        spec_fp=spec_fingerprint(spec),
        round_to=round_to,
        notes=notes,
        methods=(f"statsmodels {spec.family.value}", f"covariance {spec.cov.value}"),
        blocked=blocked,
        private_notes=private,
        checked=CheckRecord(Statistic.MODEL, check_threshold(session.rules, Statistic.MODEL), dof=df_resid),
    )
    # the sample, every dummy's support and every factor's reference group, with exact outcomes
    result.unit_populations = design_populations(kept[unit], exog, names, y, w_model)
    return result


def _build(spec: ModelSpec, data: pd.DataFrame, where: str) -> Any:
    import statsmodels.formula.api as smf
    from patsy import PatsyError

    makers = {
        Family.OLS: smf.ols,
        Family.WLS: smf.wls,
        Family.LOGIT: smf.logit,
        Family.PROBIT: smf.probit,
        Family.POISSON: smf.poisson,
    }
    kw: dict[str, Any] = {"missing": "drop"}
    if spec.family is Family.WLS:
        assert spec.weights is not None
        w = data[spec.weights]
        if not pd.api.types.is_numeric_dtype(w):
            raise SchemaError(
                where, f"the weights '{spec.weights}' are not numeric", "use a numeric weight column"
            )
        kw["weights"] = validate_weights(w.to_numpy(dtype=float, na_value=np.nan), spec.weights, where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = _categorical_frame(spec.formula, data)
            env = _eval_env() if frame is not data else None
            if env is not None:
                kw["eval_env"] = env
            return makers[spec.family](spec.formula, frame, **kw)
    except PatsyError:
        # patsy's own text can quote values from the data (e.g. a category): never passed on
        raise SpecError(
            where,
            "the formula cannot be built (patsy refused it: an unknown name, a syntax error, "
            "or a value the formula's functions cannot handle)",
            "check the column names and the formula syntax",
        ) from None
    except (KeyError, NameError, SyntaxError, ValueError, TypeError) as exc:
        raise SpecError(
            where,
            f"the formula cannot be built ({type(exc).__name__})",
            "check the column names and the formula syntax",
        ) from None


_C_CALL = re.compile(r"C\(\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:,(.*))?\)", re.S)


def categorical_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """Columns patsy will treat as categorical, whose categories it would find by a Python loop.

    A column qualifies when every factor of the formula that names it is
    ``C(col)`` or ``C(col, <contrast>)`` without ``levels=``, or the bare
    column when it holds text, and its values are integers or text (for
    which pandas' sorted categories equal the levels patsy would sniff).
    Handing such columns to patsy as ``pandas.Categorical`` gives the same
    design matrix and column names without patsy's per-row loops (about half of
    a model's time on a million rows).
    """
    try:
        from patsy import ModelDesc

        desc = ModelDesc.from_formula(formula)
    except Exception:  # statsmodels reports formula errors itself
        return []
    codes = [f.code for side in (desc.lhs_termlist, desc.rhs_termlist) for t in side for f in t.factors]
    lhs = {f.code for t in desc.lhs_termlist for f in t.factors}
    out = []
    for col in data.columns:
        if not isinstance(col, str):
            continue
        name = re.compile(r"(?<![A-Za-z_0-9.])" + re.escape(col) + r"(?![A-Za-z_0-9])")
        uses = [c for c in codes if name.search(c)]
        if not uses:
            continue
        s = data[col]
        if pd.api.types.is_bool_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_integer_dtype(s.dtype):
            text = False
        elif pd.api.types.infer_dtype(s, skipna=True) == "string":
            text = True
        else:
            continue
        ok = True
        for c in uses:
            m = _C_CALL.fullmatch(c.strip())
            if m and m.group(1) == col and "levels" not in (m.group(2) or "") and c not in lhs:
                continue
            if text and c.strip() == col and c not in lhs:
                continue
            ok = False
            break
        if ok:
            out.append(col)
    return out


def _categorical_frame(formula: str, data: pd.DataFrame) -> pd.DataFrame:
    """``data`` with the columns of :func:`categorical_columns` as ``pandas.Categorical`` (a shallow copy)."""
    cols = categorical_columns(formula, data)
    if not cols:
        return data
    return data.assign(**{c: pd.Categorical(data[c]) for c in cols})


def _passthrough_c(data: Any, contrast: Any = None, levels: Any = None) -> Any:
    """patsy's ``C()``, except that a ``pandas.Categorical`` without options is passed through unboxed.

    ``C(x)`` only tells patsy to treat ``x`` as categorical; a Categorical
    already is, with the same levels and default contrast. Unboxed, patsy takes
    the codes from pandas instead of looking every row up in a Python loop
    (its boxed path does that even for a Categorical). Column names come from
    the formula text (``C(area)[T.x]``) either way.
    """
    from patsy.categorical import C

    if contrast is None and levels is None and isinstance(getattr(data, "dtype", None), pd.CategoricalDtype):
        return data
    return C(data, contrast, levels)


def _eval_env() -> dict[str, Any] | None:
    """The names statsmodels would capture for :func:`_build`'s call, with ``C`` as :func:`_passthrough_c`.

    Only with statsmodels' patsy engine; ``None`` (statsmodels' default) otherwise.
    """
    try:
        from patsy import EvalEnvironment
        from statsmodels.formula._manager import FormulaManager

        if FormulaManager().engine != "patsy":
            return None
        env = EvalEnvironment.capture(1)   # _build's frame, as statsmodels' default eval_env=2 captures it
        names: dict[str, Any] = {}
        for ns in reversed(env._namespaces):   # inner namespaces (locals) win, as in patsy's lookup
            names.update(ns)
        names["C"] = _passthrough_c
        return names
    except Exception:  # a different statsmodels or patsy: keep statsmodels' default
        return None


def _precheck(spec: ModelSpec, y: np.ndarray, exog: np.ndarray, names: list[str], where: str) -> None:
    if y.size == 0:
        raise SchemaError(where, "no rows are left after dropping missing values", "check the data")
    if np.all(y == y[0]):
        raise SpecError(where, "the outcome is constant", "a constant outcome has nothing to explain")
    if spec.family in (Family.LOGIT, Family.PROBIT) and not is_binary(y):
        raise SpecError(where, f"a {spec.family.value} model needs a 0/1 outcome", "code the outcome as 0/1")
    if spec.family is Family.POISSON and (y < 0).any():
        raise SpecError(where, "a Poisson model needs a non-negative outcome", "use counts")
    if spec.family not in (Family.OLS, Family.WLS):
        xtx = exog.T @ exog
        d = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
        eig = np.linalg.eigvalsh(xtx / d[:, None] / d[None, :])
        rank = int((eig > 1e-10 * eig[-1]).sum())
        if rank < exog.shape[1]:
            raise SpecError(
                where,
                f"the design is perfectly collinear ({exog.shape[1] - rank} column(s) are "
                "combinations of the others)",
                "drop a redundant term or a reference category",
            )


def _fit(spec: ModelSpec, mod: Any, fit_kw: dict[str, Any], where: str) -> Any:
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    if spec.family not in (Family.OLS, Family.WLS):
        fit_kw = {**fit_kw, "disp": 0, "maxiter": 200}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = mod.fit(**fit_kw)
        except PerfectSeparationError:
            raise SpecError(
                where,
                "the outcome is perfectly predicted (separation)",
                "drop or merge the categories that predict the outcome perfectly",
            ) from None
        except np.linalg.LinAlgError:
            raise SpecError(
                where,
                "the model cannot be estimated (singular matrix)",
                "check for collinear terms or separation",
            ) from None
    kinds = {type(w.message) for w in caught}
    if any(issubclass(k, PerfectSeparationWarning) for k in kinds):
        raise SpecError(
            where,
            "the outcome is perfectly predicted for some observations (separation)",
            "drop or merge the categories that predict the outcome perfectly",
        )
    if any(issubclass(k, (ConvergenceWarning, HessianInversionWarning)) for k in kinds):
        raise SpecError(
            where, "the estimation did not converge", "simplify the model or check for separation"
        )
    params = np.asarray(res.params, dtype=float)
    bse = np.asarray(res.bse, dtype=float)
    if not (np.isfinite(params).all() and np.isfinite(bse).all()):
        raise SpecError(
            where,
            "the estimation gave non-finite coefficients or standard errors",
            "check for separation or collinear terms",
        )
    for k in kinds:
        log.warning("model '%s': statsmodels warned %s", spec.name, k.__name__)
    return res


def _term_checks(
    session: Any,
    mod: Any,
    exog: np.ndarray,
    y: np.ndarray,
    unit_codes: np.ndarray,
    n_units: int,
    names: list[str],
    spec: ModelSpec,
) -> dict[int, list[Reason]]:
    """Reasons per design column for categorical terms resting on too few units."""
    rules = session.rules
    if min_term_units(rules) <= 1:
        return {}
    binary = spec.family in (Family.LOGIT, Family.PROBIT) or is_binary(y)
    classes = [("", np.ones(len(y), dtype=bool))]
    if binary:
        classes += [("in outcome class 0", y == 0), ("in outcome class 1", y == 1)]
    out: dict[int, list[Reason]] = {}
    intercept = names.index("Intercept") if "Intercept" in names else None

    def add(j: int, reasons: list[Reason]) -> None:
        have = out.setdefault(j, [])
        have.extend(x for x in reasons if x not in have)

    for cols, single in categorical_terms(mod, names):
        for j in cols:
            nz = exog[:, j] != 0
            for label, m in classes:
                add(j, term_unit_reasons(rules, count_distinct(unit_codes, nz & m, n_units), label))
        ref = ~(exog[:, cols] != 0).any(axis=1)
        if single and ref.any():  # full-rank coding (no intercept) has no reference rows
            for label, m in classes:
                r = term_unit_reasons(
                    rules,
                    count_distinct(unit_codes, ref & m, n_units),
                    ("in the reference category " + label).strip(),
                )
                if r:
                    for j in [*cols, *([intercept] if intercept is not None else [])]:
                        add(j, r)
    return {j: r for j, r in out.items() if r}


def categorical_terms(mod: Any, names: list[str]) -> list[tuple[list[int], bool]]:
    """Design columns of each term with a categorical factor, and whether the term has one factor.

    Uses patsy's design info when statsmodels exposes it, else the column names
    (``C(a)[T.x]``, ``C(a)[T.x]:C(b)[T.y]``, ``x:C(a)[T.x]``).
    """
    info = getattr(mod.data, "model_spec", None) or getattr(mod.data, "design_info", None)
    if info is not None and hasattr(info, "terms") and hasattr(info, "factor_infos"):
        out = []
        for term in info.terms:
            if any(info.factor_infos[f].type == "categorical" for f in term.factors):
                sl = info.term_slices[term]
                out.append((list(range(sl.start, sl.stop)), len(term.factors) == 1))
        return out
    groups: dict[str, list[int]] = {}
    for j, nm in enumerate(names):
        if "[" in nm:
            key = ":".join(part.split("[")[0] for part in nm.split(":"))
            groups.setdefault(key, []).append(j)
    return [(cols, ":" not in key) for key, cols in groups.items()]


_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
#: Largest number of distinct values a text column used in a formula may have (more is an identifier).
MAX_FORMULA_CATEGORIES = 1000


def refuse_formula_keys(session: Any, formula: str, df: pd.DataFrame, where: str) -> None:
    """Refuse a formula naming the unit id, a key column or an identifier-like text column, before patsy runs.

    Every name in the formula text (also inside ``I(...)``, ``Q("...")`` and
    function calls) that is a column of the data is checked: the unit column
    always, key columns (:func:`kit.estimate.checks.is_key_column`) where the
    rule set forbids keys, and text columns with more than
    :data:`MAX_FORMULA_CATEGORIES` distinct values (dummies for them would be
    one per unit). Messages name the column, never a value.
    """
    cols = {c for c in df.columns if isinstance(c, str)}
    names = set(_NAME.findall(formula))
    allowed = key_columns_allowed(session.rules)
    for name in sorted(names & cols):
        if name == session.unit or (not allowed and is_key_column(session, name)):
            raise SpecError(
                where,
                f"the formula uses the key column '{name}' (an identifier is microdata, and a term built "
                "from it would publish it in the coefficient names)",
                "leave identifiers out of the formula; map them to groups first",
            )
        s = df[name]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            n_distinct = int(s.nunique(dropna=True))
            if n_distinct > MAX_FORMULA_CATEGORIES:
                raise SpecError(
                    where,
                    f"the text column '{name}' has {n_distinct} distinct values, more than "
                    f"{MAX_FORMULA_CATEGORIES} (it is probably an identifier)",
                    "group it into fewer categories first",
                )


def _design_checks(
    session: Any, exog: np.ndarray, unit_codes: np.ndarray, n_units: int, names: list[str]
) -> tuple[list[Reason], list[str]]:
    """Blocking reasons from the design matrix (see :mod:`kit.estimate.design`) and private notes."""
    k = check_threshold(session.rules, Statistic.MODEL)
    if k <= 1:
        return [], []
    blocked: list[Reason] = []
    private: list[str] = []
    sparse = sparse_columns(exog, unit_codes, n_units, k)
    if sparse:
        blocked.append(
            Reason(
                "kit",
                ReasonCode.TERM_TOO_FEW_UNITS,
                f"{len(sparse)} design column(s) take a value other than their most common one for "
                f"fewer than {k} distinct units",
            )
        )
        private.append("Design columns held by too few units: " + ", ".join(names[j] for j in sparse) + ".")
    if isolated_units(exog, unit_codes, n_units, k):
        blocked.append(
            Reason(
                "kit",
                ReasonCode.TERM_TOO_FEW_UNITS,
                f"a combination of the design's columns (with the constant) is non-zero for fewer than {k} "
                "distinct units, so the coefficients give their values (a dummy, a contrast level, an "
                "interaction cell or a saturated transformation held by too few units)",
            )
        )
    return blocked, private



def _weight_checks(session: Any, exog: np.ndarray, w: np.ndarray, unit_codes: np.ndarray,
                   n_units: int) -> list[Reason]:
    """Blocking reasons of a WLS fit whose weights concentrate it on too few units (Kish)."""
    from kit.estimate.weights import weighted_design_failures

    k = check_threshold(session.rules, Statistic.MODEL)
    if k <= 1 or w.shape[0] != exog.shape[0]:
        return []
    reasons: list[Reason] = []
    failing = weighted_design_failures(exog, w, unit_codes, n_units, k)
    if failing:
        reasons.append(Reason("kit", ReasonCode.TERM_TOO_FEW_UNITS,
                              f"the weights concentrate the fit or {sum(j >= 0 for j in failing)} design column(s) "
                              f"on fewer than {k} effective units (Kish)"))
    # WLS is OLS on the whitened design sqrt(w) X: weights that differ for one unit make her indicator a
    # combination of the whitened columns (y ~ 1 with weight 2 for her: sqrt(w) = 1 + (sqrt(2) - 1) e_her)
    if isolated_units(np.sqrt(w)[:, None] * exog, unit_codes, n_units, k):
        reasons.append(Reason("kit", ReasonCode.TERM_TOO_FEW_UNITS,
                              f"with the weights, a combination of the design's columns is non-zero for fewer than "
                              f"{k} distinct units (weights that single out units act as their dummies)"))
    return reasons


def _cluster_checks(session: Any, groups: np.ndarray, unit_codes: np.ndarray, cluster: str) -> list[Reason]:
    """Blocking reasons of cluster-robust errors with a cluster of fewer than the threshold of units.

    The CR1 variance sums each cluster's score outer product: with a cluster of one unit (two
    clusters, ``y ~ 1``) the standard error gives that unit's residual, hence her value.
    """
    k = check_threshold(session.rules, Statistic.MODEL)
    if k <= 1 or len(groups) == 0:
        return []
    held = groups >= 0  # rows without a cluster are dropped before the fit
    n_units = int(unit_codes.max()) + 1
    pairs = np.unique(groups[held].astype(np.int64) * n_units + unit_codes[held])  # distinct (cluster, unit)
    per_cluster = np.bincount(pairs // n_units, minlength=int(groups.max()) + 1)
    small = int((per_cluster < k).sum())
    if not small:
        return []
    return [Reason("kit", ReasonCode.TERM_TOO_FEW_UNITS,
                   f"{small} cluster(s) of '{cluster}' hold fewer than {k} distinct units; cluster-robust "
                   "errors would give their residuals")]


def _notes(spec: ModelSpec, use_t: bool, n_clusters: int | None, n_dropped: int, round_to: int) -> list[str]:
    from kit.core.table import round_n

    fam = {
        Family.OLS: "OLS",
        Family.WLS: f"WLS (weights: {spec.weights})",
        Family.LOGIT: "logit (log-odds)",
        Family.PROBIT: "probit",
        Family.POISSON: "Poisson (log link)",
    }[spec.family]
    cov = {
        CovType.NONROBUST: "classical standard errors",
        CovType.HC1: "heteroskedasticity-robust (HC1) standard errors",
        CovType.CLUSTER: f"cluster-robust standard errors by {spec.cluster} ({n_clusters} clusters, CR1)",
    }
    dist = "t" if use_t else "normal"
    notes = [
        f"{fam} fitted with statsmodels: {spec.formula}; {cov[spec.cov]}.",
        f"{1 - spec.alpha:.0%} intervals and p-values from the {dist} distribution; marked not "
        f"distinguishable from zero when p_value >= {spec.alpha:g}.",
        "Coefficients of categorical terms are shown only when each rests on enough distinct units "
        "(within each outcome class for a 0/1 outcome); no residuals or predictions are released.",
    ]
    if n_dropped:
        notes.append(
            f"About {max(round_n(n_dropped, round_to), round_to)} rows with missing values were left out."
        )
    return notes
