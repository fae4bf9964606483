"""The project's privacy-budget ledger: append-only, hash-chained JSON lines, anchored.

One ledger per data source and project, found by the kit in the project state folder
(:func:`kit.state.project_state_dir`): :meth:`BudgetLedger.find` (or ``dp_table(..., ledger=None)``)
opens it, :meth:`BudgetLedger.create` makes it once (the project owner fixes the cap), and a second
ledger for the same data source is refused. Its first line fixes the cap (ρ for zCDP and a δ cap);
every later line appends. Each line is one canonical JSON object (sorted keys, no spaces) that
carries ``prev``, the SHA-256 of the previous line's bytes, so an edited, deleted or reordered line
breaks the chain. Budgets are exact fractions stored as ``"p/q"`` strings.

Line types:

``created``
    ``project``, ``source``, ``cap_rho``, ``cap_delta``, ``format``.
``submitted``
    written *before* OpenDP runs: ``charge`` (id), ``label``, ``spec``
    (fingerprint), ``measure``, ``rho``, ``delta`` (and ``epsilon`` for pure
    DP), and the running totals ``total_rho`` / ``total_delta``. The budget is
    spent from this line on.
``released``
    written after the noisy values exist: ``charge`` and public ``details``
    (mechanism, noise scales).
``failed``
    OpenDP failed after the charge: ``charge`` and the error's class name. The
    budget stays spent (the data may have been touched).

A charge that would exceed the cap is refused before anything is written or
any data are read (:class:`~kit.errors.BudgetExceededError`). Every change holds
the project's DP state lock (:func:`kit.state.locked` on the anchor), re-reads and
verifies the ledger and its anchor under it, checks the budget and appends in the
same critical section (two processes charging at once never overspend), and
rewrites the file atomically (:func:`kit.state.atomic_write_bytes`), then the anchor.

What the chain cannot show by itself (a file cut after a complete line, a file
rewritten whole with a recomputed chain, a fresh file) the anchor shows: the cap,
first-line and head hashes are kept in the state folder's ``dp-ledgers.json``
(:mod:`kit.dp.anchor`) and in every DP output's provenance, and
``verify(expect_head=...)`` / ``kit budget verify --expect-head`` checks a head
pinned elsewhere (by the output checker or the DST operator).

Examples
--------
>>> import tempfile, pathlib
>>> state = pathlib.Path(tempfile.mkdtemp())
>>> ledger = BudgetLedger.create(cap_rho="1/2", delta="1e-7", project="demo", state_dir=state)
>>> ledger.path.name
'dp-ledger-project.jsonl'
>>> with ledger.spend(rho="1/8", label="counts") as charge:
...     pass                       # OpenDP runs here
>>> ledger.spent_rho, ledger.remaining_rho
(Fraction(1, 8), Fraction(3, 8))
>>> BudgetLedger.find(state_dir=state).verify().ok
True
>>> ledger.check(rho="1/2")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.BudgetExceededError: privacy ledger demo: charge of rho=1/2 (0.5) exceeds the remaining ...
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from kit.core.cleared import utc_now
from kit.dp.accounting import BudgetLike, as_fraction, fraction_text
from kit.dp.anchor import (
    DEFAULT_SOURCE,
    Anchor,
    AnchorEntry,
    LedgerIntegrityError,
    anchor_path,
    check_source,
    compare,
    read_anchor,
    write_anchor,
)
from kit.errors import BudgetExceededError, DataReadError, DisclosureError, KitError, OutputExistsError, SpecError
from kit.state import atomic_write_bytes, locked, project_state_dir

__all__ = [
    "FORMAT",
    "BudgetLedger",
    "Charge",
    "EntryType",
    "LedgerIntegrityError",
    "LedgerReport",
    "locate",
    "project_ledger",
    "verify_file",
]

log = logging.getLogger(__name__)

#: Format tag written into the first line.
FORMAT = "kit-dp-ledger/1"
#: ``prev`` of the first line.
GENESIS = "0" * 64


class EntryType(enum.Enum):
    """Kinds of ledger lines."""

    CREATED = "created"
    SUBMITTED = "submitted"
    RELEASED = "released"
    FAILED = "failed"


def canonical_line(obj: Mapping[str, Any]) -> bytes:
    """Canonical bytes of one ledger line (without the newline)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def line_hash(line: bytes) -> str:
    """SHA-256 of a line's bytes (without the newline)."""
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class Charge:
    """A charge written to the ledger (the ``submitted`` line)."""

    id: str
    seq: int
    rho: Fraction
    delta: Fraction
    label: str
    head: str


