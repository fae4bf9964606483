"""``kit review``: what an output checker runs on a release before it is transferred.

:func:`review_release` verifies the release against its manifest (every file
listed and with its SHA-256, no file added or missing, the manifest's own
checksum, and the manifest file's SHA-256 kept in the checker's folder),
scans every file for microdata (:mod:`kit.release.scan`) and lists the
outputs with their statuses and decisions.

:func:`record_decision` appends an approval or a rejection to the decision
log: JSON lines, append-only and hash-chained (each entry holds the SHA-256 of
the previous one and its own), so an edited, reordered or removed entry is
detected. The log lives in the checker's folder of the release
(``<checker_dir>/<release>/decisions.jsonl``) when there is one, else beside
the release folder (``<release>.decisions.jsonl``); never inside the release.

With a checker's folder, :func:`recheck_from_checker` recomputes from
``checker.json`` (the writer's re-derived facts) that no published cell of a
table falls below the threshold of the rule set, that the manifest's rule-set
fingerprint is that of the shipped set of the same id, and that the checker's
cell facts agree with the manifest; any mismatch is TAMPERED (exit 4).

Exit codes (:class:`ReviewStatus`): 0 clean, 3 needs attention (a scan
finding, a rejected output, a missing checker's report), 4 tampered (the
release, its manifest or the decision log does not verify).

Examples
--------
>>> ReviewStatus.TAMPERED.value, ReviewStatus.ATTENTION.value, ReviewStatus.CLEAN.value
(4, 3, 0)
"""

from __future__ import annotations

import enum
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kit.core.cleared import utc_now
from kit.errors import SpecError
from kit.release.manifest import (
    MANIFEST_NAMES,
    canonical_json,
    find_manifest,
    load_manifest,
    sha256_bytes,
    sha256_file,
    verify_seal,
)
from kit.release.request import (
    RequestEvent,
    RequestStatus,
    SiteReview,
    check_transition,
    current_identity,
    load_request,
    os_user,
    output_digests,
    replay,
)
from kit.release.scan import Finding, scan_file, scan_name
from kit.state import atomic_write_text, locked

__all__ = [
    "DECISION_LOG",
    "Decision",
    "OutputReview",
    "ReviewResult",
    "ReviewStatus",
    "decision_log_path",
    "differencing_findings",
    "read_decisions",
    "recheck_from_checker",
    "record_decision",
    "record_event",
    "review_release",
]

#: File name of the decision log in a checker folder.
DECISION_LOG = "decisions.jsonl"
_GENESIS = "0" * 64
_HASH_KEYS = ("sha256", "fingerprint", "spec_fingerprint", "content_sha256", "manifest_sha256", "ledger_head")
#: Labelled hashes inside provenance text (a DP note's "charge <id>, head sha256:<ledger head>").
_PROVENANCE_HEX = re.compile(r"(?:\bsha256:|\bcharge )([0-9a-fA-F]{16,})\b")


class ReviewStatus(enum.IntEnum):
    """Outcome of a review; the value is the CLI's exit code."""

    CLEAN = 0
    ATTENTION = 3
    TAMPERED = 4


