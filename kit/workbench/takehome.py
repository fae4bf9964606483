"""The take-home zip: the approved outputs of a release, and nothing else.

:func:`build_takehome` verifies the release again (a tampered release gets no zip),
takes the outputs whose state is *approved* (the request replayed from the decision
log; for a release without a request, the latest decision on this manifest), keeps
their files whose type the release's rule set allows (``file_types_allowed`` of the
manifest), re-hashes every file against the manifest, and writes
``<release>-approved.zip`` beside the release folder atomically (temporary file,
fsync, rename): the zip holds the files under their release paths and
``takehome-manifest.json`` with every file's SHA-256 and size, the approved outputs
and their reviewers, and the release manifest's SHA-256. Rejected, questioned and
unreviewed outputs are never in it.

Examples
--------
>>> allowed_type("tables/t.tab", ["tab", "html"]), allowed_type("x/t.csv", ["tab"]), allowed_type("t", ["tab"])
(True, False, False)
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kit.errors import SpecError
from kit.release.manifest import sha256_bytes
from kit.release.review import ReviewStatus
from kit.state import atomic_write_bytes, locked
from kit.workbench.views import Snapshot, overview_rows

__all__ = ["TAKEHOME_MANIFEST", "Takehome", "allowed_type", "build_takehome", "takehome_path"]

#: Name of the manifest inside the zip.
TAKEHOME_MANIFEST = "takehome-manifest.json"
_STAMP = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Takehome:
    """A written take-home zip."""

    path: Path
    outputs: tuple[str, ...]
    files: tuple[str, ...]
    sha256: str


def allowed_type(relpath: str, types: Sequence[str]) -> bool:
    """Whether the file's extension is one of ``types`` (case-insensitive)."""
    suffix = PurePosixPath(relpath).suffix.lower().lstrip(".")
    return bool(suffix) and suffix in {t.lower() for t in types}


def takehome_path(release: Path) -> Path:
    """Where the zip of ``release`` goes: beside the release folder."""
    return release.parent / f"{release.name}-approved.zip"


def build_takehome(snap: Snapshot, *, time: str) -> Takehome:
    """Write the zip of the approved outputs (see the module docs).

    Raises
    ------
    SpecError
        When the release does not verify, no output is approved, or a file changed.
    """
    review = snap.review
    if review.status is ReviewStatus.TAMPERED:
        raise SpecError("take-home zip", "the release or its decision log does not verify",
                        "run kit review RELEASE to see why; nothing was written")
    if snap.manifest.get("review_request") and review.request is None:
        raise SpecError("take-home zip", "the release was written as a request and its request was not found",
                        "start the workbench with --checker-dir; nothing was written")
    approved = [r for r in overview_rows(snap) if r.state == "approved"]
    if not approved:
        raise SpecError("take-home zip", "no output is approved", "approve outputs first")
    types = snap.manifest.get("file_types_allowed", [])
    types = [str(t) for t in types] if isinstance(types, list) else []
    members: list[tuple[str, bytes]] = []
    records: list[dict[str, Any]] = []
    for row in approved:
        entry = snap.output(row.name) or {}
        for rel in entry.get("files", []) if isinstance(entry.get("files"), list) else []:
            rec = snap.file_record(str(rel))
            if rec is None or not allowed_type(str(rel), types):
                continue
            data = review.release.joinpath(*str(rel).split("/")).read_bytes()
            if sha256_bytes(data) != rec.get("sha256"):
                raise SpecError("take-home zip", "a file changed since the review",
                                "run kit review RELEASE again; nothing was written")
            members.append((str(rel), data))
            records.append({"path": str(rel), "output": row.name, "sha256": sha256_bytes(data), "bytes": len(data)})
    doc = {
        "release": review.release.name,
        "manifest_sha256": review.manifest_sha256,
        "created": time,
        "outputs": [{"name": r.name, "state": r.state,
                     "reviewers": [{"reviewer": v.reviewer, "decision": v.decision} for v in r.reviews]}
                    for r in approved],
        "files": records,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel, data in [*members, (TAKEHOME_MANIFEST, (json.dumps(doc, indent=2, sort_keys=True,
                                                                     ensure_ascii=False) + "\n").encode())]:
            info = zipfile.ZipInfo(rel, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    payload = buffer.getvalue()
    target = takehome_path(review.release)
    with locked(target):
        atomic_write_bytes(target, payload)
    return Takehome(target, tuple(r.name for r in approved), tuple(m[0] for m in members), sha256_bytes(payload))