@dataclass(frozen=True)
class LedgerReport:
    """Result of verifying a ledger file.

    ``problems`` lists what is wrong (line numbers and kinds of damage only);
    an empty tuple means the chain, the cap, the totals and (when checked) the
    anchor check out. ``source``, ``anchored_head`` and ``n_ledgers`` (ledgers
    of the project) come from the anchor; ``unanchored_lines`` counts lines
    after the anchored head (a writer interrupted between ledger and anchor).
    """

    path: str
    problems: tuple[str, ...]
    n_lines: int
    project: str = ""
    cap_rho: Fraction = Fraction(0)
    cap_delta: Fraction = Fraction(0)
    spent_rho: Fraction = Fraction(0)
    spent_delta: Fraction = Fraction(0)
    n_charges: int = 0
    n_released: int = 0
    n_failed: int = 0
    open_charges: tuple[str, ...] = ()
    head: str = GENESIS
    entries: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    hashes: tuple[str, ...] = field(default=(), repr=False)
    source: str = ""
    anchored_head: str = ""
    unanchored_lines: int = 0
    n_ledgers: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    @property
    def remaining_rho(self) -> Fraction:
        """Cap minus spent ρ."""
        return self.cap_rho - self.spent_rho

    @property
    def remaining_delta(self) -> Fraction:
        """Cap minus spent δ."""
        return self.cap_delta - self.spent_delta


def _frac(entry: Mapping[str, Any], key: str) -> Fraction:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ValueError(key)
    out = Fraction(value)
    if out < 0:
        raise ValueError(key)
    return out


