"""Cleared output types: the only things that may reach a template or a release.

:class:`ClearedTable` and :class:`ClearedEstimate` are frozen, slotted
dataclasses. Suppressed values are not stored at all (``None``), only a flag;
the display shows the rule set's symbol.

How a forgery is stopped or caught
----------------------------------
* They can be built only while :func:`kit.clear` is running in the same
  thread: the builders it calls pass the gate object, and the gate is refused
  outside a clearance. ``ClearedTable(..., gate=...)`` from user code,
  ``dataclasses.replace``, ``copy``, ``deepcopy``, ``pickle`` and
  ``__replace__`` raise :class:`~kit.errors.DisclosureError`; the gate is not a
  field, so nothing copies it along.
* :func:`kit.clear` seals every object it makes: an HMAC-SHA256 with a secret
  drawn when the kit is imported (it never leaves the process and is not a
  module attribute) over the canonical content, the identity of the private
  result it was cleared from and that result's evidence fingerprint. The
  release writer re-verifies the seal (:func:`verify_cleared`), so a change
  made with ``object.__setattr__`` (to the object, a row or the provenance),
  an object unpickled in another process, or a swapped private result is
  detected, and then re-derives the statuses from the private evidence.

Python cannot stop a determined insider who reads the secret out of a closure
or edits the kit; it can make every ordinary-Python forgery fail or be caught.

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

import contextlib
import enum
import hashlib
import hmac
import math
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timezone
from typing import Any

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
    "verify_cleared",
]


class _Gate:
    """Marker passed by :func:`kit.clear` to the builders; worthless outside a running clearance."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<clearance gate>"


_GATE = _Gate()


def _authority() -> tuple[Callable[[], None], Callable[[], None], Callable[[], bool], Callable[[bytes], str]]:
    """A per-process secret and a per-thread "clearance running" depth, held in closures."""
    secret = secrets.token_bytes(32)
    state = threading.local()

    def enter() -> None:
        state.depth = getattr(state, "depth", 0) + 1

    def leave() -> None:
        state.depth = max(getattr(state, "depth", 0) - 1, 0)

    def active() -> bool:
        return getattr(state, "depth", 0) > 0

    def mac(payload: bytes) -> str:
        return hmac.new(secret, payload, hashlib.sha256).hexdigest()

    return enter, leave, active, mac


_enter, _leave, _active, _mac = _authority()
del _authority


