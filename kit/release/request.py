"""A release request: the researcher's context per output and its review lifecycle.

A release written with ``request=`` (:func:`kit.release.write_release`,
``Session.release``) gets a ``request.json`` beside the checker's report
(``<checker_dir>/<release>/request.json``, never inside the release): the author
(the OS user who wrote the release), and per output the researcher's *context*
(what it shows, which population), *controls* (why it is safe) and an optional
*exception request* with its reason.

The request's state is not stored anywhere else: it is the replay of the release's
hash-chained, locked decision log (:mod:`kit.release.review`), in which every
transition is one entry:

============  =========================  ===========================================
event         who                        effect
============  =========================  ===========================================
``submit``    the author                 draft -> submitted
``question``  a reviewer (not the        the output (or the whole request) is
              author)                    returned to the author with questions
``answer``    the author                 closes the open question; back to submitted
``comment``   anyone                     a message in the thread, no state change
``decision``  a reviewer (not the        approve or reject one output (a rejection
              author)                    needs a reason)
============  =========================  ===========================================

Per output: *rejected* once a reviewer rejects it; *approved* when the site's
number of independent reviewers (:class:`SiteReview`, one or two) approved it;
*in review* in between; *question* while a question on it is open. Reviews count
only for the output's current content (:func:`output_digests`): replacing an
output resets its reviews. The request is *draft*, *submitted*, *returned* (an
open question) or *reviewed* (every output approved or rejected).

Examples
--------
>>> RequestState.DRAFT.value, OutputState.APPROVED.value
('draft', 'approved')
>>> ResearcherContext(context="employment by area").as_dict()["context"]
'employment by area'
"""

from __future__ import annotations

import enum
import getpass
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import SpecError
from kit.release.manifest import canonical_json, sha256_bytes
from kit.state import atomic_write_text, project_state_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "ENV_REVIEWER",
    "REQUEST_FILE",
    "SITE_REVIEW_FILE",
    "Message",
    "OutputState",
    "OutputStatus",
    "ReleaseRequest",
    "RequestEvent",
    "RequestState",
    "RequestStatus",
    "ResearcherContext",
    "Review",
    "SiteReview",
    "current_identity",
    "load_request",
    "load_site_review",
    "output_digests",
    "replay",
    "write_request",
]

#: File name of the request beside the checker's report.
REQUEST_FILE = "request.json"
#: The site's review configuration in the project state folder (see :class:`SiteReview`).
SITE_REVIEW_FILE = "review.toml"
#: Environment variable overriding the reviewer's name (declared, not authenticated; for tests
#: and shared accounts). The OS user is the default and is recorded beside it in every entry.
ENV_REVIEWER = "KIT_REVIEWER"
_MAX_TEXT = 4000