class Decision(enum.Enum):
    """A checker's decision on one output."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class OutputReview:
    """One output as the checker sees it."""

    name: str
    kind: str
    type: str
    status: str
    n_suppressed: int
    decision: str
    comment: str


@dataclass(frozen=True)
class ReviewResult:
    """What :func:`review_release` found."""

    release: Path
    status: ReviewStatus
    problems: tuple[str, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    outputs: tuple[OutputReview, ...]
    log_path: Path | None
    manifest_sha256: str
    request: RequestStatus | None = None
    checker_folder: Path | None = None

    @property
    def exit_code(self) -> int:
        """The CLI exit code (0, 3 or 4)."""
        return int(self.status)

    def render(self) -> str:
        """A plain-text report for the terminal."""
        lines = [f"release {shown_path(self.release.name)}: {self.status.name} (exit {self.exit_code})"]
        for p in self.problems:
            lines.append(f"  TAMPERED: {p}")
        for f in self.findings:
            lines.append(f"  ATTENTION: {f}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        if self.outputs:
            lines.append("outputs:")
            width = max(len(o.name) for o in self.outputs)
            for o in self.outputs:
                extra = f" ({o.comment})" if o.comment else ""
                lines.append(
                    f"  {o.name:<{width}}  {o.kind:<8} {o.type:<16} {o.status:<8} "
                    f"suppressed {o.n_suppressed:<4} decision {o.decision}{extra}"
                )
        if self.request is not None:
            req = self.request
            lines.append(f"request by {req.request.author}: {req.state.value} "
                         f"({req.reviews_required} independent review(s) per output)")
            for name, st in req.outputs.items():
                who = ", ".join(f"{r.reviewer} {r.decision}" for r in st.reviews)
                lines.append(f"  {name}: {st.state.value}" + (f" ({who})" if who else ""))
        if self.log_path is not None:
            lines.append(f"decision log: {shown_path(self.log_path.name)}")
        return "\n".join(lines)


def _checker_folder(release: Path, checker_dir: str | Path | None) -> Path | None:
    if checker_dir is None:
        return None
    root = Path(checker_dir)
    for candidate in (root / release.name, root):
        if (candidate / "checker.json").is_file():
            return candidate
    return None


def decision_log_path(
    release: Path, checker_dir: str | Path | None = None, log_path: str | Path | None = None
) -> Path:
    """Where the decision log of a release is (see the module docs)."""
    if log_path is not None:
        return Path(log_path)
    folder = _checker_folder(release, checker_dir)
    if folder is not None:
        return folder / DECISION_LOG
    return release.parent / f"{release.name}.decisions.jsonl"


def _entry_hash(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return sha256_bytes(canonical_json(body).encode("utf-8"))


def _log_lines(path: Path) -> tuple[list[str], bool]:
    """The log's lines, and whether an incomplete last line (an interrupted write) was dropped.

    A last line without its newline that is not a JSON object is what an interrupted append
    leaves; it is ignored (and removed by the next decision), so a torn write never makes a
    clean log read as tampered. Dropping a whole last entry is what a torn write cannot do
    unnoticed by the entries before it, and a deleted last entry is out of reach of any
    hash chain without an outside anchor anyway.
    """
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    tail = lines.pop()  # "" when the text ends with a newline
    if not tail:
        return lines, False
    try:
        complete = isinstance(json.loads(tail), dict)
    except json.JSONDecodeError:
        complete = False
    if complete:
        return [*lines, tail], False
    return lines, True


def read_decisions(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of a decision log and the problems found verifying its chain."""
    if not path.is_file():
        return [], []
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    prev = _GENESIS
    lines, _ = _log_lines(path)
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            problems.append(f"decision log line {lineno} is empty")
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"decision log line {lineno} is not JSON")
            continue
        if not isinstance(entry, dict):
            problems.append(f"decision log line {lineno} is not an entry")
            continue
        if entry.get("prev") != prev:
            problems.append(f"decision log line {lineno} does not follow the previous entry (chain broken)")
        if entry.get("hash") != _entry_hash(entry):
            problems.append(f"decision log line {lineno} was edited (its hash does not match)")
        if entry.get("seq") != len(entries) + 1:
            problems.append(f"decision log line {lineno} has the wrong sequence number")
        prev = str(entry.get("hash"))
        entries.append(entry)
    return entries, problems


def _safe_relpath(text: object) -> bool:
    if not isinstance(text, str) or not text or "\\" in text or ":" in text:
        return False
    parts = PurePosixPath(text).parts
    return not PurePosixPath(text).is_absolute() and ".." not in parts


