"""The session: the one door through which microdata are read.

A :class:`Session` holds the rule set, the unit column and its type, and
(optionally) a dataset schema with public code lists. It evaluates specs
against a DataFrame: it validates the input, computes evidence in one grouped
pass, runs the primary checks, protects tables that publish margins, and
returns private results that only :func:`kit.clear` can turn into cleared
output.

Examples
--------
>>> import pandas as pd, kit
>>> df = pd.DataFrame({"PNR": [1, 1, 2, 3, 4, 5, 6], "KOM": ["101", "101", "101", "101", "851", "851", "851"]})
>>> s = kit.Session(rules="dst", unit="PNR")
>>> t = s.table(df, rows="KOM", stat="count", codes={"KOM": ["101", "147", "851"]})
>>> kit.clear(t).to_frame()
   KOM  value
0  101    3.0
1  147    0.0
2  851    3.0
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from kit import estimate as _estimate
from kit.core.assess import assess, needs_absolute, top_k_needed
from kit.core.cleared import utc_now
from kit.core.codes import MAX_CELLS, code_text
from kit.core.codes import sorted_codes as _sorted_codes
from kit.core.evidence import MISSING, TOTAL, build_evidence
from kit.core.populations import table_populations
from kit.core.rules.loader import RuleSet, load_rule_set
from kit.core.rules.model import Differencing, KeyColumns, RuleKind
from kit.core.schema import ColumnRole, DatasetSchema, looks_like_key
from kit.core.spec import TableSpec, as_dims
from kit.core.spec_types import Statistic, UnitType
from kit.core.table import Table, cell_estimates
from kit.core.unit_ids import check_distinct_ids
from kit.engine import Engine, EngineOptions, choose_engine
from kit.errors import SchemaError, SpecError
from kit.estimate import (
    Control,
    CovType,
    DecompositionResult,
    EventStudyResult,
    Family,
    FlagBy,
    MissingPolicy,
    ModelResult,
    QuantileResult,
    RateResult,
    StaggeredResult,
)

if TYPE_CHECKING:
    from kit.dp import BudgetLedger, DPPreview, DPRegressionResult, DPRegressionSpec, DPResult, DPTableSpec
    from kit.dp.data import DataLike
    from kit.progress import Progress

__all__ = ["Session"]

_F = TypeVar("_F", bound=Callable[..., Any])
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _options_checked(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Refuse a call that does not fit ``method``'s signature with a :class:`SpecError`.

    A misspelt option (``popluation=``) is bad input: it gets the kit's error, naming the
    option and the options there are, before any data are read.
    """
    signature = inspect.signature(method)
    options = [name for name in signature.parameters if name != "self"]

    @functools.wraps(method)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            unknown = sorted(set(kwargs) - set(options))
            problem = f"unknown option(s) {unknown}" if unknown else f"the call does not fit: {exc}"
            raise SpecError(method.__name__, problem,
                            f"allowed options are {options} (help(kit.Session.{method.__name__}))") from None
        return method(*args, **kwargs)

    return checked


def _parameters_section(doc: str | None) -> str:
    """The numpydoc Parameters and Returns sections of ``doc`` without the ``session`` entry.

    >>> print(_parameters_section('''Do it.
    ...
    ...     Parameters
    ...     ----------
    ...     session
    ...         The session.
    ...     df
    ...         Microdata.
    ...
    ...     Examples
    ...     --------
    ...     none
    ...     '''))
    Parameters
    ----------
    df
        Microdata.
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    out: list[str] = []
    keep = skip_entry = False
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if underline:  # a section heading
            keep = line.strip() in ("Parameters", "Returns", "Raises")
        if not keep:
            continue
        if line and not line.startswith(" "):
            skip_entry = line.strip() == "session"
        if not skip_entry:
            out.append(line)
    return "\n".join(out).strip()


def _documented_by(func: Callable[..., Any]) -> Callable[[_F], _F]:
    """Append the Parameters/Returns of the estimator ``func`` (minus ``session``) to a method's doc."""

    def decorate(method: _F) -> _F:
        own = inspect.cleandoc(method.__doc__ or "")
        method.__doc__ = f"{own}\n\n{_parameters_section(func.__doc__)}\n"
        return method

    return decorate


log = logging.getLogger(__name__)

#: A dimension with more categories than this is refused (it is probably an identifier).
DEFAULT_MAX_CATEGORIES = 1000


