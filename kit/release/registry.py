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
  number and an attribute flag (the ground truth; read only to compare an output exactly);
- ``index/m<m>/*.bin``: the **merged sketch index** (:mod:`kit.release.index`): every recorded
  output's per-cell sketch (per cell and key bucket: count, key sum, smallest and largest key, fill;
  per cell a full-set hash and flags; the keys of small cells), appended at record time to one set
  of fixed-width column files per bucket count, memory-mapped and tested in one vectorised pass by
  :func:`kit.release.prefilter.firing_outputs` on every check (about 1 MB per output of 10,000
  cells, whatever the number of persons);
- ``cellcodes/<same name>.json.gz``: per output its dimension names and, per cell, its codes and
  label (:mod:`kit.release.cellnames`; public codes only, no unit, count or value), so that a
  finding names its cells (``residents [KOM=K3, KON=F]``); its SHA-256 and size are in
  ``index.json`` and checked like a data file's;
- ``index.json``: one entry per recorded output with the SHA-256 and size of its data file, its
  comparison bound and its rows in the merged index with their SHA-256; and the merged index's
  committed lengths. A data file missing or of another size, or index rows that do not match their
  digest, stop every later release (:class:`RegistryDamagedError`); a data file's digest is checked
  whenever it is read. The index is derived data: :meth:`ReleaseRegistry.rebuild_index` rebuilds it
  from the verified data files (a registry of the earlier format, with one sketch file per output,
  is rebuilt automatically at its first use).

Check and record run under one inter-process lock (:func:`kit.state.locked` on ``index.json``).
Inside it the release writer records the cells *pending* on its release folder, renames the folder
into place and commits the record (:meth:`ReleaseRegistry.record_cells`, :meth:`~ReleaseRegistry.commit`);
a failed release drops its pending record, and one left by a killed writer is settled by the next
check (:meth:`~ReleaseRegistry.resolve_pending`): kept when the folder exists, dropped when not.

Only recorded outputs the index cannot rule out are read and compared exactly
(:func:`kit.release.prefilter.firing_outputs`; it never rules out one that fires). Cost at 1,000
recorded outputs of 10,000 cells over 6 M persons: about 4-5 s per release on the shared 2-core
machine, most of it sketching the new output and reading the 1 GB index (benchmarks/README.md).

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kit.core.cleared import ClearedEstimate, ClearedTable
from kit.core.populations import ELEMENTS_SUFFIX, CellPopulations, element_keys, salted
from kit.core.rules.loader import RuleSet
from kit.core.rules.model import RuleKind
from kit.core.spec_types import Statistic
from kit.core.status import ReasonCode
from kit.errors import DisclosureError, PopulationsUnknownError, SpecError
from kit.release.cellnames import CellCodes, CellName, NamedLink, describe_links
from kit.release.index import RegistryDamagedError, SketchIndex
from kit.release.prefilter import NewSide, OutputSketch, bucket_count, firing_outputs
from kit.release.set_compare import ELEMENTS, UNITS, Comparison, OutputCells, compare, key_bound, risky_links
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
_FORMAT = 4
#: Earlier formats read (and migrated under the lock): 3 kept one sketch file per output.
_READ_FORMATS = (3, 4)
#: Folder of the cell-codes sidecars (:mod:`kit.release.cellnames`: public codes, no units).
_CODES_FOLDER = "cellcodes"
#: Risky cell links named per pair (the pair's count of risky cells is always complete).
_MAX_LINKS = 100


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
    #: The risky cells by their codes (:mod:`kit.release.cellnames`; the first ones of a blocking pair).
    cells: tuple[NamedLink, ...] = ()

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
        links = [k for p in self.pairs for k in p.cells]
        cells = f"; cells: {describe_links(links)}" if links else ""  # codes only: public in the outputs
        super().__init__(
            "release",
            f"{ReasonCode.DIFFERENCING.value}: {len(self.pairs)} output pair(s) count populations that "
            f"differ by fewer units than the rule set allows, or publish a population another output "
            f"suppresses ({n_cells} cell(s) involved: {names}{more}{cells})",
            "publish only one of each pair, suppress the linked cells in both, or change the populations "
            "so they differ by at least the threshold; the checker's report lists the pairs",
        )


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
    row_codes = tuple(tuple(str(labels[d][i]) for d in dims) for i in rows)
    codes = CellCodes(tuple(str(d) for d in dims), tuple(tuple(str(labels[d][i]) for d in dims) for i in keep)
                      + (row_codes if pops.positive is not None else ()) + (row_codes if elements is not None else ()),
                      tuple("numerator" if a else ("contributions" if kd == ELEMENTS else "")
                            for a, kd in zip(attr, kind)))
    return replace(OutputCells.build(table.spec.name, release, cp, pub, layer, attr, kind), codes=codes)


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
    codes = CellCodes((), ((),) * len(items), tuple(str(k) for k, _ in items))
    return replace(OutputCells.build(name, release, cp, pub, list(range(len(parts))), attr, kind), codes=codes)


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


def _named_links(a: OutputCells, b: OutputCells, threshold: int, found: Comparison) -> tuple[NamedLink, ...]:
    """The risky cells of a pair by their codes (``cell #k`` where an output's codes are unknown)."""
    if not found.n_risky:
        return ()

    def names(cells: OutputCells, idx: tuple[int, ...]) -> tuple[CellName, ...]:
        if cells.codes is not None:
            try:
                if len(cells.codes) == cells.n_cells:
                    return tuple(cells.codes.name(cells.name, k) for k in idx)
            except ValueError:  # digest-checked but unreadable: named by index (the pair still blocks)
                log.warning("differencing registry: the cell codes of output '%s' cannot be read", cells.name)
        return tuple(CellName(cells.name, (), f"cell #{k}") for k in idx)

    out: list[NamedLink] = []
    for link in risky_links(a, b, threshold, found, limit=_MAX_LINKS):
        named = NamedLink(names(a, link.a), names(b, link.b))
        if named not in out:
            out.append(named)
    return tuple(out)


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

    def _doc(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The index file: its entries and the merged index's committed lengths per bucket count."""
        if not self.path.exists():
            return [], {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            entries = doc["outputs"]
            groups = doc.get("index", {})
            if doc.get("format") not in _READ_FORMATS or not isinstance(entries, list) or not isinstance(groups, dict):
                raise ValueError
            return [dict(e) for e in entries], dict(groups)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RegistryDamagedError(
                f"registry index '{INDEX_FILE}'", "it cannot be read (damaged or of another kit version)",
                "restore the registry folder from the project's backup; the kit never edits it by hand",
            ) from None

    def _index(self) -> list[dict[str, Any]]:
        return self._doc()[0]

    def _path(self, e: Mapping[str, Any], key: str) -> Path:
        return self.folder / {"sketch": "sketches", "codes": _CODES_FOLDER}.get(key, "outputs") / str(e[key])

    @property
    def _sketches(self) -> SketchIndex:
        return SketchIndex(self.folder)

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
        self._codes_stat_ok(e)

    # cell codes (public; for naming findings): written with the data file, checked like it
    def _write_codes(self, cells: OutputCells, stem: str) -> dict[str, Any]:
        if cells.codes is None:
            return {}
        data = cells.codes.to_bytes()
        atomic_write_bytes(self.folder / _CODES_FOLDER / f"{stem}.json.gz", data)
        return {"codes": f"{stem}.json.gz", "codes_sha256": hashlib.sha256(data).hexdigest(), "codes_size": len(data)}

    def _codes_damaged(self, e: Mapping[str, Any]) -> RegistryDamagedError:
        return RegistryDamagedError(
            f"registry cell codes of output '{e.get('output')}' ({_CODES_FOLDER}/{e.get('codes')})",
            "the file is missing, or was edited: it does not match the registry's index",
            "restore the registry folder from the project's backup; the kit never edits it by hand",
        )

    def _codes_stat_ok(self, e: Mapping[str, Any]) -> None:
        """A cheap check of a cell-codes file (its digest is checked whenever it is read)."""
        if "codes" not in e:
            return  # recorded before cell codes: findings name its cells by index
        try:
            size = self._path(e, "codes").stat().st_size
        except OSError:
            raise self._codes_damaged(e) from None
        if size != e.get("codes_size"):
            raise self._codes_damaged(e)

    def _with_codes(self, e: Mapping[str, Any], cells: OutputCells) -> OutputCells:
        """``cells`` with the codes of its sidecar (digest-checked; read with the data file)."""
        if "codes" not in e:
            return cells
        try:
            data = self._path(e, "codes").read_bytes()
        except OSError:
            raise self._codes_damaged(e) from None
        if hashlib.sha256(data).hexdigest() != e.get("codes_sha256"):
            raise self._codes_damaged(e)
        return replace(cells, codes=CellCodes.stored(data))  # parsed only to name a risky pair's cells

    def _cells(self, e: Mapping[str, Any]) -> OutputCells:
        with np.load(io.BytesIO(self._read(e, "file", "sha256"))) as z:
            keys = np.cumsum(z["key_deltas"], dtype=np.uint64)
            kind = z["kind"] if "kind" in z.files else None  # recorded before element cells: all units
            return OutputCells(str(e["output"]), str(e["release"]), keys, z["cells"], z["published"],
                               z["layer"], z["partition"], z["attribute"], kind)

    def entries(self) -> list[OutputCells]:
        """Every recorded output (checked against its index digest; pending ones included)."""
        return [self._cells(e) for e in self._index()]

    def check_cells(
        self, new: Sequence[OutputCells], threshold: int, bound: int | None = None
    ) -> tuple[DifferencingPair, ...]:
        """Pairs of new outputs with each other and with recorded outputs (blocking ones first; call
        inside :meth:`held`).

        New outputs are compared with each other exactly. Recorded outputs are first tested together
        on the merged sketch index (:func:`kit.release.prefilter.firing_outputs`, which never skips
        a risky one); only those that may fire are read and compared exactly; the pairs of the
        outputs it skips (none risky) are not listed. ``bound`` is the largest difference any
        comparison class may flag (default ``threshold - 1``); the index proves pairs within it.
        """
        pairs: list[DifferencingPair] = []
        k = threshold - 1 if bound is None else int(bound)

        def add(a: OutputCells, b: OutputCells) -> None:
            found = compare(a, b, threshold)
            if found.n_common:
                pairs.append(
                    DifferencingPair(a.name, a.release, b.name, b.release, "", "", found.n_common, found.n_risky,
                                     found.smallest, threshold, cells=_named_links(a, b, threshold, found))
                )

        for i, a in enumerate(new):
            for b in new[i + 1 :]:
                add(a, b)
        entries, groups = self._ensure_indexed()
        for e in entries:
            self._stat_ok(e)
        by_m: dict[int, list[int]] = {}
        for pos, e in enumerate(entries):
            by_m.setdefault(int(e["index"]["m"]), []).append(pos)
        firing: dict[int, list[OutputCells]] = {}
        for m, members in sorted(by_m.items()):
            members.sort(key=lambda p: int(entries[p]["index"]["cells"][0]))
            rows = self._sketches.load(groups, [entries[p]["index"] for p in members])
            for a in new:
                # t-1, or 2 (t-1) for an output with element cells (a unit whose contribution changed
                # differs by two keys); a bound above the entries' buckets compares them exactly
                fire = firing_outputs(NewSide(a, m), rows, max(k, key_bound(threshold, a.kinds)))
                for j in np.flatnonzero(fire).tolist():
                    firing.setdefault(members[j], []).append(a)
        for pos in sorted(firing):
            b = self._with_codes(entries[pos], self._cells(entries[pos]))
            for a in firing[pos]:
                add(a, b)
        return tuple(p for p in pairs if p.blocking) + tuple(p for p in pairs if not p.blocking)

    def _ensure_indexed(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Entries and index lengths, after indexing entries recorded by an earlier format (inside :meth:`held`)."""
        entries, groups = self._doc()
        if all("index" in e for e in entries):
            return entries, groups
        if any("index" in e for e in entries):
            raise RegistryDamagedError(
                f"registry index '{INDEX_FILE}'", "some recorded outputs have no index entry (edited)",
                "restore the registry folder from the project's backup, or rebuild the index with "
                "kit.release.ReleaseRegistry(<folder>).rebuild_index()",
            )
        log.warning("differencing registry: building the merged index of %d output(s) of an earlier format",
                    len(entries))
        return self.rebuild_index()

    def rebuild_index(self, bound: int | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Rebuild the merged sketch index from the per-output data files (inside :meth:`held`; each data
        file is verified against its digest). ``bound`` overrides every output's recorded one."""
        entries, _ = self._doc()
        sketches = self._sketches
        sketches.clear()
        groups: dict[str, Any] = {}
        for e in entries:
            k = int(e.get("bound", int(e.get("threshold", 3)) - 1)) if bound is None else int(bound)
            e["index"] = sketches.append(groups, OutputSketch.of(self._cells(e), bucket_count(k)))
            if "sketch" in e:
                self._path(e, "sketch").unlink(missing_ok=True)
                del e["sketch"]
                e.pop("sketch_sha256", None)
        self._write_index(entries, groups)
        return entries, groups

    def record_cells(
        self, new: Sequence[OutputCells], rules: RuleSet, created: str, pending: str | None = None,
        bound: int | None = None,
    ) -> int:
        """Append outputs to the registry (data files, then the merged index, then ``index.json``, each
        written safely: a killed writer leaves no entry, or a pending one).

        With ``pending`` (the release folder about to be renamed into place), the entries are marked
        pending: :meth:`commit` clears the mark once the release is in place; a pending entry whose
        release folder never appeared (a writer killed before its rename) is dropped by
        :meth:`resolve_pending` at the next use, one whose folder exists is kept. Pending entries are
        checked against like recorded ones, so a killed writer never lets a later release through.
        ``bound`` (default ``threshold - 1``) is the largest difference the index must prove pairs
        within; it sets the number of key buckets.
        """
        if not new:
            return 0
        index, groups = self._ensure_indexed()
        (self.folder / "outputs").mkdir(parents=True, exist_ok=True)
        (self.folder / _CODES_FOLDER).mkdir(parents=True, exist_ok=True)
        k = threshold_of(rules) - 1 if bound is None else int(bound)
        for cells in new:
            k_cells = max(k, key_bound(threshold_of(rules), cells.kinds))  # element cells: 2 (t-1)
            m = bucket_count(k_cells)
            data = _npz_bytes(cells)
            stem = f"{cells.release}--{cells.name}--{secrets.token_hex(4)}"
            atomic_write_bytes(self.folder / "outputs" / f"{stem}.npz", data)
            entry: dict[str, Any] = {
                "release": cells.release, "output": cells.name, "file": f"{stem}.npz", "created": created,
                "rule_set": rules.id, "threshold": threshold_of(rules), "bound": k_cells, "n_cells": cells.n_cells,
                "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                "index": self._sketches.append(groups, OutputSketch.of(cells, m)),
            }
            entry.update(self._write_codes(cells, stem))
            if pending is not None:
                entry["pending"] = pending
            index.append(entry)
        self._write_index(index, groups)
        return len(new)

    def _write_index(self, index: list[dict[str, Any]], groups: dict[str, Any] | None = None) -> None:
        if groups is None:
            groups = self._doc()[1]
        atomic_write_text(self.path, json.dumps({"format": _FORMAT, "outputs": index, "index": groups}, indent=1,
                                                sort_keys=True))

    def commit(self, pending: str) -> int:
        """Clear the pending mark of the entries recorded for release folder ``pending`` (call inside :meth:`held`)."""
        index, groups = self._doc()
        n = sum(1 for e in index if e.get("pending") == pending)
        if n:
            for e in index:
                if e.get("pending") == pending:
                    del e["pending"]
            self._write_index(index, groups)
        return n

    def abort(self, pending: str) -> int:
        """Drop the entries recorded for release folder ``pending`` (its release failed; inside :meth:`held`).

        Their rows are cut from the end of the merged index (they are its last rows unless another
        release was recorded after them); otherwise the index is rebuilt from the data files.
        """
        index, groups = self._doc()
        drop = [e for e in index if e.get("pending") == pending]
        if not drop:
            return 0
        keep = [e for e in index if e.get("pending") != pending]
        rebuild = False
        for m in {int(e["index"]["m"]) for e in drop if "index" in e}:
            kept = [e["index"] for e in keep if "index" in e and int(e["index"]["m"]) == m]
            end_cells = max((int(x["cells"][1]) for x in kept), default=0)
            end_small = max((int(x["small"][1]) for x in kept), default=0)
            first_dropped = min(int(e["index"]["cells"][0]) for e in drop if "index" in e and int(e["index"]["m"]) == m)
            if first_dropped >= end_cells:
                self._sketches.truncate(groups, m, end_cells, end_small)
            else:
                rebuild = True
        if rebuild:
            # rows in the middle cannot be cut: forget the whole index first, so that a writer killed
            # before the rebuild below leaves a registry that is rebuilt at its next use
            for e in keep:
                e.pop("index", None)
            groups = {}
        self._write_index(keep, groups)
        for e in drop:
            for key in ("file", "sketch", "codes"):
                if key in e:
                    self._path(e, key).unlink(missing_ok=True)
        if rebuild:
            self.rebuild_index()
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

    With ``enabled=False`` nothing is refused, but the outputs whose units are known are still
    compared (the pairs are returned for the checker's report; the writer does not block on them)
    and recorded (a later release is checked against them), and :meth:`manifest_entry` says so.
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
            # not enforced (the writer does not block), but reported to the output checker by cell
            return self.registry.check_cells(self._cells, threshold_of(self.rules))
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
