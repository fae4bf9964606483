"""Private estimate results and the one builder that clears them.

Every estimator in :mod:`kit.estimate` returns an :class:`EstimateResult`
(zone 2, private). It holds only the numbers that may be published after the
checks (no residuals, fitted values, predictions or data), the per-row
suppression reasons, the notes and the frozen spec. Its ``repr`` shows shape
and counts, never values. :func:`kit.clear` calls ``_build_cleared`` with the
clearance gate and gets a :class:`~kit.core.cleared.ClearedEstimate`.

Examples
--------
>>> from kit.core.cleared import EstimateKind
>>> r = EstimateResult(name="demo", title="Demo", kind=EstimateKind.RATES, columns=("estimate",),
...                    rows=[ResultRow("a", (("cell", "a"),), (0.5,))], n_total=12,
...                    context=Context.from_parts("dst", "2025.1", "f" * 64, "t", ""), spec_fp="0" * 64)
>>> r
<EstimateResult 'demo' (rates): 1 rows, 0 suppressed; values hidden>
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kit.core.cleared import ClearedEstimate, EstimateKind, EstimateRow, Flag, Provenance, _mac
from kit.core.rules.model import ReportN, RuleKind
from kit.core.spec_types import Statistic
from kit.core.status import Reason
from kit.core.table import round_n
from kit.errors import DisclosureError

__all__ = ["CheckRecord", "Context", "EstimateResult", "ResultRow", "report_round_to", "spec_fingerprint"]


def spec_fingerprint(spec: Any) -> str:
    """SHA-256 of the canonical JSON form of a frozen spec dataclass.

    >>> @dataclasses.dataclass(frozen=True)
    ... class S:
    ...     a: int = 1
    >>> spec_fingerprint(S()) == spec_fingerprint(S())
    True
    """

    def plain(obj: Any) -> Any:
        if isinstance(obj, enum.Enum):
            return obj.value
        if isinstance(obj, (tuple, list)):
            return [plain(o) for o in obj]
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {
                "__type__": type(obj).__name__,
                **{f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)},
            }
        return obj

    text = json.dumps(plain(spec), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_round_to(rules: Any, statistic: Statistic = Statistic.MODEL) -> int:
    """The multiple N is rounded to under a rule set (1 when it says nothing)."""
    out = 1
    for rule in rules.of_kind(RuleKind.REPORT_N, statistic):
        if isinstance(rule.params, ReportN):
            out = max(out, rule.params.round_to)
    return out


@dataclass(frozen=True)
class Context:
    """What a result keeps of the session: public rule-set identity and provenance fields."""

    rule_set_id: str
    rule_set_version: str
    rule_set_fingerprint: str
    created: str
    data_label: str
    symbol: str = "x"
    note_suppressed: str = "x: not shown to protect confidentiality."

    @classmethod
    def from_session(cls, session: Any) -> Context:
        """Take the public fields of a :class:`~kit.session.Session`."""
        rules = session.rules
        return cls(
            rules.id,
            rules.version,
            rules.fingerprint,
            session.created,
            session.data_label,
            rules.release.suppressed_symbol,
            rules.release.note_suppressed,
        )

    @classmethod
    def from_parts(cls, rid: str, version: str, fingerprint: str, created: str, label: str) -> Context:
        """Build a context by hand (tests and doctests)."""
        return cls(rid, version, fingerprint, created, label)


@dataclass(frozen=True)
class CheckRecord:
    """What the output checks of an estimate rested on (counts only; kept for :meth:`EstimateResult.recheck`).

    ``statistic`` is the statistic whose threshold the checks used, ``k`` that
    threshold, ``min_units`` the fewest distinct units behind any published
    number (for rates: the smaller of numerator and complement; for quantiles:
    the fewest units between two window bounds), ``dof`` the residual degrees
    of freedom of a model (``None`` for other estimates).
    """

    statistic: Statistic
    k: int
    min_units: int | None = None
    dof: float | None = None


def check_threshold(rules: Any, statistic: Statistic) -> int:
    """The threshold an estimate of ``statistic`` is checked with under ``rules``."""
    from kit.core.rules.model import ModelTermUnits, Quantile

    k = rules.min_units(statistic)
    if statistic is Statistic.MODEL:
        k = max([k, *(r.params.min_units for r in rules.of_kind(RuleKind.MODEL_TERM_UNITS, statistic)
                      if isinstance(r.params, ModelTermUnits))])
    if statistic is Statistic.QUANTILE:
        k = max([k, *(r.params.min_units_around for r in rules.of_kind(RuleKind.QUANTILE)
                      if isinstance(r.params, Quantile))])
    return max(int(k), 1)


@dataclass(frozen=True)
class ResultRow:
    """One private estimate row: values, suppression reasons and flags (immutable: a suppressed row
    cannot be published by clearing its reasons)."""

    term: str
    keys: tuple[tuple[str, str], ...]
    values: tuple[float | None, ...]
    reasons: Sequence[Reason] = ()  # stored as a tuple
    flags: tuple[Flag, ...] = ()
    evidence: tuple[tuple[str, float], ...] = ()  # private counts for the checker (units, Kish size ...)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "values", tuple(self.values))

    @property
    def suppressed(self) -> bool:
        """True when any check failed for this row."""
        return bool(self.reasons)


def _clean(v: float | None) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


class EstimateResult:
    """A private estimate (zone 2): numbers, checks and notes, ready for :func:`kit.clear`.

    Parameters
    ----------
    name, title
        Output name and display title.
    kind
        What the estimate is.
    columns
        Names of the numbers of each row.
    rows
        The rows with their suppression reasons.
    n_total
        Number of observations (rows) used; published rounded per ``report_n``.
    context
        Rule-set identity and provenance fields of the session.
    spec_fp
        Fingerprint of the frozen spec.
    round_to
        Rounding multiple of N.
    notes
        Public notes (estimator, clustering, inference method ...).
    methods
        Short method names for the provenance.
    blocked
        Reasons that block the whole result (``kit.clear`` refuses it).
    private_notes
        Notes for the researcher only (``summary()``), never released.
    """

    def __init__(
        self,
        *,
        name: str,
        title: str,
        kind: EstimateKind,
        columns: Sequence[str],
        rows: list[ResultRow],
        n_total: int,
        context: Context,
        spec_fp: str,
        round_to: int = 1,
        notes: Sequence[str] = (),
        methods: Sequence[str] = (),
        blocked: Sequence[Reason] = (),
        private_notes: Sequence[str] = (),
        n_label: str = "observations",
        checked: CheckRecord | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.kind = kind
        self.columns = tuple(columns)
        self._rows = tuple(rows)
        self._n_total = int(n_total)
        self.context = context
        self.spec_fingerprint = spec_fp
        self.round_to = max(1, int(round_to))
        self.notes = tuple(notes)
        self.methods = tuple(methods)
        self.blocked = tuple(blocked)
        self.private_notes = tuple(private_notes)
        self.n_label = n_label
        self.checked = checked
        #: Unit keys behind the published statistics (see :meth:`populations`); set once by the estimator.
        self.unit_populations: Mapping[str, np.ndarray] | None = None
        for r in rows:
            if len(r.values) != len(self.columns):
                raise ValueError("row length does not match columns")  # pragma: no cover - a kit bug
        object.__setattr__(self, "_seal", _mac(self._payload()))

    # ------------------------------------------------------------ immutability
    def __setattr__(self, name: str, value: Any) -> None:
        """A result is frozen once built; only the estimator sets ``unit_populations``, once."""
        if "_seal" not in self.__dict__:  # still in __init__
            object.__setattr__(self, name, value)
            return
        if name == "unit_populations" and self.__dict__.get("unit_populations") is None \
                and isinstance(value, Mapping) and len(value) > 0:
            object.__setattr__(self, name, {str(k): np.asarray(v) for k, v in value.items()})
            object.__setattr__(self, "_seal", _mac(self._payload()))
            return
        raise DisclosureError(f"estimate '{self.name}'", f"its '{name}' cannot be changed after the estimate is made",
                              "run the estimator again with another specification; never edit a private result")

    def __delattr__(self, name: str) -> None:
        raise DisclosureError(f"estimate '{self.name}'", f"its '{name}' cannot be removed",
                              "run the estimator again; never edit a private result")

    def _payload(self) -> bytes:
        """What the seal covers: rows (terms, keys, values, reasons, flags), blocks, checks, populations."""
        h = hashlib.sha256()
        h.update(repr((self.name, self.kind, self.columns, self._n_total, self.round_to, self.blocked,
                       self.checked, self.spec_fingerprint, self.context)).encode())
        for r in self._rows:
            h.update(repr((r.term, r.keys, r.values, r.reasons, r.flags, r.evidence)).encode())
        pops = self.__dict__.get("unit_populations")
        if pops is not None:
            for k in sorted(pops):
                h.update(k.encode() + b"\0" + np.ascontiguousarray(pops[k]).tobytes() + b"\1")
        return h.digest()

    def _verify_seal(self) -> None:
        if not hmac.compare_digest(_mac(self._payload()), self.__dict__.get("_seal", "")):
            raise DisclosureError(f"estimate '{self.name}'", "it was changed after the estimator made it",
                                  "run the estimator again; never edit a private result")

    def populations(self) -> Mapping[str, np.ndarray] | None:
        """The populations protocol of :mod:`kit.release.registry`: label -> unit keys of the units
        behind each published statistic (:func:`kit.core.populations.unit_keys`), or ``None`` when the
        estimator does not record them (the registry then refuses the release)."""
        self._verify_seal()
        return self.unit_populations

    # -------------------------------------------------------------- inspection
    def __repr__(self) -> str:
        from kit.reprs import short

        n_sup = sum(r.suppressed for r in self._rows)
        state = ", BLOCKED" if self.blocked else ""
        return short(
            f"<{type(self).__name__} {self.name!r} ({self.kind.value}): {len(self._rows)} rows, "
            f"{n_sup} suppressed{state}; values hidden>"
        )

    def _repr_html_(self) -> str:
        """Notebook view: terms and whether they pass the checks, with reason codes; no values
        (a notebook's output is saved in the ``.ipynb`` file; :meth:`summary` shows them)."""
        from kit.reprs import html_card, html_rows

        n_sup = sum(r.suppressed for r in self._rows)
        rows = [[r.term, "suppressed" if r.suppressed else "passes",
                 "; ".join(x.code.value for x in r.reasons)] for r in self._rows[:10]]
        facts = [("values", "hidden (private; summary() shows them on the server)"), ("kind", self.kind.value),
                 ("rows", f"{len(self._rows)} ({n_sup} suppressed)")]
        if self.blocked:
            facts.append(("blocked", "; ".join(x.code.value for x in self.blocked)))
        return html_card(f"{type(self).__name__} {self.name}", facts,
                         html_rows(["term", "checks", "reasons"], rows, len(self._rows)))

    __str__ = __repr__

    @property
    def n_rows(self) -> int:
        """Number of estimate rows."""
        return len(self._rows)

    @property
    def n_suppressed(self) -> int:
        """Number of suppressed rows."""
        return sum(r.suppressed for r in self._rows)

    @property
    def n_reported(self) -> str:
        """N as it will be published (rounded per the rule set)."""
        n = round_n(self._n_total, self.round_to)
        if self.round_to > 1:
            return f"{n} {self.n_label} (rounded to a multiple of {self.round_to})"
        return f"{n} {self.n_label}"

    def rows_with_reasons(self) -> list[tuple[str, tuple[tuple[str, str], ...], list[str]]]:
        """Term, keys and suppression reasons of every row (no values)."""
        return [(r.term, r.keys, [str(x) for x in r.reasons]) for r in self._rows]

    def summary(self) -> str:
        """A statsmodels-like summary for the researcher on the server, with numbered notes.

        Suppressed rows show the rule set's symbol and their reasons; this text is
        for the server only (the released form is ``kit.clear(result).summary()``).
        """
        width = max([len(r.term) for r in self._rows] + [12])
        lines = [self.title or self.name, "=" * (width + 13 * len(self.columns))]
        lines.append(" " * width + "".join(f"{c:>13}" for c in self.columns))
        for r in self._rows:
            if r.suppressed:
                cells = "".join(f"{self.context.symbol:>13}" for _ in self.columns)
            else:
                cells = "".join(f"{_fmt(v):>13}" for v in r.values)
            mark = " *" if Flag.NOT_DISTINGUISHABLE_FROM_ZERO in r.flags else ""
            lines.append(f"{r.term:<{width}}{cells}{mark}")
            for reason in r.reasons:
                lines.append(f"{'':<4}suppressed: {reason}")
        lines.append("-" * (width + 13 * len(self.columns)))
        lines.append(f"N: {self.n_reported}")
        if self.blocked:
            lines.append("BLOCKED: " + "; ".join(str(b) for b in self.blocked))
        for i, note in enumerate([*self.notes, *self.private_notes], 1):
            lines.append(f"[{i}] {note}")
        lines.append("* not distinguishable from zero (see the notes for the test used)")
        lines.append("For the researcher on the server only: release through kit.clear().")
        return "\n".join(lines)

    def checks(self) -> list[dict[str, Any]]:
        """Per-row checks for the output checker's report (private: counts, reasons, never for release)."""
        out: list[dict[str, Any]] = []
        rec = self.checked
        if rec is not None:
            out.append({"term": "(checks)", "statistic": rec.statistic.value, "threshold": rec.k,
                        "fewest units behind a published number": "" if rec.min_units is None else rec.min_units,
                        "residual dof": "" if rec.dof is None else rec.dof})
        for b in self.blocked:
            out.append({"term": "(blocked)", "reasons": str(b)})
        for r in self._rows:
            row: dict[str, Any] = {"term": r.term, "suppressed": r.suppressed,
                                   "reasons": "; ".join(str(x) for x in r.reasons)}
            row.update(dict(r.evidence))
            out.append(row)
        return out

    def recheck(self, rules: Any) -> None:
        """Re-derive the output checks from the stored evidence under ``rules`` (the release writer's hook).

        Raises :class:`~kit.errors.DisclosureError` when the result is blocked, or
        when the rule set in force asks for more than the checks established: a
        higher threshold than the one checked (the design and quantile checks
        cannot be re-run without the data: fail closed), fewer units behind a
        published number than the threshold, or fewer residual degrees of
        freedom than ``residual_dof``. A result without a check record passes
        only the blocked test.
        """
        where = f"estimate '{self.name}'"
        if self.blocked:
            raise DisclosureError(where, "the output checks block it", "see result.summary()")
        rec = self.checked
        if rec is None:
            return
        k = check_threshold(rules, rec.statistic)
        if k > rec.k:
            raise DisclosureError(
                where,
                f"it was checked with a threshold of {rec.k} units; the rule set in force asks for {k}",
                "evaluate the estimate again in a session with the rule set in force",
            )
        if rec.min_units is not None and rec.min_units < k:
            raise DisclosureError(
                where, f"a published number rests on fewer than {k} distinct units", "suppress or re-evaluate it"
            )
        if rec.dof is not None:
            from kit.estimate.checks import dof_reasons

            if dof_reasons(rules, rec.dof):
                raise DisclosureError(
                    where, "its residual degrees of freedom are below the rule set's minimum", "re-evaluate it"
                )

    # --------------------------------------------------------------- clearance
    def _build_cleared(self, gate: object, *, allow_review: bool = False) -> ClearedEstimate:
        self._verify_seal()
        if self.blocked:
            raise DisclosureError(
                f"estimate '{self.name}'",
                f"the output checks block it ({len(self.blocked)} reason(s): "
                + "; ".join(b.code.value for b in self.blocked)
                + ")",
                "see result.summary() for the reasons and change the specification",
            )
        rows = []
        for r in self._rows:
            if r.suppressed:
                rows.append(EstimateRow(r.term, r.keys, tuple(None for _ in self.columns), True, ()))
            else:
                rows.append(EstimateRow(r.term, r.keys, tuple(_clean(v) for v in r.values), False, r.flags))
        notes = list(self.notes)
        if any(r.suppressed for r in rows):
            notes.append(self.context.note_suppressed)
        if allow_review:
            notes.append("Cleared after an output checker's review.")
        provenance = Provenance(
            spec_fingerprint=self.spec_fingerprint,
            rule_set_id=self.context.rule_set_id,
            rule_set_version=self.context.rule_set_version,
            rule_set_fingerprint=self.context.rule_set_fingerprint,
            created=self.context.created,
            methods=(
                *self.methods,
                f"output checks: {self.context.rule_set_id} {self.context.rule_set_version}",
            ),
            data_label=self.context.data_label,
        )
        return ClearedEstimate(
            name=self.name,
            title=self.title or self.name,
            kind=self.kind,
            columns=self.columns,
            rows=tuple(rows),
            n_reported=self.n_reported,
            notes=tuple(notes),
            symbol=self.context.symbol,
            provenance=provenance,
            gate=gate,
        )


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "."
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
