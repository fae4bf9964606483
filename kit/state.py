"""The project's shared state on the server: where it lives, how it is locked, how it is written.

Three files hold state that every release of a project shares: the disclosure registry (what
earlier outputs published and which populations they counted), the differential-privacy budget
ledger and the output checker's decision log. They change only

- under one **inter-process lock** per file (:func:`locked`, a ``filelock`` lock file beside it;
  a lock that cannot be had in time is a :class:`StateLockError`, never a silent write), and
- **atomically** (:func:`atomic_write_bytes`: a temporary file in the same folder, flushed and
  fsynced, then renamed over the target), so a reader sees the old or the new content, never a
  torn one, whatever happens to the writer (kill -9 included).

The **project state folder** is found in this order (:func:`project_state_dir`):

1. an explicit folder passed by the caller (``Session(state_dir=...)``, ``--state-dir``);
2. the environment variable ``KIT_STATE_DIR``;
3. the nearest folder named ``.kit-state`` in the current folder or one of its parents (create one
   at the top of the project folder on the server, e.g. ``E:\\70xxxx\\.kit-state``, so that every
   script run below it shares one registry and one ledger);
4. ``~/.kit-state`` in the user's home folder.

It is never part of a release: it holds per-cell unit evidence and must stay on the server.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> target = folder / "example.json"
>>> with locked(target):
...     atomic_write_bytes(target, b'{"n": 1}')
>>> target.read_bytes()
b'{"n": 1}'
>>> project_state_dir(folder / "state").name
'state'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kit.errors import KitError

__all__ = [
    "ENV_STATE_DIR",
    "LOCK_TIMEOUT_SECONDS",
    "STATE_FOLDER_NAME",
    "StateLockError",
    "atomic_write_bytes",
    "atomic_write_text",
    "locked",
    "project_state_dir",
]

#: Environment variable naming the project state folder.
ENV_STATE_DIR = "KIT_STATE_DIR"
#: Name of the folder searched for in the current folder and its parents.
STATE_FOLDER_NAME = ".kit-state"
#: How long a writer waits for another process's lock before it gives up (fail closed).
LOCK_TIMEOUT_SECONDS = 120.0
#: Prefix of the temporary files written by :func:`atomic_write_bytes`.
TEMP_PREFIX = ".kit-tmp-"


class StateLockError(KitError):
    """Another process held a state file's lock for too long; nothing was changed."""


def project_state_dir(explicit: str | os.PathLike[str] | None = None, create: bool = True) -> Path:
    """The project's state folder (see the module docstring for the search order).

    Parameters
    ----------
    explicit
        A folder chosen by the caller; wins over everything else.
    create
        Create the folder (and its parents) when missing.

    Raises
    ------
    KitError
        When the folder cannot be created or is not a folder.
    """
    if explicit is not None:
        folder = Path(explicit)
    elif os.environ.get(ENV_STATE_DIR):
        folder = Path(os.environ[ENV_STATE_DIR])
    else:
        folder = _nearest_state_folder(Path.cwd()) or Path.home() / STATE_FOLDER_NAME
    folder = folder.expanduser()
    if folder.exists() and not folder.is_dir():
        raise KitError("project state folder", f"'{folder.name}' exists but is not a folder",
                       f"remove it, or point {ENV_STATE_DIR} (or state_dir=) at a folder")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KitError("project state folder", f"cannot create '{folder.name}' ({type(exc).__name__})",
                           f"check the permissions of its parent, or set {ENV_STATE_DIR} to a writable "
                           "folder on the server") from None
    return folder


def _nearest_state_folder(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / STATE_FOLDER_NAME
        if candidate.is_dir():
            return candidate
    return None


@contextlib.contextmanager
def locked(target: str | os.PathLike[str], timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the inter-process lock of a state file (``TARGET.lock`` beside it).

    The lock is re-entrant within one thread of one process. A lock that cannot be had within
    ``timeout`` seconds raises :class:`StateLockError` and nothing is changed.
    """
    from filelock import FileLock, Timeout

    path = Path(target)
    lock = FileLock(str(path.with_name(path.name + ".lock")), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise StateLockError(f"state file '{path.name}'",
                             f"another process held its lock for more than {timeout:g} s; nothing was changed",
                             "wait for the other release or review to finish, then run again") from None
    except OSError as exc:
        raise StateLockError(f"state file '{path.name}'", f"its lock file cannot be created ({type(exc).__name__})",
                             "check that the state folder is writable") from None
    try:
        yield
    finally:
        lock.release()


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``target`` by ``data`` atomically (temporary file, fsync, rename).

    Hold :func:`locked` around read-modify-write sequences; this function only guarantees that a
    reader never sees a partly written file.
    """
    path = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(target, text.encode("utf-8"))


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
