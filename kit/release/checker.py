"""The output checker's report: private, kept on the server, NEVER part of a release.

For every release the writer puts a report into a separate folder
(``<checker_dir>/<release name>/``), never inside the release folder:

``checker_report.html``
    Self-contained HTML; a banner "CHECKER'S REPORT — NOT FOR TRANSFER" at the top and
    bottom of the screen and on every printed page.
``checker_report.txt``
    The same as text, in pages of at most :data:`PAGE_LINES` lines, each starting with
    the banner.
``checker.json``
    Machine-readable facts for ``kit review``: the SHA-256 of the release's manifest file,
    the number of input units per table, the differencing pairs.

Per output: the status and reasons of every cell (``Table.status_frame()``), the
primary and secondary suppression pattern, the audit intervals, model checks
(``checks()`` / ``checker_rows()`` of an estimate result), risk diagnostics
(``kit.dp.diagnostics.table_diagnostics`` when installed) and, for the release,
the DP ledger entries and the differencing pairs. Every source is read
defensively: what a result does not offer is skipped with a note.

Examples
--------
>>> tabular({"epsilon": 0.5}).rows
(('epsilon', '0.5'),)
>>> tabular(None) is None
True
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kit import __version__
from kit.core.cleared import ClearedEstimate, ClearedTable
from kit.core.rules.loader import RuleSet
from kit.core.rules.model import RuleKind, Threshold
from kit.core.spec_types import Statistic
from kit.release.charts import Figure

__all__ = ["BANNER", "CHECKER_FILES", "PAGE_LINES", "Tabular", "tabular", "write_checker_report"]

log = logging.getLogger(__name__)

#: The banner on every page of the checker's report.
BANNER = "CHECKER'S REPORT — NOT FOR TRANSFER"
#: Lines per page of the text report.
PAGE_LINES = 60
#: Files of a checker folder.
CHECKER_FILES = ("checker_report.html", "checker_report.txt", "checker.json")
_MAX_ROWS = 5000
#: Statistics whose weighted cells the Kish check judges (kit.core.rules.cellrules).
_KISH_CHECKED = (Statistic.MEAN, Statistic.RATE, Statistic.SUM)


@dataclass(frozen=True)
class Tabular:
    """A small table of strings (or a text) for the checker's templates."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text: str = ""
    truncated: int = 0


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def tabular(obj: Any) -> Tabular | None:
    """Normalise a DataFrame, mapping, list of mappings, list of rows or text into :class:`Tabular`."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return Tabular((), (), obj)
    if isinstance(obj, pd.DataFrame):
        frame = obj.reset_index(drop=True)
        rows = tuple(tuple(_cell(v) for v in rec) for rec in frame.head(_MAX_ROWS).itertuples(index=False))
        return Tabular(tuple(str(c) for c in frame.columns), rows, truncated=max(len(frame) - _MAX_ROWS, 0))
    if isinstance(obj, Mapping):
        return Tabular(("key", "value"), tuple((str(k), _cell(v)) for k, v in obj.items()))
    if isinstance(obj, Sequence):
        items = list(obj)
        if not items:
            return Tabular((), (), "(none)")
        if all(isinstance(i, Mapping) for i in items):
            cols: list[str] = []
            for i in items:
                cols.extend(str(k) for k in i if str(k) not in cols)
            return Tabular(tuple(cols), tuple(tuple(_cell(dict(i).get(c, "")) for c in cols) for i in items))
        if all(isinstance(i, (list, tuple)) for i in items):
            width = max(len(i) for i in items)
            return Tabular(
                tuple(str(k + 1) for k in range(width)),
                tuple(tuple(_cell(v) for v in i) + ("",) * (width - len(i)) for i in items),
            )
        return Tabular(("item",), tuple((_cell(i),) for i in items))
    for method in ("to_frame", "as_dict"):
        fn = getattr(obj, method, None)
        if callable(fn):
            try:
                return tabular(fn())
            except Exception as exc:
                log.debug("checker: %s.%s failed: %s", type(obj).__name__, method, type(exc).__name__)
    return Tabular((), (), repr(obj))


@dataclass(frozen=True)
class Section:
    """One titled part of an output's checker entry."""

    title: str
    table: Tabular | None
    note: str = ""


