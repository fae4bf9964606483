"""The workbench's HTTP server: standard library, 127.0.0.1 only, a random token per run.

Security (docs/review.md, docs/security.md):

- binds ``127.0.0.1`` and nothing else; a request whose ``Host`` header is not
  ``127.0.0.1:PORT`` or ``localhost:PORT`` is refused (DNS rebinding);
- a random token (:func:`secrets.token_urlsafe`) is required on every request: in the
  URL of the first visit (``?token=``), which sets an HttpOnly, SameSite=Strict cookie
  and redirects to the same page without it; every other request without the cookie, or
  with a wrong one, gets 403; every state change is a POST carrying the token in its
  form (403 otherwise) and the cookie;
- pages are rendered on the server with Jinja2's autoescape on; a Content-Security-Policy
  allows only the package's own stylesheet and script (no inline script, no CDN);
- outputs and files are looked up by name in the verified manifest, never used as paths;
  a path with ``..``, a backslash or a NUL is refused (404); a release file is served only
  when its SHA-256 still matches the manifest;
- nothing is logged (the URL carries the token on the first visit).

Examples
--------
>>> safe_path("/output/t1"), safe_path("/file/../etc/passwd"), safe_path("/a\\\\b")
(True, False, False)
"""

from __future__ import annotations

import hmac
import html
import os
import secrets
import tempfile
import threading
import urllib.parse
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import jinja2

from kit.core.cleared import utc_now
from kit.errors import KitError, SpecError
from kit.release.manifest import sha256_bytes
from kit.release.request import RequestEvent, SiteReview, current_identity
from kit.release.review import Decision, ReviewStatus, record_event
from kit.workbench.diff import diff_releases
from kit.workbench.takehome import build_takehome
from kit.workbench.views import Snapshot, output_states, output_view, overview_rows, request_state, snapshot

__all__ = ["COOKIE", "Workbench", "WorkbenchConfig", "cookie_name", "safe_path", "serve_workbench", "start_workbench"]

#: Prefix of the session cookie's name (cookies are not kept apart by port: the port is in the name).
COOKIE = "kit_workbench"
_HOST = "127.0.0.1"
_MAX_BODY = 64 * 1024
_HERE = Path(__file__).resolve().parent
_STATIC = {"workbench.css": "text/css; charset=utf-8", "workbench.js": "text/javascript; charset=utf-8"}
_TYPES = {"svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "html": "text/plain; charset=utf-8",
          "htm": "text/plain; charset=utf-8", "tab": "text/plain; charset=utf-8",
          "txt": "text/plain; charset=utf-8", "csv": "text/plain; charset=utf-8"}
_CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
_ACTIONS = {"submit": RequestEvent.SUBMIT, "question": RequestEvent.QUESTION, "answer": RequestEvent.ANSWER,
            "comment": RequestEvent.COMMENT, "approve": RequestEvent.DECISION, "reject": RequestEvent.DECISION}


def cookie_name(port: int) -> str:
    """The session cookie's name for the workbench on ``port``.

    >>> cookie_name(8123)
    'kit_workbench_8123'
    """
    return f"{COOKIE}_{int(port)}"


def safe_path(path: str) -> bool:
    """Whether a decoded URL path is free of traversal (``..``, ``.``, backslash, NUL)."""
    if "\\" in path or "\x00" in path or not path.startswith("/"):
        return False
    return not any(part in ("..", ".") for part in path.split("/"))


@dataclass(frozen=True)
class WorkbenchConfig:
    """What one workbench serves, for whom."""

    release: Path
    checker_dir: Path | None
    log_path: Path | None
    site: SiteReview
    reviewer: str
    against: Path | None
    token: str


