"""cp1252/latin-1 tables from Windows Excel (issue 22 item 5): read, not refused; bad bytes fail closed.

The attacker's view: a table saved by Excel on Windows (cp1252) with Danish letters in its codes.
The old kit refused it (exit 2 "not UTF-8"). The expected statuses come from the test's own count
of units per cell against the DST minimum of 3, independent of the kit.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from kit.cli import main

ROWS = [("Ærø", "Kvinde", 12), ("Ærø", "Mand", 2), ("Tønder", "Kvinde", 7), ("Tønder", "Mand", 9)]
MIN_UNITS = 3  # dst.toml: at least 3 distinct units per cell


def _write(path: Path, encoding: str, bom: bool = False) -> Path:
    text = "KOM,køn,n\n" + "".join(f"{k},{s},{n}\n" for k, s, n in ROWS)
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def _statuses(path: Path) -> dict[tuple[str, str], str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {(r["KOM"], r["køn"]): r["status"] for r in csv.DictReader(handle)}


def _expected() -> dict[tuple[str, str], str]:
    return {(k, s): ("SAFE" if n >= MIN_UNITS else "PRIMARY") for k, s, n in ROWS}


@pytest.mark.parametrize(("encoding", "bom", "option", "noted"), [
    ("cp1252", False, [], True),                      # Windows Excel's "CSV": detected, with a note
    ("utf-8", True, [], False),                       # Excel's "CSV UTF-8" (with a BOM)
    ("utf-8", False, [], False),
    ("latin-1", False, ["--encoding", "latin-1"], False),
    ("cp1252", False, ["--encoding", "cp1252"], False),
    ("utf-16", False, ["--encoding", "utf-16"], False),
])
def test_windows_encodings_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str, bom: bool,
                                    option: list[str], noted: bool) -> None:
    src = _write(tmp_path / "t.csv", encoding, bom)
    out = tmp_path / "checked.csv"
    code = main(["check", str(src), "--dims", "KOM,køn", "--count", "n", "--out", str(out), *option])
    stdout = capsys.readouterr().out
    assert code == 3  # one cell below the minimum
    assert _statuses(out) == _expected()
    assert ("read as cp1252" in stdout) is noted


@pytest.mark.parametrize(("data", "option"), [
    ("Ærø".encode("cp1252"), ["--encoding", "utf-8"]),      # cp1252 bytes told to be UTF-8
    (b"\x81\x8d\x8f\x90\x9d", []),                        # neither UTF-8 nor cp1252 (unused cp1252 bytes)
    ("Ærø".encode(), ["--encoding", "ascii"]),
])
def test_bad_bytes_fail_closed_naming_file_and_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       data: bytes, option: list[str]) -> None:
    src = tmp_path / "secret_table.csv"
    src.write_bytes(b"KOM,n\n" + data + b",5\n")
    out = tmp_path / "checked.csv"
    code = main(["check", str(src), "--dims", "KOM", "--count", "n", "--out", str(out), *option])
    captured = capsys.readouterr()
    assert code == 2
    assert not out.exists()
    assert "secret_table.csv" in captured.err and "--encoding" in captured.err
    assert "Traceback" not in captured.err
    for shown in (data.decode("latin-1"), data.decode("cp1252", errors="ignore"), repr(data)[2:-1]):
        assert not shown or shown not in captured.err + captured.out


@pytest.mark.parametrize("name", ["nonsense", "rot13", "base64", ""])
def test_unknown_or_non_text_encoding_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    src = _write(tmp_path / "t.csv", "utf-8")
    code = main(["check", str(src), "--dims", "KOM,køn", "--count", "n", "--encoding", name,
                 "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert "--encoding" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_nul_characters_still_refused_in_utf16(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "t.csv"
    src.write_bytes("KOM,n\nA\x00B,5\n".encode("utf-16"))
    assert main(["check", str(src), "--dims", "KOM", "--count", "n", "--encoding", "utf-16",
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert "binary" in capsys.readouterr().err


def test_library_reader_detects_and_notes() -> None:
    from kit.external.table_input import decode_text

    text, note = decode_text(io.BytesIO("KOM\nÆ\n".encode("cp1252")).getvalue(), "detect", "t", "fix")
    assert text == "KOM\nÆ\n" and note is not None and "cp1252" in note
