"""The registry's merged sketch index on disk: every recorded output's sketch, one set of column files.

A check reads the sketches of every recorded output (:mod:`kit.release.prefilter`). Kept per output
they cost one file read, one digest and one set of array operations per output; here they are
appended, at record time, to one set of raw column files per bucket count ``m``, memory-mapped at
check time and tested in one vectorised pass (:class:`~kit.release.prefilter.SketchRows`).

Layout: ``<registry>/index/m<m>/<column>.bin``, little-endian, fixed width:

=============== ========= ========================================================
column          dtype     rows
=============== ========= ========================================================
``count``       int32     one per cell, ``m`` wide: units per bucket
``total``       uint64    one per cell, ``m`` wide: key sums mod 2**64
``low``         uint64    one per cell, ``m`` wide: smallest key (0: empty)
``high``        uint64    one per cell, ``m`` wide: largest key (0: empty)
``layer``       int32     one per cell: layer number within its output
``flags``       uint8     one per cell: published, attribute, partition bits
``full_hash``   uint64    one per cell: hash of every bucket (identical sets: equal)
``fill``        int32     one per cell, ``m`` wide: count plus the smallest other
                          non-empty count of its partition layer (2**31-1: none)
``small_keys``  uint64    one per key of a small cell
``small_cells`` int32     one per key of a small cell: cell number within its output
=============== ========= ========================================================

Per-cell metadata is extensible: a new per-cell column (e.g. a cell kind) is one more entry in
:data:`CELL_COLUMNS` (a new index format) or a new bit in ``flags``.

Integrity: the registry's ``index.json`` holds, per bucket count, the committed number of cells and
small keys (bytes past them, left by a killed writer, are ignored and cut at the next append), and
per recorded output its ranges and the SHA-256 of its rows in every column. :meth:`SketchIndex.load`
verifies every output's digest and that the outputs tile the committed rows; anything else raises
:class:`RegistryDamagedError` (the release stops). The index is derived data: it is rebuilt from
the per-output data files (:meth:`kit.release.registry.ReleaseRegistry.rebuild_index`).

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> from kit.core.populations import CellPopulations
>>> from kit.release.prefilter import OutputSketch
>>> from kit.release.set_compare import OutputCells
>>> k = np.arange(1, 100, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
>>> out = OutputCells.build("a", "r", CellPopulations.from_lists([k[:50], k[50:]]), [True, True], [0, 0])
>>> idx = SketchIndex(pathlib.Path(tempfile.mkdtemp()))
>>> groups: dict = {}
>>> meta = idx.append(groups, OutputSketch.of(out, 3))
>>> meta["cells"], groups
([0, 2], {'3': {'cells': 2, 'small': 99}})
>>> idx.load(groups, [meta]).n_outputs
1
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kit.errors import KitError
from kit.release.prefilter import OutputSketch, SketchRows

__all__ = ["CELL_COLUMNS", "INDEX_FOLDER", "SMALL_COLUMNS", "RegistryDamagedError", "SketchIndex"]

#: Folder of the merged index inside the registry folder.
INDEX_FOLDER = "index"
#: Per-cell columns: (name, dtype, bucket-wide).
CELL_COLUMNS: tuple[tuple[str, type, bool], ...] = (
    ("count", np.int32, True), ("total", np.uint64, True), ("low", np.uint64, True), ("high", np.uint64, True),
    ("layer", np.int32, False), ("flags", np.uint8, False), ("full_hash", np.uint64, False), ("fill", np.int32, True),
)
#: Per-small-key columns.
SMALL_COLUMNS: tuple[tuple[str, type], ...] = (("small_keys", np.uint64), ("small_cells", np.int32))


class RegistryDamagedError(KitError):
    """The registry's files do not match its index (edited or damaged)."""

    exit_code = 4


def _damaged(what: str) -> RegistryDamagedError:
    return RegistryDamagedError(
        f"differencing registry index ({what})", "it is missing or does not match index.json (damaged or edited)",
        "restore the registry folder from the project's backup; if only the index/ folder is affected, an "
        "output checker can rebuild it from the verified data files with "
        "kit.release.ReleaseRegistry(<folder>).rebuild_index()",
    )


def _sketch_columns(sk: OutputSketch) -> dict[str, np.ndarray]:
    return {
        "count": sk.count.astype(np.int32), "total": sk.total.astype(np.uint64), "low": sk.low.astype(np.uint64),
        "high": sk.high.astype(np.uint64), "layer": sk.layer.astype(np.int32), "flags": sk.flags,
        "full_hash": sk.full_hash, "fill": sk.fill.astype(np.int32),
        "small_keys": sk.small_keys.astype(np.uint64), "small_cells": sk.small_cells.astype(np.int32),
    }


