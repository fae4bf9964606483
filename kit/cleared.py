"""Cleared output types: the only things that may reach a template or a release.

:class:`ClearedTable` and :class:`ClearedEstimate` are frozen. Suppressed
values are not stored at all (``None``), only a flag; the display shows the
rule set's symbol. They can be built only through :func:`kit.clear` (and the
private builders it dispatches to), which passes the module's gate object;
constructing one directly raises :class:`~kit.errors.DisclosureError`.

Examples
--------
>>> try:
...     ClearedTable(name="t", title="", statistic="count", dims=("A",), value_columns=("value",),
...                  rows=(), notes=(), symbol="x", provenance=None)
... except DisclosureError as err:
...     print(err.problem)
cleared objects can only be made by kit.clear()
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from kit import __version__
from kit.errors import DisclosureError

__all__ = [
    "ClearedEstimate",
    "ClearedRow",
    "ClearedTable",
    "EstimateKind",
    "EstimateRow",
    "Flag",
    "Provenance",
]


class _Gate:
    """Capability object: holding it means "I am kit.clear()"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<clearance gate>"


_GATE = _Gate()


def _check_gate(gate: object, what: str) -> None:
    if gate is not _GATE:
        raise DisclosureError(what, "cleared objects can only be made by kit.clear()",
                              "evaluate the table in a Session and call kit.clear() on it")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Provenance:
    """Where a cleared output came from. Never holds a microdata file path.

    ``data_label`` is a public description chosen by the researcher
    ("BEF/RAS 2008-2019, project 70xxxx"), never derived from file names.
    """

    spec_fingerprint: str
    rule_set_id: str
    rule_set_version: str
    rule_set_fingerprint: str
    created: str
    methods: tuple[str, ...] = ()
    data_label: str = ""
    privacy_budget: str | None = None
    kit_version: str = __version__

    def as_dict(self) -> dict[str, object]:
        """Plain mapping for manifests and templates."""
        return {
            "spec_fingerprint": self.spec_fingerprint,
            "rule_set": {"id": self.rule_set_id, "version": self.rule_set_version,
                         "fingerprint": self.rule_set_fingerprint},
            "created": self.created,
            "methods": list(self.methods),
            "data_label": self.data_label,
            "privacy_budget": self.privacy_budget,
            "kit_version": self.kit_version,
        }


class Flag(enum.Enum):
    """Public flags on a cleared value."""

    NOT_DISTINGUISHABLE_FROM_ZERO = "not_distinguishable_from_zero"
    DIFFERENTIALLY_PRIVATE = "differentially_private"
    ROUNDED = "rounded"


@dataclass(frozen=True)
class ClearedRow:
    """One published cell: its codes, its values (``None`` when suppressed)."""

    keys: tuple[str, ...]
    values: tuple[float | None, ...]
    suppressed: bool
    is_margin: bool = False

    def __post_init__(self) -> None:
        if self.suppressed and any(v is not None for v in self.values):
            raise DisclosureError("cleared row", "a suppressed cell carries a value",
                                  "this is a bug in the kit's clearance; please report it")


@dataclass(frozen=True)
class ClearedTable:
    """A table that has passed disclosure control.

    ``value_columns`` name the numbers of each row (``value`` for counts and
    sums; ``estimate``, ``ci_low``, ``ci_high``, ``n`` for rates and means).
    """

    name: str
    title: str
    statistic: str
    dims: tuple[str, ...]
    value_columns: tuple[str, ...]
    rows: tuple[ClearedRow, ...]
    notes: tuple[str, ...]
    symbol: str
    provenance: Provenance | None
    gate: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_gate(self.gate, "cleared table")
        if self.provenance is None:
            raise DisclosureError("cleared table", "no provenance", "this is a bug; please report it")

    @property
    def n_suppressed(self) -> int:
        """Number of suppressed cells."""
        return sum(r.suppressed for r in self.rows)

    def to_frame(self, symbols: bool = True) -> pd.DataFrame:
        """The published table as a DataFrame.

        With ``symbols`` suppressed values show the symbol (object columns);
        otherwise they are missing (NaN).
        """
        records = []
        for row in self.rows:
            rec: dict[str, object] = dict(zip(self.dims, row.keys))
            for col, value in zip(self.value_columns, row.values):
                if row.suppressed:
                    rec[col] = self.symbol if symbols else math.nan
                else:
                    rec[col] = math.nan if value is None else value
            records.append(rec)
        return pd.DataFrame.from_records(records, columns=[*self.dims, *self.value_columns])

    def __repr__(self) -> str:
        return (f"<ClearedTable {self.name!r}: {len(self.rows)} rows, {self.n_suppressed} suppressed, "
                f"{self.statistic} over {list(self.dims)}>")