class RequestState(enum.Enum):
    """Where a release request stands."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    REVIEWED = "reviewed"


class OutputState(enum.Enum):
    """Where one output of a request stands."""

    PENDING = "pending"
    IN_REVIEW = "in review"
    QUESTION = "question"
    APPROVED = "approved"
    REJECTED = "rejected"


class RequestEvent(enum.Enum):
    """A transition of a request (one decision-log entry each)."""

    SUBMIT = "submit"
    QUESTION = "question"
    ANSWER = "answer"
    COMMENT = "comment"
    DECISION = "decision"


@dataclass(frozen=True)
class ResearcherContext:
    """The researcher's words about one output.

    Parameters
    ----------
    context
        What the output shows and for which population.
    controls
        Why it is safe (e.g. "counts rounded, see table 2").
    exception
        An exception request: why a rule should not apply, or empty.
    """

    context: str = ""
    controls: str = ""
    exception: str = ""

    def as_dict(self) -> dict[str, str]:
        """Plain mapping for ``request.json``."""
        return {"context": self.context, "controls": self.controls, "exception": self.exception}

    @classmethod
    def coerce(cls, value: object, where: str) -> ResearcherContext:
        """An :class:`ResearcherContext` from itself, a mapping of its fields or a text (the context).

        >>> ResearcherContext.coerce({"controls": "rounded"}, "t").controls
        'rounded'
        """
        if isinstance(value, ResearcherContext):
            out = value
        elif isinstance(value, str):
            out = cls(context=value)
        elif isinstance(value, Mapping):
            unknown = sorted(str(k) for k in value if k not in ("context", "controls", "exception"))
            if unknown:
                raise SpecError(f"release request for '{where}'", f"unknown field(s) {unknown}",
                                "use context, controls and exception")
            out = cls(**{str(k): str(v) for k, v in value.items()})
        else:
            raise SpecError(f"release request for '{where}'", f"is a {type(value).__name__}",
                            "pass an ResearcherContext, a mapping with context/controls/exception or a text")
        for name, text in out.as_dict().items():
            if len(text) > _MAX_TEXT:
                raise SpecError(f"release request for '{where}'", f"its {name} has more than {_MAX_TEXT} "
                                "characters", "shorten it")
        return out


@dataclass(frozen=True)
class ReleaseRequest:
    """The static part of a request: who wrote the release, and the context per output."""

    release: str
    author: str
    created: str
    outputs: Mapping[str, ResearcherContext] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain mapping for ``request.json``."""
        return {"release": self.release, "author": self.author, "created": self.created,
                "outputs": {k: v.as_dict() for k, v in sorted(self.outputs.items())}}

    def context(self, output: str) -> ResearcherContext:
        """The context of ``output`` (empty when none was given)."""
        return self.outputs.get(output, ResearcherContext())


@dataclass(frozen=True)
class SiteReview:
    """The site's review configuration: ``review.toml`` in the project state folder.

    ``reviews_required`` (1 or 2) independent reviewers must approve an output;
    ``require_request = true`` refuses decisions on a release written without a request.

    >>> SiteReview().reviews_required
    1
    """

    reviews_required: int = 1
    require_request: bool = False


