"""The ledger anchor: each project ledger's cap and head hash, kept outside the ledger file.

A hash chain shows an edited, deleted or reordered line, but not a file cut after a complete
line, a file rewritten whole with a recomputed chain, or a fresh file. The anchor closes those
gaps for everyone who does not also edit every other copy: the project state folder
(:func:`kit.state.project_state_dir`) holds ``dp-ledgers.json``, which lists, per data source,

``source``
    the public name of the data source (at most one ledger per source and project);
``ledger``
    the ledger file (a name inside the state folder, or an absolute path);
``cap_rho``, ``cap_delta``
    the caps fixed at creation;
``genesis``, ``head``, ``n_lines``
    the SHA-256 of the ledger's first and last lines and its number of lines.

The ledger (:mod:`kit.dp.ledger`) writes the anchor under the state lock after every append
(ledger first, anchor second; readers read the anchor first, so a reader never sees an anchor
ahead of its ledger). A ledger verifies only if its first line hashes to ``genesis``, its caps
equal the anchored caps and line ``n_lines`` hashes to ``head`` (lines after it are allowed: a
writer interrupted between the two writes; they only add spending). Every DP output carries the
same facts in its provenance (:func:`anchor_text`), so ``kit review`` can check a release
against the ledger (:mod:`kit.dp.audit`).

Examples
--------
>>> text = anchor_text("project", Fraction(1, 2), Fraction(1, 10**7), "ab12", "0" * 64)
>>> text
'ledger anchor: source=project cap_rho=1/2 cap_delta=1/10000000 charge=ab12 head=sha256:000...
>>> parse_anchor_text("rho=1/8; " + text)[0].cap_rho
Fraction(1, 2)
>>> check_source("BEF-2015")
'bef-2015'
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from kit.dp.accounting import fraction_text
from kit.errors import DisclosureError, SpecError
from kit.state import atomic_write_text

__all__ = [
    "ANCHOR_FORMAT",
    "ANCHOR_NAME",
    "DEFAULT_SOURCE",
    "EXIT_TAMPERED",
    "Anchor",
    "AnchorEntry",
    "LedgerIntegrityError",
    "ProvenanceAnchor",
    "anchor_path",
    "anchor_text",
    "check_source",
    "compare",
    "parse_anchor_text",
    "read_anchor",
    "write_anchor",
]

#: File name of the anchor in the project state folder.
ANCHOR_NAME = "dp-ledgers.json"
#: Format tag of the anchor file.
ANCHOR_FORMAT = "kit-dp-anchor/1"
#: The data source of a project's ledger when none is named: all of the project's data.
DEFAULT_SOURCE = "project"
#: CLI exit code of a ledger that fails verification (tampered), as ``kit review``'s.
EXIT_TAMPERED = 4

_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FRACTION = r"\d+(?:/\d+)?"
_TEXT = re.compile(
    rf"ledger anchor: source=(?P<source>[a-z0-9][a-z0-9_.-]{{0,63}}) cap_rho=(?P<cap_rho>{_FRACTION}) "
    rf"cap_delta=(?P<cap_delta>{_FRACTION}) charge=(?P<charge>[0-9a-f]{{1,64}}) "
    r"head=sha256:(?P<head>[0-9a-f]{64})"
)


class LedgerIntegrityError(DisclosureError):
    """A ledger or its anchor failed verification; nothing may be charged against it (exit 4)."""

    exit_code = EXIT_TAMPERED


def check_source(source: str) -> str:
    """The canonical (lower-case) name of a data source, or a :class:`SpecError`.

    >>> check_source("Project")
    'project'
    """
    text = source.strip().lower() if isinstance(source, str) else ""
    if not _SOURCE.fullmatch(text):
        raise SpecError("privacy ledger source", "a data source is named by 1 to 64 letters, digits, '_', "
                        "'.' or '-', starting with a letter or digit",
                        f"use e.g. source='{DEFAULT_SOURCE}' (all of the project's data) or source='bef'")
    return text


@dataclass(frozen=True)
class AnchorEntry:
    """What the anchor records about one ledger (public: names, caps and hashes)."""

    source: str
    ledger: str
    project: str
    cap_rho: Fraction
    cap_delta: Fraction
    genesis: str
    head: str
    n_lines: int
    created: str

    def ledger_path(self, state_dir: Path) -> Path:
        """The ledger file (names are relative to the state folder)."""
        p = Path(self.ledger)
        return p if p.is_absolute() else state_dir / p

    def advanced(self, head: str, n_lines: int) -> AnchorEntry:
        """The entry after an append."""
        return replace(self, head=head, n_lines=n_lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping for the anchor file."""
        return {"source": self.source, "ledger": self.ledger, "project": self.project,
                "cap_rho": fraction_text(self.cap_rho), "cap_delta": fraction_text(self.cap_delta),
                "genesis": self.genesis, "head": self.head, "n_lines": self.n_lines, "created": self.created}


