"""What every command shares: argument types and the one-line rendering of a file-system error.

Exit codes live with the errors (:data:`kit.errors.EXIT_OK`, ``EXIT_BAD_INPUT`` 2, ``EXIT_BLOCKED``
3, ``EXIT_TAMPERED`` 4, ``EXIT_INTERNAL`` 70); :func:`kit.cli.main` turns every exception into one
line and one of them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["count_arg", "existing_file", "os_error_text"]


def os_error_text(err: OSError) -> str:
    """One line for an operating-system error: the file's name and the reason, never content.

    >>> text = os_error_text(PermissionError(13, "Permission denied", "/data/out/table.csv"))
    >>> text.split(". Fix:")[0]
    "a file operation on 'table.csv' failed (PermissionError: Permission denied)"
    """
    name = os.path.basename(str(err.filename).rstrip("/\\")) if err.filename is not None else ""
    what = f"a file operation on '{name}' failed" if name else "a file operation failed"
    reason = f"{type(err).__name__}: {err.strerror}" if err.strerror else type(err).__name__
    return (f"{what} ({reason}). Fix: check that the path exists, is the kind of path expected "
            "(a folder or a file) and is writable by you")


def count_arg(minimum: int, maximum: int = 2**62) -> Callable[[str], int]:
    """argparse type: a whole number in ``[minimum, maximum]`` (a range-checked count).

    >>> count_arg(1)("5"), count_arg(0, 10)("0")
    (5, 0)
    """

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a whole number from {minimum} to {maximum}")
        return value

    parse.__name__ = "count"
    return parse


def existing_file(text: str) -> Path:
    """argparse type: a path that must exist (message names the path only)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return path
