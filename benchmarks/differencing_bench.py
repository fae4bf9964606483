"""Differencing registry: time to check one release against a project's recorded outputs.

Issue 17's target: 1,000 recorded outputs of 10,000 cells over 6 million persons, checked within
seconds per release. This script records ``R`` outputs of ``C`` cells over ``P`` persons (each a
random 95 % subset, one layer: a table without margins) in a fresh registry.

Layouts (``--layout``):

- ``same``: every unit in the same cell in every output (one classification, different random
  ``--keep`` filters): every new cell nearly repeats a recorded one. The worst case for the
  sketch prefilter (:mod:`kit.release.prefilter`): its recorded-side union test cannot exclude
  such outputs, so they are compared exactly;
- ``random``: a new random cell per output (another classification each time: every cell
  intersects every other; the worst case for the exact join);
- ``republish``: the same output again and again (a project re-running its tables);
- ``cohorts``: each output over its own random cohort (``--keep`` of an own draw of persons).

Times:

- ``check``: one new output against all of them, the registry's fast path (sketches read and
  tested, firing outputs read and compared exactly);
- ``old check``: the previous algorithm in the same run (every recorded output read and compared
  exactly), up to ``--old-max`` recorded outputs;
- ``record``: writing the new output (compressed ``.npz``, sketch and index);
- baseline in the same run: ``Session.table`` of the same ``P`` persons and ``C`` cells
  (the cost of making the output at all).

It prints seconds, the ratio to the baseline and the time per recorded unit-cell membership,
which the check is linear in, and extrapolates to the target.

Run from the repository root::

    PYTHONPATH=. python benchmarks/differencing_bench.py --persons 200000 --cells 1000 --outputs 5,10,20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import kit
from kit.core.populations import CellPopulations
from kit.release.prefilter import NewSide, OutputSketch, may_fire
from kit.release.registry import ReleaseRegistry
from kit.release.set_compare import OutputCells, compare


def _output(name: str, keys_sorted: np.ndarray, n_cells: int, rng: np.random.Generator,
            home: np.ndarray | None = None, keep_share: float = 0.95) -> OutputCells:
    keep = rng.random(len(keys_sorted)) < keep_share
    keys = keys_sorted[keep]
    cell = home[keep] if home is not None else rng.integers(0, n_cells, len(keys))
    order = np.argsort(cell, kind="stable")  # keys stay sorted within each cell
    counts = np.bincount(cell, minlength=n_cells)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pops = CellPopulations(keys[order], offsets)
    return OutputCells.build(name, name, pops, [True] * n_cells, [0] * n_cells)


def run(persons: int, cells: int, outputs: list[int], seed: int, layout: str, keep: float, old_max: int) -> None:
    rng = np.random.default_rng(seed)
    keys = np.sort(rng.integers(0, 2**63, persons, dtype=np.int64).astype(np.uint64))
    home = rng.integers(0, cells, persons) if layout in ("same", "republish", "cohorts") else None
    frame = pd.DataFrame({"PNR": np.arange(persons), "cell": rng.integers(0, cells, persons)})
    session = kit.Session("dst", unit="PNR", max_categories=max(cells, 1000))
    t0 = time.perf_counter()
    session.table(frame, rows="cell", name="baseline")
    t_table = time.perf_counter() - t0
    rules = kit.Session().rules
    print(f"layout {layout}, keep {keep}: persons {persons:,}, cells {cells:,}; "
          f"baseline Session.table: {t_table:.2f} s")
    print("recorded  check s  old check s  record s  check/table  compared  MB/output  sketch MB/output  risky")
    fixed = _output("o", keys, cells, rng, home, keep)

    def make(i: int) -> OutputCells:
        if layout == "republish":
            return OutputCells(f"o{i}", f"o{i}", fixed.keys, fixed.cells, fixed.published, fixed.layer,
                               fixed.partition, fixed.attribute)
        if layout == "cohorts":
            return _output(f"o{i}", keys[rng.random(persons) < 0.5], cells, rng, None, keep)
        return _output(f"o{i}", keys, cells, rng, home, keep)

    for n_out in outputs:
        with tempfile.TemporaryDirectory() as tmp:
            reg = ReleaseRegistry(Path(tmp) / "differencing")
            for start in range(0, n_out, 10):
                with reg.held():
                    reg.record_cells([make(i) for i in range(start, min(n_out, start + 10))], rules,
                                     "2026-01-01T00:00:00+00:00")
            new = make(n_out)
            new = OutputCells("new", "new", new.keys, new.cells, new.published, new.layer, new.partition,
                              new.attribute)
            t0 = time.perf_counter()
            with reg.held():
                pairs = reg.check_cells([new], 3)
            t_check = time.perf_counter() - t0
            sa = NewSide(new, 3)
            sketches = sorted((Path(tmp) / "differencing" / "sketches").iterdir())
            compared = sum(may_fire(sa, OutputSketch.from_bytes(p.read_bytes()), 3) for p in sketches)
            t_old = float("nan")
            if n_out <= old_max:
                t0 = time.perf_counter()
                for b in reg.entries():
                    compare(new, b, 3)
                t_old = time.perf_counter() - t0
            t0 = time.perf_counter()
            with reg.held():
                reg.record_cells([new], rules, "2026-01-01T00:00:00+00:00")
            t_record = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in (Path(tmp) / "differencing" / "outputs").iterdir())
            sk = sum(p.stat().st_size for p in (Path(tmp) / "differencing" / "sketches").iterdir())
            risky = sum(p.n_risky_cells for p in pairs)
            print(f"{n_out:8d}  {t_check:7.2f}  {t_old:11.2f}  {t_record:8.2f}  {t_check / t_table:11.1f}  "
                  f"{compared:8d}  {size / (n_out + 1) / 2**20:9.1f}  {sk / (n_out + 1) / 2**20:16.2f}  {risky:5d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--outputs", default="5,10,20")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--layout", choices=["same", "random", "republish", "cohorts"], default="same",
                        help="see the module docstring")
    parser.add_argument("--keep", type=float, default=0.95, help="share of persons each output keeps")
    parser.add_argument("--old-max", type=int, default=100, help="time the old algorithm up to this many outputs")
    args = parser.parse_args()
    run(args.persons, args.cells, [int(x) for x in args.outputs.split(",")], args.seed, args.layout, args.keep,
        args.old_max)


if __name__ == "__main__":
    main()
