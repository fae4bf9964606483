"""Issue 17: a writer killed between its release and its registry record loses nothing.

The attack: release table A; the writer dies (``kill -9``, power loss) after the release folder is
in place but before the registry knows about it. Then release A minus one person: without a record
of A, the registry lets the second release through and the two differ by one person.

The writer records the release's cells *pending* before the rename and commits after it; the next
run keeps a pending record whose release folder exists and drops one whose folder never appeared.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
    import sys, time
    from pathlib import Path
    import numpy as np, pandas as pd
    import kit
    import kit.release.registry as registry
    import kit.release.writer as writer
    where = sys.argv[1]
    state, out, flag = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    def stall(*args, **kwargs):
        flag.write_text("here")
        time.sleep(300)
    if where == "after_rename":
        registry.ReleaseRegistry.commit = stall
    else:  # before the rename: the pending record is written, the folder never appears
        real = registry.ReleaseRegistry.record_cells
        def record_then_stall(self, *a, **k):
            real(self, *a, **k)
            stall()
        registry.ReleaseRegistry.record_cells = record_then_stall
    s = kit.Session("dst", unit="PNR", data_label="t", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(60), "KOM": ["101", "147", "151"] * 20})
    s.release(out, [s.table(df, rows="KOM", name="all")], title="t", formats=("html",), state_dir=state)
"""


def _frame(drop: int = 0) -> pd.DataFrame:
    df = pd.DataFrame({"PNR": np.arange(60), "KOM": ["101", "147", "151"] * 20})
    return df.iloc[drop:]


def _killed_release(tmp_path: Path, where: str) -> tuple[Path, Path]:
    state, out, flag = tmp_path / "state", tmp_path / "rel1", tmp_path / "flag"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIT_STATE_DIR": str(state)}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), where, str(state), str(out), str(flag)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 180
        while not flag.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            time.sleep(0.1)
        assert flag.exists(), "the writer never reached the critical point"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    return state, out


def _index(state: Path) -> list[dict[str, object]]:
    return list(json.loads((state / "differencing" / "index.json").read_text())["outputs"])


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_after_the_rename_the_release_still_counts(tmp_path: Path) -> None:
    state, out = _killed_release(tmp_path, "after_rename")
    assert (out / "manifest.txt").exists() or any(out.iterdir())  # the release is out
    assert [e.get("pending") for e in _index(state)] == [str(out.absolute())]
    s = kit.Session("dst", unit="PNR", data_label="t", created="2024-01-01T00:00:00+00:00")
    fewer = s.table(_frame(drop=1), rows="KOM", name="all_but_one")
    # the attacker's computation: the two published tables differ by exactly one person
    everyone = kit.clear(s.table(_frame(), rows="KOM", name="all"))
    assert sum(r.values[0] for r in everyone.rows) - sum(r.values[0] for r in kit.clear(fewer).rows) == 1
    with pytest.raises(DisclosureError):
        s.release(tmp_path / "rel2", [fewer], title="t", formats=("html",), state_dir=state)
    index = _index(state)
    assert len(index) == 1 and "pending" not in index[0]  # kept once, committed, not duplicated
    assert not (tmp_path / "rel2").exists()


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_before_the_rename_nothing_is_recorded(tmp_path: Path) -> None:
    state, out = _killed_release(tmp_path, "before_rename")
    assert not out.exists()
    assert len(_index(state)) == 1  # pending
    s = kit.Session("dst", unit="PNR", data_label="t", created="2024-01-01T00:00:00+00:00")
    other = pd.DataFrame({"PNR": np.arange(100, 160), "KOM": ["101", "147", "151"] * 20})
    s.release(tmp_path / "rel2", [s.table(other, rows="KOM", name="other")], title="t", formats=("html",),
              state_dir=state)
    index = _index(state)
    assert [e["output"] for e in index] == ["other"] and "pending" not in index[0]
    files = sorted(p.name for p in (state / "differencing" / "outputs").iterdir())
    assert files == [str(index[0]["file"])]  # the dropped record's files are gone
