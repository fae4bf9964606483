"""Secondary suppression reports its step through the progress passed to Session.table (issue 22)."""

from __future__ import annotations

from types import TracebackType

import numpy as np
import pandas as pd

import kit


class Recorder:
    """A Progress that records (description, total, advanced) per task."""

    def __init__(self) -> None:
        self.tasks: list[list[object]] = []

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> Recorder._Task:
        self.tasks.append([description, total, 0])
        return Recorder._Task(self.tasks[-1])

    class _Task:
        def __init__(self, record: list[object]) -> None:
            self.record = record

        def advance(self, n: int = 1) -> None:
            self.record[2] = int(self.record[2]) + n  # type: ignore[call-overload]

        def close(self) -> None:
            pass

        def __enter__(self) -> Recorder._Task:
            return self

        def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                     tb: TracebackType | None) -> None:
            self.close()


def test_secondary_suppression_is_reported() -> None:
    rng = np.random.default_rng(5)
    kom = np.repeat(["A", "B", "C"], [30, 2, 25])
    df = pd.DataFrame({"PNR": np.arange(len(kom)), "KOM": kom, "SEX": rng.choice(["M", "F"], len(kom))})
    rec = Recorder()
    t = kit.Session("dst", unit="PNR").table(df, rows="KOM", cols="SEX", margins=True, name="t", progress=rec)
    assert any(s.suppressed for s in t.assessment.statuses)
    assert rec.tasks == [["secondary suppression and audit of 't'", 1, 1]]


def test_no_progress_without_suppression() -> None:
    df = pd.DataFrame({"PNR": np.arange(40), "KOM": np.repeat(["A", "B"], 20)})
    rec = Recorder()
    kit.Session("dst", unit="PNR").table(df, rows="KOM", margins=True, progress=rec)
    assert rec.tasks == []