@dataclass(frozen=True)
class CheckerOutput:
    """Everything the checker sees about one output."""

    name: str
    kind: str
    type: str
    title: str
    summary: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    cells: tuple[Mapping[str, Any], ...] = ()
    dims: tuple[str, ...] = ()
    dp: str = ""


def _try(label: str, fn: Any) -> tuple[Any, str]:
    try:
        return fn(), ""
    except Exception as exc:
        return None, f"{label} not available ({type(exc).__name__})"


def _pattern(frame: pd.DataFrame, dims: Sequence[str]) -> Tabular | None:
    """Suppression pattern as status codes; a grid for two dimensions."""
    if frame.empty or "status" not in frame:
        return None
    codes = frame["status"].map(
        lambda s: {"SAFE": "s", "PRIMARY": "u", "SECONDARY": "x", "FORCED": "z", "NEVER": "w"}.get(
            str(s), "?"
        )
    )
    if len(dims) == 2:
        grid = pd.DataFrame({"r": frame[dims[0]].astype(str), "c": frame[dims[1]].astype(str), "code": codes})
        wide = grid.pivot_table(index="r", columns="c", values="code", aggfunc="first", sort=False)
        wide = wide.reset_index().rename(columns={"r": f"{dims[0]} \\ {dims[1]}"})
        wide.columns = [str(c) for c in wide.columns]
        return tabular(wide.fillna(""))
    listing = frame[list(dims)].astype(str).copy()
    listing["code"] = codes.to_numpy()
    return tabular(listing)


def _audit_section(assessment: Any) -> Section:
    audit = getattr(assessment, "audit", None)
    if audit is None:
        return Section(
            "Audit of suppressed cells",
            None,
            "no audit: the table publishes no margins next to suppressed cells (or was not protected)",
        )
    table, note = _try("audit intervals", lambda: audit.to_frame())
    summary = ""
    fn = getattr(audit, "summary", None)
    if callable(fn):
        text, _ = _try("audit summary", fn)
        summary = str(text or "")
    if table is None:
        return Section(
            "Audit of suppressed cells", tabular(audit), "; ".join(s for s in (summary, note) if s)
        )
    return Section("Audit of suppressed cells", tabular(table), summary)


def _model_checks(result: Any) -> Section | None:
    for method in ("checker_rows", "checks"):
        fn = getattr(result, method, None)
        if callable(fn):
            value, note = _try(f"{method}()", fn)
            return Section("Model checks", tabular(value), note)
    return None


def _diagnostics(table: Any) -> Section:
    try:
        module = importlib.import_module("kit.dp.diagnostics")
        fn = module.table_diagnostics
    except (ImportError, AttributeError):
        return Section("Risk diagnostics", None, "skipped: kit.dp.diagnostics is not installed in this kit")
    value, note = _try("table_diagnostics()", lambda: fn(table))
    return Section("Risk diagnostics", tabular(value), note)


