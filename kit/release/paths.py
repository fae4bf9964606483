"""Check a release folder and its checker folder before anything is written.

Bad paths are a :class:`~kit.errors.KitError` (exit 2) naming only the folder, never a traceback
from the file system half-way through a release:

- the release folder must not exist (the kit never overwrites) and must not lie below a plain
  file; the nearest existing folder above it must be writable;
- the checker folder must not be a dangling symbolic link or a plain file, must not lie below a
  plain file, must be writable, and the checker's report (``<checker_dir>/<release name>``) must
  be neither the release folder itself (``checker_dir`` equal to the release's parent), nor inside
  it, nor hold it.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> check_release_paths(root / "rel", root)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.SpecError: checker's report: the checker folder is the release folder's parent, ...
>>> [p.name for p in check_release_paths(root / "rel", root / "checker")]
['rel', 'rel']
"""

from __future__ import annotations

import os
from pathlib import Path

from kit.errors import DisclosureError, OutputExistsError, SpecError

__all__ = ["check_release_paths", "make_folders", "nearest_existing"]


def nearest_existing(path: Path) -> Path:
    """The path itself or its nearest ancestor that exists (or is a symbolic link)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(path.anchor or ".")


def _check_parent(path: Path, what: str, fix: str) -> None:
    base = nearest_existing(path.parent)
    if base.is_symlink() and not base.exists():
        raise SpecError(what, f"a folder above '{path.name}' is a dangling symbolic link", fix)
    if not base.is_dir():
        raise SpecError(what, f"'{path.name}' would be below the plain file '{base.name}'", fix)
    if not os.access(base, os.W_OK | os.X_OK):
        raise SpecError(what, f"the folder '{base.name}' is not writable for you", fix)


def check_release_paths(folder: str | os.PathLike[str],
                        checker_dir: str | os.PathLike[str] | None) -> tuple[Path, Path | None]:
    """Check the paths of a release and its checker's report; return them (absolute).

    Raises
    ------
    OutputExistsError
        When the release folder, or the checker's report of a release of that name, exists.
    SpecError
        When a path is below a plain file, not writable, or the checker folder is a dangling
        symbolic link or a plain file.
    DisclosureError
        When the checker's report would be inside the release or hold it (exit 3); the checker
        folder equal to the release's parent is a :class:`SpecError` (exit 2).
    """
    target = Path(os.path.abspath(folder))
    where = f"release folder '{target.name}'"
    if target.exists() or target.is_symlink():
        raise OutputExistsError(where, "it already exists; the kit never overwrites",
                                "choose a new folder name for this release")
    _check_parent(target, where, "write the release into an existing, writable folder (pass another path)")
    if checker_dir is None:
        return target, None
    root = Path(os.path.abspath(checker_dir))
    cwhere = f"checker folder '{root.name}'"
    if root.is_symlink() and not root.exists():
        raise SpecError(cwhere, "is a dangling symbolic link", "point --checker-dir at an existing folder, "
                        "or at a new path in one")
    if root.exists() and not root.is_dir():
        raise SpecError(cwhere, "is a plain file, not a folder", "pass a folder for the checker's report")
    fix = "put the checker's report in a separate, writable folder that is never transferred"
    if not root.exists():
        _check_parent(root, cwhere, fix)
    elif not os.access(root, os.W_OK | os.X_OK):
        raise SpecError(cwhere, "is not writable for you", fix)
    real_root = root.resolve()
    real_target = target.parent.resolve() / target.name
    checker_target = real_root / target.name
    if real_root == real_target.parent:
        raise SpecError("checker's report", "the checker folder is the release folder's parent, so the "
                        "report would take the release's own place", fix)
    if checker_target == real_target or real_target in checker_target.parents or real_root == real_target:
        raise DisclosureError("checker's report", "the checker folder is inside the release folder", fix)
    if checker_target in real_target.parents:
        raise DisclosureError("checker's report", "the release folder would be inside the checker's report",
                              fix)
    if checker_target.exists() or checker_target.is_symlink():
        raise OutputExistsError(f"checker's report '{target.name}'", "a checker's report of a release of this name "
                                "already exists (e.g. of a release the kit refused)",
                                "choose a new release name, or move the old checker's report out of the checker folder")
    return target, checker_target


def make_folders(folder: Path) -> list[Path]:
    """``mkdir -p`` that returns the folders it created (deepest last), to undo them on failure."""
    created: list[Path] = []
    for candidate in reversed((folder, *folder.parents)):
        if not candidate.exists():
            candidate.mkdir()
            created.append(candidate)
    return created
