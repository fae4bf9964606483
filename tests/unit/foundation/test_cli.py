"""The command line: rules and check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kit.cli import main

ROOT = Path(__file__).resolve().parents[3]


def test_rules_list_show_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert "dst" in out and "sacro" in out and "sds" in out
    assert main(["rules", "show", "dst"]) == 0
    assert "fingerprint sha256:" in capsys.readouterr().out
    assert main(["rules", "check", str(ROOT / "disclosure_rules" / "sacro.toml")]) == 0
    assert main(["rules", "show", "nope"]) == 2
    assert "no shipped rule set" in capsys.readouterr().err


def test_check_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the checked copy goes to the current folder
    safe = tmp_path / "safe.csv"
    safe.write_text("KOM,n\n101,10\n147,5\n", encoding="utf-8")
    assert main(["check", str(safe), "--dims", "KOM", "--count", "n"]) == 0
    risky = tmp_path / "risky.csv"
    risky.write_text("KOM,n\n101,10\n147,2\n851,0\n", encoding="utf-8")
    assert main(["check", str(risky), "--dims", "KOM", "--count", "n"]) == 3
    written = (tmp_path / "risky.checked.csv").read_text(encoding="utf-8").splitlines()
    assert written[0] == "KOM,n,status,status_code,reasons"
    assert written[2].startswith("147,2,PRIMARY,u,BELOW_MIN_UNITS")
    assert written[3].startswith("851,0,SAFE,s")  # dst: zeros are not disclosive
    assert main(["check", str(risky), "--dims", "KOM", "--count", "n", "--rules", "sacro",
                 "--out", str(tmp_path / "sacro.csv")]) == 3
    sacro = (tmp_path / "sacro.csv").read_text(encoding="utf-8")
    assert "851,0,PRIMARY,u,ZERO" in sacro
    # bad input: exit 2, one line, no data value
    bad = tmp_path / "bad.csv"
    bad.write_text("KOM,n\n101,ten\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["check", str(bad), "--dims", "KOM", "--count", "n"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ten" not in err
    assert not (tmp_path / "bad.checked.csv").exists()


def test_python_dash_m_from_source_tree() -> None:
    proc = subprocess.run([sys.executable, "-m", "kit", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "kit" in proc.stdout


def test_installed_console_script_finds_its_data(tmp_path: Path) -> None:
    """The installed `kit` (run outside the source tree) carries rule sets and templates."""
    import shutil

    exe = shutil.which("kit")
    if exe is None:
        pytest.skip("the kit is not installed as a console script (run from a source tree)")
    proc = subprocess.run([exe, "rules", "show", "dst"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "fingerprint sha256:" in proc.stdout
    code = ("import kit.resources as r; print(r.rules_dir().is_dir(), "
            "(r.templates_dir() / 'release' / 'report.html.j2').is_file())")
    proc = subprocess.run([str(Path(exe).with_name("python")), "-c", code], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        assert proc.stdout.split() == ["True", "True"]


def test_check_with_margins_writes_a_protected_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    table = tmp_path / "t.csv"
    table.write_text("KOM,S,n\n101,1,10\n101,2,10\n147,1,1\n147,2,1\n851,1,9\n851,2,9\n101,Total,20\n"
                     "147,Total,2\n851,Total,18\nTotal,1,20\nTotal,2,20\nTotal,Total,40\n", encoding="utf-8")
    release, checker = tmp_path / "release", tmp_path / "checker"
    assert main(["check", str(table), "--dims", "KOM,S", "--count", "n", "--release", str(release),
                 "--checker-dir", str(checker)]) == 3  # a table made elsewhere has no unit populations
    assert not release.exists() and not checker.exists()
    assert not (tmp_path / "t.checked.csv").exists()  # a failed command leaves no file behind
    assert main(["check", str(table), "--dims", "KOM,S", "--count", "n", "--release", str(release),
                 "--checker-dir", str(checker), "--no-differencing-check"]) == 0
    checked = (tmp_path / "t.checked.csv").read_text(encoding="utf-8")
    assert checked.count(",SECONDARY,x,") >= 2  # the margins give the primaries away otherwise
    published = (release / "tables" / "checked_table.tab").read_text(encoding="utf-8")
    assert "147\t1\tx" in published and "147\tTotal\tx" in published
    assert "Total\tTotal\t40" in published
    assert main(["review", str(release), "--checker-dir", str(checker)]) == 3  # differencing not checked