def _weights_entry(private: Any) -> tuple[Section, dict[str, Any], list[tuple[str, str]]] | None:
    """A weighted table's per-cell Kish effective size and its weight-concentration check.

    Only for tables evaluated with a weight column (``spec.weight``): the published
    cells' distinct units, sum of weights and Kish size ``(sum w)^2 / sum w^2``, the
    rule set's threshold, and whether the kit's Kish check
    (:func:`kit.core.rules.cellrules.kish_failures`: weighted means, rates and sums)
    suppressed the cell. A weighted count is evaluated as the sum of its weight
    column (spec without weight): its concentration check is dominance, shown in
    the cells' reasons.
    """
    spec = getattr(private, "spec", None)
    weight = getattr(spec, "weight", None)
    evidence = getattr(private, "evidence", None)
    assessment = getattr(private, "assessment", None)
    cells = getattr(evidence, "cells", None)
    if not weight or cells is None or assessment is None or not {"sum_w", "sum_w2"} <= set(cells.columns):
        return None
    from kit.core.rules.cellrules import kish_failures
    from kit.estimate.weights import kish_cells

    rules = getattr(private, "rules", None)
    stat = getattr(spec, "statistic", None)
    pub = np.asarray(assessment.published, dtype=bool)
    n_eff = kish_cells(cells["sum_w"].to_numpy(), cells["sum_w2"].to_numpy())
    fails = np.zeros(len(cells), dtype=bool)
    thresholds: list[int] = []
    if isinstance(rules, RuleSet) and stat is not None:
        for mask, *_ in kish_failures(cells, rules, stat):
            fails |= np.asarray(mask, dtype=bool)
        thresholds = [r.params.min_units for r in rules.of_kind(RuleKind.THRESHOLD, stat)
                      if isinstance(r.params, Threshold) and r.params.min_units > 1]
    k = max(thresholds) if thresholds else None
    checked = k is not None and stat in _KISH_CHECKED
    dims = [str(d) for d in getattr(spec, "dims", ())]
    frame = cells.loc[pub, dims].astype(str).reset_index(drop=True)
    frame["n_units"] = cells.loc[pub, "n_units"].to_numpy()
    frame["sum of weights"] = cells.loc[pub, "sum_w"].to_numpy(dtype=float)
    frame["Kish effective size"] = n_eff[pub]
    frame["Kish check"] = [("BELOW THRESHOLD: suppressed" if f else "ok") if checked else "not checked"
                           for f in fails[pub]]
    nonempty = n_eff[pub][n_eff[pub] > 0]
    n_below = int((fails & pub).sum()) if checked else 0
    note = (f"Weight column '{weight}'. Kish effective size (sum w)^2 / sum w^2 per published cell; "
            + (f"cells below {k} effective units are suppressed (weight-concentration rule, "
               "docs/estimates.md 'Weights')." if checked else
               "this statistic has no Kish check (see docs/estimates.md 'Weights')."))
    facts: dict[str, Any] = {
        "column": str(weight),
        "kish_min_units": k if checked else None,
        "cells_below_kish": n_below,
        "cells": [{"keys": [str(v) for v in row[:len(dims)]], "n_units": int(row[len(dims)]),
                   "kish_n_eff": float(row[len(dims) + 2]), "below_kish": bool(f)}
                  for row, f in zip(frame.itertuples(index=False), fails[pub] & checked, strict=True)],
    }
    summary = [("weight column", str(weight)),
               ("smallest Kish effective size", f"{float(nonempty.min()):.6g}" if nonempty.size else "(no cells)"),
               ("cells below the Kish threshold", str(n_below) if checked else "not checked")]
    return Section("Weights: effective units per cell (Kish)", tabular(frame), note), facts, summary


def _output_entry(obj: Any, private: Any) -> tuple[CheckerOutput, dict[str, Any]]:
    facts: dict[str, Any] = {"name": obj.name}
    if isinstance(obj, Figure):
        src = obj.source
        summary = (
            ("kind", f"figure ({obj.kind.value})"),
            ("source", src.name),
            ("points", str(len(obj.points()))),
            ("suppressed points", str(sum(p.suppressed for p in obj.points()))),
        )
        return CheckerOutput(
            obj.name,
            "figure",
            obj.kind.value,
            obj.title or obj.name,
            summary,
            (
                Section(
                    "Figure", None, f"drawn from the cleared output '{src.name}'; see its entry for the cells"
                ),
            ),
        ), facts
    kind = "table" if isinstance(obj, ClearedTable) else "estimate"
    typ = obj.statistic if isinstance(obj, ClearedTable) else obj.kind.value
    summary_rows: list[tuple[str, str]] = [
        ("kind", f"{kind} ({typ})"),
        ("published rows", str(len(obj.rows))),
        ("suppressed rows", str(sum(r.suppressed for r in obj.rows))),
    ]
    sections: list[Section] = []
    if private is None:
        sections.append(
            Section(
                "Cells",
                None,
                "no private result was given: statuses, reasons and evidence "
                "cannot be shown; check the output against the researcher's session",
            )
        )
        return CheckerOutput(
            obj.name, kind, typ, obj.title or obj.name, tuple(summary_rows), tuple(sections)
        ), facts
    assessment = getattr(private, "assessment", None)
    if assessment is not None:
        facts["verdict"] = str(getattr(getattr(assessment, "verdict", None), "value", "?"))
        summary_rows.append(("verdict", facts["verdict"]))
        counts, _ = _try("counts", assessment.counts)
        if counts:
            summary_rows.append(("cells by status", ", ".join(f"{k} {v}" for k, v in counts.items() if v)))
        summary_rows.append(("protection", getattr(assessment, "protection_method", "") or "none"))
        for reason in getattr(assessment, "table_reasons", []):
            summary_rows.append(("table note", str(reason)))
    evidence = getattr(private, "evidence", None)
    n_input = getattr(evidence, "n_input_units", None)
    if n_input is not None:
        facts["n_input_units"] = int(n_input)
        summary_rows.append(("distinct units in the input", str(int(n_input))))
        if len(obj.rows) >= int(n_input):
            summary_rows.append(("WARNING", "the output has as many rows as the input has units"))
    population = getattr(getattr(private, "spec", None), "population", "")
    if population:
        summary_rows.append(("population", population))
    frame, note = (
        _try("status_frame()", private.status_frame) if hasattr(private, "status_frame") else (None, "")
    )
    if frame is not None:
        dims = list(getattr(private.spec, "dims", ()))
        facts["cell_status"] = _cell_status(private, frame, dims)
        sections.append(Section("Cells: status, distinct units and reasons", tabular(frame)))
        primary = frame[frame["status"] == "PRIMARY"] if "status" in frame else frame.iloc[0:0]
        secondary = frame[frame["status"] == "SECONDARY"] if "status" in frame else frame.iloc[0:0]
        sections.append(
            Section(
                "Suppression pattern (s safe, u primary, x secondary, z forced, w never)",
                _pattern(frame, dims),
                f"{len(primary)} primary and {len(secondary)} secondary cell(s)",
            )
        )
    elif note:
        sections.append(Section("Cells", None, note))
    weights = _weights_entry(private)
    if weights is not None:
        section, weight_facts, weight_summary = weights
        sections.append(section)
        facts["weights"] = weight_facts
        summary_rows.extend(weight_summary)
    if assessment is not None:
        sections.append(_audit_section(assessment))
    model = _model_checks(private)
    if model is not None:
        sections.append(model)
        if model.table is not None and model.table.columns:
            facts["checks"] = {"columns": list(model.table.columns), "rows": [list(r) for r in model.table.rows]}
    if hasattr(private, "evidence"):
        sections.append(_diagnostics(private))
    return CheckerOutput(
        obj.name, kind, typ, obj.title or obj.name, tuple(summary_rows), tuple(sections)
    ), facts


