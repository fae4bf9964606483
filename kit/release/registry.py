"""The differencing registry: what earlier releases published, with unit counts per cell.

Publishing the same table for "all residents" and for "all residents except
one small group" discloses the small group by subtraction. The registry,
kept in the project's work folder on the server (it holds unit counts per
cell and is never part of a release), records for every released table its
cell definitions (dimensions, population label, spec fingerprint) and the
number of distinct units of every published cell, inner and margin.

A new release is checked against every earlier entry and against its own
tables: two cells that describe the same group (the same dimension codes,
margins matched to the inner cells of a coarser table) and are published in
both tables must not differ by a positive number of units below the
threshold (the rule set's differencing ``min_units``, else its minimum cell
size). A pair that does is blocking: :func:`kit.release.write_release` raises
:class:`DifferencingError` (reason ``DIFFERENCING``) and the checker's report
shows the pair.

Layout: ``<registry folder>/registry.jsonl``, one JSON object per released
table, appended after each successful release.

Examples
--------
>>> cells_a = {(("area", "A"),): (40, True)}
>>> cells_b = {(("area", "A"),): (39, True)}
>>> compare_cells(cells_a, cells_b, threshold=3)
(1, 1, 1)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.cleared import ClearedTable
from kit.errors import DisclosureError, SpecError
from kit.evidence import TOTAL
from kit.rules.loader import RuleSet
from kit.rules.model import RuleKind
from kit.status import ReasonCode

__all__ = [
    "REGISTRY_FILE",
    "CellKey",
    "DifferencingError",
    "DifferencingPair",
    "ReleaseRegistry",
    "as_registry",
    "compare_cells",
    "table_cells",
]

log = logging.getLogger(__name__)

#: File name of the registry inside its folder.
REGISTRY_FILE = "registry.jsonl"

CellKey = tuple[tuple[str, str], ...]
CellMap = Mapping[CellKey, tuple[int, bool]]


@dataclass(frozen=True)
class DifferencingPair:
    """Two tables whose common cells differ by too few units (private: for the checker)."""

    table: str
    release: str
    other_table: str
    other_release: str
    population: str
    other_population: str
    n_common_cells: int
    n_risky_cells: int
    smallest_difference: int
    threshold: int
    reason: ReasonCode = ReasonCode.DIFFERENCING

    @property
    def blocking(self) -> bool:
        """Whether the pair blocks the release."""
        return self.n_risky_cells > 0

    def describe(self) -> str:
        """One line for messages: names only, no counts of units."""
        other = (
            self.other_table
            if self.other_release == self.release
            else f"{self.other_table} (release {self.other_release})"
        )
        return f"{self.table} vs {other}"


class DifferencingError(DisclosureError):
    """A release is blocked because tables can be differenced against each other or earlier releases."""

    def __init__(self, pairs: Sequence[DifferencingPair]) -> None:
        self.pairs = tuple(pairs)
        names = "; ".join(p.describe() for p in self.pairs[:5])
        more = f" and {len(self.pairs) - 5} more" if len(self.pairs) > 5 else ""
        super().__init__(
            "release",
            f"{ReasonCode.DIFFERENCING.value}: {len(self.pairs)} table pair(s) describe groups that "
            f"differ by fewer units than the rule set allows ({names}{more})",
            "publish only one of each pair, or coarsen the populations so they differ by more units; the "
            "checker's report lists the pairs",
        )


def table_cells(table: Any) -> dict[CellKey, tuple[int, bool]]:
    """Cell key -> (distinct units, published and not suppressed) from a private table.

    Margins are keyed by the dimensions they keep, so a margin of one table
    matches the inner cells of a coarser table over the same groups.
    """
    cells = table.evidence.cells
    dims = list(table.spec.dims)
    assessment = table.assessment
    out: dict[CellKey, tuple[int, bool]] = {}
    codes = {d: cells[d].astype(str).tolist() for d in dims}
    n_units = cells["n_units"].astype(int).tolist()
    margin = cells["is_margin"].astype(bool).tolist()
    for i in range(len(cells)):
        key = tuple(sorted((d, codes[d][i]) for d in dims if not (margin[i] and codes[d][i] == TOTAL)))
        released = bool(assessment.published[i]) and not assessment.statuses[i].suppressed
        out[key] = (int(n_units[i]), released)
    return out


def compare_cells(a: CellMap, b: CellMap, threshold: int) -> tuple[int, int, int]:
    """(common released cells, risky cells, smallest positive difference or 0).

    A cell is risky when both tables publish it and their unit counts differ
    by more than 0 and fewer than ``threshold``.
    """
    common = risky = 0
    smallest = 0
    for key, (n_a, pub_a) in a.items():
        other = b.get(key)
        if other is None or not pub_a or not other[1]:
            continue
        common += 1
        diff = abs(n_a - other[0])
        if 0 < diff < threshold:
            risky += 1
            smallest = diff if smallest == 0 else min(smallest, diff)
    return common, risky, smallest


def threshold_of(rules: RuleSet) -> int:
    """The differencing threshold: the differencing rule's ``min_units``, else the minimum cell size."""
    values = [int(getattr(r.params, "min_units", 0)) for r in rules.of_kind(RuleKind.DIFFERENCING)]
    return max(values) if values else rules.min_units()