class SketchIndex:
    """The merged index folder of one registry (private; call every method under the registry lock).

    Parameters
    ----------
    registry_folder
        The registry folder (the index lives in its ``index/`` subfolder).
    """

    def __init__(self, registry_folder: Path) -> None:
        self.folder = Path(registry_folder) / INDEX_FOLDER

    def __repr__(self) -> str:
        return "<SketchIndex; units hidden>"

    def _file(self, m: int, name: str) -> Path:
        return self.folder / f"m{m}" / f"{name}.bin"

    def _widths(self, m: int) -> dict[str, tuple[np.dtype[Any], int, str]]:
        out: dict[str, tuple[np.dtype[Any], int, str]] = {}
        for name, dt, wide in CELL_COLUMNS:
            out[name] = (np.dtype(dt), m if wide else 1, "cells")
        for name, dt in SMALL_COLUMNS:
            out[name] = (np.dtype(dt), 1, "small")
        return out

    def append(self, groups: dict[str, Any], sketch: OutputSketch, durable: bool = True) -> dict[str, Any]:
        """Append one output's sketch; updates ``groups`` (the committed lengths, written to index.json
        by the caller) and returns the output's index entry (ranges and digest). ``durable=False``
        skips the fsync of every column (benchmarks filling an index in bulk only)."""
        m = sketch.m
        g = groups.setdefault(str(m), {"cells": 0, "small": 0})
        start = {"cells": int(g["cells"]), "small": int(g["small"])}
        cols = _sketch_columns(sketch)
        (self.folder / f"m{m}").mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        for name, (dt, width, kind) in self._widths(m).items():
            data = np.ascontiguousarray(cols[name], dtype=dt).tobytes()
            digest.update(data)
            path = self._file(m, name)
            committed = start[kind] * width * dt.itemsize
            with open(path, "r+b" if path.exists() else "w+b") as f:
                f.truncate(committed)  # bytes of a killed writer past the committed rows
                f.seek(committed)
                f.write(data)
                f.flush()
                if durable:
                    os.fsync(f.fileno())
        n_cells, n_small = len(sketch.layer), len(sketch.small_keys)
        g["cells"], g["small"] = start["cells"] + n_cells, start["small"] + n_small
        return {"m": m, "cells": [start["cells"], start["cells"] + n_cells],
                "small": [start["small"], start["small"] + n_small], "layers": sketch.n_layers,
                "sha256": digest.hexdigest()}

    def _column(self, m: int, name: str, n_rows: int) -> np.ndarray:
        dt, width, _ = self._widths(m)[name]
        shape = (n_rows, width) if width > 1 else (n_rows,)
        path = self._file(m, name)
        try:
            size = path.stat().st_size
        except OSError:
            raise _damaged(f"column '{name}' missing") from None
        if size < n_rows * width * dt.itemsize:
            raise _damaged(f"column '{name}' too short")
        if n_rows == 0:
            return np.zeros(shape, dtype=dt)
        return np.memmap(path, dtype=dt, mode="r", shape=shape)

    def load(self, groups: Mapping[str, Any], metas: Sequence[Mapping[str, Any]]) -> SketchRows:
        """The merged sketches of ``metas`` (index entries of one bucket count, in row order), memory-mapped
        and verified against their digests."""
        if not metas:
            raise ValueError("no outputs")
        m = int(metas[0]["m"])
        g = groups.get(str(m))
        if not isinstance(g, Mapping):
            raise _damaged(f"no committed rows for {m} buckets")
        n_cells, n_small = int(g["cells"]), int(g["small"])
        cols = {name: self._column(m, name, n_cells if kind == "cells" else n_small)
                for name, (_, _, kind) in self._widths(m).items()}
        cell_start, small_start, layers = [0], [0], [0]
        for meta in metas:
            c0, c1 = (int(x) for x in meta["cells"])
            s0, s1 = (int(x) for x in meta["small"])
            if int(meta["m"]) != m or c0 != cell_start[-1] or s0 != small_start[-1] or c1 < c0 or s1 < s0:
                raise _damaged("outputs do not tile the rows")
            digest = hashlib.sha256()
            for name, (_, _, kind) in self._widths(m).items():
                lo, hi = (c0, c1) if kind == "cells" else (s0, s1)
                digest.update(np.ascontiguousarray(cols[name][lo:hi]).data.cast("B"))
            if digest.hexdigest() != meta.get("sha256"):
                raise _damaged("an output's rows do not match their digest")
            cell_start.append(c1)
            small_start.append(s1)
            layers.append(layers[-1] + int(meta["layers"]))
        if cell_start[-1] != n_cells or small_start[-1] != n_small:
            raise _damaged("rows without an output")
        return SketchRows(m, np.asarray(cell_start, dtype=np.int64), np.asarray(small_start, dtype=np.int64),
                          np.asarray(layers, dtype=np.int64), cols["count"], cols["total"], cols["low"],
                          cols["high"], cols["layer"], cols["flags"], cols["full_hash"], cols["fill"],
                          cols["small_keys"], cols["small_cells"])

    def truncate(self, groups: dict[str, Any], m: int, n_cells: int, n_small: int) -> None:
        """Cut bucket count ``m`` back to its first rows (the tail outputs were dropped)."""
        for name, (dt, width, kind) in self._widths(m).items():
            path = self._file(m, name)
            if path.exists():
                with open(path, "r+b") as f:
                    f.truncate((n_cells if kind == "cells" else n_small) * width * dt.itemsize)
        groups[str(m)] = {"cells": n_cells, "small": n_small}

    def clear(self) -> None:
        """Remove the whole index (before a rebuild)."""
        shutil.rmtree(self.folder, ignore_errors=True)
