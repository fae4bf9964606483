"""Differencing registry: time to check one release against a project's recorded outputs.

Issue 17's target: 1,000 recorded outputs of 10,000 cells over 6 million persons, checked within
seconds per release. This script records ``R`` outputs of ``C`` cells over ``P`` persons (each a
random 95 % subset, one layer: a table without margins) in a fresh registry.

``--layout same`` (default) puts every unit in the same cell in every output (one classification,
different filters: the usual project); ``--layout random`` draws a new cell per output (every cell
then intersects every other: the worst case for the join). Times:

- ``check``: one new output against all of them (reading the registry from disk included);
- ``record``: writing the new output (compressed ``.npz`` and the index);
- baseline in the same run: ``Session.table`` of the same ``P`` persons and ``C`` cells
  (the cost of making the output at all), and reading the registry files alone.

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
from kit.release.registry import ReleaseRegistry
from kit.release.set_compare import OutputCells


def _output(name: str, keys_sorted: np.ndarray, n_cells: int, rng: np.random.Generator,
            home: np.ndarray | None = None) -> OutputCells:
    keep = rng.random(len(keys_sorted)) < 0.95
    keys = keys_sorted[keep]
    cell = home[keep] if home is not None else rng.integers(0, n_cells, len(keys))
    order = np.argsort(cell, kind="stable")  # keys stay sorted within each cell
    counts = np.bincount(cell, minlength=n_cells)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pops = CellPopulations(keys[order], offsets)
    return OutputCells.build(name, name, pops, [True] * n_cells, [0] * n_cells)


def run(persons: int, cells: int, outputs: list[int], seed: int, layout: str) -> None:
    rng = np.random.default_rng(seed)
    keys = np.sort(rng.integers(0, 2**63, persons, dtype=np.int64).astype(np.uint64))
    home = rng.integers(0, cells, persons) if layout == "same" else None
    frame = pd.DataFrame({"PNR": np.arange(persons), "cell": rng.integers(0, cells, persons)})
    session = kit.Session("dst", unit="PNR", max_categories=max(cells, 1000))
    t0 = time.perf_counter()
    session.table(frame, rows="cell", name="baseline")
    t_table = time.perf_counter() - t0
    print(f"layout {layout}: persons {persons:,}, cells {cells:,}; baseline Session.table: {t_table:.2f} s")
    print("recorded  check s  record s  read-only s  check/table  ns per recorded membership  MB per output  "
          "risky cells")
    for n_out in outputs:
        with tempfile.TemporaryDirectory() as tmp:
            reg = ReleaseRegistry(Path(tmp) / "differencing")
            with reg.held():
                reg.record_cells([_output(f"o{i}", keys, cells, rng, home) for i in range(n_out)], kit.Session().rules,
                                 "2026-01-01T00:00:00+00:00")
            new = _output("new", keys, cells, rng, home)
            t0 = time.perf_counter()
            with reg.held():
                pairs = reg.check_cells([new], 3)
            t_check = time.perf_counter() - t0
            t0 = time.perf_counter()
            reg.entries()
            t_read = time.perf_counter() - t0
            t0 = time.perf_counter()
            with reg.held():
                reg.record_cells([new], kit.Session().rules, "2026-01-01T00:00:00+00:00")
            t_record = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in (Path(tmp) / "differencing" / "outputs").iterdir())
            risky = sum(p.n_risky_cells for p in pairs)  # small cells of two 95 % subsets can differ by < 3
            members = n_out * len(new.keys)
            print(f"{n_out:8d}  {t_check:7.2f}  {t_record:8.2f}  {t_read:11.2f}  {t_check / t_table:11.1f}  "
                  f"{t_check / members * 1e9:26.1f}  {size / (n_out + 1) / 2**20:13.1f}  {risky:12d}")
            per = t_check / members
    target = 1000 * 6_000_000 * 0.95
    print(f"extrapolated to 1,000 outputs over 6 M persons (one layer): {per * target:,.0f} s per release, "
          f"{size / (outputs[-1] + 1) / persons * 6e6 * 1000 / 2**30:,.0f} GiB of registry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--outputs", default="5,10,20")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--layout", choices=["same", "random"], default="same",
                        help="same: every output classifies a unit into the same cell (one classification, "
                        "different 95 %% filters: the usual project); random: a new random cell per output "
                        "(worst case: every cell intersects every other)")
    args = parser.parse_args()
    run(args.persons, args.cells, [int(x) for x in args.outputs.split(",")], args.seed, args.layout)


if __name__ == "__main__":
    main()
