"""The release manifest: every output, every file with its SHA-256, and a self-checksum.

The manifest is JSON. It is named ``manifest.json`` when the rule set allows
the ``json`` file type and ``manifest.txt`` otherwise (DST's list of approved
file types has ``txt`` but not ``json``); :func:`find_manifest` finds either.

``integrity.content_sha256`` is the SHA-256 of the canonical JSON of the
manifest without its ``integrity`` member (sorted keys, no whitespace), so an
edit that does not also recompute it is caught by ``kit review``. The
checker's folder keeps the SHA-256 of the manifest file itself, which also
catches a consistent rewrite.

Examples
--------
>>> doc = {"outputs": [], "files": []}
>>> sealed = seal(doc)
>>> verify_seal(sealed)
True
>>> sealed["files"].append({"path": "x.html"})
>>> verify_seal(sealed)
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kit.errors import SpecError

__all__ = [
    "MANIFEST_NAMES",
    "MANIFEST_VERSION",
    "canonical_json",
    "find_manifest",
    "load_manifest",
    "manifest_name",
    "manifest_text",
    "seal",
    "sha256_bytes",
    "sha256_file",
    "verify_seal",
]

#: Version of the manifest layout.
MANIFEST_VERSION = 1
#: File names a manifest may have, in order of preference.
MANIFEST_NAMES = ("manifest.json", "manifest.txt")


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(doc: Any) -> str:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 characters kept."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _content_hash(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "integrity"}
    return sha256_bytes(canonical_json(body).encode("utf-8"))


def seal(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with ``integrity.content_sha256`` set."""
    out = dict(doc)
    out["integrity"] = {"algorithm": "sha256", "content_sha256": _content_hash(doc)}
    return out


def verify_seal(doc: Mapping[str, Any]) -> bool:
    """Whether the manifest's self-checksum matches its content."""
    integrity = doc.get("integrity")
    if not isinstance(integrity, Mapping):
        return False
    return integrity.get("content_sha256") == _content_hash(doc)


def manifest_name(file_types: tuple[str, ...]) -> str:
    """The manifest's file name under a rule set's file types.

    >>> manifest_name(("html", "txt")), manifest_name(("json", "txt"))
    ('manifest.txt', 'manifest.json')
    """
    return "manifest.json" if "json" in file_types or "txt" not in file_types else "manifest.txt"


def manifest_text(doc: Mapping[str, Any]) -> str:
    """The manifest as written: indented JSON with sorted keys and a final newline."""
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def find_manifest(folder: Path) -> Path | None:
    """The manifest file of a release folder, or ``None``."""
    for name in MANIFEST_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest.

    Raises
    ------
    SpecError
        When the file is not valid JSON or not a JSON object.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SpecError(
            f"manifest {path.name}",
            f"cannot be read as JSON ({type(exc).__name__})",
            "the release is damaged; ask the researcher to write it again",
        ) from None
    if not isinstance(doc, dict):
        raise SpecError(
            f"manifest {path.name}",
            "is not a JSON object",
            "the release is damaged; ask the researcher to write it again",
        )
    return doc
