"""What the workbench's pages show, built from the verified release (no rendering here).

:func:`snapshot` reads one consistent state: the review of the release (verification,
scan, the request replayed from the decision log), the manifest and ``checker.json``.
:func:`overview_rows` and :func:`output_view` turn it into plain records for the
templates; every text reaches the page through Jinja2's autoescape.

Examples
--------
>>> output_states()[-1]
'rejected'
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.release.manifest import find_manifest, load_manifest
from kit.release.request import Message, OutputState, ResearcherContext, Review, SiteReview
from kit.release.review import ReviewResult, review_release
from kit.release.words import dp_in_words, reason_kind

__all__ = [
    "CellRow",
    "DifferencingRow",
    "OutputRow",
    "OutputView",
    "Snapshot",
    "differencing_rows",
    "dp_in_words",
    "output_view",
    "overview_rows",
    "reason_kind",
    "snapshot",
]

_MAX_SHOWN = 3000
_TEXT_TABLES = (".tab", ".txt", ".csv")
@dataclass(frozen=True)
class Snapshot:
    """One consistent read of a release for the workbench."""

    review: ReviewResult
    manifest: Mapping[str, Any]
    checker: Mapping[str, Any]
    reviewer: str

    @property
    def outputs(self) -> list[Mapping[str, Any]]:
        """The manifest's output entries."""
        outs = self.manifest.get("outputs", [])
        return [o for o in outs if isinstance(o, Mapping)] if isinstance(outs, list) else []

    def output(self, name: str) -> Mapping[str, Any] | None:
        """The manifest entry of ``name`` (looked up, never used as a path)."""
        return next((o for o in self.outputs if o.get("name") == name), None)

    def facts(self, name: str) -> Mapping[str, Any]:
        """``checker.json``'s facts of ``name`` (empty when there are none)."""
        outs = self.checker.get("outputs", [])
        for o in outs if isinstance(outs, list) else []:
            if isinstance(o, Mapping) and o.get("name") == name:
                return o
        return {}

    def file_record(self, relpath: str) -> Mapping[str, Any] | None:
        """The manifest's record of a release file (``None`` when it lists no such file)."""
        files = self.manifest.get("files", [])
        return next((f for f in files if isinstance(f, Mapping) and f.get("path") == relpath), None)


def snapshot(release: Path, *, checker_dir: str | Path | None, log_path: str | Path | None,
             site: SiteReview, reviewer: str) -> Snapshot:
    """Verify the release and read its manifest and checker's report."""
    review = review_release(release, checker_dir=checker_dir, log_path=log_path, site=site)
    manifest: Mapping[str, Any] = {}
    path = find_manifest(release)
    if path is not None:
        try:
            manifest = load_manifest(path)
        except Exception:  # a broken manifest is already a TAMPERED problem of the review
            manifest = {}
    checker: Mapping[str, Any] = {}
    if review.checker_folder is not None:
        try:
            loaded = json.loads((review.checker_folder / "checker.json").read_text(encoding="utf-8"))
            checker = loaded if isinstance(loaded, dict) else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            checker = {}
    return Snapshot(review, manifest, checker, reviewer)


@dataclass(frozen=True)
class DifferencingRow:
    """One differencing pair of ``checker.json``: the outputs, the result and the risky cells by codes."""

    table: str
    other_table: str
    other_release: str
    result: str
    common: str
    risky: str
    links: tuple[str, ...]

    @property
    def is_risk(self) -> bool:
        """Whether the registry found risky cells (blocked, or not enforced because the check was off)."""
        return self.result != "ok"


def differencing_rows(checker: Mapping[str, Any], output: str | None = None) -> tuple[DifferencingRow, ...]:
    """The pairs of ``checker.json`` (those involving ``output`` when given), risks first.

    >>> rows = differencing_rows({"differencing_pairs": [{"table": "b", "other table": "a", "result": "ok"},
    ...     {"table": "c", "other table": "a", "result": "BLOCKED", "cell_links": [{"text": "c [K=1] vs a [K=1]"}]}]})
    >>> [(r.table, r.links) for r in rows]
    [('c', ('c [K=1] vs a [K=1]',)), ('b', ())]
    """
    pairs = checker.get("differencing_pairs")
    out: list[DifferencingRow] = []
    for p in pairs if isinstance(pairs, list) else []:
        if not isinstance(p, Mapping):
            continue
        if output is not None and output not in (p.get("table"), p.get("other table")):
            continue
        links = p.get("cell_links")
        texts = tuple(str(k.get("text")) for k in links if isinstance(k, Mapping)) if isinstance(links, list) else ()
        out.append(DifferencingRow(str(p.get("table", "")), str(p.get("other table", "")),
                                   str(p.get("other release", "")), str(p.get("result", "ok")),
                                   str(p.get("common cells", "")), str(p.get("risky cells", "")), texts))
    return tuple(sorted(out, key=lambda r: not r.is_risk))