def environment() -> jinja2.Environment:
    """The workbench's Jinja2 environment (package templates, autoescape on)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["urlpart"] = lambda s: urllib.parse.quote(str(s), safe="")
    return env


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, config: WorkbenchConfig, port: int) -> None:
        self.config = config
        self.env = environment()
        super().__init__((_HOST, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection is not reported (the default prints a traceback)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "kit-workbench"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing is logged: the first URL carries the token."""

    # ------------------------------------------------------------------ plumbing
    @property
    def cfg(self) -> WorkbenchConfig:
        return self.server.config

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _page(self, template: str, code: int = 200, **context: Any) -> None:
        page = self.server.env.get_template(template).render(
            token=self.cfg.token, me=self.cfg.reviewer, **context)
        self._send(code, page.encode("utf-8"), "text/html; charset=utf-8")

    def _error(self, code: int, message: str) -> None:
        self._page("error.html.j2", code, status=code, message=message, snap=None)

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"{_HOST}:{port}", f"localhost:{port}")

    def _cookie_token(self) -> str:
        try:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return ""
        morsel = jar.get(cookie_name(self.server.server_address[1]))
        return morsel.value if morsel is not None else ""

    def _matches(self, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.cfg.token.encode())

    def _route(self) -> tuple[str, dict[str, list[str]]] | None:
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if not safe_path(path):
            self._error(404, "no such page")
            return None
        return path, urllib.parse.parse_qs(split.query)

    # ------------------------------------------------------------------ verbs
    def do_GET(self) -> None:
        if not self._host_ok():
            self._send(403, b"forbidden", "text/plain; charset=utf-8")
            return
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(split.query)
        first = query.get("token", [""])[0]
        if self._matches(first):
            # always a path on this server ("//host" would be another site)
            target = "/" + urllib.parse.quote(split.path.lstrip("/"), safe="/")
            self._send(303, b"", "text/plain", {
                "Location": target,
                "Set-Cookie": f"{cookie_name(self.server.server_address[1])}={self.cfg.token}; HttpOnly; "
                              "SameSite=Strict; Path=/"})
            return
        if not self._matches(self._cookie_token()):
            self._send(403, b"forbidden: open the URL with the token printed by kit review --ui",
                       "text/plain; charset=utf-8")
            return
        routed = self._route()
        if routed is None:
            return
        path, _ = routed
        try:
            self._get(path)
        except KitError as exc:
            self._error(400, str(exc))
        except Exception as exc:  # never a traceback (it could name files); the type only
            self._error(500, f"the workbench failed ({type(exc).__name__}); please report it")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        if not self._host_ok():
            self._send(403, b"forbidden", "text/plain; charset=utf-8")
            return
        try:
            length = int(self.headers.get("Content-Length", "0") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            self._send(413, b"too large", "text/plain; charset=utf-8")
            return
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        if not (self._matches(form.get("token", "")) and self._matches(self._cookie_token())):
            self._send(403, b"forbidden: a state change needs the workbench's token", "text/plain; charset=utf-8")
            return
        routed = self._route()
        if routed is None:
            return
        path, _ = routed
        try:
            if path == "/act":
                self._act(form)
            elif path == "/takehome":
                self._takehome()
            else:
                self._error(404, "no such action")
        except KitError as exc:
            self._error(400, str(exc))
        except Exception as exc:  # never a traceback
            self._error(500, f"the workbench failed ({type(exc).__name__}); please report it")

    def do_PUT(self) -> None:
        self._send(405, b"method not allowed", "text/plain; charset=utf-8")

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    # ------------------------------------------------------------------ pages
    def _snap(self) -> Snapshot:
        c = self.cfg
        return snapshot(c.release, checker_dir=c.checker_dir, log_path=c.log_path, site=c.site, reviewer=c.reviewer)

    def _common(self, snap: Snapshot) -> dict[str, Any]:
        req = snap.review.request
        return {"snap": snap, "release": snap.review.release.name, "review": snap.review,
                "request_state": request_state(snap), "author": req.request.author if req else "",
                "is_author": bool(req and req.request.author == self.cfg.reviewer),
                "reviews_required": self.cfg.site.reviews_required, "states": output_states(),
                "has_diff": self.cfg.against is not None, "tampered": snap.review.status is ReviewStatus.TAMPERED}

    def _get(self, path: str) -> None:
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name not in _STATIC:
                self._error(404, "no such asset")
                return
            self._send(200, (_HERE / "static" / name).read_bytes(), _STATIC[name])
            return
        snap = self._snap()
        if path == "/":
            req = snap.review.request
            self._page("overview.html.j2", rows=overview_rows(snap),
                       thread=req.thread("") if req is not None else (), **self._common(snap))
        elif path.startswith("/output/"):
            view = output_view(snap, path[len("/output/"):])
            if view is None:
                self._error(404, "the release has no output of that name")
                return
            self._page("output.html.j2", view=view, **self._common(snap))
        elif path.startswith("/file/"):
            self._file(snap, path[len("/file/"):])
        elif path == "/diff":
            if self.cfg.against is None:
                self._error(404, "no earlier release: start the workbench with --against FOLDER")
                return
            self._page("diff.html.j2", diff=diff_releases(snap, self.cfg.against), **self._common(snap))
        else:
            self._error(404, "no such page")

    def _file(self, snap: Snapshot, rel: str) -> None:
        rec = snap.file_record(rel)
        suffix = rel.rsplit(".", 1)[-1].lower()
        if rec is None or suffix not in _TYPES:
            self._error(404, "the release lists no such file")
            return
        data = snap.review.release.joinpath(*rel.split("/")).read_bytes()
        if sha256_bytes(data) != rec.get("sha256"):
            self._error(409, "the file changed since it was released (its SHA-256 differs from the manifest)")
            return
        self._send(200, data, _TYPES[suffix], {"Content-Security-Policy": "sandbox; default-src 'none'; "
                                               "style-src 'unsafe-inline'"} if suffix == "svg" else None)

    def _act(self, form: dict[str, str]) -> None:
        action = form.get("action", "")
        event = _ACTIONS.get(action)
        if event is None:
            self._error(400, "unknown action")
            return
        output = form.get("output", "")
        c = self.cfg
        decision = Decision(action) if event is RequestEvent.DECISION else None
        result = record_event(c.release, event, output, comment=form.get("comment", ""), decision=decision,
                              checker_dir=c.checker_dir, log_path=c.log_path, reviewer=c.reviewer, site=c.site)
        if result.status is ReviewStatus.TAMPERED:
            self._error(409, "nothing recorded: the release or its decision log does not verify")
            return
        where = f"/output/{urllib.parse.quote(output, safe='')}" if output else "/"
        self._send(303, b"", "text/plain", {"Location": where})

    def _takehome(self) -> None:
        made = build_takehome(self._snap(), time=utc_now())
        self._send(200, made.path.read_bytes(), "application/zip",
                   {"Content-Disposition": f'attachment; filename="{urllib.parse.quote(made.path.name)}"'})


@dataclass
class Workbench:
    """A running workbench (:func:`start_workbench`)."""

    config: WorkbenchConfig
    server: _Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port on 127.0.0.1."""
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        """The server's address without the token."""
        return f"http://{_HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The first-visit URL, with the token."""
        return f"{self.base}/?token={self.config.token}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_workbench(release: str | Path, *, checker_dir: str | Path | None = None,
                    log_path: str | Path | None = None, reviewer: str | None = None,
                    site: SiteReview | None = None, port: int = 0, against: str | Path | None = None
                    ) -> Workbench:
    """Start a workbench in a background thread (stop it with :meth:`Workbench.close`).

    Raises
    ------
    SpecError
        When the release is not a folder, the port cannot be had, or ``against`` is not a folder.
    """
    folder = Path(release)
    if not folder.is_dir():
        raise SpecError(f"release '{folder.name}'", "is not a folder", "pass the path of a release folder")
    if against is not None and not Path(against).is_dir():
        raise SpecError("--against", "is not a folder", "pass the folder of an earlier release")
    if not 0 <= port <= 65535:
        raise SpecError("--port", "is not a port number", "pass 0 (any free port) or 1024-65535")
    config = WorkbenchConfig(folder, Path(checker_dir) if checker_dir else None,
                             Path(log_path) if log_path else None, site or SiteReview(),
                             current_identity(reviewer), Path(against) if against else None,
                             secrets.token_urlsafe(32))
    try:
        server = _Server(config, port)
    except OSError as exc:
        raise SpecError("--port", f"cannot listen on {_HOST}:{port} ({type(exc).__name__})",
                        "pass another --port or 0 for any free port") from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="kit-workbench",
                              daemon=True)
    thread.start()
    return Workbench(config, server, thread)


