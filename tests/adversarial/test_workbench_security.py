"""Attacks on the output checker's workbench (issue 20): token, interface, escaping, traversal, races.

Each test does the attacker's own computation (raw HTTP, /proc/net/tcp, its own hash chain walk)
rather than asking the kit whether it is safe.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import json
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest

from kit.release.request import RequestEvent, SiteReview
from kit.release.review import record_event
from kit.workbench.server import cookie_name, start_workbench

_spec = importlib.util.spec_from_file_location("wb_helpers", Path(__file__).parents[1] / "workbench" / "helpers.py")
assert _spec is not None and _spec.loader is not None
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

ROUTES = ["/", "/output/residents", "/static/workbench.css", "/diff", "/file/report.html", "/nope"]


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    root = tmp_path_factory.mktemp("wb-sec")
    helpers.make_release(root)
    return root


@pytest.fixture
def rel(master, tmp_path):
    import shutil

    shutil.copytree(master / "rel", tmp_path / "rel")
    shutil.copytree(master / "checker", tmp_path / "checker")
    return tmp_path / "rel", tmp_path / "checker"


@pytest.fixture
def bench(rel):
    release, checker = rel
    b = start_workbench(release, checker_dir=checker, reviewer="anna")
    yield b
    b.close()


def raw(b, method, path, cookie=None, body=None, host=None):
    return helpers.request(b.base, method, path, cookie=cookie, body=body, host=host)


def good_cookie(b) -> str:
    return f"{cookie_name(b.port)}={b.config.token}"


@pytest.mark.parametrize("path", ROUTES)
def test_no_token_or_wrong_token_is_403(bench, path):
    assert raw(bench, "GET", path)[0] == 403
    assert raw(bench, "GET", path + "?token=" + "A" * 43)[0] == 403
    assert raw(bench, "GET", path, cookie=f"{cookie_name(bench.port)}=" + "A" * 43)[0] == 403
    assert raw(bench, "GET", path, cookie=f"{cookie_name(bench.port)}={bench.config.token[:-1]}")[0] == 403
    # with the right cookie the same route answers (200 or 404), never 403
    assert raw(bench, "GET", path, cookie=good_cookie(bench))[0] in (200, 404)


def test_state_change_needs_the_token_in_the_form(bench, rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    form = {"action": "approve", "output": "residents", "comment": ""}
    # a cross-site form post: the browser may send the cookie but cannot know the token
    assert raw(bench, "POST", "/act", cookie=good_cookie(bench), body=form)[0] == 403
    assert raw(bench, "POST", "/act", cookie=good_cookie(bench), body={**form, "token": "x" * 43})[0] == 403
    # the token in the form without the cookie is not enough either
    assert raw(bench, "POST", "/act", body={**form, "token": bench.config.token})[0] == 403
    assert not (checker / "rel" / "decisions.jsonl").read_text().count('"decision"')
    assert raw(bench, "POST", "/act", cookie=good_cookie(bench), body={**form, "token": bench.config.token})[0] == 303


def test_dns_rebinding_host_is_refused(bench):
    assert raw(bench, "GET", "/", cookie=good_cookie(bench), host=f"evil.example:{bench.port}")[0] == 403
    assert raw(bench, "GET", "/", cookie=good_cookie(bench), host=f"localhost:{bench.port}")[0] == 200


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port`` according to the kernel (/proc/net/tcp, tcp6)."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":  # LISTEN
                found.append(addr)
    return found


def test_binds_loopback_only(bench):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system")
    # 127.0.0.1 in the kernel's little-endian hex; 0.0.0.0 would be 00000000, :: would be tcp6 zeros
    assert _listening(bench.port) == ["0100007F"]
    others = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            others.add(info[4][0])
    except OSError:
        pass
    for ip in others - {"127.0.0.1"}:
        if ip.startswith("127."):
            continue
        with pytest.raises(OSError):
            socket.create_connection((ip, bench.port), timeout=2).close()


def test_html_and_script_are_escaped(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    evil = "</textarea><script>alert(1)</script><b onmouseover=alert(2)>x</b>"
    b = start_workbench(release, checker_dir=checker, reviewer="anna\"><script>alert(3)</script>")
    try:
        cookie = good_cookie(b)
        st, _, _ = raw(b, "POST", "/act", cookie=cookie, body={
            "token": b.config.token, "action": "comment", "output": "residents", "comment": evil})
        assert st == 303
        pages = [raw(b, "GET", p, cookie=cookie)[2].decode() for p in ("/", "/output/residents")]
    finally:
        b.close()
    for html in pages:
        # the only script element is the package's own
        assert html.count("<script") == 1 and '<script src="/static/workbench.js" defer></script>' in html
        assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
        assert "<img src=x" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;document.title" in pages[0]  # the researcher's context, escaped
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)" in pages[1]  # the comment, escaped


def test_tampered_manifest_with_markup_in_a_name_is_escaped(rel):
    release, checker = rel
    manifest = next(release.glob("manifest.*"))
    doc = json.loads(manifest.read_text())
    doc["outputs"][0]["name"] = "<script>alert(1)</script>"
    doc["outputs"][0]["title"] = "<img src=x onerror=alert(1)>"
    manifest.write_text(json.dumps(doc))
    b = start_workbench(release, checker_dir=checker, reviewer="anna")
    try:
        st, _, body = raw(b, "GET", "/", cookie=good_cookie(b))
    finally:
        b.close()
    html = body.decode()
    assert st == 200 and 'id="tampered"' in html
    assert html.count("<script") == 1 and "<img src=x" not in html


TRAVERSALS = [
    "/file/../" + "checker/rel/checker.json",
    "/file/%2e%2e/checker/rel/checker.json",
    "/file/tables/%2e%2e/%2e%2e/checker/rel/request.json",
    "/file/..%2f..%2fchecker%2frel%2fchecker.json",
    "/file/%2Fetc%2Fpasswd",
    "/file//etc/passwd",
    "/file/tables\\..\\..\\checker\\rel\\checker.json",
    "/static/../server.py",
    "/static/%2e%2e/server.py",
    "/static/..%5cserver.py",
    "/output/..%2f..%2fchecker",
    "/output/%00",
    "/file/report.html%00.png",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_is_refused(bench, rel, path):
    st, _, body = raw(bench, "GET", path, cookie=good_cookie(bench))
    assert st == 404
    _, checker = rel
    secret = (checker / "rel" / "checker.json").read_bytes()[:200]
    assert secret not in body and b"import" not in body and b"root:" not in body


def test_a_changed_release_file_is_not_served(bench, rel):
    release, _ = rel
    target = next(release.glob("tables/*.tab"))
    rel_path = target.relative_to(release).as_posix()
    st, _, body = raw(bench, "GET", "/file/" + urllib.parse.quote(rel_path), cookie=good_cookie(bench))
    assert st == 200 and hashlib.sha256(body).hexdigest() == hashlib.sha256(target.read_bytes()).hexdigest()
    target.write_text("area\tn\n0101801234\t1\n")
    st, _, body = raw(bench, "GET", "/file/" + urllib.parse.quote(rel_path), cookie=good_cookie(bench))
    assert st == 409 and b"0101801234" not in body


def _chain_ok(path: Path) -> tuple[bool, int]:
    """The attacker's own walk of the hash chain (independent of kit.release.review)."""
    prev = "0" * 64
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        entry = json.loads(line)
        body = {k: v for k, v in entry.items() if k != "hash"}
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                           ensure_ascii=False).encode()).hexdigest()
        if entry["prev"] != prev or entry["hash"] != digest or entry["seq"] != i:
            return False, i
        prev = entry["hash"]
    return True, len(lines)