class EstimateKind(enum.Enum):
    """What a cleared estimate is."""

    RATES = "rates"
    RATE_DIFFERENCE = "rate_difference"
    QUANTILES = "quantiles"
    HISTOGRAM = "histogram"
    REGRESSION = "regression"
    EVENT_STUDY = "event_study"
    STAGGERED = "staggered"
    DECOMPOSITION = "decomposition"
    DP_TABLE = "dp_table"
    DP_REGRESSION = "dp_regression"


@dataclass(frozen=True)
class EstimateRow:
    """One published estimate (a coefficient, an effect, a quantile ...).

    ``keys`` are structured labels such as ``(("area", "Sundparken"), ("year", "2017"))``;
    ``values`` follow the estimate's ``columns``; ``None`` marks a value not available
    (suppressed rows carry only ``None``).
    """

    term: str
    keys: tuple[tuple[str, str], ...]
    values: tuple[float | None, ...]
    suppressed: bool = False
    flags: tuple[Flag, ...] = ()

    def __post_init__(self) -> None:
        if self.suppressed and any(v is not None for v in self.values):
            raise DisclosureError("cleared estimate", "a suppressed estimate carries a value",
                                  "this is a bug in the kit's clearance; please report it")

    def key(self, name: str) -> str | None:
        """The value of one structured label."""
        return dict(self.keys).get(name)


@dataclass(frozen=True)
class ClearedEstimate:
    """Estimates that have passed the output checks (models, effects, rates, quantiles)."""

    name: str
    title: str
    kind: EstimateKind
    columns: tuple[str, ...]
    rows: tuple[EstimateRow, ...]
    n_reported: str
    notes: tuple[str, ...]
    symbol: str
    provenance: Provenance | None
    gate: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_gate(self.gate, "cleared estimate")
        if self.provenance is None:
            raise DisclosureError("cleared estimate", "no provenance", "this is a bug; please report it")
        for row in self.rows:
            if len(row.values) != len(self.columns):
                raise DisclosureError("cleared estimate", "a row does not match the columns",
                                      "this is a bug; please report it")

    def to_frame(self, symbols: bool = True) -> pd.DataFrame:
        """The estimates as a DataFrame (one row per term)."""
        key_names: list[str] = []
        for row in self.rows:
            for k, _ in row.keys:
                if k not in key_names:
                    key_names.append(k)
        records = []
        for row in self.rows:
            rec: dict[str, object] = {"term": row.term, **dict(row.keys)}
            for col, value in zip(self.columns, row.values):
                if row.suppressed:
                    rec[col] = self.symbol if symbols else math.nan
                else:
                    rec[col] = math.nan if value is None else value
            rec["flags"] = ",".join(f.value for f in row.flags)
            records.append(rec)
        return pd.DataFrame.from_records(records, columns=["term", *key_names, *self.columns, "flags"])

    def summary(self) -> str:
        """A statsmodels-like text summary with numbered notes."""
        width = max([len(r.term) for r in self.rows] + [12])
        lines = [self.title or self.name, "=" * (width + 14 * len(self.columns))]
        lines.append(" " * width + "".join(f"{c:>14}" for c in self.columns))
        for row in self.rows:
            if row.suppressed:
                cells = "".join(f"{self.symbol:>14}" for _ in self.columns)
            else:
                cells = "".join(f"{_fmt(v):>14}" for v in row.values)
            marks = " *" if Flag.NOT_DISTINGUISHABLE_FROM_ZERO in row.flags else ""
            lines.append(f"{row.term:<{width}}{cells}{marks}")
        lines.append("-" * (width + 14 * len(self.columns)))
        lines.append(f"N: {self.n_reported}")
        for i, note in enumerate(self.notes, 1):
            lines.append(f"[{i}] {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ClearedEstimate {self.name!r} ({self.kind.value}): {len(self.rows)} rows>"


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "."
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