@dataclass(frozen=True)
class _Entry:
    release: str
    table: str
    population: str
    dims: tuple[str, ...]
    spec_fingerprint: str
    cells: dict[CellKey, tuple[int, bool]]


class ReleaseRegistry:
    """The registry folder of one project (private; on the server only).

    Parameters
    ----------
    folder
        The registry folder, inside the project's work folder (created on first record).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"<ReleaseRegistry {self.folder.name!r}: {len(self.entries())} table(s); counts hidden>"

    @property
    def path(self) -> Path:
        """The registry file."""
        return self.folder / REGISTRY_FILE

    def entries(self) -> list[_Entry]:
        """Every recorded table."""
        if not self.path.exists():
            return []
        out = []
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                cells = {
                    tuple((str(d), str(c)) for d, c in key): (int(n), bool(p)) for key, n, p in doc["cells"]
                }
                out.append(
                    _Entry(
                        doc["release"],
                        doc["table"],
                        doc.get("population", ""),
                        tuple(doc.get("dims", ())),
                        doc.get("spec_fingerprint", ""),
                        cells,
                    )
                )
            except (ValueError, KeyError, TypeError):
                raise SpecError(
                    f"release registry {REGISTRY_FILE}",
                    f"line {lineno} is damaged",
                    "restore the file from the project's backup; the kit never edits it",
                ) from None
        return out

    def _new(self, outputs: Iterable[object], privates: Mapping[Any, Any], release: str) -> list[_Entry]:
        new = []
        for obj in outputs:
            if not isinstance(obj, ClearedTable):
                continue
            table = privates.get(obj.name)
            if table is None or not hasattr(table, "evidence"):
                log.info("table %s: no private result given; not checked for differencing", obj.name)
                continue
            spec = table.spec
            new.append(
                _Entry(
                    release,
                    obj.name,
                    getattr(spec, "population", ""),
                    tuple(spec.dims),
                    getattr(spec, "fingerprint", ""),
                    table_cells(table),
                )
            )
        return new

    def check(
        self, outputs: Iterable[object], privates: Mapping[Any, Any], rules: RuleSet, release: str
    ) -> tuple[DifferencingPair, ...]:
        """Pairs of a new release's tables with each other and with earlier releases (blocking or not)."""
        threshold = threshold_of(rules)
        new = self._new(outputs, privates, release)
        earlier = self.entries()
        pairs: list[DifferencingPair] = []
        for i, entry in enumerate(new):
            for other in [*new[i + 1 :], *earlier]:
                common, risky, smallest = compare_cells(entry.cells, other.cells, threshold)
                if common == 0:
                    continue
                pairs.append(
                    DifferencingPair(
                        entry.table,
                        release,
                        other.table,
                        other.release,
                        entry.population,
                        other.population,
                        common,
                        risky,
                        smallest,
                        threshold,
                    )
                )
        return tuple(p for p in pairs if p.blocking) + tuple(p for p in pairs if not p.blocking)

    def record(
        self,
        outputs: Iterable[object],
        privates: Mapping[Any, Any],
        rules: RuleSet,
        release: str,
        created: str,
    ) -> int:
        """Append the release's tables to the registry; returns the number recorded."""
        new = self._new(outputs, privates, release)
        if not new:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for e in new:
                doc = {
                    "release": e.release,
                    "table": e.table,
                    "created": created,
                    "population": e.population,
                    "dims": list(e.dims),
                    "spec_fingerprint": e.spec_fingerprint,
                    "rule_set": rules.id,
                    "cells": [[list(map(list, k)), n, p] for k, (n, p) in sorted(e.cells.items())],
                }
                handle.write(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n")
        return len(new)


def as_registry(obj: ReleaseRegistry | str | Path) -> ReleaseRegistry:
    """A registry from a registry object or its folder."""
    if isinstance(obj, ReleaseRegistry):
        return obj
    if isinstance(obj, (str, Path)):
        return ReleaseRegistry(obj)
    raise SpecError(
        "registry",
        f"a {type(obj).__name__} is not a release registry",
        "pass a kit.release.ReleaseRegistry or the path of its folder",
    )
