"""Issue 17: 8 processes release overlapping outputs against one project at the same time.

Exactly a safe subset lands: the landed outputs are pairwise safe by the test's own set arithmetic,
every refused output conflicts with a landed one, the registry lists exactly the landed outputs
(its files match its index), and nothing is half-written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kit.release.registry import ReleaseRegistry

T = 3
#: Persons each process leaves out of a population of persons 1..200 (50 per municipality).
DROPPED: dict[int, set[int]] = {
    0: set(),
    1: {1},
    2: {1, 2, 3, 4, 5},
    3: {2},
    4: set(range(1, 11)),
    5: {6},
    6: {1, 2, 3, 4, 5, 6},
    7: {100},
}

SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    import kit
    from kit.errors import DisclosureError

    assert kit.__file__.startswith(sys.argv[5]), kit.__file__  # the kit under test
    i, start, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    dropped = set(json.loads(sys.argv[4]))
    persons = [p for p in range(1, 201) if p not in dropped]
    df = pd.DataFrame({"PNR": persons, "KOM": [f"K{(p - 1) // 50}" for p in persons]})
    s = kit.Session("dst", unit="PNR", created="2026-01-01T00:00:00+00:00")
    t = s.table(df, rows="KOM", name=f"out{i}")
    while time.time() < start:
        time.sleep(0.005)
    try:
        s.release(f"{out}/rel{i}", [t], title="t", formats=("html",))
        result = "landed"
    except DisclosureError:
        result = "refused"
    print(json.dumps({"i": i, "result": result}))
    """
)


def _cell_diffs(a: set[int], b: set[int]) -> list[int]:
    """Per municipality: |A Δ B| of the persons each output counts (the test's own arithmetic)."""
    out = []
    for k in range(4):
        cell = set(range(k * 50 + 1, k * 50 + 51))
        out.append(len((cell - a) ^ (cell - b)))
    return out


def _conflict(i: int, j: int) -> bool:
    return any(0 < d < T for d in _cell_diffs(DROPPED[i], DROPPED[j]))


@pytest.mark.slow
def test_eight_concurrent_releases_land_a_safe_subset(tmp_path: Path) -> None:
    state = tmp_path / "state"
    script = tmp_path / "release_one.py"
    script.write_text(SCRIPT, encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "KIT_STATE_DIR": str(state),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    start = time.time() + 8.0  # every process has imported the kit before the first release
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), str(start), str(tmp_path), json.dumps(sorted(DROPPED[i])), str(root)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=root,
        )
        for i in DROPPED
    ]
    results = {}
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
        doc = json.loads(out.decode().strip().splitlines()[-1])
        results[doc["i"]] = doc["result"]
    landed = sorted(i for i, r in results.items() if r == "landed")
    refused = sorted(i for i, r in results.items() if r == "refused")
    assert landed, "at least the first release lands"
    for a in landed:  # the landed outputs are safe together
        for b in landed:
            assert a == b or not _conflict(a, b), f"out{a} and out{b} both landed"
    for r in refused:  # every refusal was needed
        assert any(_conflict(r, a) for a in landed), f"out{r} was refused without a conflict"
    registry = ReleaseRegistry(state / "differencing")
    assert sorted(e.name for e in registry.entries()) == [f"out{i}" for i in landed]
    for i in DROPPED:
        folder = tmp_path / f"rel{i}"
        assert folder.exists() == (i in landed)
        if folder.exists():
            assert (folder / "manifest.txt").is_file()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    leftovers += [p.name for p in (state / "differencing").rglob(".kit-tmp-*")]
    assert leftovers == []