def serve_workbench(release: str | Path, *, checker_dir: str | Path | None, log_path: str | Path | None,
                    reviewer: str | None, site: SiteReview, port: int, open_browser: bool,
                    against: str | Path | None, out: TextIO,
                    wait: Callable[[], None] | None = None) -> int:
    """``kit review RELEASE --ui``: serve until interrupted (Ctrl-C); returns the exit code 0."""
    bench = start_workbench(release, checker_dir=checker_dir, log_path=log_path, reviewer=reviewer,
                            site=site, port=port, against=against)
    print(f"workbench for {bench.config.release.name} as {bench.config.reviewer}: {bench.url}", file=out)
    print("only this URL (with its token) opens it; stop with Ctrl-C", file=out, flush=True)
    launcher = launcher_file(bench.url) if open_browser else None
    try:
        if launcher is not None:
            webbrowser.open(launcher.as_uri())
        (wait or threading.Event().wait)()
    except KeyboardInterrupt:
        pass
    finally:
        bench.close()
        if launcher is not None:
            launcher.unlink(missing_ok=True)
    return 0


def launcher_file(url: str) -> Path:
    """A page readable by this user only that forwards the browser to ``url``.

    The browser is opened on this file rather than on the URL, so the token never appears
    on a command line (other users of the server can list every process's arguments).

    >>> page = launcher_file("http://127.0.0.1:1/?token=abc")
    >>> oct(page.stat().st_mode & 0o777), "token=abc" in page.read_text()
    ('0o600', True)
    >>> page.unlink()
    """
    fd, name = tempfile.mkstemp(prefix="kit-workbench-", suffix=".html")
    safe = html.escape(url, quote=True)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={safe}">'
                     f'<title>kit workbench</title><a href="{safe}">Open the workbench</a>\n')
    return Path(name)

