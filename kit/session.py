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

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
from kit.engine import Engine, EngineOptions, choose_engine
from kit.errors import SchemaError, SpecError

__all__ = ["Session"]

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
        they apply to).
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
        unit_type: str | UnitType = UnitType.PERSON,
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
        self.unit_type = UnitType.parse(unit_type, "session unit_type")
        self.schema = schema
        self.data_label = data_label
        self.max_categories = int(max_categories)
        self.created = created or utc_now()
        self.engine = Engine.parse(engine, "session engine")
        self.engine_options = engine_options or EngineOptions()

    def __repr__(self) -> str:
        return (f"<Session rules={self.rules.id} {self.rules.version} unit={self.unit!r} "
                f"({self.unit_type.value})>")

    # ------------------------------------------------------------------ tables
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
        **options: Any,
    ) -> Table:
        """Describe and evaluate a table in one call (see :class:`~kit.core.spec.TableSpec`).

        ``df`` is a DataFrame, a lazy relation (:func:`kit.registers.scan`) or a path
        to Parquet data (evaluated in DuckDB, never loaded into pandas); ``engine``
        overrides the session's engine for this table. Extra keyword options are passed
        to :class:`TableSpec` (``attributes``, ``structural_zeros``, ``forced``, ``never``,
        ``population``, ``notes``); an unknown option is an error. With ``margins=True``, ``time_limit``
        (seconds; default :data:`kit.protect.bridge.DEFAULT_TIME_LIMIT`) bounds secondary
        suppression and ``allow_empty_secondaries`` lets empty cells be secondary suppressions
        (docs/suppression.md).
        """
        allowed = {"attributes", "structural_zeros", "forced", "never", "population", "notes"}
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise SpecError("table", f"unknown option(s) {unknown}", f"allowed options are {sorted(allowed)}")
        dims = as_dims(rows, cols)
        merged_codes = self._codes_for(dims, codes)
        spec = TableSpec(dims=dims, statistic=Statistic.parse(stat, "table stat"), measure=measure,
                         weight=weight, margins=margins, codes=tuple(merged_codes.items()), name=name, title=title,
                         **options)
        return self.evaluate(spec, df, engine=engine, time_limit=time_limit,
                             allow_empty_secondaries=allow_empty_secondaries)

    def evaluate(self, spec: TableSpec, df: pd.DataFrame | Any, engine: Engine | str | None = None, *,
                 time_limit: float | None = None, allow_empty_secondaries: bool = False) -> Table:
        """Evaluate a table spec on microdata (a DataFrame, a lazy relation or a Parquet path).

        ``time_limit`` and ``allow_empty_secondaries``: see :meth:`table`.
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
                                       allow_empty_secondaries=allow_empty_secondaries)
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

            protect_table(table, time_limit=time_limit, allow_empty_secondaries=allow_empty_secondaries)
        log.info("evaluated %s: %d cells", where, len(evidence))
        return table

    def _duckdb_evidence(self, *args: Any, **kwargs: Any) -> Any:
        from kit.evidence_duckdb import evidence_from_arrays

        return evidence_from_arrays(*args, **kwargs, options=self.engine_options)

    def _evaluate_lazy(self, spec: TableSpec, data: Any, engine: Engine | str | None, where: str, *,
                       time_limit: float | None = None, allow_empty_secondaries: bool = False) -> Table:
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
        evidence = lazy_table_evidence(self, spec, rel, self.engine_options, where,
                                       diff_min_units=max(diff_rules) if diff_rules else None, top_k=top_k,
                                       absolute=needs_absolute(self.rules, stat), contributions=contributions)
        assessment = assess(evidence, spec, self.rules, self.unit_type)
        estimates = cell_estimates(evidence.cells, stat, weighted=spec.weight is not None)
        table = Table(spec=spec, rules=self.rules, unit_type=self.unit_type, evidence=evidence,
                      estimates=estimates, assessment=assessment, data_label=self.data_label,
                      created=self.created)
        if spec.margins:
            from kit.protect.bridge import protect_table

            protect_table(table, time_limit=time_limit, allow_empty_secondaries=allow_empty_secondaries)
        log.info("evaluated %s in DuckDB: %d cells", where, len(evidence))
        return table

    # -------------------------------------------------------------- estimates
    def event_study(self, df: pd.DataFrame, **options: Any) -> Any:
        """Event study / difference-in-differences; options as :func:`kit.estimate.event_study`."""
        from kit.estimate import event_study

        return event_study(self, df, **options)

    def model(self, df: pd.DataFrame, formula: str, **options: Any) -> Any:
        """A regression model with output checks; options as :func:`kit.estimate.model`."""
        from kit.estimate import model

        return model(self, df, formula, **options)

    def rates(self, df: pd.DataFrame, **options: Any) -> Any:
        """Rates with Wilson intervals; options as :func:`kit.estimate.rates`."""
        from kit.estimate import rates

        return rates(self, df, **options)

    def rate_difference(self, df: pd.DataFrame, **options: Any) -> Any:
        """Differences of rates with intervals; options as :func:`kit.estimate.rate_difference`."""
        from kit.estimate import rate_difference

        return rate_difference(self, df, **options)

    def staggered(self, df: pd.DataFrame, **options: Any) -> Any:
        """Staggered adoption (Callaway-Sant'Anna); options as :func:`kit.estimate.staggered`."""
        from kit.estimate import staggered

        return staggered(self, df, **options)

    def decomposition(self, df: pd.DataFrame, **options: Any) -> Any:
        """Stayers versus composition; options as :func:`kit.estimate.decomposition`."""
        from kit.estimate import decomposition

        return decomposition(self, df, **options)

    def safe_quantiles(self, df: pd.DataFrame, measure: str, **options: Any) -> Any:
        """Quantiles as means of units around them; options as :func:`kit.estimate.safe_quantiles`."""
        from kit.estimate import safe_quantiles

        return safe_quantiles(self, df, measure, **options)

    def histogram(self, df: pd.DataFrame, measure: str, bins: Any, **options: Any) -> Any:
        """Histogram with a minimum count per bin; options as :func:`kit.estimate.histogram`."""
        from kit.estimate import histogram

        return histogram(self, df, measure, bins, **options)

    # ------------------------------------------------------ differential privacy
    def dp_preview(self, spec: Any, ledger: Any = None) -> Any:
        """Noise scales, accuracy and budget of a DP table; spends nothing (:func:`kit.dp.preview`)."""
        from kit.dp import preview

        return preview(self, spec, ledger)

    def dp_table(self, data: Any, spec: Any, ledger: Any = None) -> Any:
        """A DP table charged to the project's ledger (found by the kit by default; :func:`kit.dp.dp_table`)."""
        from kit.dp import dp_table

        return dp_table(self, data, spec, ledger)

    def dp_regression(self, data: Any, spec: Any, ledger: Any = None) -> Any:
        """DP linear-regression coefficients (:func:`kit.dp.dp_regression`)."""
        from kit.dp import dp_regression

        return dp_regression(self, data, spec, ledger)

    # ---------------------------------------------------------------- release
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
    ) -> Any:
        """Write one transfer: the cleared outputs, a report, the manifest and the checker's report.

        ``outputs`` may hold private results (tables and estimates evaluated in this
        session: they are cleared here with :func:`kit.clear`, and their evidence goes
        to the checker's report only), cleared objects and figures. Anything else,
        and any result that does not clear, stops the release before a file is written.
        Every output is checked against the others and against the project's earlier releases
        in the differencing registry (``<state folder>/differencing``) on the units it counts;
        ``differencing=False`` turns that off explicitly (the manifest records it).
        See :func:`kit.release.write_release` for the other options.
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
            differencing=differencing, state_dir=state_dir,
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
        return x

    def _weight(self, df: pd.DataFrame, spec: TableSpec, where: str) -> np.ndarray | None:
        if spec.weight is None:
            return None
        col = df[spec.weight]
        if not pd.api.types.is_numeric_dtype(col):
            raise SchemaError(where, f"the weight '{spec.weight}' is not numeric", "use a numeric weight column")
        from kit.estimate.weights import validate_weights

        return validate_weights(col.to_numpy(dtype=float, na_value=np.nan), spec.weight, where)


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