@dataclass(frozen=True)
class OutputRow:
    """One output in the overview."""

    name: str
    title: str
    kind: str
    type: str
    rule_set: str
    verdict: str
    n_cells: int
    n_primary: int
    n_secondary: int
    dp: str
    n_findings: int
    context: ResearcherContext
    state: str
    reviews: tuple[Review, ...]


def _counts(facts: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[int, int, int]:
    cells = facts.get("cell_status")
    if isinstance(cells, list):
        statuses = [str(c.get("status")) for c in cells if isinstance(c, Mapping)]
        return len(statuses), statuses.count("PRIMARY"), statuses.count("SECONDARY")
    raw = facts.get("cells")
    if isinstance(raw, list) and raw:
        prim = sum(1 for c in raw if isinstance(c, Mapping) and c.get("primary"))
        supp = sum(1 for c in raw if isinstance(c, Mapping) and c.get("suppressed"))
        return len(raw), prim, supp - prim
    n = int(entry.get("n_rows", entry.get("n_points", 0)) or 0)
    return n, 0, int(entry.get("n_suppressed", 0) or 0)


def _state(snap: Snapshot, name: str) -> tuple[str, tuple[Review, ...]]:
    req = snap.review.request
    if req is not None and name in req.outputs:
        st = req.outputs[name]
        return st.state.value, st.reviews
    legacy = next((o for o in snap.review.outputs if o.name == name), None)
    decision = legacy.decision if legacy is not None else "pending"
    return {"approve": "approved", "reject": "rejected"}.get(decision, "pending"), ()


def overview_rows(snap: Snapshot) -> list[OutputRow]:
    """Every output of the release with what the overview shows."""
    rows: list[OutputRow] = []
    req = snap.review.request
    for entry in snap.outputs:
        name = str(entry.get("name"))
        facts = snap.facts(name)
        prov = entry.get("provenance") if isinstance(entry.get("provenance"), Mapping) else {}
        assert isinstance(prov, Mapping)
        rs = prov.get("rule_set") if isinstance(prov.get("rule_set"), Mapping) else snap.manifest.get("rule_set")
        rs_text = f"{rs.get('id')} {rs.get('version')}" if isinstance(rs, Mapping) else "?"
        n_cells, n_prim, n_sec = _counts(facts, entry)
        files = set(entry.get("files", [])) if isinstance(entry.get("files"), list) else set()
        n_find = sum(1 for f in snap.review.findings if f.path in files)
        state, reviews = _state(snap, name)
        rows.append(OutputRow(
            name, str(entry.get("title") or name), str(entry.get("kind")), str(entry.get("type")), rs_text,
            str(facts.get("verdict", "—")), n_cells, n_prim, n_sec, dp_in_words(prov.get("privacy_budget")),
            n_find, req.request.context(name) if req is not None else ResearcherContext(), state, reviews))
    return rows


@dataclass(frozen=True)
class CellRow:
    """One published cell as the checker sees it."""

    keys: tuple[str, ...]
    n_units: int
    status: str
    reasons: tuple[tuple[str, str, str], ...]  # (code, kind, text)
    top_share: float | None
    audit: tuple[float, float, bool] | None


@dataclass(frozen=True)
class PublishedTable:
    """The table as the researcher will see it (from the release's text file)."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    truncated: int = 0


@dataclass(frozen=True)
class OutputView:
    """Everything the page of one output shows."""

    row: OutputRow
    entry: Mapping[str, Any]
    published: PublishedTable | None
    images: tuple[str, ...]
    cells: tuple[CellRow, ...]
    dims: int
    checks: tuple[tuple[str, str], ...]
    model_checks: tuple[tuple[str, ...], tuple[tuple[str, ...], ...]] | None
    thread: tuple[Message, ...]
    symbol: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    differencing: tuple[DifferencingRow, ...] = ()

    @property
    def dim_names(self) -> tuple[str, ...]:
        """Names of the cells' code columns (from the released table's header when it has them)."""
        if self.published is not None and len(self.published.columns) > self.dims:
            return self.published.columns[: self.dims]
        return tuple(f"code {i + 1}" for i in range(self.dims))


def _published(snap: Snapshot, files: Sequence[str]) -> PublishedTable | None:
    for rel in files:
        if rel.lower().endswith(_TEXT_TABLES) and snap.file_record(rel) is not None:
            path = snap.review.release.joinpath(*rel.split("/"))
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            delim = "," if rel.lower().endswith(".csv") else "\t"
            rows = list(csv.reader(io.StringIO(text), delimiter=delim))
            if not rows:
                continue
            body = rows[1:]
            return PublishedTable(rel, tuple(rows[0]), tuple(tuple(r) for r in body[:_MAX_SHOWN]),
                                  max(len(body) - _MAX_SHOWN, 0))
    return None


def _cells(facts: Mapping[str, Any]) -> tuple[tuple[CellRow, ...], int]:
    raw = facts.get("cell_status")
    out: list[CellRow] = []
    dims = 0
    if isinstance(raw, list):
        for c in raw[:_MAX_SHOWN]:
            if not isinstance(c, Mapping):
                continue
            keys = tuple(str(k) for k in c.get("keys", []))
            dims = max(dims, len(keys))
            texts = [t for t in str(c.get("reasons", "")).split("; ") if t]
            codes = [str(x) for x in c.get("reason_codes", [])]
            reasons = tuple((code, reason_kind(code), texts[i] if i < len(texts) else code)
                            for i, code in enumerate(codes))
            audit = c.get("audit")
            share = c.get("top_share")
            out.append(CellRow(keys, int(c.get("n_units", 0) or 0), str(c.get("status", "?")), reasons,
                               float(share) if isinstance(share, (int, float)) else None,
                               (float(audit[0]), float(audit[1]), bool(audit[2]))
                               if isinstance(audit, list) and len(audit) == 3 else None))
        return tuple(out), dims
    for c in facts.get("cells", []) if isinstance(facts.get("cells"), list) else []:
        if isinstance(c, Mapping):
            keys = tuple(str(k) for k in c.get("keys", []))
            dims = max(dims, len(keys))
            status = "PRIMARY" if c.get("primary") else "SECONDARY" if c.get("suppressed") else "SAFE"
            out.append(CellRow(keys, int(c.get("n_units", 0) or 0), status, (), None, None))
    return tuple(out[:_MAX_SHOWN]), dims


def output_view(snap: Snapshot, name: str) -> OutputView | None:
    """The page of one output (``None`` when the release has no output of that name)."""
    entry = snap.output(name)
    if entry is None:
        return None
    row = next(r for r in overview_rows(snap) if r.name == name)
    files = [str(f) for f in entry.get("files", [])] if isinstance(entry.get("files"), list) else []
    images = tuple(f for f in files if f.lower().endswith((".svg", ".png", ".jpg")) and snap.file_record(f))
    facts = snap.facts(name)
    cells, dims = _cells(facts)
    checks: list[tuple[str, str]] = []
    flags = entry.get("flags")
    if isinstance(flags, Mapping):
        checks.extend((f"rows flagged {k}", str(v)) for k, v in flags.items())
    prov = entry.get("provenance") if isinstance(entry.get("provenance"), Mapping) else {}
    assert isinstance(prov, Mapping)
    for method in prov.get("methods", []) if isinstance(prov.get("methods"), list) else []:
        checks.append(("method", str(method)))
    if facts.get("min_units") is not None:
        checks.append(("threshold (distinct units)", str(facts.get("min_units"))))
    if entry.get("kind") == "figure":
        checks.append(("drawn from", str(entry.get("source"))))
    if row.dp:
        checks.append(("differential privacy", row.dp))
    req = snap.review.request
    thread = req.thread(name) if req is not None else ()
    notes = []
    if entry.get("kind") == "table" and not cells:
        notes.append("the checker's report has no cell facts for this table (written without its private result)")
    raw = facts.get("checks")
    model = None
    if isinstance(raw, Mapping) and isinstance(raw.get("columns"), list) and isinstance(raw.get("rows"), list):
        model = (tuple(str(c) for c in raw["columns"]),
                 tuple(tuple(str(v) for v in r) for r in raw["rows"][:_MAX_SHOWN] if isinstance(r, list)))
    return OutputView(row, entry, _published(snap, files), images, cells, dims, tuple(checks), model, thread,
                      str(snap.manifest.get("suppressed_symbol", "x")), tuple(notes),
                      tuple(r for r in differencing_rows(snap.checker, name) if r.is_risk))


def request_state(snap: Snapshot) -> str:
    """The request's state for the header ("no request" for a release written without one)."""
    req = snap.review.request
    return req.state.value if req is not None else "no request"


def output_states() -> tuple[str, ...]:
    """All output states, for the legend.

    >>> output_states()[0]
    'pending'
    """
    return tuple(s.value for s in OutputState)
