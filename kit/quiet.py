"""Keep native libraries from printing on the command's standard output.

HiGHS (through SciPy) prints lines such as
``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();`` straight to file
descriptor 1 from C++, whatever its ``output_flag`` says. A command whose stdout is read by a
script (or piped into a file that is transferred) must carry only the kit's own lines, so the
command line runs its computations inside :func:`native_stdout_silenced`, which points file
descriptor 1 at the null device for the duration and restores it after flushing the C library's
buffers. Python's own ``print`` should not be used inside the block (it would be lost when
``sys.stdout`` is the real descriptor).

The library does not do this by itself: redirecting a process-wide descriptor would also swallow
other threads' output in a notebook.

Examples
--------
>>> with native_stdout_silenced():
...     pass
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

__all__ = ["native_stdout_silenced"]


def _flush_c_stdio() -> None:
    """``fflush(NULL)``: write out what C code buffered for the current descriptor 1."""
    with contextlib.suppress(Exception):
        if os.name == "posix":
            ctypes.CDLL(None).fflush(None)
        else:  # pragma: no cover - Windows
            name = getattr(ctypes.util, "find_msvcrt", lambda: None)()
            if name:
                ctypes.CDLL(name).fflush(None)


@contextlib.contextmanager
def native_stdout_silenced() -> Iterator[None]:
    """Point file descriptor 1 at the null device while the block runs (no-op when impossible)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        os.close(saved)
        yield
        return
    try:
        _flush_c_stdio()
        os.dup2(devnull, 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
