"""Progress on long steps (issue 22 item 5, issue 21 item 4): a reporter passed explicitly, cheap,
optional tqdm, names of steps and files only (never a data value)."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.estimate.event_study import event_study
from kit.progress import NullProgress, Progress, ProgressTask, TextProgress, default_progress, start, track


class Recorder:
    """A reporter that keeps what it was told (test double for :class:`kit.progress.Progress`)."""

    def __init__(self) -> None:
        self.tasks: list[dict[str, object]] = []

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> ProgressTask:
        record: dict[str, object] = {"description": description, "total": total, "unit": unit, "done": 0,
                                     "closed": False}
        self.tasks.append(record)

        class _Task:
            def advance(self, n: int = 1) -> None:
                record["done"] = int(record["done"]) + n  # type: ignore[call-overload]

            def close(self) -> None:
                record["closed"] = True

            def __enter__(self) -> _Task:
                return self

            def __exit__(self, *exc: object) -> None:
                self.close()

        return _Task()


def test_recorder_is_a_progress() -> None:
    assert isinstance(Recorder(), Progress)
    assert isinstance(TextProgress(), Progress) and isinstance(NullProgress(), Progress)


def test_text_progress_is_throttled_and_cheap() -> None:
    out = io.StringIO()
    t0 = time.perf_counter()
    with start(TextProgress(out, interval=60.0), "convert bef2018.sas7bdat", 100_000, "rows") as task:
        for _ in range(100_000):
            task.advance()
    elapsed = time.perf_counter() - t0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the start and the end, nothing in between within the interval
    assert lines[-1].startswith("convert bef2018.sas7bdat: 100000/100000 rows (100%) done")
    assert elapsed < 2.0  # 100,000 advances: a few microseconds each


def test_none_reports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(track(None, range(5), "x")) == [0, 1, 2, 3, 4]
    with start(None, "y", 3) as task:
        task.advance(3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_without_tqdm_text_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    assert isinstance(default_progress(), TextProgress)


def _panel_rows() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [(f"{a}-{i}", a, y, float(rng.random() < 0.4 + 0.1 * (a == "T" and y >= 2012)))
            for a in ["T", "C1", "C2", "C3", "C4", "C5"] for i in range(40) for y in range(2010, 2014)]
    return pd.DataFrame(rows, columns=["PNR", "area", "year", "emp"])


@pytest.mark.parametrize(("permutations", "expected"), [(99, 5), (3, 3)])
def test_event_study_reports_each_placebo_draw(permutations: int, expected: int) -> None:
    # 5 comparison areas, single-group placebos: C(5, 1) = 5 assignments when at most 99 are asked
    # (exact enumeration), else the 3 draws asked for
    rec = Recorder()
    session = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00+00:00")
    event_study(session, _panel_rows(), "emp", group="area", period="year", treated={"T": 2012},
                comparison=["C1", "C2", "C3", "C4", "C5"], base_period=2011, permutations=permutations,
                progress=rec)
    assert rec.tasks == [{"description": "event study: permutations", "total": expected, "unit": "draws",
                          "done": expected, "closed": True}]


def test_synthetic_generation_reports_years(tmp_path: Path) -> None:
    from synthetic import SynthConfig, generate

    rec = Recorder()
    config = SynthConfig(persons=20_000, seed=2, years=(2010, 2012), n_comparison=3, n_placebo=1,
                         comparison_size=(1000, 1000))
    generate(config, tmp_path / "out", progress=rec)
    assert rec.tasks == [{"description": "kit synth", "total": 3, "unit": "years", "done": 3, "closed": True}]


def test_cache_conversion_reports_rows_and_file_names_only(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    from kit.registers import open_project

    root = tmp_path / "raw"
    root.mkdir()
    n = 1_234
    secret = [f"{i:010d}" for i in range(n)]
    for year in (2018, 2019):
        df = pd.DataFrame({"pnr": secret, "Kom": np.full(n, 101.0)})
        pyreadstat.write_xport(df, str(root / f"bef{year}.xpt"), file_format_version=8)
    rec = Recorder()
    open_project(root).convert(tmp_path / "cache", progress=rec, chunk_rows=500)
    assert sorted(str(t["description"]) for t in rec.tasks) == ["convert bef2018.xpt", "convert bef2019.xpt"]
    assert all(t["done"] == n and t["unit"] == "rows" and t["closed"] for t in rec.tasks)
    text = " ".join(str(t["description"]) for t in rec.tasks)
    assert not any(s in text for s in secret[:50])