@contextlib.contextmanager
def _clearance() -> Iterator[None]:
    """The window in which :func:`kit.clear` builds and seals cleared objects (this thread only)."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _refuse(what: str) -> DisclosureError:
    return DisclosureError(what, "cleared objects can only be made by kit.clear()",
                           "evaluate the table in a Session and call kit.clear() on it")


def _check_gate(gate: object, what: str) -> None:
    if gate is not _GATE or not _active():
        raise _refuse(what)


class _NoCopy:
    """Mixin: copying, pickling and ``__replace__`` refuse (a copy would not carry a valid seal)."""

    __slots__ = ()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise _refuse(f"{type(self).__name__} (pickle)")

    def __reduce__(self) -> Any:
        raise _refuse(f"{type(self).__name__} (pickle)")

    def __copy__(self) -> Any:
        raise _refuse(f"{type(self).__name__} (copy)")

    def __deepcopy__(self, memo: Any) -> Any:
        raise _refuse(f"{type(self).__name__} (deepcopy)")

    def __replace__(self, **changes: Any) -> Any:
        raise _refuse(f"{type(self).__name__} (replace)")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class Provenance(_NoCopy):
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


@dataclass(frozen=True, slots=True)
class ClearedRow(_NoCopy):
    """One published cell: its codes, its values (``None`` when suppressed)."""

    keys: tuple[str, ...]
    values: tuple[float | None, ...]
    suppressed: bool
    is_margin: bool = False

    def __post_init__(self) -> None:
        if self.suppressed and any(v is not None for v in self.values):
            raise DisclosureError("cleared row", "a suppressed cell carries a value",
                                  "this is a bug in the kit's clearance; please report it")


@dataclass(frozen=True, slots=True)
class ClearedTable(_NoCopy):
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
    gate: InitVar[object] = None
    _digest: str = field(default="", init=False, repr=False, compare=False)
    _source: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self, gate: object) -> None:
        _check_gate(gate, "cleared table")
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
        from kit.reprs import short, short_list

        return short(f"<ClearedTable {self.name!r}: {len(self.rows)} rows, {self.n_suppressed} suppressed, "
                     f"{self.statistic} over {short_list(self.dims)}>")

    def _repr_html_(self) -> str:
        """Notebook view: the first rows as released (suppressed cells show the symbol)."""
        from kit.reprs import html_card, html_rows

        frame = self.to_frame().head(10)
        return html_card(f"ClearedTable {self.name}", [
            ("title", self.title or "(none)"),
            ("statistic", f"{self.statistic} over {', '.join(self.dims)}"),
            ("rows", f"{len(self.rows)} ({self.n_suppressed} suppressed, shown as {self.symbol})"),
        ], html_rows(list(frame.columns), frame.to_numpy().tolist(), len(self.rows)))


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


@dataclass(frozen=True, slots=True)
class EstimateRow(_NoCopy):
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


@dataclass(frozen=True, slots=True)
class ClearedEstimate(_NoCopy):
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
    gate: InitVar[object] = None
    _digest: str = field(default="", init=False, repr=False, compare=False)
    _source: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self, gate: object) -> None:
        _check_gate(gate, "cleared estimate")
        if self.provenance is None:
            raise DisclosureError("cleared estimate", "no provenance", "this is a bug; please report it")
        for row in self.rows:
            if len(row.values) != len(self.columns):
                raise DisclosureError("cleared estimate", "a row does not match the columns",
                                      "this is a bug; please report it")

    def to_frame(self, symbols: bool = True) -> pd.DataFrame:
        """The estimates as a DataFrame (one row per term), with unique column names.

        A key that repeats the term (a model's coefficients are keyed ``("term", name)``) is not
        repeated; a key whose name collides with ``term``, a value column or ``flags`` otherwise is
        shown as ``key_<name>``.
        """
        reserved = {"term", *self.columns, "flags"}
        key_names: list[str] = []
        for row in self.rows:
            for k, _ in row.keys:
                if k not in key_names:
                    key_names.append(k)
        # a "term" key equal to the row's term everywhere is the term itself
        if "term" in key_names and all(dict(r.keys).get("term", r.term) == r.term for r in self.rows):
            key_names.remove("term")
        shown: dict[str, str] = {}
        for k in key_names:
            name = k
            while name in reserved or name in shown.values():
                name = f"key_{name}"
            shown[k] = name
        records = []
        for row in self.rows:
            rec: dict[str, object] = {"term": row.term}
            rec.update({shown[k]: v for k, v in row.keys if k in shown})
            for col, value in zip(self.columns, row.values):
                if row.suppressed:
                    rec[col] = self.symbol if symbols else math.nan
                else:
                    rec[col] = math.nan if value is None else value
            rec["flags"] = ",".join(f.value for f in row.flags)
            records.append(rec)
        return pd.DataFrame.from_records(records, columns=["term", *shown.values(), *self.columns, "flags"])

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
        from kit.reprs import short

        n_sup = sum(r.suppressed for r in self.rows)
        return short(f"<ClearedEstimate {self.name!r} ({self.kind.value}): {len(self.rows)} rows, "
                     f"{n_sup} suppressed>")

    def _repr_html_(self) -> str:
        """Notebook view: the first estimates as released (suppressed ones show the symbol)."""
        from kit.reprs import html_card, html_rows

        frame = self.to_frame().head(10)
        n_sup = sum(r.suppressed for r in self.rows)
        return html_card(f"ClearedEstimate {self.name}", [
            ("title", self.title or "(none)"),
            ("kind", self.kind.value),
            ("rows", f"{len(self.rows)} ({n_sup} suppressed, shown as {self.symbol})"),
            ("N", self.n_reported),
        ], html_rows(list(frame.columns), frame.to_numpy().tolist(), len(self.rows)))


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "."
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"


# ------------------------------------------------------------------ integrity seal
def _plain(value: Any) -> Any:
    """Nested tuples of primitives (exact float text) for the canonical form."""
    if isinstance(value, float):
        return float.hex(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    names = _FIELD_NAMES.get(type(value))
    if names is not None:
        return (type(value).__name__, *(_plain(getattr(value, f)) for f in names))
    return ("?", type(value).__module__, type(value).__qualname__, repr(value))


def _public_fields(cls: type) -> tuple[str, ...]:
    from dataclasses import fields

    return tuple(f.name for f in fields(cls) if not f.name.startswith("_"))


#: Public field names of the sealed types (a constant: the canonical form covers exactly these).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: _public_fields(cls) for cls in (ClearedRow, EstimateRow, Provenance, ClearedTable, ClearedEstimate)
}


def _source_binding(source: object) -> bytes:
    """Identity of the private result and, when it offers one, its evidence fingerprint."""
    hook = getattr(type(source), "_integrity_payload", None)
    payload = hook(source) if callable(hook) else b""
    if not isinstance(payload, bytes):
        raise DisclosureError("clear", "the private result gave no integrity payload",
                              "this is a bug in the kit; please report it")
    cls = type(source)
    return f"{id(source)}:{cls.__module__}.{cls.__qualname__}:".encode() + payload


def _content(obj: ClearedTable | ClearedEstimate) -> bytes:
    body = (type(obj).__name__, *(_plain(getattr(obj, f)) for f in _FIELD_NAMES[type(obj)]))
    return repr(body).encode("utf-8")


def _seal(obj: ClearedTable | ClearedEstimate, source: object) -> None:
    """Bind a freshly built cleared object to its private result (only inside kit.clear())."""
    if not _active() or type(obj) not in (ClearedTable, ClearedEstimate) or source is None:
        raise _refuse("seal")
    object.__setattr__(obj, "_source", source)
    object.__setattr__(obj, "_digest", _mac(_content(obj) + b"|" + _source_binding(source)))


def verify_cleared(obj: object, where: str = "release") -> object:
    """Check a cleared object's seal and return the private result it was cleared from.

    Raises
    ------
    DisclosureError
        When the object was not made by :func:`kit.clear` in this process, was changed
        after clearance (``object.__setattr__``, a swapped or edited private result), or
        has no private result (evidence) behind it.

    Examples
    --------
    >>> try:
    ...     verify_cleared("text")
    ... except DisclosureError as err:
    ...     print(err.problem)
    a str is not a cleared output made by kit.clear()
    """
    if type(obj) not in (ClearedTable, ClearedEstimate):
        raise DisclosureError(where, f"a {type(obj).__name__} is not a cleared output made by kit.clear()",
                              "pass the result through kit.clear() in this session")
    assert isinstance(obj, (ClearedTable, ClearedEstimate))
    name = obj.name if isinstance(obj.name, str) else "?"
    source = obj._source
    if source is None:
        raise DisclosureError(f"{where}: output '{name}'", "it arrives without its private evidence",
                              "release outputs cleared in this Python session (kit.clear() on a result "
                              "evaluated in a Session); a cleared object cannot be carried between sessions")
    expected = _mac(_content(obj) + b"|" + _source_binding(source))
    if not isinstance(obj._digest, str) or not hmac.compare_digest(expected, obj._digest):
        raise DisclosureError(f"{where}: output '{name}'",
                              "its integrity seal does not match: it was changed after kit.clear() or was "
                              "not made by kit.clear() in this process",
                              "clear the result again with kit.clear() and release the new object")
    return source


def _module_class(cls: type) -> bool:
    """Whether ``cls`` is the class of that name in a loaded kit module (not a look-alike)."""
    mod = getattr(cls, "__module__", "")
    if not isinstance(mod, str) or not (mod == "kit" or mod.startswith("kit.")):
        return False
    module = sys.modules.get(mod)
    found: Any = module
    for part in str(getattr(cls, "__qualname__", "")).split("."):
        found = getattr(found, part, None)
    return found is cls