class _Chain:
    """The running state of verifying a ledger line by line (resumable: see :meth:`BudgetLedger.verify`)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.entries: list[dict[str, Any]] = []
        self.prev = GENESIS
        self.project = ""
        self.cap_rho = self.cap_delta = Fraction(0)
        self.spent_rho = self.spent_delta = Fraction(0)
        self.outcome: dict[str, str | None] = {}
        self.hashes: list[str] = []
        self.n_released = self.n_failed = 0
        self.n_lines = 0

    def copy(self) -> _Chain:
        other = _Chain()
        other.__dict__.update(self.__dict__)
        other.problems = list(self.problems)
        other.entries = list(self.entries)
        other.outcome = dict(self.outcome)
        other.hashes = list(self.hashes)
        return other

    def feed(self, lines: list[bytes]) -> None:
        for line in lines:
            self._line(self.n_lines, line)
            self.n_lines += 1

    def _line(self, i: int, line: bytes) -> None:
        problems = self.problems
        no = i + 1
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            problems.append(f"line {no} is not a JSON object")
            self.prev = line_hash(line)
            self.hashes.append(self.prev)
            return
        self.entries.append(entry)
        if canonical_line(entry) != line:
            problems.append(f"line {no} is not in canonical form (edited by hand?)")
        if entry.get("prev") != self.prev:
            problems.append(f"line {no} does not chain to line {no - 1} (edited, deleted or reordered lines)")
        if entry.get("seq") != i:
            problems.append(f"line {no} has sequence number {entry.get('seq')!r}, expected {i}")
        self.prev = line_hash(line)
        self.hashes.append(self.prev)
        kind = entry.get("type")
        outcome = self.outcome
        try:
            if i == 0:
                if kind != EntryType.CREATED.value or entry.get("format") != FORMAT:
                    problems.append("line 1 is not a ledger header")
                    return
                self.project = str(entry.get("project", ""))
                self.cap_rho, self.cap_delta = _frac(entry, "cap_rho"), _frac(entry, "cap_delta")
                return
            if kind == EntryType.CREATED.value or "cap_rho" in entry or "cap_delta" in entry:
                problems.append(f"line {no} redefines the cap (the cap is fixed at creation)")
            elif kind == EntryType.SUBMITTED.value:
                rho, delta = _frac(entry, "rho"), _frac(entry, "delta")
                self.spent_rho += rho
                self.spent_delta += delta
                if _frac(entry, "total_rho") != self.spent_rho or _frac(entry, "total_delta") != self.spent_delta:
                    problems.append(f"line {no} has running totals that do not add up")
                if self.spent_rho > self.cap_rho or self.spent_delta > self.cap_delta:
                    problems.append(f"line {no} spends beyond the cap")
                cid = str(entry.get("charge"))
                if cid in outcome:
                    problems.append(f"line {no} repeats charge id {cid}")
                outcome[cid] = None
            elif kind in (EntryType.RELEASED.value, EntryType.FAILED.value):
                cid = str(entry.get("charge"))
                if cid not in outcome:
                    problems.append(f"line {no} closes a charge that was never submitted")
                elif outcome[cid] is not None:
                    problems.append(f"line {no} closes charge {cid} a second time")
                else:
                    outcome[cid] = kind
                    self.n_released += kind == EntryType.RELEASED.value
                    self.n_failed += kind == EntryType.FAILED.value
            else:
                problems.append(f"line {no} has an unknown type")
        except (ValueError, ZeroDivisionError):
            problems.append(f"line {no} has a missing or malformed budget field")

    def report(self, path: str, expect_head: str | None = None, truncated: bool = False) -> LedgerReport:
        problems = list(self.problems)
        if truncated:
            problems.insert(0, "the last line is incomplete (the file was truncated or is being written)")
        head = self.hashes[-1] if self.hashes else GENESIS
        if expect_head is not None and expect_head not in self.hashes:
            problems.append("the expected head hash is not in the file (lines were removed or the file "
                            "was rewritten)")
        return LedgerReport(
            path=path, problems=tuple(problems), n_lines=self.n_lines, project=self.project,
            cap_rho=self.cap_rho, cap_delta=self.cap_delta, spent_rho=self.spent_rho,
            spent_delta=self.spent_delta, n_charges=len(self.outcome), n_released=self.n_released,
            n_failed=self.n_failed, open_charges=tuple(c for c, o in self.outcome.items() if o is None),
            head=head, entries=tuple(self.entries), hashes=tuple(self.hashes),
        )


def _split(raw: bytes) -> list[bytes]:
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return lines


def verify_bytes(raw: bytes, path: str = "ledger", expect_head: str | None = None) -> LedgerReport:
    """Verify ledger content (see :func:`verify_file`)."""
    if not raw:
        return LedgerReport(path, ("the file is empty (truncated?)",), 0)
    chain = _Chain()
    chain.feed(_split(raw))
    return chain.report(path, expect_head, truncated=not raw.endswith(b"\n"))


def with_anchor(rep: LedgerReport, anchor: Anchor, entry: AnchorEntry | None) -> LedgerReport:
    """A ledger report with the problems found by measuring it against its anchor entry."""
    if entry is None:
        return replace(rep, problems=(*rep.problems, "the ledger is not registered in the project's anchor "
                                      "(a ledger made outside the kit, a second ledger, or the anchor was "
                                      "deleted)"), n_ledgers=len(anchor.entries))
    problems, ahead = compare(entry, rep.hashes, rep.cap_rho, rep.cap_delta)
    return replace(rep, problems=(*rep.problems, *problems), source=entry.source, anchored_head=entry.head,
                   unanchored_lines=ahead, n_ledgers=len(anchor.entries))


def verify_file(path: str | os.PathLike[str], expect_head: str | None = None, *,
                state_dir: str | os.PathLike[str] | None = None, anchored: bool = True) -> LedgerReport:
    """Verify a ledger file: hash chain, sequence, header, fixed cap, totals, spending and anchor.

    Parameters
    ----------
    path
        The ledger file.
    expect_head
        A head hash recorded earlier (in a release's provenance, by the
        output checker or the DST operator). The file must still contain a
        line with this hash.
    state_dir
        The project state folder holding the anchor (default: :func:`kit.state.project_state_dir`).
    anchored
        Measure the file against the project's anchor (``False``: the chain alone).
    """
    p = Path(path)
    anchor, entry = Anchor(), None
    if anchored:
        folder = project_state_dir(state_dir, create=False)
        anchor = read_anchor(folder)            # the anchor first: writers write it after the ledger
        entry = anchor.by_path(p, folder)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataReadError(f"ledger {p.name}", f"cannot be read ({type(exc).__name__})",
                            "check the path; create a ledger with 'kit budget create'") from None
    rep = verify_bytes(raw, p.name, expect_head)
    return with_anchor(rep, anchor, entry) if anchored else rep


def project_ledger(session: Any, ledger: BudgetLedger | None = None, source: str | None = None) -> BudgetLedger:
    """The ledger a DP release of ``session`` charges: the project's.

    ``ledger=None`` finds it in the session's project state folder (``session.state_dir`` when the
    session has one, else :func:`kit.state.project_state_dir`). A ledger anchored in another state
    folder (a fresh project made to get a fresh budget) is refused.

    Raises
    ------
    DisclosureError
        The ledger belongs to another project state folder.
    """
    folder = project_state_dir(getattr(session, "state_dir", None))
    if ledger is None:
        return BudgetLedger.find(source, state_dir=folder)
    if ledger.state_dir.resolve() != folder.resolve():
        raise DisclosureError(f"ledger {ledger.path.name}", "the ledger is anchored in another state folder than "
                              "the project's; its budget is not the project's budget",
                              "use the project's ledger: leave ledger= out (the kit finds it) or "
                              "BudgetLedger.find()")
    return ledger


def _location(path: Path, state_dir: Path) -> str:
    """How the anchor names a ledger: its file name inside the state folder, else its absolute path."""
    return path.name if path.parent.resolve() == state_dir.resolve() else str(path.resolve())


def locate(source: str | None = None, *, state_dir: str | os.PathLike[str] | None = None) -> Path:
    """The ledger file of a data source in the project's anchor (not verified).

    Without ``source`` the project must have exactly one ledger.

    Raises
    ------
    KitError
        The project has no ledger (for that source), or several and no ``source`` was named.
    """
    folder = project_state_dir(state_dir)
    anchor = read_anchor(folder)
    names = [e.source for e in anchor.entries]
    if source is not None:
        entry = anchor.by_source(check_source(source))
        if entry is None:
            raise KitError("privacy ledger", f"the project has no ledger for data source "
                           f"'{check_source(source)}' (it has {len(names)}: {names})",
                           "create it once with 'kit budget create --rho R --source NAME'")
        return entry.ledger_path(folder)
    if len(anchor.entries) == 1:
        return anchor.entries[0].ledger_path(folder)
    if not anchor.entries:
        raise KitError("privacy ledger", "the project has no privacy-budget ledger in its state folder",
                       "the project owner creates it once: 'kit budget create --rho 1' (or check "
                       "KIT_STATE_DIR / the .kit-state folder)")
    raise SpecError("privacy ledger", f"the project has {len(names)} ledgers (data sources {names})",
                    "pass source='NAME' (BudgetLedger.find(source=...), --source NAME)")


class BudgetLedger:
    """A project's persistent privacy-budget ledger (see the module docs).

    Find it with :meth:`find` (the kit looks it up in the project state folder), create it
    once per data source with :meth:`create`, or open a file with :meth:`open`; the file must
    be registered in the project's anchor. The object holds the path, the state folder and the
    verified state of the bytes it last read: every read re-reads the anchor and the whole
    file; bytes identical to the verified ones are not verified again, and lines appended since
    (by this or another process) are verified on top of the kept state, so any other change
    triggers a full verification. Every change happens under the state lock, so several
    sessions and processes can share one ledger.
    """

    def __init__(self, path: str | os.PathLike[str], *, state_dir: str | os.PathLike[str] | None = None,
                 _token: object = None) -> None:
        if _token is not _OPEN:
            raise SpecError("budget ledger", "a ledger is opened, not constructed",
                            "use BudgetLedger.find(), BudgetLedger.create(cap_rho=...) or BudgetLedger.open(path)")
        self.path = Path(path)
        self.state_dir = project_state_dir(state_dir)
        self._verified: tuple[bytes, _Chain] | None = None

    # ----------------------------------------------------------- construction
    @classmethod
    def create(cls, path: str | os.PathLike[str] | None = None, cap_rho: BudgetLike | None = None,
               delta: BudgetLike = "1e-7", project: str = "", *, source: str = DEFAULT_SOURCE,
               state_dir: str | os.PathLike[str] | None = None) -> BudgetLedger:
        """Create the ledger of a data source with a fixed cap, once per project.

        Parameters
        ----------
        path
            The ledger file; default ``dp-ledger-<source>.jsonl`` in the project state folder
            (an explicit path is for tests and older projects; it is registered all the same).
        cap_rho
            The project's total zCDP budget ρ (exact: ``"1"``, ``"1/2"``).
        delta
            The project δ: the cap on δ spent by τ-thresholding and the δ at
            which ε-equivalents are reported.
        project
            A public project label (for messages and provenance).
        source
            The public name of the data source (default ``project``: all of the project's data).
            A second ledger for a source is refused; ledgers of other sources are listed to the
            output checker (their budgets add up for persons in both).
        state_dir
            The project state folder (default: :func:`kit.state.project_state_dir`).

        Raises
        ------
        OutputExistsError
            The source already has a ledger, or the file exists: a cap is never reset.
        """
        if cap_rho is None:
            raise SpecError("privacy ledger", "no cap was given", "pass cap_rho='1' (agreed with the project "
                            "owner); the cap is fixed at creation")
        cap = as_fraction(cap_rho, "ledger cap_rho", allow_zero=False)
        d = as_fraction(delta, "ledger delta")
        if d >= 1:
            raise SpecError("ledger delta", "δ must be below 1", "use a small δ such as 1e-7")
        src = check_source(source)
        folder = project_state_dir(state_dir)
        p = Path(path) if path is not None else folder / f"dp-ledger-{src}.jsonl"
        now = utc_now()
        header = {"format": FORMAT, "seq": 0, "type": EntryType.CREATED.value, "time": now,
                  "project": str(project), "source": src, "cap_rho": fraction_text(cap),
                  "cap_delta": fraction_text(d), "prev": GENESIS}
        line = canonical_line(header)
        with locked(anchor_path(folder)):
            anchor = read_anchor(folder)
            if anchor.by_source(src) is not None:
                raise OutputExistsError(f"privacy ledger of data source '{src}'",
                                        "the project already has a ledger for this data source; a second one "
                                        "would double the budget",
                                        "use BudgetLedger.find() or 'kit budget show'; a ledger's cap is fixed "
                                        "at creation and is never reset")
            if p.exists() or anchor.by_path(p, folder) is not None:
                raise OutputExistsError(f"ledger {p.name}", "the file already exists",
                                        "open it with BudgetLedger.open(path); a ledger's cap is fixed at "
                                        "creation and is never reset")
            if not p.parent.is_dir():
                raise DataReadError(f"ledger {p.name}", "its folder does not exist", "create the folder first")
            try:
                atomic_write_bytes(p, line + b"\n")
            except OSError as exc:
                raise DataReadError(f"ledger {p.name}", f"cannot be created ({type(exc).__name__})",
                                    "check that the folder is writable") from None
            entry = AnchorEntry(source=src, ledger=_location(p, folder), project=str(project), cap_rho=cap,
                                cap_delta=d,
                                genesis=line_hash(line), head=line_hash(line), n_lines=1, created=now)
            write_anchor(folder, anchor.with_entry(entry))
        log.info("created privacy ledger %s for data source %s", p.name, src)
        return cls(p, state_dir=folder, _token=_OPEN)

    @classmethod
    def adopt(cls, path: str | os.PathLike[str], *, source: str = DEFAULT_SOURCE,
              state_dir: str | os.PathLike[str] | None = None) -> BudgetLedger:
        """Register a ledger made before ledgers were anchored as the ledger of a data source.

        The file must verify on its own (chain, cap, totals); it is anchored at its current head.
        Like :meth:`create`, refused when the source already has a ledger; the output checker
        sees every ledger of the project.
        """
        src = check_source(source)
        folder = project_state_dir(state_dir)
        p = Path(path)
        with locked(anchor_path(folder)):
            anchor = read_anchor(folder)
            if anchor.by_source(src) is not None or anchor.by_path(p, folder) is not None:
                raise OutputExistsError(f"privacy ledger of data source '{src}'",
                                        "the project already has this ledger or a ledger for this data source",
                                        "use BudgetLedger.find(); a second ledger would double the budget")
            rep = verify_file(p, anchored=False)
            if not rep.ok:
                raise LedgerIntegrityError(f"ledger {p.name}", f"verification failed ({rep.problems[0]})",
                                           "only an intact ledger can be adopted; ask the output checker")
            entry = AnchorEntry(source=src, ledger=_location(p, folder), project=rep.project,
                                cap_rho=rep.cap_rho, cap_delta=rep.cap_delta, genesis=rep.hashes[0],
                                head=rep.head, n_lines=rep.n_lines, created=utc_now())
            write_anchor(folder, anchor.with_entry(entry))
        log.info("adopted privacy ledger %s for data source %s", p.name, src)
        return cls(p, state_dir=folder, _token=_OPEN)

    @classmethod
    def find(cls, source: str | None = None, *, state_dir: str | os.PathLike[str] | None = None
             ) -> BudgetLedger:
        """The project's ledger (of ``source`` when the project has several); it must verify.

        Raises
        ------
        KitError
            The project has no ledger, or several and no ``source`` was named.
        LedgerIntegrityError
            The ledger or its anchor fails verification.
        """
        folder = project_state_dir(state_dir)
        ledger = cls(locate(source, state_dir=folder), state_dir=folder, _token=_OPEN)
        ledger.report()
        return ledger

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *,
             state_dir: str | os.PathLike[str] | None = None) -> BudgetLedger:
        """Open a ledger (``path=None``: :meth:`find`); it must verify against its anchor."""
        if path is None:
            return cls.find(state_dir=state_dir)
        ledger = cls(path, state_dir=state_dir, _token=_OPEN)
        ledger.report()
        return ledger

    def __repr__(self) -> str:
        return f"<BudgetLedger {self.path.name}>"

    # ---------------------------------------------------------------- reading
    @property
    def name(self) -> str:
        """Public name for messages: the project label, else the file name."""
        return self.verify().project or self.path.name

    def verify(self, expect_head: str | None = None) -> LedgerReport:
        """Verify the file and its anchor (never raises for damage; see :attr:`LedgerReport.problems`).

        Same result as :func:`verify_file`; only complete lines already
        verified by this object are not parsed again (see the class docs).
        """
        return self._read(expect_head)[1]

    def _read(self, expect_head: str | None = None) -> tuple[bytes, LedgerReport]:
        anchor = read_anchor(self.state_dir)     # the anchor first: writers write it after the ledger
        entry = anchor.by_path(self.path, self.state_dir)
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise DataReadError(f"ledger {self.path.name}", f"cannot be read ({type(exc).__name__})",
                                "check the path; create a ledger with 'kit budget create'") from None
        name = self.path.name
        if not raw:
            return raw, with_anchor(verify_bytes(raw, name, expect_head), anchor, entry)
        cached = self._verified
        if cached is not None and raw.startswith(cached[0]):
            done, chain = cached
            if len(raw) > len(done):
                chain = chain.copy()
                chain.feed(_split(raw[len(done):]))
        else:
            chain = _Chain()
            chain.feed(_split(raw))
        complete = raw.endswith(b"\n")
        if complete:
            self._verified = (raw, chain)
        return raw, with_anchor(chain.report(name, expect_head, truncated=not complete), anchor, entry)

    def report(self) -> LedgerReport:
        """Verify the file and raise :class:`LedgerIntegrityError` if it is damaged."""
        return self._checked()[1]

    def _checked(self) -> tuple[bytes, LedgerReport]:
        raw, rep = self._read()
        if not rep.ok:
            raise LedgerIntegrityError(f"ledger {self.path.name}",
                                       f"verification failed ({len(rep.problems)} problem(s): "
                                       f"{rep.problems[0]})",
                                       "run 'kit budget verify' and ask the output checker; no budget "
                                       "can be spent against a damaged ledger")
        return raw, rep

    @property
    def source(self) -> str:
        """The data source the ledger is anchored for."""
        return self.report().source

    @property
    def cap_rho(self) -> Fraction:
        """The ρ cap fixed at creation."""
        return self.report().cap_rho

    @property
    def cap_delta(self) -> Fraction:
        """The δ cap (the project δ) fixed at creation."""
        return self.report().cap_delta

    @property
    def spent_rho(self) -> Fraction:
        """ρ charged so far (submitted lines, whatever their outcome)."""
        return self.report().spent_rho

    @property
    def spent_delta(self) -> Fraction:
        """δ charged so far."""
        return self.report().spent_delta

    @property
    def remaining_rho(self) -> Fraction:
        """ρ still available."""
        return self.report().remaining_rho

    @property
    def remaining_delta(self) -> Fraction:
        """δ still available."""
        return self.report().remaining_delta

    @property
    def head(self) -> str:
        """SHA-256 of the last line: record it to detect later truncation."""
        return self.report().head

    # --------------------------------------------------------------- charging
    def check(self, rho: BudgetLike = 0, delta: BudgetLike = 0) -> None:
        """Raise :class:`~kit.errors.BudgetExceededError` if a charge would not fit. Writes nothing."""
        self._check(self.report(), as_fraction(rho, "rho"), as_fraction(delta, "delta"))

    def _check(self, rep: LedgerReport, rho: Fraction, delta: Fraction) -> None:
        name = rep.project or self.path.name
        if rho > rep.remaining_rho:
            raise BudgetExceededError(name, rho, rep.remaining_rho, "rho")
        if delta > rep.remaining_delta:
            raise BudgetExceededError(name, delta, rep.remaining_delta, "delta")

    def submit(self, rho: BudgetLike, delta: BudgetLike = 0, *, label: str = "", spec: str = "",
               measure: str = "zCDP", epsilon: BudgetLike | None = None) -> Charge:
        """Charge the budget: check and append a ``submitted`` line under one lock, or refuse.

        Call this before OpenDP runs; then :meth:`released` or :meth:`failed`.
        """
        r, d = as_fraction(rho, "rho"), as_fraction(delta, "delta")
        if r == 0 and d == 0:
            raise SpecError("privacy charge", "the charge is zero", "a release must cost something")
        extra: dict[str, Any] = {"label": str(label), "spec": str(spec), "measure": str(measure),
                                 "rho": fraction_text(r), "delta": fraction_text(d),
                                 "charge": secrets.token_hex(8)}
        if epsilon is not None:
            extra["epsilon"] = fraction_text(as_fraction(epsilon, "epsilon"))
        with locked(anchor_path(self.state_dir)):
            raw, rep = self._checked()
            self._check(rep, r, d)
            extra["total_rho"] = fraction_text(rep.spent_rho + r)
            extra["total_delta"] = fraction_text(rep.spent_delta + d)
            seq, head = self._append(raw, rep, EntryType.SUBMITTED, extra)
        log.info("privacy ledger %s: charged rho=%s delta=%s (%s)", self.path.name, extra["rho"],
                 extra["delta"], label)
        return Charge(id=extra["charge"], seq=seq, rho=r, delta=d, label=str(label), head=head)

    def released(self, charge: Charge, details: Mapping[str, Any] | None = None) -> str:
        """Append a ``released`` line for a charge; returns the new head hash.

        ``details`` must be public (mechanism, scales), never data values.
        """
        return self._close(charge, EntryType.RELEASED, {"details": dict(details or {})})

    def failed(self, charge: Charge, error: str) -> str:
        """Append a ``failed`` line; the charge stays spent. ``error`` is a class name, not a message."""
        return self._close(charge, EntryType.FAILED, {"error": str(error)[:80]})

    @contextlib.contextmanager
    def spend(self, rho: BudgetLike, delta: BudgetLike = 0, *, label: str = "", spec: str = "",
              measure: str = "zCDP", epsilon: BudgetLike | None = None) -> Iterator[Charge]:
        """Submit a charge, run the block, then record ``released`` (or ``failed`` and re-raise)."""
        charge = self.submit(rho, delta, label=label, spec=spec, measure=measure, epsilon=epsilon)
        try:
            yield charge
        except BaseException as exc:
            self.failed(charge, type(exc).__name__)
            raise
        self.released(charge)

    def _close(self, charge: Charge, kind: EntryType, extra: dict[str, Any]) -> str:
        with locked(anchor_path(self.state_dir)):
            raw, rep = self._checked()
            _, head = self._append(raw, rep, kind, {"charge": charge.id, **extra})
        return head

    def _append(self, raw: bytes, rep: LedgerReport, kind: EntryType, extra: Mapping[str, Any]
                ) -> tuple[int, str]:
        """Append one line (the caller holds the lock and verified ``raw``): ledger, then anchor."""
        entry = {**extra, "seq": rep.n_lines, "type": kind.value, "time": utc_now(), "prev": rep.head}
        line = canonical_line(entry)
        head = line_hash(line)
        atomic_write_bytes(self.path, raw + line + b"\n")
        anchor = read_anchor(self.state_dir)
        anchored = anchor.by_path(self.path, self.state_dir)
        if anchored is None:  # pragma: no cover - verified under the same lock just before
            raise LedgerIntegrityError(f"ledger {self.path.name}", "the ledger left the anchor while locked",
                                       "ask the output checker")
        write_anchor(self.state_dir, anchor.with_entry(anchored.advanced(head, rep.n_lines + 1)))
        return rep.n_lines, head

    # ---------------------------------------------------------------- display
    def show(self) -> str:
        """A text summary for researchers and output checkers (public: budgets only)."""
        return format_report(self.verify())


class _OpenToken:
    __slots__ = ()


_OPEN = _OpenToken()


def format_report(rep: LedgerReport) -> str:
    """Text for ``kit budget show``."""
    from kit.dp.accounting import zcdp_to_epsilon

    lines = [
        f"Privacy ledger {rep.path} (project {rep.project or '-'}, data source {rep.source or '-'})",
        f"cap:       rho={fraction_text(rep.cap_rho)} ({float(rep.cap_rho):.6g}), "
        f"delta={float(rep.cap_delta):.3g}",
        f"spent:     rho={fraction_text(rep.spent_rho)} ({float(rep.spent_rho):.6g}), "
        f"delta={float(rep.spent_delta):.3g}; epsilon-equivalent "
        f"{zcdp_to_epsilon(rep.spent_rho, rep.cap_delta):.4g} at delta={float(rep.cap_delta):.3g}",
        f"remaining: rho={fraction_text(rep.remaining_rho)} ({float(rep.remaining_rho):.6g}), "
        f"delta={float(rep.remaining_delta):.3g}",
        f"charges:   {rep.n_charges} ({rep.n_released} released, {rep.n_failed} failed, "
        f"{len(rep.open_charges)} open)",
        f"head:      sha256:{rep.head}",
        f"anchored:  sha256:{rep.anchored_head or '-'} (in the project state folder"
        + (f"; {rep.unanchored_lines} later line(s) not yet anchored)" if rep.unanchored_lines else ")"),
    ]
    if rep.n_ledgers > 1:
        lines.append(f"note:      the project has {rep.n_ledgers} ledgers (data sources); a person in more "
                     "than one source is charged in each, so their budgets add up")
    lines += [
        "",
        f"{'line':>5}  {'time':<25} {'type':<10} {'rho':>12} {'delta':>10}  label",
    ]
    for e in rep.entries:
        if e.get("type") == EntryType.SUBMITTED.value:
            lines.append(f"{int(e.get('seq', 0)) + 1:>5}  {e.get('time', ''):<25} {'submitted':<10} "
                         f"{e.get('rho', ''):>12} {e.get('delta', ''):>10}  {e.get('label', '')}")
        elif e.get("type") in (EntryType.RELEASED.value, EntryType.FAILED.value):
            lines.append(f"{int(e.get('seq', 0)) + 1:>5}  {e.get('time', ''):<25} {e.get('type', ''):<10} "
                         f"{'':>12} {'':>10}  charge {e.get('charge', '')}")
    lines.append("")
    lines.append("verification: OK" if rep.ok else "verification: FAILED")
    lines.extend(f"  - {p}" for p in rep.problems)
    return "\n".join(lines)
