"""The project's privacy-budget ledger: append-only, hash-chained JSON lines.

One ledger file per project. Its first line fixes the cap (ρ for zCDP and a δ
cap) when the project is created; every later line appends. Each line is one
canonical JSON object (sorted keys, no spaces) that carries ``prev``, the
SHA-256 of the previous line's bytes, so an edited, deleted or reordered line
breaks the chain. Budgets are exact fractions stored as ``"p/q"`` strings.

Line types:

``created``
    ``project``, ``cap_rho``, ``cap_delta``, ``format``.
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
any data are read (:class:`~kit.errors.BudgetExceededError`). Appends hold an
exclusive lock (``fcntl`` on POSIX, ``msvcrt`` on Windows, an exclusive
lock file elsewhere), re-read and verify the file under the lock, and are
flushed and fsynced.

What the chain cannot show by itself: a file cut after a complete line, or a
file rewritten whole. Anchor it: every DP output records the ledger line and
head hash in its provenance, and ``verify(expect_head=...)`` /
``kit budget verify --expect-head`` checks that the file still contains it.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "budget.jsonl"
>>> ledger = BudgetLedger.create(path, cap_rho="1/2", delta="1e-7", project="demo")
>>> with ledger.spend(rho="1/8", label="counts") as charge:
...     pass                       # OpenDP runs here
>>> ledger.spent_rho, ledger.remaining_rho
(Fraction(1, 8), Fraction(3, 8))
>>> ledger.verify().ok
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
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from kit.cleared import utc_now
from kit.dp.accounting import BudgetLike, as_fraction, fraction_text
from kit.errors import BudgetExceededError, DataReadError, DisclosureError, OutputExistsError, SpecError

__all__ = [
    "FORMAT",
    "BudgetLedger",
    "Charge",
    "EntryType",
    "LedgerIntegrityError",
    "LedgerReport",
    "verify_file",
]

log = logging.getLogger(__name__)

#: Format tag written into the first line.
FORMAT = "kit-dp-ledger/1"
#: ``prev`` of the first line.
GENESIS = "0" * 64
#: Seconds to wait for another process's lock before giving up.
LOCK_TIMEOUT = 60.0


class LedgerIntegrityError(DisclosureError):
    """The ledger file failed verification; nothing may be charged against it."""


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
    an empty tuple means the chain, the cap and the totals check out.
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
            head=head, entries=tuple(self.entries),
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


def verify_file(path: str | os.PathLike[str], expect_head: str | None = None) -> LedgerReport:
    """Verify a ledger file: hash chain, sequence, header, fixed cap, totals and spending.

    Parameters
    ----------
    path
        The ledger file.
    expect_head
        A head hash recorded earlier (in a release's provenance or by the
        output checker). The file must still contain a line with this hash;
        this catches a file cut after a complete line.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataReadError(f"ledger {p.name}", f"cannot be read ({type(exc).__name__})",
                            "check the path; create a ledger with 'kit budget create'") from None
    return verify_bytes(raw, p.name, expect_head)


