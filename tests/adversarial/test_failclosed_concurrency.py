"""Issue 19, item 3: concurrent checkers, torn writes and killed releases.

- Several output checkers approve at the same time (separate processes): the decision log's hash
  chain must still verify, with every decision in it.
- An interrupted write leaves half a line at the end of the log: a clean log must not read as
  TAMPERED, and the next decision must repair the tail.
- ``kill -9`` during a release leaves its temporary folder: the next release removes it (and
  tells the user), and touches nothing that is not the kit's.
"""

from __future__ import annotations

import itertools
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
from kit.release import review_release, write_release
from kit.release.review import read_decisions, record_decision

ROOT = Path(__file__).resolve().parents[2]


def _release(folder: Path, name: str = "rel", checker: Path | None = None) -> Path:
    session = kit.Session(unit="PNR", rules="sacro", data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(60), "KOM": ["101", "147"] * 30})
    outputs = [kit.clear(session.table(df, rows="KOM", name=f"t{k}")) for k in range(3)]
    return write_release(folder / name, outputs, session.rules, title="t", checker_dir=checker,
                         formats=("csv", "html")).folder


def _python(code: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_concurrent_approvals_keep_the_chain(tmp_path: Path) -> None:
    release = _release(tmp_path)
    n_procs, n_each = 3, 4
    go = tmp_path / "go"
    procs = [
        _python(f"""
            import pathlib, time
            from kit.release.review import record_decision
            pathlib.Path({str(tmp_path)!r}, "ready{p}").touch()
            while not pathlib.Path({str(go)!r}).exists():  # all start together
                time.sleep(0.01)
            for k in range({n_each}):
                r = record_decision({str(release)!r}, "t{p % 3}", "approve", reviewer="checker{p}",
                                    comment="ok " + str(k))
                assert r.exit_code != 4, r.render()
        """)
        for p in range(n_procs)
    ]
    deadline = time.monotonic() + 240
    while not all((tmp_path / f"ready{p}").exists() for p in range(n_procs)) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    log = release.parent / "rel.decisions.jsonl"
    entries, problems = read_decisions(log)
    assert problems == [] and len(entries) == n_procs * n_each
    # the attacker's own chain check: seq 1..n, each prev the hash of the entry before
    assert [e["seq"] for e in entries] == list(range(1, n_procs * n_each + 1))
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(entries))
    assert review_release(release).exit_code == 0


def test_a_torn_last_line_is_not_tampering(tmp_path: Path) -> None:
    release = _release(tmp_path)
    record_decision(release, "t0", "approve", reviewer="anna")
    log = release.parent / "rel.decisions.jsonl"
    whole = log.read_text(encoding="utf-8")
    entry = json.loads(whole.splitlines()[0])
    entry.update(seq=2, output="t1", prev=entry["hash"])
    log.write_text(whole + json.dumps(entry)[:37], encoding="utf-8")  # the writer died mid-line
    result = review_release(release)
    assert result.exit_code != 4, result.render()
    assert any("incomplete" in n for n in result.notes)
    after = record_decision(release, "t1", "approve", reviewer="bo")
    assert after.exit_code == 0, after.render()
    entries, problems = read_decisions(log)
    assert problems == [] and [e["output"] for e in entries] == ["t0", "t1"]
    assert log.read_text(encoding="utf-8").endswith("\n")


