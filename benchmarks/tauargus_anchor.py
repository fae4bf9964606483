"""tau-Argus (pytauargus: the tau-Argus engine on HiGHS) on a benchmark table, for the same-run anchor.

The table goes in as tau-Argus *tabular* input: every cell (margins included) with its value,
frequency, largest contribution, a status column (``U`` for the given primaries, ``S`` otherwise)
and the given lower and upper protection levels; cost = value (the response as cost variable);
the geography hierarchy as an ``.hrc`` file written from ``meta.json``. ``MOD`` is tau-Argus's
modular method (HiTaS), ``OPT`` its optimal method (Fischetti-Salazar), each with a time limit in
minutes. The statuses tau-Argus writes back (``WRITETABLE`` type 3 with status) become the pattern
that the benchmark audits with the kit's audit and its independent re-audit.

Run by :mod:`suppression` in a child process (``python benchmarks/tauargus_anchor.py NAME
METHOD MINUTES OUT.csv``) so that a wall-clock limit can stop it; prints ``seconds=<float>`` and
writes the pattern as ``OUT.csv`` (dimension columns and ``secondary`` 0/1).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

#: tau-Argus status codes of secondary cells (CS_SECONDARY_UNSAFE, CS_SECONDARY_UNSAFE_MANUAL)
SECONDARY = (11, 12)


def _hrc(parent: dict[str, str], root: str = "Total") -> str:
    kids: dict[str, list[str]] = {}
    for code, par in parent.items():
        kids.setdefault(par, []).append(code)
    lines: list[str] = []

    def walk(code: str, depth: int) -> None:
        for k in kids.get(code, []):
            lines.append("@" * depth + k)
            walk(k, depth + 1)

    walk(root, 0)
    return "\n".join(lines) + "\n"


def write_batch(folder: Path, work: Path, method: str, minutes: int) -> tuple[list[str], Path]:
    """Write the tabular input, metadata and batch for one table; returns the dimensions and the batch."""
    meta = json.loads((folder / "meta.json").read_text())
    dims = [d["name"] for d in meta["dims"]]
    cells = pd.read_csv(folder / "cells.csv", dtype={d: str for d in dims})
    tab = cells[dims].copy()
    tab["value"] = cells["value"]
    tab["freq"] = cells["freq"]
    tab["top1"] = cells["top1"]
    tab["status"] = cells["primary"].map({1: "U", 0: "S"})
    tab["lpl"] = cells["lpl"]
    tab["upl"] = cells["upl"]
    tab.to_csv(work / "t.tab", sep=";", header=False, index=False)
    rda = ['<SEPARATOR> ";"', '<SAFE> "S"', '<UNSAFE> "U"', '<PROTECT> "P"']
    for d in meta["dims"]:
        rda += [f'{d["name"]} ""', "  <RECODEABLE>", '  <TOTCODE> "Total"']
        if d["hier"]:
            (work / f'{d["name"]}.hrc').write_text(_hrc(d["parent"]))
            rda += ["  <HIERARCHICAL>", f'  <HIERCODELIST> "{work / (d["name"] + ".hrc")}"',
                    '  <HIERLEADSTRING> "@"']
    rda += ["value", "  <NUMERIC>", "  <DECIMALS> 0", "freq", "  <FREQUENCY>", "top1", "  <MAXSCORE>",
            "status", "  <STATUS>", "lpl", "  <NUMERIC> <LOWERPL>", "upl", "  <NUMERIC> <UPPERPL>"]
    (work / "t.rda").write_text("\n".join(rda) + "\n")
    spec = "".join(f'"{d}"' for d in dims)
    suppress = f"MOD(1, {minutes}, 0, 0, 0)" if method == "MOD" else f"OPT(1, {minutes})"
    arb = [f'<OPENTABLEDATA> "{work / "t.tab"}"', f'<OPENMETADATA> "{work / "t.rda"}"',
           f'<SPECIFYTABLE> {spec}|"value"|"value"|"value"', "<SAFETYRULE> MAN(10)", "<READTABLE> 0",
           f"<SUPPRESS> {suppress}", f'<WRITETABLE> (1, 3, AS+, "{work / "out.csv"}")']
    (work / "t.arb").write_text("\n".join(arb) + "\n")
    return dims, work / "t.arb"


def main(argv: list[str]) -> None:
    from pytauargus.engine import run_batch

    folder, method, minutes, out = Path(argv[0]), argv[1], int(argv[2]), Path(argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dims, arb = write_batch(folder, work, method, minutes)
        t0 = time.perf_counter()
        run_batch(arb)
        seconds = time.perf_counter() - t0
        res = pd.read_csv(work / "out.csv", header=None, names=[*dims, "value", "status"],
                          dtype={d: str for d in dims})
    res["secondary"] = res["status"].isin(SECONDARY).astype(int)
    res[[*dims, "secondary"]].to_csv(out, index=False)
    print(f"seconds={seconds:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