class _FileLock:
    """An exclusive inter-process lock on ``<ledger>.lock``.

    ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; where neither
    exists, an exclusively created lock file (``O_CREAT | O_EXCL``).
    """

    def __init__(self, target: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.path = target.with_name(target.name + ".lock")
        self.timeout = timeout
        self._fh: Any = None
        self._excl: Path | None = None

    def __enter__(self) -> _FileLock:
        deadline = time.monotonic() + self.timeout
        try:
            import fcntl
        except ImportError:
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            self._fh = open(self.path, "a+b")
            while True:
                try:
                    fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return self
                except OSError:
                    self._wait(deadline)
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            self._fh = open(self.path, "a+b")
            while True:
                try:
                    self._fh.seek(0)
                    msvcrt.locking(self._fh.fileno(), msvcrt.LK_NBLCK, 1)
                    return self
                except OSError:
                    self._wait(deadline)
        return self._enter_exclusive_file(deadline)  # pragma: no cover

    def _enter_exclusive_file(self, deadline: float) -> _FileLock:
        excl = self.path.with_name(self.path.name + ".excl")
        while True:
            try:
                fd = os.open(excl, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.close(fd)
                self._excl = excl
                return self
            except FileExistsError:
                self._wait(deadline)

    def _wait(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            raise DataReadError(f"ledger lock {self.path.name}",
                                f"another process held the lock for more than {self.timeout:.0f} s",
                                "wait for the other release to finish; if no kit process is running, "
                                "delete the '.lock.excl' file next to the ledger")
        time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        if self._excl is not None:  # pragma: no cover
            with contextlib.suppress(FileNotFoundError):
                self._excl.unlink()
            self._excl = None
        if self._fh is not None:
            if sys.platform == "win32":  # pragma: no cover
                import msvcrt

                self._fh.seek(0)
                with contextlib.suppress(OSError):
                    msvcrt.locking(self._fh.fileno(), msvcrt.LK_UNLCK, 1)
            self._fh.close()  # closing releases an flock
            self._fh = None


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BudgetLedger:
    """A project's persistent privacy-budget ledger (see the module docs).

    Open with :meth:`create` (once per project) or :meth:`open`. The object
    holds the path and the verified state of the bytes it last read: every
    read re-reads the whole file; bytes identical to the verified ones are not
    verified again, and lines appended since (by this or another process) are
    verified on top of the kept state, so any other change triggers a full
    verification. Every append happens under an exclusive lock, so several
    sessions and processes can share one ledger.
    """

    def __init__(self, path: str | os.PathLike[str], *, _token: object = None) -> None:
        if _token is not _OPEN:
            raise SpecError("budget ledger", "a ledger is opened, not constructed",
                            "use BudgetLedger.create(path, cap_rho=...) or BudgetLedger.open(path)")
        self.path = Path(path)
        self._verified: tuple[bytes, _Chain] | None = None

    # ----------------------------------------------------------- construction
    @classmethod
    def create(cls, path: str | os.PathLike[str], cap_rho: BudgetLike, delta: BudgetLike = "1e-7",
               project: str = "") -> BudgetLedger:
        """Create a new ledger with a fixed cap. Refuses to overwrite an existing file.

        Parameters
        ----------
        path
            The ledger file (in the project's work folder), e.g. ``budget.jsonl``.
        cap_rho
            The project's total zCDP budget ρ (exact: ``"1"``, ``"1/2"``).
        delta
            The project δ: the cap on δ spent by τ-thresholding and the δ at
            which ε-equivalents are reported.
        project
            A public project label (for messages and provenance).
        """
        p = Path(path)
        cap = as_fraction(cap_rho, "ledger cap_rho", allow_zero=False)
        d = as_fraction(delta, "ledger delta")
        if d >= 1:
            raise SpecError("ledger delta", "δ must be below 1", "use a small δ such as 1e-7")
        header = {"format": FORMAT, "seq": 0, "type": EntryType.CREATED.value, "time": utc_now(),
                  "project": str(project), "cap_rho": fraction_text(cap), "cap_delta": fraction_text(d),
                  "prev": GENESIS}
        try:
            with open(p, "xb") as fh:
                fh.write(canonical_line(header) + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError:
            raise OutputExistsError(f"ledger {p.name}", "the file already exists",
                                    "open it with BudgetLedger.open(path); a ledger's cap is fixed at "
                                    "creation and is never reset") from None
        except OSError as exc:
            raise DataReadError(f"ledger {p.name}", f"cannot be created ({type(exc).__name__})",
                                "check that the folder exists and is writable") from None
        _fsync_dir(p.parent if str(p.parent) else Path("."))
        log.info("created privacy ledger %s", p.name)
        return cls(p, _token=_OPEN)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> BudgetLedger:
        """Open an existing ledger; it must verify."""
        ledger = cls(path, _token=_OPEN)
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
        """Verify the file (never raises for damage; see :attr:`LedgerReport.problems`).

        Same result as :func:`verify_file`; only complete lines already
        verified by this object are not parsed again (see the class docs).
        """
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise DataReadError(f"ledger {self.path.name}", f"cannot be read ({type(exc).__name__})",
                                "check the path; create a ledger with 'kit budget create'") from None
        name = self.path.name
        if not raw:
            return verify_bytes(raw, name, expect_head)
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
        return chain.report(name, expect_head, truncated=not complete)

    def report(self) -> LedgerReport:
        """Verify the file and raise :class:`LedgerIntegrityError` if it is damaged."""
        rep = self.verify()
        if not rep.ok:
            raise LedgerIntegrityError(f"ledger {self.path.name}",
                                       f"verification failed ({len(rep.problems)} problem(s): "
                                       f"{rep.problems[0]})",
                                       "run 'kit budget verify' and ask the output checker; no budget "
                                       "can be spent against a damaged ledger")
        return rep

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
        """Charge the budget: append a ``submitted`` line (under the lock), or refuse.

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
        with _FileLock(self.path):
            rep = self.report()
            self._check(rep, r, d)
            extra["total_rho"] = fraction_text(rep.spent_rho + r)
            extra["total_delta"] = fraction_text(rep.spent_delta + d)
            seq, head = self._append(rep, EntryType.SUBMITTED, extra)
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
        with _FileLock(self.path):
            rep = self.report()
            _, head = self._append(rep, kind, {"charge": charge.id, **extra})
        return head

    def _append(self, rep: LedgerReport, kind: EntryType, extra: Mapping[str, Any]) -> tuple[int, str]:
        entry = {**extra, "seq": rep.n_lines, "type": kind.value, "time": utc_now(), "prev": rep.head}
        line = canonical_line(entry)
        with open(self.path, "ab") as fh:
            fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return rep.n_lines, line_hash(line)

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
        f"Privacy ledger {rep.path} (project {rep.project or '-'})",
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
