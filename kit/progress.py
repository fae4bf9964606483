"""Progress of long steps, reported through an object the caller passes (no module state).

A library function that can run for more than a few seconds (register cache conversion, panel
build, evidence over large inputs, secondary suppression, permutation inference, synthetic
generation, the demo's steps) takes ``progress: Progress | None = None``. ``None`` reports
nothing (the default: the library prints nothing unasked). The command line passes a reporter
when standard error is a terminal or with ``--progress`` (``-q`` turns it off):

- :class:`TextProgress`: plain lines on a text stream, throttled (at most one line per
  ``interval`` seconds per task, plus the last one), for logs and terminals without tqdm;
- :class:`TqdmProgress`: tqdm bars when tqdm is installed (an optional dependency);
- :func:`default_progress` picks tqdm when importable, else text.

A description names a step or a file (``"convert bef2018.sas7bdat"``), never a data value; the
counts are of steps, rows or files.

Examples
--------
>>> import io
>>> out = io.StringIO()
>>> reporter = TextProgress(out, interval=0.0)
>>> with start(reporter, "permutations", total=3, unit="draws") as task:
...     for _ in range(3):
...         task.advance()
>>> print(out.getvalue().strip().splitlines()[0])
permutations: 0/3 draws (0%)
>>> print(out.getvalue().strip().splitlines()[-1])
permutations: 3/3 draws (100%) done
>>> with start(None, "silent", total=2) as task:  # no reporter: a no-op task
...     task.advance(2)
>>> list(track(None, range(3), "loop"))
[0, 1, 2]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol, TextIO, TypeVar, runtime_checkable

__all__ = [
    "NullProgress",
    "Progress",
    "ProgressTask",
    "TextProgress",
    "TqdmProgress",
    "default_progress",
    "resolve",
    "start",
    "track",
]

T = TypeVar("T")


@runtime_checkable
class ProgressTask(Protocol):
    """One step being reported: advance it, then close it (or use it as a context manager)."""

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units of work done."""

    def close(self) -> None:
        """The step is finished (idempotent)."""

    def __enter__(self) -> ProgressTask: ...

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


@runtime_checkable
class Progress(Protocol):
    """A reporter: starts tasks. Implementations must be cheap when a task advances often."""

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> ProgressTask:
        """A new task named ``description`` (a step or file name, never a data value)."""


class _NullTask:
    """A task that reports nothing."""

    def advance(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> _NullTask:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None


class NullProgress:
    """The reporter that reports nothing (what ``None`` means).

    >>> NullProgress().start("x", 3).advance()
    """

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> ProgressTask:
        return _NullTask()


class _TextTask:
    def __init__(self, stream: TextIO, description: str, total: int | None, unit: str, interval: float) -> None:
        self._stream, self._description, self._total, self._unit = stream, description, total, unit
        self._interval = interval
        self._done = 0
        self._closed = False
        self._t0 = time.monotonic()
        self._last = time.monotonic()
        self._line()  # the step has started: say what runs

    def _line(self, suffix: str = "") -> None:
        if self._total:
            share = f" ({100 * self._done // max(self._total, 1)}%)"
            text = f"{self._description}: {self._done}/{self._total} {self._unit}{share}"
        else:
            text = f"{self._description}: {self._done} {self._unit}"
        try:
            print(text + suffix, file=self._stream, flush=True)
        except (OSError, ValueError):  # a closed stream must not break the computation
            self._closed = True

    def advance(self, n: int = 1) -> None:
        if self._closed:
            return
        self._done += n
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._line()

    def close(self) -> None:
        if self._closed:
            return
        self._line(f" done in {time.monotonic() - self._t0:.1f} s" if self._interval > 0 else " done")
        self._closed = True

    def __enter__(self) -> _TextTask:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._closed = True


class TextProgress:
    """Plain progress lines on ``stream`` (standard error by default), throttled.

    Parameters
    ----------
    stream
        Where the lines go (``None``: ``sys.stderr`` at the time a task starts).
    interval
        Least number of seconds between two lines of one task (the final line always shows).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> task = TextProgress(out, interval=3600).start("convert bef.sas7bdat", total=1000, unit="rows")
    >>> for _ in range(1000):
    ...     task.advance()
    >>> task.close()
    >>> len(out.getvalue().splitlines())  # throttled: the start and the close
    2
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self._stream = stream
        self._interval = float(interval)

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> ProgressTask:
        return _TextTask(self._stream or sys.stderr, description, total, unit, self._interval)


class TqdmProgress:
    """tqdm bars on standard error (needs tqdm; :func:`default_progress` checks that it is there)."""

    def __init__(self, leave: bool = False, mininterval: float = 0.5) -> None:
        from tqdm import tqdm  # optional dependency: raises ImportError when absent

        self._tqdm = tqdm
        self._leave = leave
        self._mininterval = mininterval

    def start(self, description: str, total: int | None = None, unit: str = "steps") -> ProgressTask:
        bar: Any = self._tqdm(total=total, desc=description, unit=unit, leave=self._leave,
                              mininterval=self._mininterval, file=sys.stderr)
        return _TqdmTask(bar)


class _TqdmTask:
    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def advance(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> _TqdmTask:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def default_progress() -> Progress:
    """tqdm bars when tqdm is installed, else throttled text lines on standard error.

    >>> isinstance(default_progress(), Progress)
    True
    """
    try:
        return TqdmProgress()
    except ImportError:
        return TextProgress()


def resolve(progress: Progress | bool | None) -> Progress:
    """The reporter to use: ``None`` and ``False`` give :class:`NullProgress`, ``True`` gives
    :func:`default_progress` (the older ``progress=True/False`` switch still works).

    >>> type(resolve(None)).__name__, type(resolve(False)).__name__
    ('NullProgress', 'NullProgress')
    """
    if progress is None or progress is False:
        return NullProgress()
    if progress is True:
        return default_progress()
    return progress


def start(progress: Progress | bool | None, description: str, total: int | None = None,
          unit: str = "steps") -> ProgressTask:
    """Start a task on ``progress`` (a no-op task when it is ``None``)."""
    return resolve(progress).start(description, total, unit)


def track(progress: Progress | bool | None, items: Iterable[T], description: str, total: int | None = None,
          unit: str = "steps") -> Iterator[T]:
    """Iterate over ``items``, advancing one task per item (closed at the end)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with start(progress, description, total, unit) as task:
        for item in items:
            yield item
            task.advance()