def _entry(doc: Any) -> AnchorEntry:
    if not isinstance(doc, Mapping):
        raise ValueError("entry")
    n = doc.get("n_lines")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError("n_lines")
    hashes = [doc.get("genesis"), doc.get("head")]
    if not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in hashes):
        raise ValueError("hash")
    texts = {k: doc.get(k) for k in ("source", "ledger", "project", "cap_rho", "cap_delta", "created")}
    if not all(isinstance(v, str) for v in texts.values()):
        raise ValueError("text")
    caps = Fraction(str(texts["cap_rho"])), Fraction(str(texts["cap_delta"]))
    if caps[0] <= 0 or caps[1] < 0:
        raise ValueError("cap")
    return AnchorEntry(source=check_source(str(texts["source"])), ledger=str(texts["ledger"]),
                       project=str(texts["project"]), cap_rho=caps[0], cap_delta=caps[1],
                       genesis=str(hashes[0]), head=str(hashes[1]), n_lines=n, created=str(texts["created"]))


@dataclass(frozen=True)
class Anchor:
    """The anchor file's content: one entry per data source."""

    entries: tuple[AnchorEntry, ...] = ()

    def by_source(self, source: str) -> AnchorEntry | None:
        """The entry of a data source."""
        return next((e for e in self.entries if e.source == source), None)

    def by_path(self, path: str | os.PathLike[str], state_dir: Path) -> AnchorEntry | None:
        """The entry whose ledger is ``path`` (compared after resolving both)."""
        target = _resolved(Path(path))
        return next((e for e in self.entries if _resolved(e.ledger_path(state_dir)) == target), None)

    def with_entry(self, entry: AnchorEntry) -> Anchor:
        """The anchor with ``entry`` added or replacing the entry of its source."""
        others = tuple(e for e in self.entries if e.source != entry.source)
        return Anchor(tuple(sorted((*others, entry), key=lambda e: e.source)))

    def to_text(self) -> str:
        """Canonical JSON text."""
        doc = {"format": ANCHOR_FORMAT, "ledgers": [e.as_dict() for e in self.entries]}
        return json.dumps(doc, sort_keys=True, indent=1) + "\n"


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # pragma: no cover - resolve only fails on exotic file systems
        return path.absolute()


def anchor_path(state_dir: Path) -> Path:
    """Where the anchor of a project state folder is; its lock guards every ledger change."""
    return state_dir / ANCHOR_NAME


def read_anchor(state_dir: Path) -> Anchor:
    """Read the anchor (an empty one when the file does not exist).

    Raises
    ------
    LedgerIntegrityError
        When the file exists but is not a valid anchor.
    """
    path = anchor_path(state_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Anchor()
    except OSError as exc:
        raise LedgerIntegrityError(f"ledger anchor {ANCHOR_NAME}", f"cannot be read ({type(exc).__name__})",
                                   "check the permissions of the project state folder") from None
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != ANCHOR_FORMAT or not isinstance(
                doc.get("ledgers"), list):
            raise ValueError("format")
        entries = tuple(_entry(e) for e in doc["ledgers"])
        if len({e.source for e in entries}) != len(entries):
            raise ValueError("duplicate source")
    except (ValueError, UnicodeDecodeError, ZeroDivisionError, SpecError):
        raise LedgerIntegrityError(f"ledger anchor {ANCHOR_NAME}", "the file is damaged or was edited by hand",
                                   "ask the output checker; no budget can be spent until the anchor and the "
                                   "ledger agree") from None
    return Anchor(entries)


def write_anchor(state_dir: Path, anchor: Anchor) -> None:
    """Replace the anchor atomically. The caller holds ``kit.state.locked(anchor_path(state_dir))``."""
    atomic_write_text(anchor_path(state_dir), anchor.to_text())


def compare(entry: AnchorEntry, hashes: Sequence[str], cap_rho: Fraction, cap_delta: Fraction
            ) -> tuple[list[str], int]:
    """Problems of a ledger measured against its anchor entry, and its lines not yet anchored.

    ``hashes`` are the SHA-256 of the ledger's lines in order; the caps are those of its header.
    """
    problems: list[str] = []
    if not hashes or hashes[0] != entry.genesis:
        problems.append("the first line differs from the anchored one (the ledger was replaced or its "
                        "header rewritten)")
    if (cap_rho, cap_delta) != (entry.cap_rho, entry.cap_delta):
        problems.append("the cap differs from the anchored cap (a ledger's cap is fixed at creation)")
    if len(hashes) < entry.n_lines:
        problems.append(f"the ledger has {len(hashes)} line(s) but {entry.n_lines} were anchored (lines were "
                        "removed)")
    elif hashes[entry.n_lines - 1] != entry.head:
        problems.append(f"line {entry.n_lines} differs from the anchored head (the ledger was rewritten)")
    return problems, max(len(hashes) - entry.n_lines, 0)


# ------------------------------------------------------------------ provenance
@dataclass(frozen=True)
class ProvenanceAnchor:
    """The ledger facts one DP output records in its provenance."""

    source: str
    cap_rho: Fraction
    cap_delta: Fraction
    charge: str
    head: str


def anchor_text(source: str, cap_rho: Fraction, cap_delta: Fraction, charge: str, head: str) -> str:
    """The machine-readable ledger anchor of a DP output's privacy-budget statement."""
    return (f"ledger anchor: source={source} cap_rho={fraction_text(cap_rho)} "
            f"cap_delta={fraction_text(cap_delta)} charge={charge} head=sha256:{head}")


def parse_anchor_text(text: str) -> list[ProvenanceAnchor]:
    """Every ledger anchor in a privacy-budget statement (see :func:`anchor_text`)."""
    return [ProvenanceAnchor(m["source"], Fraction(m["cap_rho"]), Fraction(m["cap_delta"]), m["charge"],
                             m["head"]) for m in _TEXT.finditer(text)]
