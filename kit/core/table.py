"""The private result of evaluating a table spec: estimates, evidence, assessment.

A :class:`Table` lives inside a session (zone 2). Its ``repr`` shows shape and
counts, never values. ``summary()`` lists statuses and reasons per cell for the
researcher on the server; it is never written to a release. :func:`kit.clear`
turns a table whose assessment passed (and whose margins are protected and
audited) into a :class:`~kit.core.cleared.ClearedTable`.

Estimates per cell
------------------
``count``
    distinct units (weighted: the sum of weights).
``sum``
    the (weighted) sum of the measure.
``mean``
    weighted mean with a normal 95 % interval, ``se = s / sqrt(n_eff)``, where
    ``n_eff = (sum w)^2 / sum w^2`` (Kish) and ``s`` the weighted standard deviation.
``rate``
    share of a 0/1 measure with a Wilson 95 % interval on ``n_eff``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from kit.core.assess import Assessment
from kit.core.cleared import _GATE, ClearedRow, ClearedTable, Provenance, _mac
from kit.core.evidence import Evidence
from kit.core.populations import TablePopulations
from kit.core.rules.loader import RuleSet
from kit.core.rules.model import ReportN, RuleKind
from kit.core.spec import TableSpec
from kit.core.spec_types import Statistic, UnitType
from kit.core.status import Verdict
from kit.errors import DisclosureError

__all__ = [
    "Table",
    "cell_estimates",
    "evidence_fingerprint",
    "published_status_codes",
    "round_n",
    "value_columns",
    "wilson_interval",
]

Z95: float = float(sps.norm.ppf(0.975))


def wilson_interval(p: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for shares ``p`` on ``n`` observations.

    Checked against the closed form for p = 0.4, n = 100 (worked by hand in
    tests/reference/wilson.md): (0.3094, 0.4980).

    >>> lo, hi = wilson_interval(np.array([0.4]), np.array([100.0]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.3094, 0.498)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def round_n(n: int, round_to: int) -> int:
    """Round a count to the nearest multiple of ``round_to`` (half up).

    >>> round_n(12, 5), round_n(13, 5), round_n(7, 1)
    (10, 15, 7)
    """
    if round_to <= 1:
        return int(n)
    return int(math.floor(n / round_to + 0.5) * round_to)


def value_columns(statistic: Statistic) -> tuple[str, ...]:
    """Names of the published numbers of each cell."""
    if statistic in (Statistic.MEAN, Statistic.RATE):
        return ("estimate", "ci_low", "ci_high", "n")
    return ("value",)


def cell_estimates(cells: pd.DataFrame, statistic: Statistic, weighted: bool) -> pd.DataFrame:
    """Estimates per cell from evidence (private)."""
    sw, swx, swx2, sw2 = (cells[c].to_numpy() for c in ("sum_w", "sum_wx", "sum_wx2", "sum_w2"))
    n_units = cells["n_units"].to_numpy()
    if statistic is Statistic.COUNT:
        return pd.DataFrame({"value": sw if weighted else n_units.astype(float)}, index=cells.index)
    if statistic is Statistic.SUM:
        return pd.DataFrame({"value": swx}, index=cells.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(sw > 0, swx / np.where(sw > 0, sw, 1), np.nan)
        n_eff = np.where(sw2 > 0, sw * sw / np.where(sw2 > 0, sw2, 1), 0.0)
        if statistic is Statistic.RATE:
            lo, hi = wilson_interval(est, n_eff)
        else:
            var = np.maximum(swx2 / np.where(sw > 0, sw, 1) - est * est, 0.0)
            var = var * np.where(n_eff > 1, n_eff / np.where(n_eff > 1, n_eff - 1, 1), np.nan)
            se = np.sqrt(var / np.where(n_eff > 0, n_eff, np.nan))
            lo, hi = est - Z95 * se, est + Z95 * se
    return pd.DataFrame({"estimate": est, "ci_low": lo, "ci_high": hi, "n": n_units.astype(float)}, index=cells.index)


@dataclass(frozen=True)
class Table:
    """A table evaluated inside a session (private zone).

    Frozen: its evidence, spec, rules and assessment cannot be swapped. The
    release writer does not trust the assessment's statuses: it re-derives them
    from the evidence (:mod:`kit.release.rederive`); the evidence itself is bound
    to every cleared table by :meth:`_integrity_payload`.
    """

    spec: TableSpec
    rules: RuleSet
    unit_type: UnitType
    evidence: Evidence
    estimates: pd.DataFrame
    assessment: Assessment
    data_label: str
    created: str
    #: Units behind every evidence row (:mod:`kit.core.populations`), for the differencing registry.
    unit_populations: TablePopulations | None = None
    _evidence_seal: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The evidence as evaluated, sealed with the process secret: an in-place edit of the
        # evidence frame afterwards is refused by clear() and by the release writer.
        payload = self._evidence_payload()
        object.__setattr__(self, "_evidence_seal", _mac(payload))
        pops = self.unit_populations
        if pops is not None:
            # populations are bound to the evidence they were counted with: another table's
            # populations (dataclasses.replace) would let the differencing registry compare the wrong units
            if pops.owner is None:
                pops.owner = _mac(b"populations|" + payload)
            elif not hmac.compare_digest(pops.owner, _mac(b"populations|" + payload)):
                raise DisclosureError(f"table '{self.spec.name}'", "its unit populations belong to another table",
                                      "evaluate the table in a Session; never move populations between tables")

    def __repr__(self) -> str:
        from kit.reprs import short, short_list

        counts = {k: v for k, v in self.assessment.counts().items() if v}
        return short(f"<Table {self.spec.name!r}: {self.spec.statistic.value} over {short_list(self.spec.dims)}, "
                     f"{int(self.assessment.published.sum())} published cells, statuses {counts}, "
                     f"verdict {self.assessment.verdict.value}; values hidden>")

    def _repr_html_(self) -> str:
        """Notebook view: verdict, counts by status and the first cells' codes, statuses and reasons.

        Values and unit counts are not shown (a notebook's output is saved in the ``.ipynb``
        file); :meth:`summary` and :meth:`status_frame` give them on the server.
        """
        from kit.reprs import html_card, html_rows

        counts = {k: v for k, v in self.assessment.counts().items() if v}
        pub = self.assessment.published
        cells = self.evidence.cells.loc[pub, list(self.spec.dims)]
        n = int(pub.sum())
        statuses = [s for s, p in zip(self.assessment.statuses, pub) if p][:10]
        reasons = [rs for rs, p in zip(self.assessment.reasons, pub) if p][:10]
        rows = [[*codes, status.name, "; ".join(r.code.value for r in rs)]
                for codes, status, rs in zip(cells.head(10).itertuples(index=False), statuses, reasons)]
        return html_card(f"Table {self.spec.name}", [
            ("values", "hidden (private; summary() shows them on the server)"),
            ("statistic", f"{self.spec.statistic.value} over {', '.join(self.spec.dims)}"),
            ("rule set", f"{self.rules.id} {self.rules.version}"),
            ("verdict", self.assessment.verdict.value),
            ("cells by status", ", ".join(f"{k.lower()} {v}" for k, v in counts.items()) or "none"),
        ], html_rows([*self.spec.dims, "status", "reasons"], rows, n))

    __str__ = __repr__

    @property
    def verdict(self) -> Verdict:
        """The assessment's verdict."""
        return self.assessment.verdict

    def status_frame(self) -> pd.DataFrame:
        """Published cells with codes, status, distinct units and reasons (private)."""
        cells = self.evidence.cells
        pub = self.assessment.published
        frame = cells.loc[pub, list(self.spec.dims)].copy()
        frame["n_units"] = cells.loc[pub, "n_units"].to_numpy()
        frame["status"] = [s.name for s, p in zip(self.assessment.statuses, pub) if p]
        frame["reasons"] = ["; ".join(str(r) for r in rs) for rs, p in zip(self.assessment.reasons, pub) if p]
        return frame.reset_index(drop=True)

    def summary(self) -> str:
        """Statuses and reasons per cell, for the researcher. Never written to a release."""
        frame = self.status_frame()
        counts = {k: v for k, v in self.assessment.counts().items() if v}
        head = [
            f"Table {self.spec.name}: {self.spec.statistic.value} over {', '.join(self.spec.dims)}",
            f"Rule set {self.rules.id} {self.rules.version} (sha256:{self.rules.fingerprint[:12]})",
            f"Verdict: {self.verdict.value}; cells by status: {counts}",
        ]
        if self.spec.margins:
            state = "protected and audited" if self.assessment.protected else "NOT protected"
            head.append(f"Margins published: {state} {self.assessment.protection_method}".rstrip())
        for reason in self.assessment.table_reasons:
            head.append(f"Note: {reason}")
        with pd.option_context("display.max_rows", 500, "display.width", 200):
            body = frame.to_string(index=False)
        return "\n".join([*head, "", body, "", "For the researcher on the server only: never transfer this text."])

    def _evidence_payload(self) -> bytes:
        return evidence_fingerprint(self.evidence).encode() + (
            f"|{self.spec.fingerprint}|{self.rules.fingerprint}|{self.unit_type.value}".encode())

    def _integrity_payload(self) -> bytes:
        """Fingerprint of what the writer re-derives from: evidence, spec, rule set, unit type.

        Raises
        ------
        DisclosureError
            When the evidence was changed after the table was evaluated.
        """
        payload = self._evidence_payload()
        if not hmac.compare_digest(_mac(payload), self._evidence_seal):
            raise DisclosureError(f"table '{self.spec.name}'", "its evidence was changed after it was evaluated",
                                  "evaluate the table again in a Session; never edit a private result")
        return payload

    def _build_cleared(self, gate: object, *, allow_review: bool = False) -> ClearedTable:
        assessment = self.assessment
        if assessment.verdict is Verdict.FAIL:
            raise DisclosureError(f"table '{self.spec.name}'", "the assessment failed",
                                  "see table.summary() for the reasons")
        if assessment.verdict is Verdict.REVIEW and not allow_review:
            raise DisclosureError(f"table '{self.spec.name}'",
                                  "the assessment asks for an output checker's review "
                                  f"({len(assessment.table_reasons)} table-level reason(s))",
                                  "see table.summary(); after review call kit.clear(table, allow_review=True)")
        needs_protection = self.spec.margins and any(
            s.suppressed for s, p in zip(assessment.statuses, assessment.published) if p)
        if needs_protection and not assessment.protected:
            raise DisclosureError(f"table '{self.spec.name}'",
                                  "the table publishes margins next to suppressed cells without a passed "
                                  "secondary suppression and audit",
                                  "evaluate it in a Session (which protects tables with margins) or "
                                  "publish it without margins")
        if assessment.audit is not None and getattr(assessment.audit, "verdict", None) is not Verdict.PASS:
            raise DisclosureError(f"table '{self.spec.name}'", "the suppression audit failed",
                                  "see the checker's report; the release is blocked")
        cols = value_columns(self.spec.statistic)
        round_to = 1
        for rule in self.rules.of_kind(RuleKind.REPORT_N, self.spec.statistic):
            if isinstance(rule.params, ReportN):
                round_to = max(round_to, rule.params.round_to)
        cells = self.evidence.cells
        pub = np.flatnonzero(assessment.published)
        key_cols = [cells[d].astype(str).to_numpy()[pub] for d in self.spec.dims]
        margin = cells["is_margin"].to_numpy(dtype=bool)[pub]
        est_cols = [self.estimates[c].to_numpy(dtype=float)[pub] for c in cols]
        rows = []
        for k, i in enumerate(pub):
            status = assessment.statuses[i]
            keys = tuple(str(col[k]) for col in key_cols)
            if status.suppressed:
                rows.append(ClearedRow(keys, tuple(None for _ in cols), True, bool(margin[k])))
                continue
            values: list[float | None] = []
            for c, col in zip(cols, est_cols):
                v = float(col[k])
                if c == "n" and not math.isnan(v):
                    v = float(round_n(int(v), round_to))
                values.append(None if math.isnan(v) else v)
            rows.append(ClearedRow(keys, tuple(values), False, bool(margin[k])))
        notes = list(self.spec.notes)
        if any(r.suppressed for r in rows):
            notes.append(self.rules.release.note_suppressed)
        if "n" in cols and round_to > 1:
            notes.append(f"N is rounded to a multiple of {round_to}.")
        if self.spec.statistic is Statistic.RATE:
            notes.append("Rates with 95 % Wilson intervals.")
        elif self.spec.statistic is Statistic.MEAN:
            notes.append("Means with 95 % normal intervals.")
        if self.spec.statistic is Statistic.COUNT and not self.spec.weight:
            notes.append("Counts are distinct units.")
        methods = [f"primary: {self.rules.id} {self.rules.version}"]
        if assessment.protected:
            methods.append(f"secondary: {assessment.protection_method}, LP audit passed")
        provenance = Provenance(
            spec_fingerprint=self.spec.fingerprint,
            rule_set_id=self.rules.id,
            rule_set_version=self.rules.version,
            rule_set_fingerprint=self.rules.fingerprint,
            created=self.created,
            methods=tuple(methods),
            data_label=self.data_label,
        )
        return ClearedTable(
            name=self.spec.name,
            title=self.spec.title or self.spec.name,
            statistic=self.spec.statistic.value,
            dims=self.spec.dims,
            value_columns=cols,
            rows=tuple(rows),
            notes=tuple(notes),
            symbol=self.rules.release.suppressed_symbol,
            provenance=provenance,
            gate=gate if gate is _GATE else None,
        )


def evidence_fingerprint(evidence: Evidence) -> str:
    """SHA-256 of the evidence frame's content (columns, index, values) and its scalars.

    >>> import pandas as pd
    >>> from kit.core.evidence import Evidence
    >>> ev = Evidence(pd.DataFrame({"A": ["a"], "n_units": [3], "is_margin": [False]}), ["A"], 3, 0)
    >>> len(evidence_fingerprint(ev))
    64
    """
    cells = evidence.cells
    digest = hashlib.sha256()
    digest.update(repr((list(map(str, cells.columns)), [str(t) for t in cells.dtypes])).encode())
    digest.update(pd.util.hash_pandas_object(cells, index=True).to_numpy().tobytes())
    digest.update(repr((getattr(evidence, "n_input_units", None), getattr(evidence, "top_k", None))).encode())
    return digest.hexdigest()


def published_status_codes(table: Table) -> list[str]:
    """tau-Argus / sdcTable codes of the published cells (for exchange and the checker)."""
    return [s.code for s, p in zip(table.assessment.statuses, table.assessment.published) if p]

