"""Differencing registry: time to check one release against a project's recorded outputs.

Issue 17's target: 1,000 recorded outputs of 10,000 cells over 6 million persons, checked within
seconds per release. The script builds registries of ``R`` recorded outputs of ``C`` cells over
``P`` persons (one layer each: a table without margins) and checks one new output against them.

Layouts (``--layout``):

- ``random``: every output another random classification of a random 95 % of the persons (every
  new cell intersects about every recorded cell of the same output; no cell nearly repeats);
- ``same``: every output the same classification for another random 95 % filter (every new cell
  nearly repeats one cell of every recorded output: the former weak spot);
- ``republish``: the same output again and again (every new cell identical to a recorded one);
- ``cohorts``: each output over its own random 50 % cohort (then 95 %), random cells.

Two ways of filling the registry:

- **real** (``--real N``, default 10): ``N`` outputs recorded through
  :meth:`~kit.release.registry.ReleaseRegistry.record_cells` (compressed data files, merged index,
  ``index.json``), then the registry's whole check (:meth:`~kit.release.registry.ReleaseRegistry.check_cells`:
  index verified and tested, firing outputs read and compared exactly) and, in the same run, the
  **old algorithm** (read every data file and join it with the new output, as before the sketches);
- **index** (``--outputs``, e.g. ``10,100,1000``): the recorded outputs' sketches are computed from
  synthetic outputs and appended to the merged index directly (:meth:`kit.release.index.SketchIndex.append`),
  *without writing their data files* (1,000 compressed data files of 6 M keys would take hours to
  write and about 40 GB). The check is then timed as the registry runs it minus the data files:
  loading and verifying the index (every output's digest) and testing it
  (:func:`kit.release.prefilter.firing_outputs`); ``firing`` says how many outputs the real check
  would then read and compare exactly (its cost: the real run's exact time per firing output).
  To keep generation within minutes, ``random`` and ``cohorts`` draw each recorded output's
  classification from a pool of ``--pool`` random classifications (each output its own filter); the
  new output's classification is always a fresh one.

It prints seconds, the number of firing outputs, index bytes per output and the baseline
``Session.table`` of the same persons and cells (the cost of making one output at all).

Run from the repository root (memory: about 1.5 GiB at 6 M persons)::

    PYTHONPATH=. python benchmarks/differencing_bench.py --persons 6000000 --cells 10000 \\
        --outputs 10,100,1000 --real 10 --layout random
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import kit
from kit.core.populations import CellPopulations
from kit.release.index import SketchIndex
from kit.release.prefilter import SMALL, NewSide, OutputSketch, firing_outputs
from kit.release.registry import ReleaseRegistry
from kit.release.set_compare import OutputCells, compare

M = 3  # buckets at the dst threshold 3


def _cells(name: str, keys: np.ndarray, cell: np.ndarray, n_cells: int) -> OutputCells:
    order = np.argsort(cell, kind="stable")  # keys (sorted) stay sorted within each cell
    counts = np.bincount(cell, minlength=n_cells)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pops = CellPopulations(keys[order], offsets)
    return OutputCells.build(name, name, pops, [True] * n_cells, [0] * n_cells)


class Classification:
    """One classification of all persons, sorted once by (cell, bucket, key): a filtered output's
    sketch is then a few linear passes (no sort)."""

    def __init__(self, keys: np.ndarray, cell: np.ndarray, n_cells: int) -> None:
        self.n_cells = n_cells
        group = cell.astype(np.int64) * M + (keys % np.uint64(M)).astype(np.int64)
        self.order = np.argsort(group, kind="stable")
        self.group = group[self.order]
        self.keys = keys[self.order]

    def sketch(self, keep: np.ndarray | None = None, share: float = 0.95, rng: np.random.Generator | None = None
               ) -> OutputSketch:
        """The sketch of the persons in ``keep``, or of a fresh random ``share`` of them (drawn in sorted order)."""
        sel = keep[self.order] if keep is not None else (rng or np.random.default_rng()).random(len(self.keys)) < share
        g, ks = self.group[sel], self.keys[sel]
        n, m = self.n_cells, M
        count = np.bincount(g, minlength=n * m).astype(np.int64)
        total = np.zeros(n * m, dtype=np.uint64)
        low = np.zeros(n * m, dtype=np.uint64)
        high = np.zeros(n * m, dtype=np.uint64)
        start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        end = np.r_[start[1:], len(g)] - 1
        total[g[start]] = np.add.reduceat(ks, start)
        low[g[start]] = ks[start]
        high[g[start]] = ks[end]
        count2 = count.reshape(n, m)
        small = (count2.sum(axis=1) <= SMALL) | (count2 == 0).any(axis=1)
        cell_of = g // m
        sk_sel = small[cell_of]
        sk, sc = ks[sk_sel], cell_of[sk_sel]
        by_key = np.argsort(sk)
        return OutputSketch(m, count2, total.reshape(n, m), low.reshape(n, m), high.reshape(n, m),
                            np.zeros(n, dtype=np.int64), np.ones(1, dtype=bool), np.ones(n, dtype=bool),
                            np.zeros(n, dtype=bool), sk[by_key], sc[by_key])


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(persons: int, cells: int, outputs: list[int], real: int, seed: int, layout: str, pool: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.sort(rng.integers(0, 2**63, persons, dtype=np.int64).astype(np.uint64) * np.uint64(2))
    frame = pd.DataFrame({"PNR": np.arange(persons), "cell": rng.integers(0, cells, persons)})
    session = kit.Session("dst", unit="PNR", max_categories=max(cells, 1000))
    t0 = time.perf_counter()
    session.table(frame, rows="cell", name="baseline")
    t_table = time.perf_counter() - t0
    del frame, session
    rules = kit.Session().rules
    home = rng.integers(0, cells, persons)
    n_pool = 1 if layout in ("same", "republish") else pool
    t0 = time.perf_counter()
    classes = [Classification(keys, home if layout in ("same", "republish") else rng.integers(0, cells, persons), cells)
               for _ in range(n_pool)]
    fixed_keep = rng.random(persons) < 0.95

    def keep_of() -> np.ndarray:
        if layout == "republish":
            return fixed_keep
        share = 0.5 * 0.95 if layout == "cohorts" else 0.95
        return rng.random(persons) < share

    new_keep = keep_of()
    new_cell = home if layout in ("same", "republish") else rng.integers(0, cells, persons)
    new = _cells("new", keys[new_keep], new_cell[new_keep], cells)
    t_prep = time.perf_counter() - t0
    print(f"layout {layout}: persons {persons:,}, cells {cells:,}; baseline Session.table {t_table:.2f} s; "
          f"setup {t_prep:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        if real:
            reg = ReleaseRegistry(Path(tmp) / "real")
            t_rec = 0.0
            for i in range(real):
                keep = keep_of()
                cell = home if layout in ("same", "republish") else rng.integers(0, cells, persons)
                out = _cells(f"o{i}", keys[keep], cell[keep], cells)
                t0 = time.perf_counter()
                with reg.held():
                    reg.record_cells([out], rules, "2026-01-01T00:00:00+00:00")
                t_rec += time.perf_counter() - t0
                del out
            t0 = time.perf_counter()
            with reg.held():
                pairs = reg.check_cells([new], 3)
            t_check = time.perf_counter() - t0
            t0 = time.perf_counter()
            risky_old = sum(compare(new, b, 3).n_risky for b in reg.entries())
            t_old = time.perf_counter() - t0
            data = _size(Path(tmp) / "real" / "outputs") / real
            idx = _size(Path(tmp) / "real" / "index") / real
            risky = sum(p.n_risky_cells for p in pairs)
            print(f"real registry, {real} outputs: check {t_check:.2f} s (risky cells {risky})"
                  f"; old algorithm (join every output) {t_old:.2f} s (risky cells {risky_old}); record "
                  f"{t_rec / real:.2f} s per output; data file {data / 2**20:.1f} MB and index {idx / 2**20:.2f} MB "
                  "per output")
            shutil.rmtree(Path(tmp) / "real")
        if outputs:
            print("recorded  load+verify s  new side s  test s  check s  firing  index MB/output  index MB total  "
                  "peak RSS GiB")
            index = SketchIndex(Path(tmp) / "synthetic")
            groups: dict[str, object] = {}
            metas: list[dict[str, object]] = []
            fixed = classes[0].sketch(fixed_keep) if layout == "republish" else None
            t_gen = 0.0
            for target in outputs:
                t0 = time.perf_counter()
                share = 0.5 * 0.95 if layout == "cohorts" else 0.95
                while len(metas) < target:
                    sk = fixed if fixed is not None else classes[len(metas) % n_pool].sketch(None, share, rng)
                    metas.append(index.append(groups, sk, durable=False))  # type: ignore[arg-type]
                t_gen += time.perf_counter() - t0
                t0 = time.perf_counter()
                rows = index.load(groups, metas)  # type: ignore[arg-type]
                t_load = time.perf_counter() - t0
                t0 = time.perf_counter()
                side = NewSide(new, M)
                t_side = time.perf_counter() - t0
                t0 = time.perf_counter()
                fire = firing_outputs(side, rows, 2)
                t_test = time.perf_counter() - t0
                size = _size(Path(tmp) / "synthetic")
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
                print(f"{target:8d}  {t_load:12.2f}  {t_side:10.2f}  {t_test:6.2f}  {t_load + t_side + t_test:7.2f}  "
                      f"{int(fire.sum()):6d}  "
                      f"{size / target / 2**20:15.2f}  {size / 2**20:14.0f}  {peak:12.2f}", flush=True)
                del rows
            print(f"(generating the synthetic index: {t_gen:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--outputs", default="10,100", help="recorded outputs of the index-only runs ('' for none)")
    parser.add_argument("--real", type=int, default=10, help="outputs of the real registry run (0: none)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--layout", choices=["same", "random", "republish", "cohorts"], default="random",
                        help="see the module docstring")
    parser.add_argument("--pool", type=int, default=8, help="random classifications the recorded outputs draw from")
    args = parser.parse_args()
    run(args.persons, args.cells, [int(x) for x in args.outputs.split(",") if x], args.real, args.seed, args.layout,
        args.pool)


if __name__ == "__main__":
    main()
