"""``-v``/``--verbose``, ``-q``/``--quiet`` and ``--progress`` on the command line (issue 22 item 5).

Logging is configured by the command only (never at import) and undone when it returns; ``-v``
shows the kit's INFO lines on standard error, ``-q`` prints nothing on standard output.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from kit.cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET_CODES = ("Holstebro9931", "Skive7781")


def _table(folder: Path) -> Path:
    path = folder / "t.csv"
    rows = ["KOM,n", f"{SECRET_CODES[0]},40", f"{SECRET_CODES[1]},1"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_import_configures_no_logging() -> None:
    code = ("import logging, kit, kit.cli, kit.registers, synthetic; "
            "names = [n for n in ('kit', 'synthetic') if logging.getLogger(n).handlers]; "
            "print(names, logging.getLogger().handlers, logging.getLogger('kit').level)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[] [] 0"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_info_lines_on_stderr_and_no_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    table = _table(tmp_path)
    monkeypatch.chdir(tmp_path)
    cmd = ["check", str(table), "--dims", "KOM", "--count", "n", "--release", str(tmp_path / "rel"),
           "--no-differencing-check"]
    argv = ["-v", *cmd] if where == "before" else [*cmd, "--verbose"]
    assert main(argv) == 0
    _out, err = capsys.readouterr()
    info = [line for line in err.splitlines() if line.startswith("kit: INFO: ")]
    assert any("release" in line and "written" in line for line in info), err
    for code in SECRET_CODES:  # the table's codes are data: never in a log line
        assert code not in err
    # handlers are gone after the command
    assert not logging.getLogger("kit").handlers
    assert logging.getLogger("kit").level == logging.NOTSET


def test_without_verbose_no_info_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(table), "--dims", "KOM", "--count", "n", "--release", str(tmp_path / "rel"),
                 "--no-differencing-check"]) == 0
    _, err = capsys.readouterr()
    assert "INFO" not in err


def test_quiet_prints_nothing_on_stdout_and_keeps_the_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(table), "--dims", "KOM", "--count", "n", "-q"]) == 3  # one cell under 3 units
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert (tmp_path / "t.checked.csv").exists()
    assert main(["--quiet", "rules", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_quiet_still_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "check", str(tmp_path / "missing.csv"), "--dims", "KOM", "--count", "n"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "missing.csv" in err


def test_quiet_and_verbose_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "rules", "list", "-v"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_progress_flag_reports_on_stderr_only(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    table = _table(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(table), "--dims", "KOM", "--count", "n", "--progress"]) == 3
    out, err = capsys.readouterr()
    assert "kit check: rules and suppression" in err
    assert "rules and suppression" not in out
    for code in SECRET_CODES:
        assert code not in err
    # -q wins over --progress
    assert main(["check", str(table), "--dims", "KOM", "--count", "n", "--progress", "-q",
                 "--out", str(tmp_path / "b.csv")]) == 3
    assert capsys.readouterr().err == ""


def test_help_lists_the_global_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--verbose", "--quiet", "--progress", "--debug"):
        assert flag in text
