"""The release writer's temporary folders: made safely, and found and removed when a writer died.

A release (and its checker's report) is first written to a hidden sibling folder
``.<name>.tmp-<12 hex digits>`` and renamed into place at the end. A writer that is killed
(``kill -9``, a power cut) leaves that folder behind. To tell such a leftover from a writer still
at work, every temporary folder has a **lock file** beside it, ``.<name>.tmp-<hex>.lock``, which
its writer holds (an operating-system lock: it is released when the process dies, on Linux and on
Windows) from before the folder is made until after it is renamed or removed.

:func:`remove_stale` looks only at entries whose name matches that pattern **and** that have
the lock file beside them (the marker: a folder without one is never touched, whoever made it),
tries the lock without waiting, and removes folder and lock file only when the lock is free,
i.e. no living writer holds it. A lock file left alone (the writer died after the rename) is
removed the same way. The writer calls it on the release's parent folder and on the checker
folder before it writes, and tells the user what it removed.

Examples
--------
>>> import tempfile, pathlib
>>> parent = pathlib.Path(tempfile.mkdtemp())
>>> with TempFolder(parent, "r1") as tmp:
...     _ = tmp.path.mkdir()
...     remove_stale(parent)        # held by this writer: left alone
[]
>>> tmp.path.exists(), sorted(p.name for p in parent.iterdir())
(False, [])
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_SUFFIX", "TEMP_NAME", "TempFolder", "remove_stale"]

#: Name pattern of the writer's temporary folders.
TEMP_NAME = re.compile(r"^\.[^/\\]+\.tmp-[0-9a-f]{12}$")
#: Suffix of the lock file beside a temporary folder (its marker).
LOCK_SUFFIX = ".lock"


class TempFolder:
    """A temporary sibling folder name, with its lock held from ``__enter__`` to ``__exit__``.

    The folder itself is made by the caller (``path.mkdir()`` or a function that creates it);
    on exit it is removed when it still exists (after a failure, or when not renamed), then the
    lock is released and the lock file removed.
    """

    def __init__(self, parent: Path, name: str) -> None:
        self.path = parent / f".{name}.tmp-{secrets.token_hex(6)}"
        self._lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        self._lock: object | None = None

    def __enter__(self) -> TempFolder:
        from filelock import FileLock

        lock = FileLock(str(self._lock_path), timeout=0)
        lock.acquire()
        self._lock = lock
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Remove the folder if it is still there, release and remove the lock file."""
        if self.path.exists() and not self.path.is_symlink():
            shutil.rmtree(self.path, ignore_errors=True)
        lock = self._lock
        self._lock = None
        if lock is not None:
            lock.release()  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            os.unlink(self._lock_path)


def _free(lock_path: Path) -> bool:
    """Whether nobody holds the lock (taking it for a moment; never waits)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except (Timeout, OSError):
        return False
    lock.release()
    return True


def remove_stale(parent: Path) -> list[str]:
    """Remove the temporary folders (and lone lock files) that dead writers left in ``parent``.

    Returns the names removed (for a note to the user). Never raises for a folder it cannot
    read or an entry it cannot remove: those are left alone.
    """
    removed: list[str] = []
    try:
        entries = sorted(parent.iterdir()) if parent.is_dir() else []
    except OSError:
        return removed
    names = {e.name for e in entries}
    for entry in entries:
        name = entry.name
        if name.endswith(LOCK_SUFFIX) and TEMP_NAME.match(name[: -len(LOCK_SUFFIX)]):
            folder = entry.with_name(name[: -len(LOCK_SUFFIX)])
            if entry.is_symlink() or not entry.is_file() or not _free(entry):
                continue
            if folder.name in names and folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
                if folder.exists():
                    continue
                removed.append(folder.name)
            with contextlib.suppress(OSError):
                os.unlink(entry)
    return removed