def load_site_review(state_dir: str | Path | None = None) -> SiteReview:
    """Read ``review.toml`` of the project state folder (defaults when there is none).

    Raises
    ------
    SpecError
        When the file is not TOML, has an unknown key or a value out of range.
    """
    path = project_state_dir(state_dir, create=False) / SITE_REVIEW_FILE
    if not path.is_file():
        return SiteReview()
    where = f"site review configuration '{path.name}'"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise SpecError(where, "cannot be read as TOML", "fix the file or remove it") from None
    unknown = sorted(k for k in doc if k not in ("reviews_required", "require_request"))
    if unknown:
        raise SpecError(where, f"has unknown key(s) {unknown}", "use reviews_required and require_request")
    n = doc.get("reviews_required", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n not in (1, 2):
        raise SpecError(where, "reviews_required must be 1 or 2", "set reviews_required = 1 or 2")
    req = doc.get("require_request", False)
    if not isinstance(req, bool):
        raise SpecError(where, "require_request must be true or false", "set require_request = true or false")
    return SiteReview(n, req)


def current_identity(explicit: str | None = None) -> str:
    """The acting person: ``explicit``, else ``$KIT_REVIEWER``, else the OS login name.

    >>> current_identity("anna")
    'anna'
    """
    name = explicit or os.environ.get(ENV_REVIEWER) or os_user()
    name = name.strip()
    if not name or len(name) > 100 or any(ch in name for ch in "\n\r\t"):
        raise SpecError("reviewer name", "is empty, too long or has control characters",
                        "pass --reviewer with a plain name")
    return name


def os_user() -> str:
    """The OS login name ("unknown" when the system has none)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # pragma: no cover - depends on the environment
        return "unknown"


def write_request(folder: Path, request: ReleaseRequest) -> Path:
    """Write ``request.json`` into a checker folder (atomically)."""
    path = folder / REQUEST_FILE
    atomic_write_text(path, json.dumps(request.as_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def load_request(folder: Path | None) -> tuple[ReleaseRequest | None, str]:
    """The request in a checker folder and the SHA-256 of its file (``(None, "")`` when absent).

    Raises
    ------
    SpecError
        When the file exists but is not a request.
    """
    if folder is None or not (folder / REQUEST_FILE).is_file():
        return None, ""
    raw = (folder / REQUEST_FILE).read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8"))
        outputs = doc["outputs"]
        request = ReleaseRequest(str(doc["release"]), str(doc["author"]), str(doc["created"]),
                                 {str(k): ResearcherContext.coerce(v, str(k)) for k, v in outputs.items()})
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError, SpecError):
        raise SpecError(f"release request '{REQUEST_FILE}'", "cannot be read", "the checker folder was "
                        "edited; write the release again") from None
    return request, sha256_bytes(raw)


def output_digests(manifest: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 per output over its manifest entry and the checksums of its files.

    A review counts for one digest: an output whose files or entry change is a new output.

    >>> doc = {"outputs": [{"name": "t", "files": ["t.csv"]}], "files": [{"path": "t.csv", "sha256": "ab"}]}
    >>> before = output_digests(doc)["t"]
    >>> doc["files"][0]["sha256"] = "cd"
    >>> output_digests(doc)["t"] == before, len(before)
    (False, 64)
    """
    sums = {str(f.get("path")): str(f.get("sha256")) for f in manifest.get("files", []) if isinstance(f, Mapping)}
    out: dict[str, str] = {}
    for entry in manifest.get("outputs", []):
        if not isinstance(entry, Mapping):
            continue
        files = entry.get("files", [])
        body = {"entry": dict(entry),
                "files": {str(p): sums.get(str(p), "") for p in files} if isinstance(files, list) else {}}
        out[str(entry.get("name"))] = sha256_bytes(canonical_json(body).encode("utf-8"))
    return out


@dataclass(frozen=True)
class Review:
    """One reviewer's latest decision on one output."""

    reviewer: str
    decision: str
    comment: str
    time: str


@dataclass(frozen=True)
class Message:
    """One entry of a request's thread."""

    seq: int
    time: str
    who: str
    event: RequestEvent
    output: str
    text: str
    decision: str = ""


@dataclass(frozen=True)
class OutputStatus:
    """Where one output stands, and the reviews of its current content."""

    name: str
    state: OutputState
    reviews: tuple[Review, ...]
    open_question: bool


@dataclass(frozen=True)
class RequestStatus:
    """A request replayed from the decision log."""

    request: ReleaseRequest
    state: RequestState
    reviews_required: int
    outputs: Mapping[str, OutputStatus]
    messages: tuple[Message, ...]
    problems: tuple[str, ...]

    def approved(self) -> tuple[str, ...]:
        """Names of the approved outputs."""
        return tuple(n for n, o in self.outputs.items() if o.state is OutputState.APPROVED)

    def thread(self, output: str) -> tuple[Message, ...]:
        """Messages about one output ("" for the request as a whole)."""
        return tuple(m for m in self.messages if m.output == output)


def replay(request: ReleaseRequest, request_sha256: str, entries: Sequence[Mapping[str, Any]],
           names: Sequence[str], digests: Mapping[str, str], reviews_required: int) -> RequestStatus:
    """The request's state after the log's entries (see the module docs).

    ``problems`` lists what makes the request itself untrustworthy (TAMPERED): a submit
    entry recorded for another ``request.json``, a decision by the author.
    """
    state = RequestState.DRAFT
    open_q: set[str] = set()
    latest: dict[str, dict[str, Review]] = {n: {} for n in names}
    messages: list[Message] = []
    problems: list[str] = []
    for e in entries:
        raw_event = e.get("event", RequestEvent.DECISION.value if "decision" in e else "")
        try:
            event = RequestEvent(raw_event)
        except ValueError:
            problems.append(f"decision log entry {e.get('seq')} has an unknown event")
            continue
        who, out, text = str(e.get("reviewer", "")), str(e.get("output", "")), str(e.get("comment", ""))
        messages.append(Message(int(e.get("seq", 0) or 0), str(e.get("time", "")), who, event, out, text,
                                str(e.get("decision", ""))))
        if event is RequestEvent.SUBMIT:
            if e.get("request_sha256") != request_sha256:
                problems.append("the release request (request.json) differs from the one that was submitted")
            state = RequestState.SUBMITTED
        elif event is RequestEvent.QUESTION:
            open_q.add(out)
            state = RequestState.RETURNED
        elif event is RequestEvent.ANSWER:
            open_q.discard(out)
            if not open_q and state is not RequestState.DRAFT:
                state = RequestState.SUBMITTED
        elif event is RequestEvent.DECISION:
            if who == request.author:
                problems.append(f"decision log entry {e.get('seq')} is a decision by the request's author")
                continue
            if out in latest and e.get("output_sha256") == digests.get(out):
                latest[out][who] = Review(who, str(e.get("decision")), text, str(e.get("time", "")))
    outputs: dict[str, OutputStatus] = {}
    for name in names:
        reviews = tuple(latest[name].values())
        n_ok = sum(r.decision == "approve" for r in reviews)
        if name in open_q:
            st = OutputState.QUESTION
        elif any(r.decision == "reject" for r in reviews):
            st = OutputState.REJECTED
        elif n_ok >= reviews_required:
            st = OutputState.APPROVED
        elif n_ok:
            st = OutputState.IN_REVIEW
        else:
            st = OutputState.PENDING
        outputs[name] = OutputStatus(name, st, reviews, name in open_q)
    if state is RequestState.SUBMITTED and outputs and all(
            o.state in (OutputState.APPROVED, OutputState.REJECTED) for o in outputs.values()):
        state = RequestState.REVIEWED
    return RequestStatus(request, state, reviews_required, outputs, tuple(messages), tuple(problems))


def check_transition(status: RequestStatus, event: RequestEvent, output: str, actor: str, text: str,
                     decision: str = "") -> None:
    """Refuse a transition the lifecycle does not allow (a :class:`SpecError` saying why).

    Examples
    --------
    >>> req = ReleaseRequest("rel", "ola", "2024-01-01")
    >>> st = replay(req, "", [], ["t"], {"t": "d"}, 1)
    >>> try:
    ...     check_transition(st, RequestEvent.DECISION, "t", "anna", "", "approve")
    ... except SpecError as exc:
    ...     print("draft" in str(exc))
    True
    >>> check_transition(st, RequestEvent.SUBMIT, "", "ola", "")  # the author may submit
    """
    author = status.request.author
    where = "review"
    if len(text) > _MAX_TEXT:
        raise SpecError(where, f"the comment has more than {_MAX_TEXT} characters", "shorten it")
    if output and output not in status.outputs:
        raise SpecError(where, f"the release has no output '{output}'", f"use one of {sorted(status.outputs)}")
    if event is RequestEvent.SUBMIT:
        if actor != author:
            raise SpecError(where, "only the request's author can submit it", f"ask {author} to submit it")
        if status.state is not RequestState.DRAFT:
            raise SpecError(where, f"the request is already {status.state.value}", "nothing to submit")
        return
    if event is RequestEvent.COMMENT:
        if not text.strip():
            raise SpecError(where, "a comment needs a text", 'add --comment "..."')
        return
    if status.state is RequestState.DRAFT:
        raise SpecError(where, "the request is a draft (not submitted)",
                        "the author submits it first (kit review RELEASE --submit)")
    if event is RequestEvent.ANSWER:
        if actor != author:
            raise SpecError(where, "only the request's author answers questions", f"ask {author} to answer")
        if output not in {o for o in status.outputs if status.outputs[o].open_question} and not (
                output == "" and any(m.event is RequestEvent.QUESTION and m.output == "" for m in status.messages)):
            raise SpecError(where, "there is no open question to answer", "answer an output with a question")
        if not text.strip():
            raise SpecError(where, "an answer needs a text", 'add --comment "..."')
        return
    if actor == author:
        raise SpecError(where, f"{actor} wrote this release and cannot review it",
                        "another output checker reviews it")
    if event is RequestEvent.QUESTION:
        if not text.strip():
            raise SpecError(where, "a question needs a text", 'add --comment "..."')
        return
    if output == "":
        raise SpecError(where, "a decision names one output", "pass the output's name")
    if status.outputs[output].open_question:
        raise SpecError(where, f"output '{output}' has an open question", "wait for the author's answer")
    if decision == "reject" and not text.strip():
        raise SpecError(where, "a rejection needs a comment", 'add --comment "why the output is rejected"')