class Session:
    """Evaluate tables and estimates on microdata under one rule set.

    Parameters
    ----------
    rules
        A shipped rule-set name (``"dst"``, ``"sacro"``, ``"sds"``), a path to a
        rule file, or a loaded :class:`~kit.core.rules.RuleSet`.
    unit
        The unit column: thresholds count its distinct values.
    unit_type
        ``person``, ``household`` or ``enterprise`` (dominance rules name the types
        they apply to). Default: ``enterprise`` when the unit column is named like an
        enterprise or workplace id (``CVRNR``, ``LBNR``, ``ARBGNR`` ...), else ``person``.
    schema
        Optional dataset schema with public code lists and roles.
    data_label
        Public description of the data for provenance (never a file path).
    max_categories
        Largest number of categories a dimension may have.
    created
        Fixed creation time for provenance (ISO 8601); default now. Fix it to get
        byte-identical releases from the same data.
    engine
        Where evidence is computed: ``"auto"`` (default), ``"pandas"`` or ``"duckdb"``
        (see :mod:`kit.engine`); tables may override it.
    engine_options
        DuckDB memory limit, spill folder, threads, the ``auto`` threshold and progress bars
        (:class:`~kit.engine.EngineOptions`).
    """

    def __init__(
        self,
        rules: str | RuleSet = "dst",
        unit: str = "PNR",
        unit_type: str | UnitType | None = None,
        schema: DatasetSchema | None = None,
        data_label: str = "",
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        created: str | None = None,
        engine: Engine | str = Engine.AUTO,
        engine_options: EngineOptions | None = None,
    ) -> None:
        self.rules: RuleSet = load_rule_set(rules)  # a RuleSet object is verified too
        if not isinstance(unit, str) or not unit:
            raise SpecError("session", "the unit column must be a column name", 'pass unit="PNR"')
        self.unit = unit
        self.unit_type = (UnitType.parse(unit_type, "session unit_type") if unit_type is not None
                          else default_unit_type(unit))
        self.schema = schema
        self.data_label = data_label
        self.max_categories = int(max_categories)
        self.created = created or utc_now()
        self.engine = Engine.parse(engine, "session engine")
        self.engine_options = engine_options or EngineOptions()

    def __repr__(self) -> str:
        from kit.reprs import short

        return short(f"<Session rules={self.rules.id} {self.rules.version} unit={self.unit!r} "
                     f"({self.unit_type.value})>")

    def _repr_html_(self) -> str:
        """A small HTML card for notebooks: rule set, unit, engine (no data)."""
        from kit.reprs import html_card

        return html_card("kit Session", [
            ("rule set", f"{self.rules.id} {self.rules.version} (sha256:{self.rules.fingerprint[:12]})"),
            ("unit", f"{self.unit} ({self.unit_type.value})"),
            ("engine", self.engine.value),
            ("data label", self.data_label or "(none)"),
        ])

    # ------------------------------------------------------------------ tables
    @_options_checked
    def table(
        self,
        df: pd.DataFrame | Any,
        rows: str | Sequence[str],
        cols: str | Sequence[str] | None = None,
        stat: str | Statistic = "count",
        measure: str | None = None,
        weight: str | None = None,
        margins: bool = False,
        codes: Mapping[str, Sequence[Any]] | None = None,
        name: str = "table",
        title: str = "",
        time_limit: float | None = None,
        allow_empty_secondaries: bool = False,
        engine: Engine | str | None = None,
        *,
        attributes: Sequence[str] = (),
        structural_zeros: Sequence[Sequence[str]] = (),
        forced: Sequence[Sequence[str]] = (),
        never: Sequence[Sequence[str]] = (),
        population: str = "",
        notes: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> Table:
        """Describe and evaluate a table in one call (see :class:`~kit.core.spec.TableSpec`).

        Parameters
        ----------
        df
            A DataFrame, a lazy relation (:func:`kit.registers.scan`) or a path to Parquet
            data (evaluated in DuckDB, never loaded into pandas).
        rows, cols
            Row dimension(s) and optional column dimension(s) (1 to 4 in all).
        stat
            ``count`` (distinct units), ``sum``, ``mean`` or ``rate`` (share of a 0/1 measure).
        measure
            The measure column (required for sum, mean and rate).
        weight
            Optional weight column: estimates are weighted, thresholds stay on unweighted
            distinct units.
        margins
            Publish totals over every dimension (secondary suppression with an LP audit).
        codes
            Public code list per dimension (added to the schema's); cells are built over it
            so empty cells appear.
        name, title
            Output name (a safe file name) and display title.
        time_limit
            Seconds for secondary suppression when ``margins=True`` (default
            :data:`kit.protect.bridge.DEFAULT_TIME_LIMIT`; docs/suppression.md).
        allow_empty_secondaries
            Let empty cells be secondary suppressions (docs/suppression.md).
        engine
            Overrides the session's engine for this table (``"pandas"``, ``"duckdb"``, ``"auto"``).
        attributes
            Dimensions that are attributes of the unit (employment status, diagnosis): group
            disclosure is checked along them.
        structural_zeros
            Cells (tuples of codes, one per dimension) that are empty by definition and may be
            published.
        forced, never
            Cells the caller forces public / forbids publishing.
        population
            Public description of the population (provenance and the differencing registry).
        notes
            Notes printed with the table.
        progress
            Reports secondary suppression (:mod:`kit.progress`; ``None`` reports nothing).

        Returns
        -------
        Table
            The private table (zone 2); :func:`kit.clear` turns it into a
            :class:`~kit.core.cleared.ClearedTable`.
        """
        dims = as_dims(rows, cols)
        merged_codes = self._codes_for(dims, codes)
        spec = TableSpec(dims=dims, statistic=Statistic.parse(stat, "table stat"), measure=measure,
                         weight=weight, margins=margins, codes=tuple(merged_codes.items()), name=name, title=title,
                         attributes=tuple(attributes), structural_zeros=tuple(map(tuple, structural_zeros)),
                         forced=tuple(map(tuple, forced)), never=tuple(map(tuple, never)), population=population,
                         notes=tuple(notes))
        return self.evaluate(spec, df, engine=engine, time_limit=time_limit,
                             allow_empty_secondaries=allow_empty_secondaries, progress=progress)

    def evaluate(self, spec: TableSpec, df: pd.DataFrame | Any, engine: Engine | str | None = None, *,
                 time_limit: float | None = None, allow_empty_secondaries: bool = False,
                 progress: Progress | None = None) -> Table:
        """Evaluate a table spec on microdata (a DataFrame, a lazy relation or a Parquet path).

        ``time_limit``, ``allow_empty_secondaries`` and ``progress``: see :meth:`table`.
        """
        where = f"table '{spec.name}'"
        from kit.registers.lazy import is_lazy

        lazy = is_lazy(df)
        if spec.statistic is Statistic.COUNT and spec.weight:
            # a weighted count is the sum of the weights: a magnitude table (dominance, p %)
            from dataclasses import replace

            if lazy:
                raise SpecError(where, "a weighted count over a lazy source is not supported",
                                "load the columns into pandas (scan(...).to_pandas()) for a weighted count")
            self._check_frame(df, where)
            self._check_columns(df, spec, where)
            self._weight(df, spec, where)  # validated as weights before they become the measure
            spec = replace(spec, statistic=Statistic.SUM, measure=spec.weight, weight=None,
                           notes=(*spec.notes, f"Weighted count: the sum of '{spec.weight}' per cell, "
                                  "checked as a magnitude table."))
        if lazy:
            return self._evaluate_lazy(spec, df, engine, where, time_limit=time_limit,
                                       allow_empty_secondaries=allow_empty_secondaries, progress=progress)
        self._check_frame(df, where)
        self._check_columns(df, spec, where)
        unit_codes, n_units = self._unit_codes(df, where)
        dim_codes, dim_labels = [], []
        for dim in spec.dims:
            codes, labels = self._encode_dimension(df[dim], dim, spec.code_list(dim), where)
            dim_codes.append(codes)
            dim_labels.append(labels)
        n_cells = int(np.prod([len(lab) for lab in dim_labels]))
        if n_cells > MAX_CELLS:
            raise SpecError(where, f"the table would have {n_cells} cells", "use fewer or coarser dimensions")
        x = self._measure(df, spec, where)
        w = self._weight(df, spec, where)
        stat = spec.statistic
        diff_rules = [r.params.min_units for r in self.rules.of_kind(RuleKind.DIFFERENCING, stat)
                      if isinstance(r.params, Differencing)]
        top_k = top_k_needed(self.rules, stat, self.unit_type)
        contributions = (top_k > 0 or stat is Statistic.RATE
                         or bool(self.rules.of_kind(RuleKind.NEGATIVE_VALUES, stat)))
        chosen = choose_engine(self.engine if engine is None else engine, n_rows=len(df), lazy=False,
                               auto_rows=self.engine_options.auto_rows)
        evidence = (build_evidence if chosen is Engine.PANDAS else self._duckdb_evidence)(
            dim_codes, dim_labels, spec.dims, unit_codes, n_units, x, w,
            margins=spec.margins, differencing_min_units=max(diff_rules) if diff_rules else None,
            top_k=top_k, absolute=needs_absolute(self.rules, stat), contributions=contributions,
        )
        assessment = assess(evidence, spec, self.rules, self.unit_type)
        estimates = cell_estimates(evidence.cells, stat, weighted=w is not None)
        populations = table_populations(
            df[self.unit], dim_codes, dim_labels, [evidence.cells[d].astype(str).tolist() for d in spec.dims],
            x, w, total_label=TOTAL, rate=stat is Statistic.RATE)
        table = Table(spec=spec, rules=self.rules, unit_type=self.unit_type, evidence=evidence,
                      estimates=estimates, assessment=assessment, data_label=self.data_label,
                      created=self.created, unit_populations=populations)
        if spec.margins:
            from kit.protect.bridge import protect_table

            protect_table(table, time_limit=time_limit, allow_empty_secondaries=allow_empty_secondaries,
                          progress=progress)
        log.info("evaluated %s: %d cells", where, len(evidence))
        return table

    def _duckdb_evidence(self, *args: Any, **kwargs: Any) -> Any:
        from kit.evidence_duckdb import evidence_from_arrays

        return evidence_from_arrays(*args, **kwargs, options=self.engine_options)

    def _evaluate_lazy(self, spec: TableSpec, data: Any, engine: Engine | str | None, where: str, *,
                       time_limit: float | None = None, allow_empty_secondaries: bool = False,
                       progress: Progress | None = None) -> Table:
        """A table over a lazy relation or Parquet path: validated and computed in DuckDB."""
        from kit.evidence_lazy import lazy_table_evidence
        from kit.registers.lazy import as_relation

        choose_engine(self.engine if engine is None else engine, n_rows=0, lazy=True)
        rel = as_relation(data, self.engine_options)
        stat = spec.statistic
        diff_rules = [r.params.min_units for r in self.rules.of_kind(RuleKind.DIFFERENCING, stat)
                      if isinstance(r.params, Differencing)]
        top_k = top_k_needed(self.rules, stat, self.unit_type)
        contributions = (top_k > 0 or stat is Statistic.RATE
                         or bool(self.rules.of_kind(RuleKind.NEGATIVE_VALUES, stat)))
        evidence, populations = lazy_table_evidence(
            self, spec, rel, self.engine_options, where, diff_min_units=max(diff_rules) if diff_rules else None,
            top_k=top_k, absolute=needs_absolute(self.rules, stat), contributions=contributions)
        assessment = assess(evidence, spec, self.rules, self.unit_type)
        estimates = cell_estimates(evidence.cells, stat, weighted=spec.weight is not None)
        table = Table(spec=spec, rules=self.rules, unit_type=self.unit_type, evidence=evidence,
                      estimates=estimates, assessment=assessment, data_label=self.data_label,
                      created=self.created, unit_populations=populations)
        if spec.margins:
            from kit.protect.bridge import protect_table

            protect_table(table, time_limit=time_limit, allow_empty_secondaries=allow_empty_secondaries,
                          progress=progress)
        log.info("evaluated %s in DuckDB: %d cells", where, len(evidence))
        return table

    # -------------------------------------------------------------- estimates
    # Each method mirrors its estimator's parameters (tests/unit/test_session_signatures.py
    # checks names, defaults and annotations); the docstring's Parameters come from it.
    @_documented_by(_estimate.event_study)
    @_options_checked
    def event_study(
        self,
        df: pd.DataFrame,
        *,
        outcome: str,
        group: str,
        period: str,
        treated: Mapping[Any, Any],
        comparison: Sequence[Any],
        base_period: Any,
        covariates: Sequence[str] = (),
        subgroup: str | None = None,
        include_all: bool = True,
        pooled: bool = False,
        permutations: int = 999,
        seed: int = 0,
        cluster: str | None = None,
        alpha: float = 0.05,
        flag_by: str | FlagBy = FlagBy.PERMUTATION,
        missing: str | MissingPolicy = MissingPolicy.DROP,
        name: str = "event_study",
        title: str = "",
        progress: Progress | None = None,
    ) -> EventStudyResult:
        """Event study / difference-in-differences (:func:`kit.estimate.event_study`)."""
        return _estimate.event_study(
            self, df, outcome=outcome, group=group, period=period, treated=treated, comparison=comparison,
            base_period=base_period, covariates=covariates, subgroup=subgroup, include_all=include_all,
            pooled=pooled, permutations=permutations, seed=seed, cluster=cluster, alpha=alpha, flag_by=flag_by,
            missing=missing, name=name, title=title, progress=progress)

    @_documented_by(_estimate.model)
    @_options_checked
    def model(
        self,
        df: pd.DataFrame,
        formula: str,
        *,
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
        """A regression model with output checks (:func:`kit.estimate.model`)."""
        return _estimate.model(self, df, formula, family=family, weights=weights, cov=cov, cluster=cluster,
                               missing=missing, alpha=alpha, report_terms=report_terms, name=name, title=title)

    @_documented_by(_estimate.rates)
    @_options_checked
    def rates(
        self,
        df: pd.DataFrame,
        *,
        by: str | Sequence[str],
        outcome: str,
        weight: str | None = None,
        name: str = "rates",
        title: str = "",
    ) -> RateResult:
        """Rates with Wilson intervals (:func:`kit.estimate.rates`)."""
        return _estimate.rates(self, df, by=by, outcome=outcome, weight=weight, name=name, title=title)

    @_documented_by(_estimate.rate_difference)
    @_options_checked
    def rate_difference(
        self,
        df: pd.DataFrame,
        *,
        outcome: str,
        group: str,
        compare: tuple[Any, Any],
        by: str | Sequence[str] | None = None,
        weight: str | None = None,
        name: str = "rate_difference",
        title: str = "",
    ) -> RateResult:
        """Differences of rates with intervals (:func:`kit.estimate.rate_difference`)."""
        return _estimate.rate_difference(self, df, outcome=outcome, group=group, compare=compare, by=by,
                                         weight=weight, name=name, title=title)

    @_documented_by(_estimate.staggered)
    @_options_checked
    def staggered(
        self,
        df: pd.DataFrame,
        *,
        outcome: str,
        group: str,
        period: str,
        first_treated: Mapping[Any, Any],
        never_treated: Sequence[Any] | None = None,
        control: str | Control = "not_yet",
        alpha: float = 0.05,
        missing: str | MissingPolicy = "drop",
        name: str = "staggered",
        title: str = "",
    ) -> StaggeredResult:
        """Staggered adoption, Callaway-Sant'Anna (:func:`kit.estimate.staggered`)."""
        return _estimate.staggered(self, df, outcome=outcome, group=group, period=period,
                                   first_treated=first_treated, never_treated=never_treated, control=control,
                                   alpha=alpha, missing=missing, name=name, title=title)

    @_documented_by(_estimate.decomposition)
    @_options_checked
    def decomposition(
        self,
        df: pd.DataFrame,
        *,
        outcome: str,
        group: str,
        period: str,
        base: Any,
        target: Any,
        unit: str | None = None,
        name: str = "decomposition",
        title: str = "",
    ) -> DecompositionResult:
        """Stayers versus composition (:func:`kit.estimate.decomposition`)."""
        return _estimate.decomposition(self, df, outcome=outcome, group=group, period=period, base=base,
                                       target=target, unit=unit, name=name, title=title)

    @_documented_by(_estimate.safe_quantiles)
    @_options_checked
    def safe_quantiles(
        self,
        df: pd.DataFrame,
        measure: str,
        *,
        probs: Sequence[float | str] = (0.25, 0.5, 0.75),
        by: str | Sequence[str] | None = None,
        name: str = "quantiles",
        title: str = "",
    ) -> QuantileResult:
        """Quantiles as means of units around them (:func:`kit.estimate.safe_quantiles`)."""
        return _estimate.safe_quantiles(self, df, measure, probs=probs, by=by, name=name, title=title)

    @_documented_by(_estimate.histogram)
    @_options_checked
    def histogram(
        self,
        df: pd.DataFrame,
        measure: str,
        bins: int | Sequence[float],
        *,
        name: str = "histogram",
        title: str = "",
    ) -> QuantileResult:
        """Histogram with a minimum count per bin (:func:`kit.estimate.histogram`)."""
        return _estimate.histogram(self, df, measure, bins, name=name, title=title)

    # ------------------------------------------------------ differential privacy
    @_options_checked
    def dp_preview(self, spec: DPTableSpec, ledger: BudgetLedger | None = None) -> DPPreview:
        """Noise scales, accuracy and budget of a DP table; spends nothing (:func:`kit.dp.preview`).

        Parameters
        ----------
        spec
            The DP table (:class:`kit.dp.DPTableSpec`).
        ledger
            The budget ledger to price against; default: the project's (found by the kit).
        """
        from kit.dp import preview

        return preview(self, spec, ledger)

    @_options_checked
    def dp_table(self, data: DataLike, spec: DPTableSpec, ledger: BudgetLedger | None = None) -> DPResult:
        """A DP table charged to the project's ledger (:func:`kit.dp.dp_table`).

        Parameters
        ----------
        data
            Microdata (a pandas or polars DataFrame).
        spec
            The DP table (:class:`kit.dp.DPTableSpec`).
        ledger
            The budget ledger to charge; default: the project's (found by the kit).
        """
        from kit.dp import dp_table

        return dp_table(self, data, spec, ledger)

    @_options_checked
    def dp_regression(self, data: DataLike, spec: DPRegressionSpec,
                      ledger: BudgetLedger | None = None) -> DPRegressionResult:
        """DP linear-regression coefficients (:func:`kit.dp.dp_regression`).

        Parameters
        ----------
        data
            Microdata (a pandas or polars DataFrame).
        spec
            The regression (:class:`kit.dp.DPRegressionSpec`).
        ledger
            The budget ledger to charge; default: the project's (found by the kit).
        """
        from kit.dp import dp_regression

        return dp_regression(self, data, spec, ledger)

    # ---------------------------------------------------------------- release
    @_options_checked
    def release(
        self,
        folder: str | Path,
        outputs: Sequence[Any],
        *,
        title: str,
        formats: Sequence[str] | None = None,
        checker_dir: str | Path | None = None,
        registry: str | Path | None = None,
        ledger: str | Path | None = None,
        site_templates: str | Path | None = None,
        allow_review: bool = False,
        mixed_rule_sets: bool = False,
        differencing: bool = True,
        state_dir: str | Path | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> Any:
        """Write one transfer: the cleared outputs, a report, the manifest and the checker's report.

        ``outputs`` may hold private results (tables and estimates evaluated in this
        session: they are cleared here with :func:`kit.clear`, and their evidence goes
        to the checker's report only), cleared objects and figures. Anything else,
        and any result that does not clear, stops the release before a file is written.
        Every output is checked against the others and against the project's earlier releases
        in the differencing registry (``<state folder>/differencing``) on the units it counts;
        ``differencing=False`` turns that off explicitly (the manifest records it).
        ``request`` (with ``checker_dir``) makes the release a request for the output
        checker's workbench: per output name its context, controls and exception request
        (docs/review.md). See :func:`kit.release.write_release` for the other options.
        """
        from kit.core.clearance import clear
        from kit.release import DEFAULT_FORMATS, write_release

        cleared: list[Any] = []
        private: list[Any] = []
        for item in outputs:
            if hasattr(type(item), "_build_cleared"):
                private.append(item)
                cleared.append(clear(item, allow_review=allow_review))
            else:
                cleared.append(item)
        return write_release(
            folder, cleared, self.rules, title=title,
            formats=tuple(formats) if formats is not None else DEFAULT_FORMATS,
            checker_dir=checker_dir, private_results=private, registry=registry,
            site_templates=site_templates, ledger=ledger, created=self.created,
            mixed_rule_sets=mixed_rule_sets,
            differencing=differencing, state_dir=state_dir, request=request,
        )

    # ------------------------------------------------------------- validation
    def _codes_for(self, dims: Sequence[str], codes: Mapping[str, Sequence[Any]] | None) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        if self.schema is not None:
            for d in dims:
                if d in self.schema and self.schema[d].codes is not None:
                    out[d] = tuple(self.schema[d].codes or ())
        for d, c in (codes or {}).items():
            out[d] = tuple(str(v) for v in c)
        return out

    def _check_frame(self, df: Any, where: str) -> None:
        if not isinstance(df, pd.DataFrame):
            raise SchemaError(where, "the data are not a pandas DataFrame", "pass a DataFrame")
        if len(df) == 0:
            raise SchemaError(where, "the data frame is empty", "check the filters that built it")

    def _check_columns(self, df: pd.DataFrame, spec: TableSpec, where: str) -> None:
        needed = [self.unit, *spec.dims]
        needed += [c for c in (spec.measure, spec.weight) if c]
        missing = [c for c in needed if c not in df.columns]
        if missing:
            shown = ", ".join(map(str, list(df.columns)[:30]))
            raise SchemaError(where, f"column(s) {missing} are not in the data",
                              f"check the spelling; the data have: {shown}")
        if self.unit in spec.dims:
            raise SpecError(where, f"the unit column '{self.unit}' is used as a dimension",
                            "a table by unit id is microdata; group by a coarser variable")
        keys_allowed = all(not isinstance(r.params, KeyColumns) or r.params.allow
                           for r in self.rules.of_kind(RuleKind.KEY_COLUMNS))
        schema_keys = set(self.schema.key_columns()) if self.schema is not None else set()
        for d in spec.dims:
            if _holds_non_codes(df[d]):
                raise SchemaError(where, f"dimension '{d}' holds values that are not codes (dicts, lists, "
                                  "sets or bytes)", "tabulate by a column of text or whole-number codes")
            if not keys_allowed and (looks_like_key(d) or d in schema_keys):
                raise SpecError(where, f"dimension '{d}' is an identifier or key column",
                                "keys are microdata and are never released; map it to an area or group first")
            if self.schema is not None and d in self.schema and self.schema[d].role is ColumnRole.KEY:
                raise SpecError(where, f"dimension '{d}' is declared a key column", "use a grouping column")

    def _unit_codes(self, df: pd.DataFrame, where: str) -> tuple[np.ndarray, int]:
        col = df[self.unit]
        n_missing = int(col.isna().sum())
        if n_missing:
            raise SchemaError(where, f"{n_missing} row(s) have no unit id in '{self.unit}'",
                              "drop or fix those rows: every row must belong to a unit")
        if pd.api.types.is_integer_dtype(col.dtype):
            values = col.to_numpy(dtype=np.int64)
            low, high = int(values.min()), int(values.max())
            if high - low < 2**40:  # small range: offsets are codes, no hashing needed
                return (values if low == 0 else values - low), high - low + 1
        codes, uniques = pd.factorize(col, sort=False)
        check_distinct_ids(uniques, self.unit, where)
        return codes.astype(np.int64), len(uniques)

    def _encode_dimension(self, col: pd.Series, dim: str, code_list: tuple[str, ...] | None,
                          where: str) -> tuple[np.ndarray, list[str]]:
        codes, uniques = _factorize(col)
        observed = [code_text(u) for u in uniques]
        if len(set(observed)) < len(observed):
            raise SchemaError(where, f"dimension '{dim}' has {len(observed)} distinct values that print as only "
                              f"{len(set(observed))} codes (values of different types, such as the number 1 "
                              "and the text '1', would become two cells with one label)",
                              f"give the column one type first, e.g. df['{dim}'] = df['{dim}'].astype(str)")
        has_missing = not _plain_integer(col) and bool((codes < 0).any())  # plain integers have no missing
        if code_list is None:
            if len(observed) > self.max_categories:
                raise SpecError(where, f"dimension '{dim}' has {len(observed)} categories, more than "
                                f"{self.max_categories}", "it is probably an identifier: group it first, or "
                                "raise max_categories in the Session if it really is a grouping")
            labels = _sorted_codes(observed)
        else:
            labels = list(code_list)
            unknown = set(observed) - set(labels)
            if unknown:
                n_rows = int(np.isin(codes, [observed.index(u) for u in unknown]).sum())
                raise SchemaError(where, f"{n_rows} row(s) of '{dim}' have {len(unknown)} code(s) that are "
                                  "not in its public code list", "add the codes to the code list, or recode "
                                  "them (the kit never drops rows silently)")
        if has_missing and MISSING not in labels:
            labels.append(MISSING)
        position = {lab: i for i, lab in enumerate(labels)}
        mapping = np.array([position[o] for o in observed] + [position.get(MISSING, -1)], dtype=np.int64)
        if not has_missing and np.array_equal(mapping[:-1], np.arange(len(observed))):
            return codes, labels  # codes already are positions in the label list
        return mapping[codes], labels

    def _measure(self, df: pd.DataFrame, spec: TableSpec, where: str) -> np.ndarray | None:
        if spec.measure is None:
            return None
        col = df[spec.measure]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise SchemaError(where, f"the measure '{spec.measure}' is not numeric",
                              "convert it with pd.to_numeric or choose a numeric column")
        x = col.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(x).any():
            raise SchemaError(where, f"the measure '{spec.measure}' has infinite values",
                              "replace them before tabulating")
        if spec.statistic is Statistic.RATE:
            ok = np.isnan(x) | (x == 0) | (x == 1)
            if not ok.all():
                raise SchemaError(where, f"the rate measure '{spec.measure}' has {int((~ok).sum())} value(s) "
                                  "other than 0 and 1", "code the outcome as 0/1 (or True/False)")
        return np.asarray(x)

    def _weight(self, df: pd.DataFrame, spec: TableSpec, where: str) -> np.ndarray | None:
        if spec.weight is None:
            return None
        col = df[spec.weight]
        if not pd.api.types.is_numeric_dtype(col):
            raise SchemaError(where, f"the weight '{spec.weight}' is not numeric", "use a numeric weight column")
        from kit.estimate.weights import validate_weights

        return validate_weights(col.to_numpy(dtype=float, na_value=np.nan), spec.weight, where)


#: Unit columns that identify enterprises or workplaces (DST's CVR and workplace numbers).
ENTERPRISE_UNIT_NAMES = frozenset({"CVR", "CVRNR", "CVR_NR", "LBNR", "ARBGNR", "ARB_NR", "ARBNR", "FIRMA", "FIRM",
                                   "FIRMID", "FIRM_ID", "ENTERPRISE", "ENTERPRISE_ID", "VIRKSOMHED", "SENR", "SE_NR"})


def default_unit_type(unit: str) -> UnitType:
    """The unit type a session assumes when none is given: enterprises for enterprise ids.

    A turnover table counted by CVR number must get the enterprise dominance rule even when
    the researcher forgets ``unit_type``.

    >>> default_unit_type("CVRNR").value, default_unit_type("PNR").value
    ('enterprise', 'person')
    """
    name = unit.strip().upper().replace("-", "_")
    return UnitType.ENTERPRISE if name in ENTERPRISE_UNIT_NAMES else UnitType.PERSON


def _factorize(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes and uniques of a column; integer columns with a small range skip hashing.

    >>> codes, uniques = _factorize(pd.Series([2012, 2011, 2012]))
    >>> codes.tolist(), uniques
    ([1, 0, 1], [2011, 2012])
    """
    if _plain_integer(col) and len(col):
        values = col.to_numpy()
        low = int(values.min())
        span = int(values.max()) - low + 1
        if span <= 100_000:
            if low == 0:
                offsets = values
            elif values.dtype.itemsize < 8 and span <= np.iinfo(values.dtype).max:
                offsets = values - values.dtype.type(low)  # stays in the column's narrow type
            else:
                offsets = values.astype(np.int64)
                offsets -= low
            present = np.zeros(span, dtype=bool)
            for i in range(0, len(offsets), 1 << 18):  # chunks: no full-length index copy
                present |= np.bincount(offsets[i:i + (1 << 18)], minlength=span) > 0
            if present.all():  # every value in the range occurs: offsets are the codes
                return offsets, list(range(low, low + span))
            position = np.cumsum(present) - 1
            return position[offsets], [low + int(i) for i in np.flatnonzero(present)]
    codes, uniques = pd.factorize(col, sort=False, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _holds_non_codes(col: pd.Series) -> bool:
    """Whether an object column holds dicts, lists, sets, tuples or bytes (C-speed pre-check first).

    >>> _holds_non_codes(pd.Series(["a", "b"])), _holds_non_codes(pd.Series([{"a": 1}, "b"]))
    (False, True)
    """
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in ("string", "integer", "empty"):
        return False
    return any(isinstance(v, (dict, list, set, tuple, bytes)) for v in col)


def _plain_integer(col: pd.Series) -> bool:
    """A NumPy integer column (no missing values possible; nullable ``Int64`` is not one).

    >>> _plain_integer(pd.Series([1, 2])), _plain_integer(pd.Series([1, None], dtype="Int64"))
    (True, False)
    """
    return isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu"