def _verify_files(release: Path, manifest_path: Path, doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    listed: dict[str, Mapping[str, Any]] = {}
    files = doc.get("files")
    if not isinstance(files, list):
        return ["the manifest has no file list"]
    for rec in files:
        path = rec.get("path") if isinstance(rec, Mapping) else None
        if not _safe_relpath(path):
            problems.append("the manifest lists an unsafe path (absolute, drive or '..')")
            continue
        assert isinstance(path, str)
        listed[path] = rec
    for path, rec in sorted(listed.items()):
        target = release.joinpath(*path.split("/"))
        if target.is_symlink():
            problems.append(f"{shown_path(path)} is a symbolic link")
        elif not target.is_file():
            problems.append(f"{shown_path(path)} is listed in the manifest but missing")
        elif sha256_file(target) != rec.get("sha256"):
            problems.append(f"{shown_path(path)} was changed (SHA-256 differs from the manifest)")
    folders_used = {"/".join(p.split("/")[:k]) for p in listed for k in range(1, p.count("/") + 1)}
    for rel, is_dir in _walk(release):
        if is_dir:
            if rel not in folders_used:
                problems.append(f"the folder {shown_path(rel)} is in the release but holds no file of the manifest")
            continue
        if rel == manifest_path.name:
            continue
        if rel not in listed:
            problems.append(f"{shown_path(rel)} is in the release folder but not in the manifest")
    others = [n for n in MANIFEST_NAMES if n != manifest_path.name and (release / n).exists()]
    if others:
        problems.append("the release has more than one manifest")
    for out in doc.get("outputs", []) if isinstance(doc.get("outputs"), list) else []:
        for path in out.get("files", []) if isinstance(out, Mapping) else []:
            if path not in listed:
                problems.append(f"output '{shown_path(str(out.get('name')))}' names a file the manifest does not "
                                "list")
    return problems


def _walk(root: Path) -> list[tuple[str, bool]]:
    """Every entry below ``root`` as (relative POSIX path, is a real folder); symbolic links not followed."""
    out: list[tuple[str, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in dirnames:
            entry = base / name
            out.append((entry.relative_to(root).as_posix(), not entry.is_symlink()))
        for name in filenames:
            out.append(((base / name).relative_to(root).as_posix(), False))
    return sorted(out)


def shown_path(rel: str) -> str:
    """A release path for a message, with every component that looks like microdata withheld.

    >>> shown_path("tables/0101801234 income/t.csv")
    'tables/[name withheld]/t.csv'
    """
    return "/".join("[name withheld]" if scan_name(rel, part, "name") else part for part in rel.split("/"))


def _name_findings(release: Path) -> list[Finding]:
    """Findings in the release folder's own name and every file and folder name below it."""
    out = [Finding("[release folder]" if scan_name("", release.name, "") else release.name, f.kind,
                   "release folder name", f.detail) for f in scan_name("", release.name, "")]
    for rel, is_dir in _walk(release):
        name = rel.rsplit("/", 1)[-1]
        what = "folder name" if is_dir else "file name"
        out.extend(Finding(shown_path(rel), f.kind, what, f.detail) for f in scan_name(rel, name, what))
    return out


def _allowed_hex(doc: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in _HASH_KEYS:
            found.add(node.lower())
        elif isinstance(node, str):
            found.update(m.group(1).lower() for m in _PROVENANCE_HEX.finditer(node))

    walk(doc)
    return found


def _input_units(doc: Mapping[str, Any], checker: Mapping[str, Any] | None) -> dict[str, int]:
    units: dict[str, int] = {}
    for source in (doc, checker or {}):
        for out in source.get("outputs", []) if isinstance(source.get("outputs"), list) else []:
            if isinstance(out, Mapping) and isinstance(out.get("n_input_units"), int):
                units[str(out.get("name"))] = int(out["n_input_units"])
    return units


def _shipped(rule_set_id: object) -> Any:
    from kit.core.rules.loader import load_rule_set, shipped_fingerprint

    if isinstance(rule_set_id, str) and shipped_fingerprint(rule_set_id) is not None:
        return load_rule_set(rule_set_id)
    return None


def _fingerprint_problem(where: str, rule_set: object) -> str | None:
    """A problem when a rule set record claims a shipped id with another fingerprint."""
    if not isinstance(rule_set, Mapping):
        return f"{where} names no rule set"
    shipped = _shipped(rule_set.get("id"))
    if shipped is not None and rule_set.get("fingerprint") != shipped.fingerprint:
        return (f"{where} names rule set '{rule_set.get('id')}' with a fingerprint that is not the shipped "
                f"set's (sha256:{str(rule_set.get('fingerprint'))[:12]} instead of sha256:{shipped.fingerprint[:12]})")
    return None


def recheck_from_checker(doc: Mapping[str, Any], checker: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Recompute the release's promises from ``checker.json``: (problems, notes).

    Problems (TAMPERED): the manifest's or an output's rule set claims a shipped id with
    another fingerprint; the checker's report names another rule set than the manifest;
    a table has no re-derived cells, or a published cell has fewer distinct units than
    the threshold (of the shipped set when the id is shipped); the cell facts disagree
    with the manifest's row and suppression counts. Notes (ATTENTION): a rule set that
    is not shipped (its content cannot be checked here); mixed rule sets.

    Examples
    --------
    >>> from kit.core.rules import load_rule_set
    >>> dst = load_rule_set("dst")
    >>> rs = {"id": "dst", "version": dst.version, "fingerprint": dst.fingerprint}
    >>> man = {"rule_set": rs, "outputs": [{"name": "t", "kind": "table", "type": "count",
    ...        "n_rows": 1, "n_suppressed": 0}]}
    >>> cells = [{"keys": ["a"], "n_units": 2, "suppressed": False, "primary": False}]
    >>> chk = {"rule_set": rs, "outputs": [{"name": "t", "rule_set": rs, "min_units": 3, "cells": cells}]}
    >>> problems, notes = recheck_from_checker(man, chk)
    >>> problems
    ["table 't': 1 published cell(s) have fewer than 3 distinct units"]
    """
    from kit.core.spec_types import Statistic

    problems: list[str] = []
    notes: list[str] = []
    manifest_rs = doc.get("rule_set")
    bad = _fingerprint_problem("the manifest", manifest_rs)
    if bad:
        problems.append(bad)
    if checker.get("rule_set") != manifest_rs:
        problems.append("the checker's report names another rule set than the manifest")
    release_set = _shipped(manifest_rs.get("id")) if isinstance(manifest_rs, Mapping) else None
    if release_set is None:
        notes.append("the release's rule set is not a shipped set: its content cannot be checked against the kit")
    if doc.get("mixed_rule_sets") or checker.get("mixed_rule_sets"):
        notes.append("MIXED RULE SETS: some outputs were cleared under another rule set than the release's")
    facts = {str(o.get("name")): o for o in checker.get("outputs", []) if isinstance(o, Mapping)}
    outputs: list[Any] = doc["outputs"] if isinstance(doc.get("outputs"), list) else []
    for out in outputs:
        if not isinstance(out, Mapping) or out.get("kind") != "table":
            continue
        name = str(out.get("name"))
        fact: Mapping[str, Any] = facts.get(name) or {}
        cells = fact.get("cells")
        if not isinstance(cells, list):
            problems.append(f"table '{name}': the checker's report has no re-derived cells for it")
            continue
        own = fact.get("rule_set")
        bad = _fingerprint_problem(f"table '{name}' in the checker's report", own)
        if bad:
            problems.append(bad)
        try:
            stat = Statistic(str(out.get("type")))
        except ValueError:
            problems.append(f"table '{name}': the manifest names an unknown statistic")
            continue
        floors = [int(fact.get("min_units", 1) or 1)]
        for rs in (release_set, _shipped(own.get("id")) if isinstance(own, Mapping) else None):
            if rs is not None and not (rs is release_set and fact.get("other_rule_set")
                                       and (doc.get("mixed_rule_sets") or checker.get("mixed_rule_sets"))):
                floors.append(rs.min_units(stat))
        floor = max(floors)
        low = sum(1 for c in cells if isinstance(c, Mapping) and not c.get("suppressed")
                  and 0 < int(c.get("n_units", 0)) < floor)
        unsafe = sum(1 for c in cells if isinstance(c, Mapping) and c.get("primary") and not c.get("suppressed"))
        if low:
            problems.append(f"table '{name}': {low} published cell(s) have fewer than {floor} distinct units")
        if unsafe:
            problems.append(f"table '{name}': {unsafe} cell(s) that fail a primary rule are published")
        n_supp = sum(1 for c in cells if isinstance(c, Mapping) and c.get("suppressed"))
        if len(cells) != out.get("n_rows") or n_supp != out.get("n_suppressed"):
            problems.append(f"table '{name}': the checker's cells do not match the manifest's row and "
                            "suppression counts")
    return problems, notes


def _plain(text: object) -> str:
    """A text from ``checker.json`` for the terminal: control characters replaced.

    >>> _plain("K3\x1b[2J")
    'K3?[2J'
    """
    return "".join("?" if (ord(ch) < 32 or 127 <= ord(ch) < 160) else ch for ch in str(text))


def differencing_findings(checker: Mapping[str, Any]) -> list[str]:
    """One note per risky differencing pair of ``checker.json``, naming its cells by their codes.

    >>> differencing_findings({"differencing_pairs": [{"table": "b", "other table": "a", "other release": "r1",
    ...     "result": "RISK NOT ENFORCED", "cell_links": [{"text": "b [KOM=K3] vs a [KOM=K3]"}]}]})
    ['DIFFERENCING RISK: b vs a (release r1): RISK NOT ENFORCED; cells: b [KOM=K3] vs a [KOM=K3]']
    """
    pairs = checker.get("differencing_pairs")
    out: list[str] = []
    for p in pairs if isinstance(pairs, list) else []:
        if not isinstance(p, Mapping) or str(p.get("result", "ok")) == "ok":
            continue
        links = p.get("cell_links")
        texts = [_plain(k.get("text")) for k in links if isinstance(k, Mapping)] if isinstance(links, list) else []
        shown = "; ".join(texts[:10]) + (f" and {len(texts) - 10} more" if len(texts) > 10 else "")
        other = f"{_plain(p.get('other table'))} (release {_plain(p.get('other release'))})"
        out.append(f"DIFFERENCING RISK: {_plain(p.get('table'))} vs {other}: {_plain(p.get('result'))}"
                   + (f"; cells: {shown}" if shown else ""))
    return out


def review_release(
    release: str | Path, *, checker_dir: str | Path | None = None, log_path: str | Path | None = None,
    site: SiteReview | None = None,
) -> ReviewResult:
    """Verify, scan and list a release (read-only).

    Raises
    ------
    SpecError
        When ``release`` is not a folder.
    """
    folder = Path(release)
    if not folder.is_dir():
        raise SpecError(f"release '{folder.name}'", "is not a folder", "pass the path of a release folder")
    problems: list[str] = []
    notes: list[str] = []
    manifest_path = find_manifest(folder)
    log = decision_log_path(folder, checker_dir, log_path)
    if manifest_path is None:
        return ReviewResult(
            folder, ReviewStatus.TAMPERED, ("the release has no manifest",), (), (), (), log, ""
        )
    manifest_sha = sha256_file(manifest_path)
    try:
        doc = load_manifest(manifest_path)
    except SpecError:
        return ReviewResult(
            folder, ReviewStatus.TAMPERED, ("the manifest is not valid JSON",), (), (), (), log, manifest_sha
        )
    if not verify_seal(doc):
        problems.append("the manifest was edited (its content checksum does not match)")
    checker_folder = _checker_folder(folder, checker_dir)
    checker_doc: dict[str, Any] | None = None
    if checker_folder is not None:
        try:
            loaded = json.loads((checker_folder / "checker.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            loaded = None
        checker_doc = loaded if isinstance(loaded, dict) else {}
        if not isinstance(loaded, dict):
            problems.append("the checker's report (checker.json) cannot be read as JSON")
        elif checker_doc.get("manifest_sha256") != manifest_sha:
            problems.append("the manifest differs from the one recorded in the checker's folder")
        re_problems, re_notes = recheck_from_checker(doc, checker_doc)
        problems.extend(re_problems)
        notes.extend(re_notes)
        notes.extend(differencing_findings(checker_doc))
    elif checker_dir is not None:
        notes.append("no checker's report for this release was found in the checker folder")
    problems.extend(_verify_files(folder, manifest_path, doc))
    findings: list[Finding] = []
    allowed = _allowed_hex(doc)
    from kit.dp.audit import review_dp_outputs  # DP outputs: the ledger anchor (docs/dp.md)

    dp_review = review_dp_outputs(doc)
    problems.extend(dp_review.problems)
    notes.extend(dp_review.notes)
    diff_entry = doc.get("differencing")
    if isinstance(diff_entry, Mapping) and diff_entry.get("checked") is False:
        notes.append("DIFFERENCING NOT CHECKED: the release was written with the differencing check turned off; "
                     "compare its outputs with the project's earlier releases by hand before approving")
    allowed |= dp_review.allowed
    units = _input_units(doc, checker_doc)
    for rel in [manifest_path.name, *(r.get("path") for r in doc.get("files", []) if isinstance(r, Mapping))]:
        if isinstance(rel, str) and _safe_relpath(rel) and folder.joinpath(*rel.split("/")).is_file():
            findings.extend(Finding(shown_path(f.path), f.kind, f.where, f.detail)
                            for f in scan_file(folder, rel, n_input_units=units, allowed_hex=allowed))
    findings.extend(_name_findings(folder))
    entries, log_problems = read_decisions(log)
    problems.extend(log_problems)
    if log.is_file() and _log_lines(log)[1]:
        notes_torn = "the decision log's last line is incomplete (an interrupted write) and is ignored"
        notes.append(notes_torn)
    latest: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("manifest_sha256") == manifest_sha and "decision" in e:
            latest[str(e.get("output"))] = e
    outputs = []
    for out in doc.get("outputs", []) if isinstance(doc.get("outputs"), list) else []:
        if not isinstance(out, Mapping):
            continue
        d = latest.get(str(out.get("name")), {})
        outputs.append(
            OutputReview(
                str(out.get("name")),
                str(out.get("kind")),
                str(out.get("type")),
                str(out.get("status")),
                int(out.get("n_suppressed", 0) or 0),
                str(d.get("decision", "pending")),
                str(d.get("comment", "")),
            )
        )
    request_status = None
    try:
        request, request_sha = load_request(checker_folder)
    except SpecError as exc:
        problems.append(str(exc))
        request, request_sha = None, ""
    if request is not None:
        if request.release != folder.name:
            problems.append("the release request (request.json) names another release")
        names = [o.name for o in outputs]
        request_status = replay(request, request_sha, entries, names, output_digests(doc),
                                (site or SiteReview()).reviews_required)
        problems.extend(request_status.problems)
    elif doc.get("review_request"):
        notes.append("the release was written as a request: review it with --checker-dir (its request.json "
                     "is in the checker folder)")
    elif site is not None and site.require_request:
        notes.append("the site requires a release request and this release has none (no request.json)")
    if problems:
        status = ReviewStatus.TAMPERED
    elif findings or any(o.decision == Decision.REJECT.value for o in outputs) or notes:
        status = ReviewStatus.ATTENTION
    else:
        status = ReviewStatus.CLEAN
    return ReviewResult(
        folder, status, tuple(problems), tuple(findings), tuple(notes), tuple(outputs), log, manifest_sha,
        request_status, checker_folder,
    )


def _append(log: Path, result: ReviewResult, fields: Mapping[str, Any], time: str | None) -> None:
    """Append one chained entry (the caller holds the log's lock)."""
    entries, _ = read_decisions(log)
    entry: dict[str, Any] = {
        "seq": len(entries) + 1,
        "time": time or utc_now(),
        "release": result.release.name,
        "manifest_sha256": result.manifest_sha256,
        **fields,
        "n_findings": len(result.findings),
        "prev": entries[-1]["hash"] if entries else _GENESIS,
    }
    entry["hash"] = _entry_hash(entry)
    lines = _log_lines(log)[0] if log.is_file() else []
    lines.append(json.dumps(entry, sort_keys=True, ensure_ascii=False))
    atomic_write_text(log, "\n".join(lines) + "\n")


def record_event(
    release: str | Path,
    event: RequestEvent,
    output: str = "",
    *,
    comment: str = "",
    decision: Decision | None = None,
    checker_dir: str | Path | None = None,
    log_path: str | Path | None = None,
    reviewer: str | None = None,
    site: SiteReview | None = None,
    time: str | None = None,
) -> ReviewResult:
    """Record one transition of the release's request (see :mod:`kit.release.request`).

    Under the log's lock: the release and the log are verified (a tampered one gets no
    entry; the returned result says why), the transition is checked against the
    request's current state, then one chained entry is appended.

    Raises
    ------
    SpecError
        When the release has no request, or the lifecycle does not allow the transition.
    """
    folder = Path(release)
    actor = current_identity(reviewer)
    log = decision_log_path(folder, checker_dir, log_path)
    _check_log_path(log)
    with locked(log):
        result = review_release(release, checker_dir=checker_dir, log_path=log_path, site=site)
        if result.status is ReviewStatus.TAMPERED:
            return result
        if result.request is None:
            raise SpecError("review", "the release has no request (request.json in its checker folder)",
                            "write the release with request= and checker_dir=, and pass --checker-dir")
        choice = decision.value if decision is not None else ""
        check_transition(result.request, event, output, actor, comment, choice)
        fields: dict[str, Any] = {"event": event.value, "output": output, "comment": comment,
                                  "reviewer": actor, "os_user": os_user()}
        if event is RequestEvent.SUBMIT:
            _, fields["request_sha256"] = load_request(result.checker_folder)
        if event is RequestEvent.DECISION:
            fields["decision"] = choice
            fields["output_sha256"] = _digest(result, output)
        _append(log, result, fields, time)
    return review_release(release, checker_dir=checker_dir, log_path=log_path, site=site)


def _is_request(manifest_path: Path) -> bool:
    try:
        return bool(load_manifest(manifest_path).get("review_request"))
    except SpecError:
        return False  # an unreadable manifest is refused as TAMPERED by the review itself


def _digest(result: ReviewResult, output: str) -> str:
    manifest_path = find_manifest(result.release)
    assert manifest_path is not None  # a verified release has one
    return output_digests(load_manifest(manifest_path)).get(output, "")


def record_decision(
    release: str | Path,
    output: str,
    decision: Decision | str,
    *,
    comment: str = "",
    checker_dir: str | Path | None = None,
    log_path: str | Path | None = None,
    reviewer: str | None = None,
    time: str | None = None,
    site: SiteReview | None = None,
) -> ReviewResult:
    """Append a decision to the release's decision log, after verifying release and log.

    A tampered release or log gets no entry (the returned result says why). A release
    with a request (``request.json``) is decided through :func:`record_event`: the
    request must be submitted and the reviewer must not be its author.

    Raises
    ------
    SpecError
        When the output is not in the manifest, or a rejection has no comment.
    """
    choice = Decision(decision)
    folder_ = Path(release)
    checker_folder = _checker_folder(folder_, checker_dir)
    if checker_folder is not None and load_request(checker_folder)[0] is not None:
        return record_event(release, RequestEvent.DECISION, output, comment=comment, decision=choice,
                            checker_dir=checker_dir, log_path=log_path, reviewer=reviewer, site=site, time=time)
    manifest_path = find_manifest(folder_)
    if manifest_path is not None and _is_request(manifest_path):
        raise SpecError("review", "the release was written as a request and its request was not found",
                        "pass --checker-dir with the checker folder the release's report was written to")
    if site is not None and site.require_request:
        raise SpecError("review", "the site requires a release request and this release has none",
                        "the researcher writes the release with request= (docs/review.md)")
    if choice is Decision.REJECT and not comment.strip():
        raise SpecError("review", "a rejection needs a comment", 'add --comment "why the output is rejected"')
    folder = Path(release)
    log = decision_log_path(folder, checker_dir, log_path)
    _check_log_path(log)
    with locked(log):  # one writer at a time; readers see the old or the new file (atomic replace)
        result = review_release(release, checker_dir=checker_dir, log_path=log_path)
        if result.status is ReviewStatus.TAMPERED:
            return result
        names: Sequence[str] = [o.name for o in result.outputs]
        if output not in names:
            raise SpecError("review", f"the release has no output '{output}'", f"use one of {list(names)}")
        _append(log, result, {"output": output, "decision": choice.value, "comment": comment,
                              "reviewer": reviewer or _user()}, time)
    return review_release(release, checker_dir=checker_dir, log_path=log_path)


def _check_log_path(log: Path) -> None:
    """The decision log's folder must exist (or be creatable) and the log must not be a folder."""
    where = f"decision log '{log.name}'"
    if log.is_dir():
        raise SpecError(where, "is a folder", "pass --log with a file name")
    if log.is_symlink():
        raise SpecError(where, "is a symbolic link", "pass --log with a plain file")
    base = log.parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise SpecError(where, "would be below a plain file", "pass --log in a folder")
    if not log.parent.exists():
        try:
            log.parent.mkdir(parents=True)
        except OSError as exc:
            raise SpecError(where, f"its folder cannot be created ({type(exc).__name__})",
                            "pass --log in a writable folder") from None
    if not os.access(log.parent, os.W_OK | os.X_OK):
        raise SpecError(where, "its folder is not writable for you", "pass --log in a writable folder")


def _user() -> str:
    return os_user()
