"""``kit review RELEASE --ui``: prints the URL with its token, serves 127.0.0.1, stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from .helpers import request

ROOT = Path(__file__).resolve().parents[2]


def test_ui_prints_a_token_url_and_stops_on_interrupt(rel):
    release, checker = rel
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "kit", "review", str(release), "--checker-dir", str(checker),
                             "--ui", "--no-browser", "--reviewer", "anna"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=([A-Za-z0-9_-]{40,})", line)
        assert m, line
        base, token = m.group(1), m.group(3)
        assert request(base, "GET", "/")[0] == 403
        status, headers, _ = request(base, "GET", f"/?token={token}")
        assert status == 303 and token in headers["set-cookie"]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ui_on_a_missing_release_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kit", "review", str(tmp_path / "nope"), "--ui", "--no-browser"],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