def _with_views(entry: CheckerOutput, fact: Mapping[str, Any], obj: Any, private: Any) -> CheckerOutput:
    """The entry with what the workbench's views show too: coloured cells by codes, DP in words."""
    from kit.release.words import dp_in_words, reason_kind

    cells = tuple({**c, "kinds": [reason_kind(code) for code in c.get("reason_codes", [])],
                   "texts": [t for t in str(c.get("reasons", "")).split("; ") if t]}
                  for c in fact.get("cell_status", []))
    dims = tuple(str(d) for d in getattr(getattr(private, "spec", None), "dims", ()))
    source = obj.source if isinstance(obj, Figure) else obj
    budget = getattr(getattr(source, "provenance", None), "privacy_budget", None)
    return dataclasses.replace(entry, cells=cells, dims=dims, dp=dp_in_words(budget))


def _overview(entries: Sequence[CheckerOutput], facts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry, fact in zip(entries, facts):
        statuses = [str(c.get("status")) for c in entry.cells]
        summary = dict(entry.summary)
        rows.append({"name": entry.name, "title": entry.title, "kind": entry.kind, "type": entry.type,
                     "verdict": fact.get("verdict", "—"),
                     "cells": len(statuses) if statuses else summary.get("published rows", summary.get("points", "")),
                     "primary": statuses.count("PRIMARY"), "secondary": statuses.count("SECONDARY"),
                     "dp": entry.dp or "—"})
    return rows


def _reason_codes(text: str) -> list[str]:
    """Reason codes of a ``status_frame`` reasons text ("CODE (rule): detail; ...").

    >>> _reason_codes("BELOW_MIN_UNITS (dst-min-units): fewer than 3; COMPLEMENTARY (secondary): x")
    ['BELOW_MIN_UNITS', 'COMPLEMENTARY']
    """
    return [part.split(" ", 1)[0] for part in text.split("; ") if part.strip()]


def _cell_status(private: Any, frame: pd.DataFrame, dims: Sequence[str]) -> list[dict[str, Any]]:
    """Per published cell, for the workbench: codes, distinct units, status, reasons, the top
    contributor's share (when the evidence has it) and the audit interval of a suppressed cell."""
    cells = private.evidence.cells
    pub = cells.loc[private.assessment.published].reset_index(drop=True)
    top = next((c for c in ("top1", "top_1", "top0") if c in pub.columns), None)
    intervals = _audit_by_keys(private, pub, dims)
    out: list[dict[str, Any]] = []
    for i, row in frame.iterrows():
        keys = [str(row[d]) for d in dims]
        rec: dict[str, Any] = {"keys": keys, "n_units": int(row["n_units"]), "status": str(row["status"]),
                               "reason_codes": _reason_codes(str(row["reasons"])),
                               "reasons": str(row["reasons"])}
        if top is not None and "abs_total" in pub.columns:
            total = float(pub.loc[i, "abs_total"])
            rec["top_share"] = float(pub.loc[i, top]) / total if total > 0 else None
        if tuple(keys) in intervals:
            rec["audit"] = intervals[tuple(keys)]
        out.append(rec)
    return out


def _audit_by_keys(private: Any, pub: pd.DataFrame, dims: Sequence[str]) -> dict[tuple[str, ...], list[Any]]:
    """The audit interval [lower, upper, passed] per suppressed cell, keyed by the cell's codes."""
    audit = getattr(private.assessment, "audit", None)
    if audit is None:
        return {}
    try:
        from kit.core.evidence import TOTAL
        from kit.protect import TableStructure

        frame = pd.DataFrame({d: pub[d].astype(str).to_numpy() for d in dims})
        structure = TableStructure.from_frame(frame, list(dims), total_label=TOTAL,
                                              hierarchies=private.assessment.hierarchies)
        return {tuple(str(k) for k in structure.keys[int(c)]): [float(lo), float(hi), bool(ok)]
                for c, lo, hi, ok in zip(audit.cells, audit.worst_lower, audit.worst_upper, audit.passed)}
    except Exception as exc:  # the report then shows the interval table by index only
        log.debug("checker: audit intervals by codes not available: %s", type(exc).__name__)
        return {}


def _ledger(path: str | Path | None) -> Section | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        return Section(f"DP budget ledger ({p.name})", None, f"the ledger file '{p.name}' was not found")
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError:
        entries = []
        for line in text.splitlines():
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    entries.append({"line": line})
        doc = entries
    if isinstance(doc, Mapping):
        charges = doc.get("charges") or doc.get("entries")
        if isinstance(charges, list):
            head = {k: v for k, v in doc.items() if k not in ("charges", "entries")}
            return Section(
                f"DP budget ledger ({p.name})", tabular(charges), "; ".join(f"{k}: {v}" for k, v in head.items())
            )
    return Section(f"DP budget ledger ({p.name})", tabular(doc), f"from {p.name}")


def _pair_result(pair: Any, enforced: bool) -> str:
    """The result column of a differencing pair."""
    if not pair.blocking:
        return "ok"
    return "BLOCKED (DIFFERENCING)" if enforced else "RISK NOT ENFORCED (check turned off): compare by hand"


def _pair_cells(pair: Any) -> str:
    """The risky cells of a pair by their codes (the first ones; how many more)."""
    from kit.release.cellnames import describe_links

    links = tuple(getattr(pair, "cells", ()))
    if not links:
        return ""
    return describe_links(links, limit=20)


def _risky_links(pairs: Sequence[Any], enforced: bool) -> list[dict[str, Any]]:
    """Per risky pair: its names, its result and its risky cells by codes (for the report's list)."""
    out = []
    for p in pairs:
        links = [str(k) for k in getattr(p, "cells", ())]
        if p.blocking:
            named = len({c for k in getattr(p, "cells", ()) for c in (*k.a, *k.b)})
            out.append({"pair": p.describe(), "result": _pair_result(p, enforced), "links": links,
                        "more": max(int(p.n_risky_cells) - named, 0) if not links else 0})
    return out


def _pages(text: str) -> str:
    lines = text.splitlines()
    body = PAGE_LINES - 3
    pages = []
    for start in range(0, max(len(lines), 1), body):
        chunk = lines[start : start + body]
        pages.append("\n".join([BANNER, "=" * len(BANNER), "", *chunk]))
    return "\n\f".join(pages) + "\n"


def write_checker_report(
    folder: Path,
    *,
    title: str,
    release_name: str,
    outputs: Sequence[Any],
    privates: Mapping[Any, Any],
    rules: RuleSet,
    manifest_sha256: str | None,
    pairs: Sequence[Any],
    ledger: str | Path | Sequence[str | Path] | None,
    created: str,
    env: Any,
    blocked: bool,
    rederived: Mapping[str, Mapping[str, Any]] | None = None,
    mixed_rule_sets: bool = False,
    differencing: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the checker's report of one release into ``folder`` (created; must not exist).

    ``rederived`` holds the writer's re-derived facts per output name
    (:meth:`kit.release.rederive.OutputCheck.facts`: rule set, threshold, each published
    cell's distinct units and suppression); they go into ``checker.json`` for ``kit review``.
    ``mixed_rule_sets`` marks a release whose outputs were cleared under other rule sets.
    ``ledger`` is one DP budget ledger file or several (each gets a section).
    """
    folder.mkdir(parents=True)
    paths_of = [ledger] if isinstance(ledger, (str, Path)) else list(ledger or [])
    ledgers = [sec for sec in (_ledger(p) for p in paths_of) if sec is not None]
    entries, facts = [], []
    for obj in outputs:
        private = None
        if isinstance(obj, (ClearedTable, ClearedEstimate)):
            private = privates.get(obj.name)
        entry, fact = _output_entry(obj, private)
        extra = (rederived or {}).get(obj.name)
        if extra is not None:
            fact.update(extra)
            own = extra.get("rule_set", {})
            if extra.get("other_rule_set"):
                entry = CheckerOutput(entry.name, entry.kind, entry.type, entry.title,
                                      (("WARNING: OTHER RULE SET", f"cleared under {own.get('id')} "
                                        f"{own.get('version')} (sha256:{str(own.get('fingerprint'))[:12]}), "
                                        f"not the release's {rules.id} {rules.version}"), *entry.summary),
                                      entry.sections)
        entry = _with_views(entry, fact, obj, private)
        entries.append(entry)
        facts.append(fact)
    enforced = (differencing or {}).get("checked") is not False
    pair_rows = tuple(
        (
            p.table,
            p.other_table,
            p.other_release,
            p.population or "(none)",
            p.other_population or "(none)",
            str(p.n_common_cells),
            str(p.n_risky_cells),
            str(p.smallest_difference),
            str(p.threshold),
            _pair_result(p, enforced),
            _pair_cells(p),
        )
        for p in pairs
    )
    pair_table = Tabular(
        (
            "table",
            "other table",
            "other release",
            "population",
            "other population",
            "common cells",
            "risky cells",
            "smallest difference",
            "threshold",
            "result",
            "risky cells by codes",
        ),
        pair_rows,
    )
    unmatched = [o.name for o in outputs if isinstance(o, ClearedTable) and o.name not in privates]
    context = {
        "banner": BANNER,
        "title": f"{title} [MIXED RULE SETS: outputs cleared under other rule sets]" if mixed_rule_sets else title,
        "release": release_name,
        "created": created,
        "blocked": blocked,
        "rule_set": {"id": rules.id, "version": rules.version, "fingerprint": rules.fingerprint},
        "manifest_sha256": manifest_sha256 or "",
        "outputs": entries,
        "overview": _overview(entries, facts),
        "pairs": pair_table,
        "risky_links": _risky_links(pairs, enforced),
        "unmatched": unmatched,
        "differencing": dict(differencing or {}),
        "ledger": ledgers[0] if ledgers else None,  # the first (site templates of older kits)
        "ledgers": ledgers,
        "kit_version": __version__,
    }
    html = env.get_template("checker/report.html.j2").render(**context)
    text = _pages(env.get_template("checker/report.txt.j2").render(**context))
    doc = {
        "banner": BANNER,
        "release": release_name,
        "title": title,
        "created": created,
        "blocked": blocked,
        "manifest_sha256": manifest_sha256,
        "kit_version": __version__,
        "rule_set": context["rule_set"],
        "mixed_rule_sets": bool(mixed_rule_sets),
        "outputs": facts,
        "differencing_pairs": [{**dict(zip(pair_table.columns, r, strict=True)),
                                "cell_links": [k.as_dict() for k in getattr(p, "cells", ())]}
                               for r, p in zip(pair_rows, pairs, strict=True)],
        "differencing": dict(differencing or {}),
    }
    paths = [folder / name for name in CHECKER_FILES]
    paths[0].write_text(html, encoding="utf-8")
    paths[1].write_text(text, encoding="utf-8")
    paths[2].write_text(
        json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return paths