def test_an_edited_log_still_reads_as_tampered(tmp_path: Path) -> None:
    release = _release(tmp_path)
    record_decision(release, "t0", "approve", reviewer="anna")
    record_decision(release, "t1", "approve", reviewer="anna")
    log = release.parent / "rel.decisions.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text(lines[1] + "\n" + lines[0] + "\n", encoding="utf-8")
    assert review_release(release).exit_code == 4


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_release_killed_with_sigkill_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    decoy = out / ".mine.tmp-0123456789ab"  # the pattern, but no lock file: not the kit's
    decoy.mkdir()
    (out / "notes").mkdir()
    proc = _python(f"""
        import time
        import numpy as np, pandas as pd
        import kit
        import kit.release.xlsx as xlsx
        from kit.release import write_release
        real = xlsx.xlsx_bytes
        def slow(*a, **k):
            data = real(*a, **k)
            time.sleep(120)
            return data
        xlsx.xlsx_bytes = slow
        session = kit.Session(unit="PNR", rules="sacro", data_label="t", created="2024-01-01T00:00:00+00:00")
        df = pd.DataFrame({{"PNR": np.arange(60), "KOM": ["101", "147"] * 30}})
        t = kit.clear(session.table(df, rows="KOM", name="t"))
        write_release({str(out / 'rel')!r}, [t], session.rules, title="t", checker_dir={str(out / 'chk')!r})
    """)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            temps = [p for p in out.glob(".rel.tmp-*") if p.is_dir() and any(p.rglob("*.csv"))]
            if temps:
                break
            assert proc.poll() is None, proc.communicate()[1].decode()
            time.sleep(0.2)
        assert temps, "the writer never started"
        # a living writer's folder is never removed
        from kit.release.tempdirs import remove_stale

        assert remove_stale(out) == []
        assert temps[0].exists()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    left = sorted(p.name for p in out.iterdir())
    assert any(n.startswith(".rel.tmp-") for n in left)
    assert any(n.startswith(".rel.tmp-") for n in os.listdir(out / "chk"))
    result = _release(out, "rel2", checker=out / "chk")  # the next run, with the same folders
    assert sorted(p.name for p in out.iterdir()) == [".mine.tmp-0123456789ab", "chk", "notes", "rel2"]
    assert sorted(p.name for p in (out / "chk").iterdir()) == ["rel2"]
    assert decoy.exists() and result.exists()


def test_the_user_is_told_what_was_removed(tmp_path: Path) -> None:
    from filelock import FileLock

    stale = tmp_path / ".old.tmp-aaaaaaaaaaaa"
    stale.mkdir()
    (stale / "tables").mkdir()
    lock = FileLock(str(tmp_path / ".old.tmp-aaaaaaaaaaaa.lock"))
    lock.acquire()
    lock.release()  # the writer is gone; its lock file stayed
    session = kit.Session(unit="PNR", rules="sacro", data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(60), "KOM": ["101", "147"] * 30})
    result = write_release(tmp_path / "new", [kit.clear(session.table(df, rows="KOM", name="t"))], session.rules,
                           title="t")
    assert not stale.exists() and not (tmp_path / ".old.tmp-aaaaaaaaaaaa.lock").exists()
    assert any(".old.tmp-aaaaaaaaaaaa" in n for n in result.notes)


def test_stale_cleanup_never_follows_a_link_or_touches_foreign_folders(tmp_path: Path) -> None:
    from filelock import FileLock

    from kit.release.tempdirs import remove_stale

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep", encoding="utf-8")
    parent = tmp_path / "out"
    parent.mkdir()
    link = parent / ".rel.tmp-bbbbbbbbbbbb"
    link.symlink_to(precious, target_is_directory=True)
    for name in (".rel.tmp-bbbbbbbbbbbb.lock", ".x.tmp-cccccccccccc.lock"):
        lock = FileLock(str(parent / name))
        lock.acquire()
        lock.release()
    (parent / ".x.tmp-cccccccccccc").write_text("a file, not a folder", encoding="utf-8")
    (parent / "rel.tmp-dddddddddddd").mkdir()  # no leading dot: not the pattern
    assert remove_stale(parent) == []
    assert (precious / "data.txt").read_text(encoding="utf-8") == "keep"
    assert link.is_symlink() and (parent / ".x.tmp-cccccccccccc").is_file()
    assert (parent / "rel.tmp-dddddddddddd").is_dir()