def test_two_browsers_deciding_at_once_never_corrupt_the_log(rel):
    release, checker = rel
    record_event(release, RequestEvent.SUBMIT, checker_dir=checker)
    site = SiteReview(2, False)
    benches = [start_workbench(release, checker_dir=checker, reviewer=name, site=site) for name in ("anna", "bo")]
    codes: list[int] = []
    lock = threading.Lock()

    def hammer(b, k):
        conn_cookie = f"{cookie_name(b.port)}={b.config.token}"
        for j in range(6):
            action = ("approve", "comment")[j % 2]
            body = {"token": b.config.token, "action": action, "output": ("residents", "employment")[k % 2],
                    "comment": f"note {k}-{j}"}
            try:
                st = raw(b, "POST", "/act", cookie=conn_cookie, body=body)[0]
            except (OSError, http.client.HTTPException):
                st = -1
            with lock:
                codes.append(st)

    threads = [threading.Thread(target=hammer, args=(benches[k % 2], k)) for k in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for b in benches:
            b.close()
    ok, n = _chain_ok(checker / "rel" / "decisions.jsonl")
    assert ok, f"chain broken at line {n}"
    assert codes.count(303) == n - 1  # every accepted action is exactly one entry after the submit
    assert set(codes) <= {303}


def test_first_visit_never_redirects_to_another_site(bench):
    st, headers, _ = raw(bench, "GET", f"//evil.example/x?token={bench.config.token}")
    assert st == 303 and headers["location"].startswith("/") and not headers["location"].startswith("//")


def test_malformed_requests_get_an_answer_not_a_traceback(bench, capfd):
    conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=10)
    conn.putrequest("POST", "/act", skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{bench.port}")
    conn.putheader("Content-Length", "not-a-number")
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()
    assert raw(bench, "PUT", "/", cookie=good_cookie(bench))[0] == 405
    assert "Traceback" not in capfd.readouterr().err


def test_the_browser_is_opened_without_the_token_on_its_command_line(rel, monkeypatch):
    """Other users of the server can list process arguments: the token must not be one."""
    import io

    import kit.workbench.server as server

    opened: list[str] = []
    monkeypatch.setattr(server.webbrowser, "open", lambda url: opened.append(url))
    release, checker = rel
    out = io.StringIO()
    server.serve_workbench(release, checker_dir=checker, log_path=None, reviewer="anna", site=SiteReview(),
                           port=0, open_browser=True, against=None, out=out, wait=lambda: None)
    token = out.getvalue().split("token=", 1)[1].split()[0]
    assert len(opened) == 1 and token not in opened[0] and opened[0].startswith("file://")
    assert not Path(urllib.parse.urlsplit(opened[0]).path).exists()  # removed when the workbench stops
