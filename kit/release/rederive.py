"""Re-derivation at write time: the writer checks every output again from its evidence.

:func:`rederive_outputs` runs inside :func:`kit.release.write_release` before
anything is written. It trusts nothing that arrives with an output:

1. **Seal.** Every cleared table and estimate must carry a valid seal
   (:func:`kit.core.cleared.verify_cleared`): made by :func:`kit.clear` in this
   process, unchanged since, and bound to its private result. An output
   without its private evidence is refused, never skipped. A figure's source
   is checked the same way.
2. **Rule sets.** The release's rule set and each output's must be what their
   fingerprint says (a shipped id with other content is refused). An output
   cleared under another set is refused unless that set is at least as strict
   on every parameter (:mod:`kit.core.rules.strictness`) or the caller passes
   ``mixed_rule_sets=True``, which the manifest and the checker's report show.
3. **Keys.** No dimension (table) or label (estimate) may be a key column when
   the release's or the output's rule set forbids releasing keys
   (``looks_like_key``), mixed rule sets or not.
4. **Tables, cell by cell.** The primary statuses are recomputed from the
   evidence (:func:`kit.core.assess.assess`) under the output's rule set; every cell
   a rule suppresses must be suppressed in the output; every published cell
   must have at least the threshold of distinct units (under the output's and,
   unless mixed, the release's set); every published value must equal what the
   evidence gives (relative tolerance :data:`REL_TOL`); the published cells
   must be exactly the evidence's, in order. Tables that publish margins next
   to suppressed cells have their pattern audited again (LP audit).
5. **Estimates.** Seal and rule set as above; a private result that offers
   ``recheck(rule_set)`` is asked to re-derive its own checks.

The result is a tuple of :class:`OutputCheck` facts (counts and codes, no
values) for the manifest and the checker's report.

Examples
--------
>>> from kit.core.rules import load_rule_set
>>> try:
...     rederive_outputs([object()], load_rule_set("dst"))
... except DisclosureError as err:
...     print(err.problem)
a object is not a cleared output made by kit.clear()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kit.core.cleared import ClearedEstimate, ClearedTable, verify_cleared
from kit.core.rules.loader import RuleSet, load_rule_set, shipped_fingerprint, verify_rule_set
from kit.core.rules.model import KeyColumns, ReportN, RuleKind
from kit.core.rules.primary import threshold_fails
from kit.core.rules.strictness import strictness_gaps
from kit.core.schema import looks_like_key
from kit.core.status import CellStatus, Verdict
from kit.errors import DisclosureError, KitError

__all__ = ["REL_TOL", "CellFact", "OutputCheck", "rederive_outputs", "sealed_privates"]

#: Relative tolerance between a published value and the value the evidence gives.
REL_TOL = 1e-9


@dataclass(frozen=True)
class CellFact:
    """One published cell as re-derived: its codes, distinct units and whether it is suppressed."""

    keys: tuple[str, ...]
    n_units: int
    suppressed: bool
    primary: bool


@dataclass(frozen=True)
class OutputCheck:
    """What the writer re-derived for one output (for the manifest and the checker's report)."""

    name: str
    kind: str
    rule_set_id: str
    rule_set_version: str
    rule_set_fingerprint: str
    other_rule_set: bool
    min_units: int
    cells: tuple[CellFact, ...]

    def facts(self) -> dict[str, Any]:
        """Plain mapping for ``checker.json`` (codes and counts only)."""
        return {
            "rule_set": {"id": self.rule_set_id, "version": self.rule_set_version,
                         "fingerprint": self.rule_set_fingerprint},
            "other_rule_set": self.other_rule_set,
            "min_units": self.min_units,
            "cells": [{"keys": list(c.keys), "n_units": c.n_units, "suppressed": c.suppressed,
                       "primary": c.primary} for c in self.cells],
        }


def _refuse(name: str, problem: str, fix: str) -> DisclosureError:
    return DisclosureError(f"release: output '{name}'", problem, fix)


def _keys_forbidden(rule_sets: Sequence[RuleSet]) -> bool:
    return any(isinstance(r.params, KeyColumns) and not r.params.allow
               for rs in rule_sets for r in rs.of_kind(RuleKind.KEY_COLUMNS))


def _check_keys(name: str, labels: Sequence[str], rule_sets: Sequence[RuleSet]) -> None:
    if not _keys_forbidden(rule_sets):
        return
    bad = sorted({str(label) for label in labels if looks_like_key(str(label))})
    if bad:
        raise _refuse(name, f"it is broken down by key column(s) {bad}",
                      "keys are microdata and are never released; map the key to an area or group first")


def _rules_for(source: Any, provenance: Any, name: str, release: RuleSet) -> RuleSet:
    """The rule set an output was cleared under, verified against its provenance."""
    fp = getattr(provenance, "rule_set_fingerprint", None)
    own = getattr(source, "rules", None)
    if isinstance(own, RuleSet):
        verify_rule_set(own)
        if own.fingerprint != fp:
            raise _refuse(name, "its provenance names another rule set than the one it was checked under",
                          "clear the result again with kit.clear()")
        return own
    if fp == release.fingerprint:
        return release
    rid = getattr(provenance, "rule_set_id", "")
    if isinstance(rid, str) and shipped_fingerprint(rid) is not None and shipped_fingerprint(rid) == fp:
        return load_rule_set(rid)
    raise _refuse(name, "the rule set it was cleared under cannot be established",
                  "clear it in a Session under the release's rule set")


def _judge_rule_sets(name: str, own: RuleSet, rules: RuleSet, mixed: bool) -> bool:
    """Whether the output's set differs from the release's; refuse a weaker one unless mixed."""
    if own.fingerprint == rules.fingerprint:
        return False
    if mixed:
        return True
    gaps = strictness_gaps(own, rules)
    if gaps:
        raise _refuse(name, f"it was cleared under rule set '{own.id}' {own.version}, which is weaker than the "
                      f"release's '{rules.id}' {rules.version} ({len(gaps)} gap(s): {'; '.join(gaps[:3])})",
                      f"evaluate it in a Session under '{rules.id}', or pass mixed_rule_sets=True (shown "
                      "prominently in the manifest and the checker's report)")
    return True


def _same(published: float | None, derived: float) -> bool:
    if published is None:
        return math.isnan(derived)
    if math.isnan(derived) or not math.isfinite(published):
        return False
    scale = max(abs(published), abs(derived))
    return abs(published - derived) <= REL_TOL * scale


def _check_table(obj: ClearedTable, source: Any, rules: RuleSet, mixed: bool) -> OutputCheck:
    from kit.core.assess import assess
    from kit.core.table import Table, cell_estimates, round_n, value_columns

    name = obj.name
    if type(source) is not Table:
        raise _refuse(name, "a cleared table must come with the private table it was cleared from",
                      "clear tables evaluated in a Session with kit.clear()")
    spec, evidence = source.spec, source.evidence
    own = _rules_for(source, obj.provenance, name, rules)
    other = _judge_rule_sets(name, own, rules, mixed)
    in_force = (own,) if mixed else (own, rules)
    _check_keys(name, obj.dims, (own, rules))  # keys: never, even with mixed rule sets
    if obj.dims != spec.dims or obj.statistic != spec.statistic.value or obj.value_columns != value_columns(
            spec.statistic):
        raise _refuse(name, "its layout differs from the table it was cleared from",
                      "clear the result again with kit.clear()")
    try:
        fresh = assess(evidence, spec, own, source.unit_type)
    except KitError:
        raise
    except (KeyError, ValueError, IndexError) as exc:
        raise _refuse(name, f"its statuses cannot be re-derived from its evidence ({type(exc).__name__})",
                      "evaluate the table again in a Session under this rule set") from None
    if fresh.verdict is Verdict.FAIL:
        raise _refuse(name, "its evidence fails the rule set", "see table.summary()")
    cells = evidence.cells
    pub = np.flatnonzero(fresh.published)
    if len(pub) != len(obj.rows):
        raise _refuse(name, f"it publishes {len(obj.rows)} cell(s) where the evidence has {len(pub)}",
                      "clear the result again with kit.clear()")
    n_units = cells["n_units"].to_numpy()[pub]
    estimates = cell_estimates(cells, spec.statistic, weighted=spec.weight is not None)
    derived_cols = {c: estimates[c].to_numpy(dtype=float)[pub] for c in obj.value_columns}
    key_cols = [cells[d].astype(str).to_numpy()[pub] for d in spec.dims]
    round_to = max([r.params.round_to for r in own.of_kind(RuleKind.REPORT_N, spec.statistic)
                    if isinstance(r.params, ReportN)], default=1)
    below = np.zeros(len(pub), dtype=bool)
    for rs in in_force:
        for rule in rs.of_kind(RuleKind.THRESHOLD, spec.statistic):
            below |= threshold_fails(n_units, rule.params)  # type: ignore[arg-type]
    must = np.array([fresh.statuses[i] in (CellStatus.PRIMARY, CellStatus.NEVER) for i in pub], dtype=bool)
    kept = source.assessment.statuses if len(source.assessment.statuses) == len(cells) else ()
    facts: list[CellFact] = []
    n_wrong = {"keys": 0, "primary": 0, "threshold": 0, "value": 0, "secondary": 0}
    for k, (row, i) in enumerate(zip(obj.rows, pub)):
        keys = tuple(str(col[k]) for col in key_cols)
        if tuple(row.keys) != keys:
            n_wrong["keys"] += 1
        if must[k] and not row.suppressed:
            n_wrong["primary"] += 1
        if kept and kept[i] is CellStatus.SECONDARY and not row.suppressed:
            n_wrong["secondary"] += 1
        if not row.suppressed:
            if below[k]:
                n_wrong["threshold"] += 1
            for col, value in zip(obj.value_columns, row.values):
                derived = float(derived_cols[col][k])
                if col == "n" and not math.isnan(derived):
                    derived = float(round_n(int(derived), round_to))
                if not _same(value, derived):
                    n_wrong["value"] += 1
        facts.append(CellFact(keys, int(n_units[k]), bool(row.suppressed), bool(must[k])))
    problems = {
        "keys": "cell(s) whose codes differ from the evidence",
        "primary": "cell(s) that fail a primary rule but are published",
        "threshold": "published cell(s) below the threshold of distinct units",
        "value": "published value(s) that differ from what the evidence gives",
        "secondary": "secondary cell(s) published",
    }
    found = [f"{n} {problems[k]}" for k, n in n_wrong.items() if n]
    if found:
        raise _refuse(name, "re-derived from its evidence, it has " + "; ".join(found),
                      "release only what kit.clear() made from an unmodified result; evaluate the table again")
    if spec.margins and any(f.suppressed for f in facts):
        _reaudit(name, source, fresh, [f.suppressed for f in facts], pub)
    return OutputCheck(name, "table", own.id, own.version, own.fingerprint, other,
                       max(rs.min_units(spec.statistic) for rs in in_force), tuple(facts))


def _reaudit(name: str, source: Any, fresh: Any, suppressed: list[bool], pub: np.ndarray) -> None:
    """Audit the published suppression pattern again (primary cells from the re-derived statuses)."""
    from kit.protect.bridge import audit_pattern

    statuses = []
    for k, i in enumerate(pub):
        primary = fresh.statuses[i] in (CellStatus.PRIMARY, CellStatus.NEVER)
        statuses.append(fresh.statuses[i] if primary else
                        (CellStatus.SECONDARY if suppressed[k] else CellStatus.SAFE))
    hierarchies = getattr(source.assessment, "hierarchies", None)
    if not audit_pattern(source.evidence, fresh, source.spec, source.rules, tuple(statuses), hierarchies):
        raise _refuse(name, "the audit of its published suppression pattern fails: a suppressed cell can "
                      "be recovered from the published margins", "evaluate the table again in a Session")


def _check_estimate(obj: ClearedEstimate, source: Any, rules: RuleSet, mixed: bool) -> OutputCheck:
    name = obj.name
    own = _rules_for(source, obj.provenance, name, rules)
    other = _judge_rule_sets(name, own, rules, mixed)
    in_force = (own,) if mixed else (own, rules)
    labels = {k for row in obj.rows for k, _ in row.keys}
    _check_keys(name, sorted(labels), (own, rules))
    recheck = getattr(type(source), "recheck", None)
    if callable(recheck):
        for rs in in_force:
            recheck(source, rs)
    return OutputCheck(name, "estimate", own.id, own.version, own.fingerprint, other, own.min_units(), ())


def _check_one(obj: Any, rules: RuleSet, mixed: bool) -> OutputCheck:
    source = verify_cleared(obj)
    if isinstance(obj, ClearedTable):
        return _check_table(obj, source, rules, mixed)
    assert isinstance(obj, ClearedEstimate)
    return _check_estimate(obj, source, rules, mixed)


def rederive_outputs(outputs: Sequence[Any], rules: RuleSet, *,
                     mixed_rule_sets: bool = False) -> tuple[OutputCheck, ...]:
    """Verify and re-derive every output of a release (see the module docs).

    Raises
    ------
    DisclosureError
        When an output is not sealed, has no evidence, was changed, was cleared under a
        weaker rule set, is keyed by a key column, or its evidence does not support a
        published cell. The message names the output and counts, never a value.
    RuleSetError
        When the release's rule set claims a shipped id with other content.
    """
    from kit.release.charts import Figure

    verify_rule_set(rules)
    checks: list[OutputCheck] = []
    seen: set[int] = set()
    for obj in outputs:
        target = obj.source if isinstance(obj, Figure) else obj
        if isinstance(obj, Figure) and id(target) in seen:
            continue
        check = _check_one(target, rules, mixed_rule_sets)
        seen.add(id(target))
        if not isinstance(obj, Figure):
            checks.append(check)
    return tuple(checks)


def sealed_privates(outputs: Sequence[Any]) -> dict[str, Any]:
    """The kit's own private results behind cleared outputs, by output name.

    Used when the caller did not pass ``private_results``: the checker's report and the
    differencing registry then still see each table's evidence. Only results of the kit's
    own classes are returned (call after :func:`rederive_outputs`, which verified the seals).
    """
    from kit.core.cleared import _module_class

    found: dict[str, Any] = {}
    for obj in outputs:
        if isinstance(obj, (ClearedTable, ClearedEstimate)):
            source = obj._source
            if source is not None and _module_class(type(source)):
                found[obj.name] = source
    return found
