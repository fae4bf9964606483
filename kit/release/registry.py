"""The project-wide disclosure registry: which units every released number counted.

Publishing the same table for "all residents" and for "all residents except one person", or a
region total next to the municipalities it covers for a slightly different population, discloses
the difference by subtraction. The registry keeps, for every cell (published or suppressed, margins
included) of every output a project has released, **the set of units it counts**, and refuses a
release whose cells can be differenced against each other or against anything released before
(the rule: :mod:`kit.release.set_compare`; the threshold: :func:`threshold_of`).

Where it lives
--------------
``<project state folder>/differencing/`` (:func:`kit.state.project_state_dir`: ``state_dir=``,
``KIT_STATE_DIR``, the nearest ``.kit-state`` folder, ``~/.kit-state``), never in a release:

- ``salt.bin``: 32 random bytes made on first use; unit keys are salted with it, so two projects'
  registries cannot be linked;
- ``outputs/<release>--<output>--<id>.npz``: per output the salted unit keys of its cells, sorted by
  key (delta-coded, compressed) with the cell of each, and per cell a published flag, a layer
  number and an attribute flag;
- ``sketches/<same name>.npz``: per output the sketch :mod:`kit.release.prefilter` reads on every
  check (per cell and bucket: count, key sum, extreme keys; the keys of small cells);
- ``index.json``: one entry per recorded output with the SHA-256 and size of its data file and the
  SHA-256 of its sketch (a sketch that does not match, or a data file missing or of another size,
  stops every later release; a data file's digest is checked whenever it is read).

Check and record run under one inter-process lock (:func:`kit.state.locked` on ``index.json``).
Inside it the release writer records the cells *pending* on its release folder, renames the folder
into place and commits the record (:meth:`ReleaseRegistry.record_cells`, :meth:`~ReleaseRegistry.commit`);
a failed release drops its pending record, and one left by a killed writer is settled by the next
check (:meth:`~ReleaseRegistry.resolve_pending`): kept when the folder exists, dropped when not.

Only recorded outputs the prefilter cannot rule out are read and compared exactly
(:func:`kit.release.prefilter.may_fire`; it never rules out one that fires).

Populations of an output
------------------------
- a private :class:`~kit.core.table.Table` carries ``unit_populations`` (:mod:`kit.core.populations`), one
  layer per margin pattern, plus the numerators of rate tables;
- any other private result implements the **populations protocol**: a method
  ``populations(self) -> Mapping[str, numpy.ndarray]`` giving, for every published statistic, the
  unit keys (:func:`kit.core.populations.unit_keys` of the unit ids) of the units behind it: a mean's
  cell, a rate's numerator and denominator, a model's estimation sample, an event study's groups.
  Each entry is one cell in its own layer; a label ending in ``" numerator"`` marks the units with
  the attribute of a rate (compared with counts, not with other numerators), a label ending in
  ``" elements"`` (before an optional ``" suppressed"``) gives an ``(n, 2)`` array of (unit key,
  contribution tag) rows (:func:`kit.core.populations.contribution_tags`) of a magnitude statistic, a
  label ending in ``" suppressed"`` a statistic the estimator suppressed (recorded, so that no other
  output publishes its population).

Magnitude cells
---------------
A sum, mean, rate or weighted table records, besides the units of every cell, an **element cell**
per cell (published and suppressed ones): one key per (unit, exact contribution)
(:func:`kit.core.populations.element_keys`), kind :data:`~kit.release.set_compare.ELEMENTS`. Element
cells are compared only with element cells, their distance counted in units
(:mod:`kit.release.set_compare`), so a top-coded against a raw sum, or a weighted against an
unweighted one, over the same units is refused when 1..t-1 units' contributions differ. The
prefilter is given the key bound :func:`~kit.release.set_compare.key_bound` (``2 (t-1)`` for an
output with element cells) in :meth:`ReleaseRegistry.check_cells`.

Differentially private outputs (a privacy budget in their provenance) are neither checked nor
recorded: their noise and the budget ledger protect them against differencing.

An output whose populations are unknown (a cleared object without its private result, an
estimator that does not implement the protocol, a table checked by ``kit check``) stops the
release with :class:`PopulationsUnknownError`, unless the caller opts out explicitly
(``differencing=False``, ``--no-differencing-check``), which the manifest records.

Examples
--------
>>> import tempfile, pathlib
>>> reg = ReleaseRegistry(pathlib.Path(tempfile.mkdtemp()) / REGISTRY_FOLDER)
>>> reg
<ReleaseRegistry 'differencing': 0 output(s); units hidden>
>>> reg.entries()
[]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kit.core.cleared import ClearedEstimate, ClearedTable
from kit.core.populations import ELEMENTS_SUFFIX, CellPopulations, element_keys, salted
from kit.core.rules.loader import RuleSet
from kit.core.rules.model import RuleKind
from kit.core.spec_types import Statistic
from kit.core.status import ReasonCode
from kit.errors import DisclosureError, KitError, PopulationsUnknownError, SpecError
from kit.release.prefilter import NewSide, OutputSketch, may_fire
from kit.release.set_compare import ELEMENTS, UNITS, OutputCells, compare, key_bound
from kit.state import atomic_write_bytes, atomic_write_text, locked, project_state_dir

__all__ = [
    "INDEX_FILE",
    "REGISTRY_FOLDER",
    "DifferencingError",
    "DifferencingPair",
    "PopulationsUnknownError",
    "RegistryDamagedError",
    "ReleaseRegistry",
    "as_registry",
    "output_cells",
    "private_name",
    "threshold_of",
]

log = logging.getLogger(__name__)

#: Folder of the registry inside the project state folder.
REGISTRY_FOLDER = "differencing"
#: The index file (also the lock target).
INDEX_FILE = "index.json"
_SALT_FILE = "salt.bin"
#: Protocol labels ending in this are attribute cells (a rate's numerator).
NUMERATOR_SUFFIX = " numerator"
#: Protocol labels ending in this are suppressed cells (recorded, so that they are not published elsewhere).
SUPPRESSED_SUFFIX = " suppressed"
_FORMAT = 3


@dataclass(frozen=True)
class DifferencingPair:
    """Two outputs whose cells can be differenced (private: for the checker's report)."""

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
    """A release is blocked: its outputs can be differenced against each other or earlier releases."""

    def __init__(self, pairs: Sequence[DifferencingPair]) -> None:
        self.pairs = tuple(pairs)
        names = "; ".join(p.describe() for p in self.pairs[:5])
        more = f" and {len(self.pairs) - 5} more" if len(self.pairs) > 5 else ""
        n_cells = sum(p.n_risky_cells for p in self.pairs)
        super().__init__(
            "release",
            f"{ReasonCode.DIFFERENCING.value}: {len(self.pairs)} output pair(s) count populations that "
            f"differ by fewer units than the rule set allows, or publish a population another output "
            f"suppresses ({n_cells} cell(s) involved: {names}{more})",
            "publish only one of each pair, suppress the linked cells in both, or change the populations "
            "so they differ by at least the threshold; the checker's report lists the pairs",
        )


class RegistryDamagedError(KitError):
    """The registry's files do not match its index (edited or damaged)."""

    exit_code = 4


def threshold_of(rules: RuleSet) -> int:
    """The differencing threshold: the rule set's ``differencing`` rule ``min_units``, else its minimum
    cell size.

    >>> from kit.core.rules import load_rule_set
    >>> threshold_of(load_rule_set("dst"))
    3
    """
    values = [int(getattr(r.params, "min_units", 0)) for r in rules.of_kind(RuleKind.DIFFERENCING)]
    return max([*values, rules.min_units()])


# ----------------------------------------------------------------- populations of outputs
def private_name(p: Any) -> str | None:
    """The output name of a private result (its spec's name, else its ``name``)."""
    spec = getattr(p, "spec", None)
    name = getattr(spec, "name", None) if spec is not None else None
    return name if isinstance(name, str) else getattr(p, "name", None)


def _table_cells(table: Any, release: str, salt: bytes) -> OutputCells:
    pops = table.unit_populations
    cells = table.evidence.cells
    dims = list(table.spec.dims)
    assessment = table.assessment
    margin = cells["is_margin"].to_numpy(dtype=bool)
    labels = {d: cells[d].astype(str).to_numpy() for d in dims}
    from kit.core.evidence import TOTAL

    patterns = [tuple(bool(margin[i] and labels[d][i] == TOTAL) for d in dims) for i in range(len(cells))]
    pattern_ids = {p: k for k, p in enumerate(sorted(set(patterns)))}
    counts = table.spec.statistic is Statistic.COUNT
    rows = [i for i in range(len(cells)) if bool(assessment.published[i])]  # not: bounded margins
    suppressed = {i: bool(assessment.statuses[i].suppressed) for i in rows}
    # a suppressed count is secret; a suppressed rate, mean or sum hides its value, not how many
    # units the cell has: those cells are recorded through their numerators (rates) only
    keep = [i for i in rows if counts or not suppressed[i]]
    pub = [not suppressed[i] for i in keep]
    layer = [pattern_ids[patterns[i]] for i in keep]
    attr = [False] * len(keep)
    parts = [salted(pops.cells.cell(i), salt) for i in keep]
    n_patterns = len(pattern_ids)
    if pops.positive is not None:
        parts += [salted(pops.positive.cell(i), salt) for i in rows]
        pub += [not suppressed[i] for i in rows]
        layer += [n_patterns + pattern_ids[patterns[i]] for i in rows]
        attr += [True] * len(rows)
    kind = [UNITS] * len(parts)
    elements = pops.elements
    if elements is not None:
        # magnitude and weighted tables: (unit, exact contribution) of every cell, suppressed ones
        # included (a later output must not publish what this one suppresses)
        for i in rows:
            cell = elements.cell(i)
            parts.append(element_keys(cell[:, 0], cell[:, 1], salt))
        pub += [not suppressed[i] for i in rows]
        layer += [2 * n_patterns + pattern_ids[patterns[i]] for i in rows]
        attr += [False] * len(rows)
        kind += [ELEMENTS] * len(rows)
    cp = CellPopulations.from_lists(parts)
    return OutputCells.build(table.spec.name, release, cp, pub, layer, attr, kind)


def _protocol_cells(private: Any, name: str, release: str, salt: bytes) -> OutputCells | None:
    mapping = private.populations()
    if mapping is None or (isinstance(mapping, Mapping) and len(mapping) == 0):
        return None  # a published estimate always rests on some units: empty means unknown
    if not isinstance(mapping, Mapping):
        raise PopulationsUnknownError(
            f"output '{name}'", "its populations() did not return a mapping of label to unit keys",
            "this is a bug in the estimator; release with differencing=False only after a manual check",
        )
    items = sorted(mapping.items())
    suppressed = [str(k).endswith(SUPPRESSED_SUFFIX) for k, _ in items]
    bare = [str(k).removesuffix(SUPPRESSED_SUFFIX) for k, _ in items]
    attr = [k.endswith(NUMERATOR_SUFFIX) for k in bare]
    kind = [ELEMENTS if k.endswith(ELEMENTS_SUFFIX) else UNITS for k in bare]
    parts = []
    for (_, v), kd in zip(items, kind):
        arr = np.asarray(v, dtype=np.uint64)
        if kd == ELEMENTS:
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise PopulationsUnknownError(
                    f"output '{name}'", "its populations() gave element rows that are not (unit, tag) pairs",
                    "this is a bug in the estimator; release with differencing=False only after a manual check",
                )
            parts.append(element_keys(arr[:, 0], arr[:, 1], salt))
        else:
            parts.append(salted(arr, salt))
    cp = CellPopulations.from_lists(parts)
    pub = [not s for s in suppressed]
    return OutputCells.build(name, release, cp, pub, list(range(len(parts))), attr, kind)


def output_cells(
    outputs: Iterable[object], privates: Mapping[Any, Any], release: str, salt: bytes, *,
    skip_unknown: bool = False,
) -> list[OutputCells]:
    """The registry cells of every output of a release (fail closed when an output's units are unknown,
    unless ``skip_unknown``: then only the outputs whose units are known, for recording)."""
    out: list[OutputCells] = []
    names = {getattr(o, "name", None) for o in outputs}
    missing: list[str] = []
    for obj in outputs:
        if not isinstance(obj, (ClearedTable, ClearedEstimate)):
            source = getattr(obj, "source", None)  # a figure: checked through its source
            if source is None or source.name in names:
                continue
            name = source.name
        else:
            name = obj.name
            provenance = getattr(obj, "provenance", None)
            if provenance is not None and getattr(provenance, "privacy_budget", None):
                continue  # differentially private: protected by its noise and the budget ledger
        private = privates.get(name)
        is_table = hasattr(private, "evidence") and getattr(private, "unit_populations", None) is not None
        if private is not None and is_table:
            out.append(_table_cells(private, release, salt))
        else:
            cells = (
                _protocol_cells(private, name, release, salt)
                if private is not None and callable(getattr(private, "populations", None))
                else None
            )
            if cells is None:
                missing.append(name)
            else:
                out.append(cells)
    if missing and not skip_unknown:
        shown = ", ".join(f"'{m}'" for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise PopulationsUnknownError(
            "release",
            f"the units counted by {len(missing)} output(s) are unknown ({shown}), so the differencing "
            "registry cannot compare them with the project's other outputs",
            "pass the private results (Session.release clears them itself), or, after an output checker "
            "compared them by hand, release with differencing=False (--no-differencing-check), which the "
            "manifest records",
        )
    return out


# ----------------------------------------------------------------- the registry on disk
def _npz_bytes(cells: OutputCells) -> bytes:
    buf = io.BytesIO()
    deltas = np.diff(cells.keys, prepend=np.uint64(0))  # sorted keys: small deltas compress better
    np.savez_compressed(
        buf, key_deltas=deltas, cells=cells.cells.astype(np.int32), published=cells.published,
        layer=cells.layer, partition=cells.partition, attribute=cells.attribute, kind=cells.kinds,
    )
    return buf.getvalue()


class ReleaseRegistry:
    """The registry folder of one project (private; on the server only).

    Parameters
    ----------
    folder
        The registry folder (default: ``differencing/`` in :func:`kit.state.project_state_dir`).
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else project_state_dir() / REGISTRY_FOLDER

    def __repr__(self) -> str:
        return f"<ReleaseRegistry {self.folder.name!r}: {len(self._index())} output(s); units hidden>"

    @property
    def path(self) -> Path:
        """The index file."""
        return self.folder / INDEX_FILE

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the registry's inter-process lock (check and record must both run inside)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with locked(self.path):
            yield

    def salt(self) -> bytes:
        """The project's salt (made on first use; call inside :meth:`held`)."""
        path = self.folder / _SALT_FILE
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, secrets.token_bytes(32))
        data = path.read_bytes()
        if len(data) != 32:
            raise RegistryDamagedError(
                f"registry salt '{_SALT_FILE}'", "it is damaged", "restore the registry folder from the backup"
            )
        return data

    def registry_id(self) -> str:
        """A public id of this registry (a digest of its salt): releases of one project share it."""
        digest = hashlib.sha256(b"kit-registry-id" + self.salt()).digest()
        return "".join(chr(ord("a") + b % 26) for b in digest[:12])  # letters only: no id-like digit runs

    def _index(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            entries = doc["outputs"]
            if doc.get("format") != _FORMAT or not isinstance(entries, list):
                raise ValueError
            return [dict(e) for e in entries]
        except (ValueError, KeyError, TypeError):
            raise RegistryDamagedError(
                f"registry index '{INDEX_FILE}'", "it cannot be read (damaged or of another kit version)",
                "restore the registry folder from the project's backup; the kit never edits it by hand",
            ) from None

    def _path(self, e: Mapping[str, Any], key: str) -> Path:
        return self.folder / ("sketches" if key == "sketch" else "outputs") / str(e[key])

    def _damaged(self, e: Mapping[str, Any]) -> RegistryDamagedError:
        return RegistryDamagedError(
            f"registry file for output '{e.get('output')}'", "it is missing or does not match the index",
            "restore the registry folder from the project's backup",
        )

    def _read(self, e: Mapping[str, Any], key: str, digest: str) -> bytes:
        try:
            data = self._path(e, key).read_bytes()
        except OSError:
            data = b""
        if hashlib.sha256(data).hexdigest() != e.get(digest):
            raise self._damaged(e)
        return data

    def _stat_ok(self, e: Mapping[str, Any]) -> None:
        """A cheap check of a data file the prefilter does not read (its digest is checked when read)."""
        try:
            size = self._path(e, "file").stat().st_size
        except OSError:
            raise self._damaged(e) from None
        if "size" in e and size != e["size"]:
            raise self._damaged(e)

    def _cells(self, e: Mapping[str, Any]) -> OutputCells:
        with np.load(io.BytesIO(self._read(e, "file", "sha256"))) as z:
            keys = np.cumsum(z["key_deltas"], dtype=np.uint64)
            kind = z["kind"] if "kind" in z.files else None  # recorded before element cells: all units
            return OutputCells(str(e["output"]), str(e["release"]), keys, z["cells"], z["published"],
                               z["layer"], z["partition"], z["attribute"], kind)

    def entries(self) -> list[OutputCells]:
        """Every recorded output (checked against its index digest; pending ones included)."""
        return [self._cells(e) for e in self._index()]

    def check_cells(self, new: Sequence[OutputCells], threshold: int) -> tuple[DifferencingPair, ...]:
        """Pairs of new outputs with each other and with recorded outputs (blocking ones first).

        New outputs are compared with each other exactly. A recorded output is read and compared
        exactly only when its sketch says it may fire against a new output
        (:func:`kit.release.prefilter.may_fire`, which never skips a risky one); the pairs of the
        outputs it skips (none risky) are not listed.
        """
        pairs: list[DifferencingPair] = []

        def add(a: OutputCells, b: OutputCells) -> None:
            found = compare(a, b, threshold)
            if found.n_common:
                pairs.append(
                    DifferencingPair(a.name, a.release, b.name, b.release, "", "", found.n_common, found.n_risky,
                                     found.smallest, threshold)
                )

        for k, a in enumerate(new):
            for b in new[k + 1 :]:
                add(a, b)
        own: dict[int, list[NewSide]] = {}
        # the prefilter's bound on key differences: t-1, or 2 (t-1) for an output with element cells
        # (a unit whose contribution changed differs by two keys); never smaller than compare's
        bounds = [key_bound(threshold, a.kinds) + 1 for a in new]
        for e in self._index():
            self._stat_ok(e)
            if "sketch" in e:
                sb = OutputSketch.from_bytes(self._read(e, "sketch", "sketch_sha256"))
                if sb.m not in own:
                    own[sb.m] = [NewSide(a, sb.m) for a in new]
                firing = [side.a for side, t in zip(own[sb.m], bounds) if may_fire(side, sb, t)]
            else:
                firing = list(new)  # recorded before sketches: compared exactly
            if firing:
                b = self._cells(e)
                for a in firing:
                    add(a, b)
        return tuple(p for p in pairs if p.blocking) + tuple(p for p in pairs if not p.blocking)

    def record_cells(
        self, new: Sequence[OutputCells], rules: RuleSet, created: str, pending: str | None = None
    ) -> int:
        """Append outputs to the registry (data files first, then the index, each atomically).

        With ``pending`` (the release folder about to be renamed into place), the entries are marked
        pending: :meth:`commit` clears the mark once the release is in place; a pending entry whose
        release folder never appeared (a writer killed before its rename) is dropped by
        :meth:`resolve_pending` at the next use, one whose folder exists is kept. Pending entries are
        checked against like recorded ones, so a killed writer never lets a later release through.
        """
        if not new:
            return 0
        index = self._index()
        (self.folder / "outputs").mkdir(parents=True, exist_ok=True)
        (self.folder / "sketches").mkdir(parents=True, exist_ok=True)
        m = max(threshold_of(rules), 2)
        for cells in new:
            data = _npz_bytes(cells)
            sketch = OutputSketch.of(cells, m).to_bytes()
            stem = f"{cells.release}--{cells.name}--{secrets.token_hex(4)}"
            atomic_write_bytes(self.folder / "outputs" / f"{stem}.npz", data)
            atomic_write_bytes(self.folder / "sketches" / f"{stem}.npz", sketch)
            entry = {
                "release": cells.release, "output": cells.name, "file": f"{stem}.npz", "created": created,
                "rule_set": rules.id, "threshold": threshold_of(rules), "n_cells": cells.n_cells,
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "sketch": f"{stem}.npz",
                "sketch_sha256": hashlib.sha256(sketch).hexdigest(),
            }
            if pending is not None:
                entry["pending"] = pending
            index.append(entry)
        self._write_index(index)
        return len(new)

    def _write_index(self, index: list[dict[str, Any]]) -> None:
        atomic_write_text(self.path, json.dumps({"format": _FORMAT, "outputs": index}, indent=1, sort_keys=True))

    def commit(self, pending: str) -> int:
        """Clear the pending mark of the entries recorded for release folder ``pending`` (call inside :meth:`held`)."""
        index = self._index()
        n = sum(1 for e in index if e.get("pending") == pending)
        if n:
            for e in index:
                if e.get("pending") == pending:
                    del e["pending"]
            self._write_index(index)
        return n

    def abort(self, pending: str) -> int:
        """Drop the entries recorded for release folder ``pending`` (its release failed; inside :meth:`held`)."""
        index = self._index()
        drop = [e for e in index if e.get("pending") == pending]
        if drop:
            self._write_index([e for e in index if e.get("pending") != pending])
            for e in drop:
                for key in ("file", "sketch"):
                    if key in e:
                        self._path(e, key).unlink(missing_ok=True)
        return len(drop)

    def resolve_pending(self) -> tuple[int, int]:
        """Settle entries left pending by a killed writer (inside :meth:`held`): kept (committed) when
        their release folder exists, dropped when it does not. Returns (committed, dropped)."""
        folders = {str(e["pending"]) for e in self._index() if "pending" in e}
        kept = dropped = 0
        for folder in sorted(folders):
            if Path(folder).exists():
                kept += self.commit(folder)
            else:
                dropped += self.abort(folder)
        if kept or dropped:
            log.warning("differencing registry: %d entry(ies) of interrupted releases kept, %d dropped", kept, dropped)
        return kept, dropped

    # convenience wrappers (lock held by the caller or taken here)
    def check(
        self, outputs: Iterable[object], privates: Mapping[Any, Any], rules: RuleSet, release: str
    ) -> tuple[DifferencingPair, ...]:
        """Check a release's outputs (under the lock); see :meth:`check_cells`."""
        with self.held():
            self.resolve_pending()
            return self.check_cells(output_cells(list(outputs), privates, release, self.salt()), threshold_of(rules))

    def record(
        self, outputs: Iterable[object], privates: Mapping[Any, Any], rules: RuleSet, release: str, created: str
    ) -> int:
        """Record a release's outputs (under the lock); returns the number recorded."""
        with self.held():
            return self.record_cells(output_cells(list(outputs), privates, release, self.salt()), rules, created)


def as_registry(obj: ReleaseRegistry | str | os.PathLike[str] | None) -> ReleaseRegistry:
    """A registry from a registry object, its folder, or ``None`` (the project's)."""
    if obj is None:
        return ReleaseRegistry()
    if isinstance(obj, ReleaseRegistry):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        return ReleaseRegistry(obj)
    raise SpecError(
        "registry",
        f"a {type(obj).__name__} is not a release registry",
        "pass a kit.release.ReleaseRegistry or the path of its folder",
    )


@dataclass
class DifferencingGuard:
    """One release's use of the registry: check and record under one lock (used by the writer).

    With ``enabled=False`` nothing is checked, but the outputs whose units are known are still
    recorded (a later release is checked against them), and :meth:`manifest_entry` says so.
    """

    registry: ReleaseRegistry | None
    rules: RuleSet
    release: str
    enabled: bool = True

    def __post_init__(self) -> None:
        self._cells: list[OutputCells] = []
        self._pending: str | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """The registry lock (no lock without a registry)."""
        if self.registry is None:
            yield
            return
        with self.registry.held():
            yield

    def check(self, outputs: Sequence[object], privates: Mapping[Any, Any]) -> tuple[DifferencingPair, ...]:
        """Compute the release's cells and compare them (call inside :meth:`held`)."""
        if self.registry is None:
            return ()
        self.registry.resolve_pending()
        if not self.enabled:
            log.warning("release %s: differencing check turned off by the caller", self.release)
            # not checked, but recorded: an opted-out release must not let the next one pass
            self._cells = output_cells(outputs, privates, self.release, self.registry.salt(), skip_unknown=True)
            return ()
        self._cells = output_cells(outputs, privates, self.release, self.registry.salt())
        return self.registry.check_cells(self._cells, threshold_of(self.rules))

    def record(self, created: str, pending: str | os.PathLike[str] | None = None) -> int:
        """Record the checked cells (call inside :meth:`held`).

        The writer records them *pending* on its release folder before renaming it into place, then
        :meth:`commit` (or :meth:`abort` when the release fails): a writer killed in between leaves
        a pending entry that the next check settles (:meth:`ReleaseRegistry.resolve_pending`).
        """
        if self.registry is None or not self._cells:
            return 0
        self._pending = None if pending is None else str(Path(pending).absolute())
        return self.registry.record_cells(self._cells, self.rules, created, pending=self._pending)

    def commit(self) -> None:
        """The release folder is in place: the pending entries become recorded."""
        if self.registry is not None and self._pending is not None:
            self.registry.commit(self._pending)
            self._pending = None

    def abort(self) -> None:
        """The release failed: drop its pending entries (if any)."""
        if self.registry is not None and self._pending is not None:
            self.registry.abort(self._pending)
            self._pending = None

    def manifest_entry(self) -> dict[str, Any]:
        """What the manifest says about the check (no counts of units)."""
        if not self.enabled:
            return {"checked": False, "recorded_outputs": len(self._cells),
                    "note": "the differencing check was turned off by the caller (differencing=False); an "
                    "output checker must compare these outputs by hand; outputs whose units are known are "
                    "recorded for later releases"}
        assert self.registry is not None
        return {"checked": True, "threshold": threshold_of(self.rules), "outputs_checked": len(self._cells),
                "registry_id": self.registry.registry_id()}
