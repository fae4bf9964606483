"""Where the kit's data folders are, installed or run from an unzipped source tree.

Installed from a wheel, ``disclosure_rules/`` and ``templates/`` are package data
inside ``kit/`` (``kit/disclosure_rules``, ``kit/templates``). Run from a source
tree (``python -m kit`` in an unzipped copy), they are the top-level folders
beside ``kit/``. Both layouts are looked up here and nowhere else.

>>> rules_dir().name
'disclosure_rules'
"""

from __future__ import annotations

from pathlib import Path

from kit.errors import KitInternalError

__all__ = ["rules_dir", "templates_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise KitInternalError(
        f"the kit's '{name}' folder is missing from the installation; reinstall the kit"
    )


def rules_dir() -> Path:
    """Folder of the shipped rule sets."""
    return _find("disclosure_rules")


def templates_dir() -> Path:
    """Folder of the shipped report templates."""
    return _find("templates")
