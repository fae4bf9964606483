"""A release against an earlier release of the project (same output names).

For every output of the current release: *new* (no output of that name before),
*unchanged* (the same files), or *changed*, with the changed, added and removed
cells of its published text table keyed by their codes. Differencing risks: the
registry's pairs from ``checker.json`` of the current release, and every cell that
is suppressed now but was published under the same codes in the earlier release
(or the other way round) — a cell whose value can be read off the other release.

Risky cells of the registry's pairs are named by their codes (``checker.json``'s ``cell_links``).

Examples
--------
>>> a = {("x", "1"): ("5",), ("y", "1"): ("x",)}
>>> b = {("x", "1"): ("6",), ("y", "1"): ("7",), ("z", "1"): ("2",)}
>>> changed, added, removed, risky = cell_changes(b, a, "x")
>>> [k for k, _, _ in changed], added, removed, risky
([('x', '1'), ('y', '1')], (('z', '1'),), (), (('y', '1'),))
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.release.manifest import find_manifest, load_manifest
from kit.workbench.views import DifferencingRow, Snapshot, differencing_rows

__all__ = ["DiffView", "OutputDiff", "cell_changes", "diff_releases"]

Key = tuple[str, ...]


@dataclass(frozen=True)
class OutputDiff:
    """One output against its namesake in the earlier release."""

    name: str
    state: str  # new | unchanged | changed
    changed: tuple[tuple[Key, tuple[str, ...], tuple[str, ...]], ...]
    added: tuple[Key, ...]
    removed: tuple[Key, ...]
    risky: tuple[Key, ...]


@dataclass(frozen=True)
class DiffView:
    """The diff page."""

    against: str
    outputs: tuple[OutputDiff, ...]
    gone: tuple[str, ...]
    pairs: tuple[DifferencingRow, ...]
    note: str = ""

    @property
    def risks(self) -> tuple[DifferencingRow, ...]:
        """The pairs in which the registry found risky cells."""
        return tuple(p for p in self.pairs if p.is_risk)


def cell_changes(now: Mapping[Key, tuple[str, ...]], before: Mapping[Key, tuple[str, ...]], symbol: str
                 ) -> tuple[tuple[tuple[Key, tuple[str, ...], tuple[str, ...]], ...], tuple[Key, ...],
                            tuple[Key, ...], tuple[Key, ...]]:
    """(changed, added, removed, risky) cells between two tables keyed by their codes.

    A cell is risky when one release suppresses it (``symbol``) and the other publishes it.
    """
    changed = tuple((k, before[k], v) for k, v in now.items() if k in before and before[k] != v)
    added = tuple(k for k in now if k not in before)
    removed = tuple(k for k in before if k not in now)
    risky = tuple(k for k, v in now.items() if k in before
                  and (symbol in v) != (symbol in before[k]))
    return changed, added, removed, risky


def _table(release: Path, files: list[str], n_keys: int) -> dict[Key, tuple[str, ...]] | None:
    for rel in files:
        if rel.lower().endswith((".tab", ".txt", ".csv")):
            try:
                text = release.joinpath(*rel.split("/")).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            rows = list(csv.reader(io.StringIO(text), delimiter="," if rel.endswith(".csv") else "\t"))[1:]
            k = n_keys or 1
            return {tuple(r[:k]): tuple(r[k:]) for r in rows if r}
    return None


def _files(entry: Mapping[str, Any]) -> list[str]:
    return [str(f) for f in entry.get("files", [])] if isinstance(entry.get("files"), list) else []


def diff_releases(snap: Snapshot, earlier: Path) -> DiffView:
    """The diff of the snapshot's release against the release folder ``earlier``."""
    path = find_manifest(earlier)
    if path is None:
        return DiffView(earlier.name, (), (), differencing_rows(snap.checker), "the earlier release has no manifest")
    old = load_manifest(path)
    old_files = {str(f.get("path")): f.get("sha256") for f in old.get("files", []) if isinstance(f, Mapping)}
    old_outputs = {str(o.get("name")): o for o in old.get("outputs", []) if isinstance(o, Mapping)}
    symbol = str(snap.manifest.get("suppressed_symbol", "x"))
    out: list[OutputDiff] = []
    for entry in snap.outputs:
        name = str(entry.get("name"))
        before = old_outputs.get(name)
        if before is None:
            out.append(OutputDiff(name, "new", (), (), (), ()))
            continue
        cur = _files(entry)
        same = [snap.file_record(f) for f in cur]
        if all(r is not None and old_files.get(str(r.get("path"))) == r.get("sha256") for r in same) and \
                sorted(cur) == sorted(_files(before)):
            out.append(OutputDiff(name, "unchanged", (), (), (), ()))
            continue
        facts = snap.facts(name)
        cells = facts.get("cell_status") or facts.get("cells") or []
        n_keys = max((len(c.get("keys", [])) for c in cells if isinstance(c, Mapping)), default=0)
        now_t = _table(snap.review.release, cur, n_keys)
        old_t = _table(earlier, _files(before), n_keys)
        if now_t is None or old_t is None:
            out.append(OutputDiff(name, "changed", (), (), (), ()))
            continue
        changed, added, removed, risky = cell_changes(now_t, old_t, symbol)
        out.append(OutputDiff(name, "changed", changed, added, removed, risky))
    gone = tuple(sorted(set(old_outputs) - {str(e.get("name")) for e in snap.outputs}))
    return DiffView(earlier.name, tuple(out), gone, differencing_rows(snap.checker))
