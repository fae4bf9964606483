"""Issue 19, items 4 and the hierarchy/solver part: every bad input a newcomer or a careless
colleague gives the command line ends with exit 2 (or 3 when output is blocked), one line on
stderr that names no data value, no traceback, and no file left behind.

Each case plants a recognisable sentinel value in the input and checks it never reaches stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kit.cli import main
from kit.errors import SchemaError, SpecError

SENTINEL = "ZQX987"  # a code no message may ever quote


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err


def files_below(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def table(work: Path, text: str, name: str = "t.csv") -> Path:
    path = work / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = f"KOM,n\n101,10\n{SENTINEL},12\n851,7\n"


def assert_bad(code: int, err: str, before: set[str], work: Path) -> None:
    assert code == 2, err
    assert err.count("\n") == 1, err  # one line
    assert SENTINEL not in err
    assert "Fix:" in err or "usage:" in err
    assert files_below(work) == before, "a failed command left a file behind"


@pytest.mark.parametrize(
    ("content", "extra"),
    [
        ("", []),  # empty CSV
        ("\n\n", []),  # blank lines only
        ("KOM,n\n", []),  # header only
        (f"KOM,n\n{SENTINEL},inf\n", []),  # inf count
        (f"KOM,n\n{SENTINEL},1e300\n", []),  # 1e300 count (int64 wrap before)
        (f"KOM,n\n{SENTINEL},1e19\n", []),  # beyond int64
        (f"KOM,n\n{SENTINEL},-3\n", []),
        (f"KOM,n\n{SENTINEL},2.5\n", []),
        (f"KOM,KOM,n\n{SENTINEL},1,5\n", []),  # duplicate header names (pandas renamed KOM.1)
        (f"KOM,n\n{SENTINEL},5,9\n", []),  # ragged row: one field too many
        (f"KOM,n,v\n{SENTINEL},5\n", []),  # ragged row: one field short
        (f"KOM,n\n{SENTINEL}\x01,5\n101,7\n", []),  # control character in a code
        (f"KOM,n,v\n{SENTINEL},5,inf\n", ["--value", "v"]),  # --value inf
        (f"KOM,n,v,t1\n{SENTINEL},5,100,250\n", ["--value", "v", "--top1", "t1"]),  # top1 > value
        (f"KOM,n,v,t1,t2\n{SENTINEL},5,100,60,70\n", ["--value", "v", "--top1", "t1", "--top2", "t2"]),
        (f"KOM,n,v,t1\n{SENTINEL},5,100,-1\n", ["--value", "v", "--top1", "t1"]),
        (f'KOM,n\n"{SENTINEL},5\n', []),  # unterminated quote
    ],
)
def test_bad_tables_exit_2(work: Path, capsys: pytest.CaptureFixture[str], content: str, extra: list[str]) -> None:
    path = table(work, content)
    before = files_below(work)
    code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", *extra], capsys)
    assert_bad(code, err, before, work)


def test_binary_and_non_utf8_tables(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a latin-1 table is read by default now (detection: UTF-8, else cp1252; issue 22), so it is
    # refused when the user says it is UTF-8
    for name, data, option in (("bin.csv", b"KOM,n\x00\x01\x02" + SENTINEL.encode(), []),
                               ("latin.csv", f"KOM,n\n{SENTINEL}\xe6\xf8,5\n".encode("latin-1"),
                                ["--encoding", "utf-8"])):
        (work / name).write_bytes(data)
        before = files_below(work)
        code, _, err = run(["check", str(work / name), "--dims", "KOM", "--count", "n", *option], capsys)
        assert_bad(code, err, before, work)


@pytest.mark.parametrize("sep", ["", ";;", '"', "\n"])
def test_bad_separator(work: Path, capsys: pytest.CaptureFixture[str], sep: str) -> None:
    path = table(work, GOOD)
    before = files_below(work)
    code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", "--sep", sep], capsys)
    assert_bad(code, err, before, work)


def test_table_is_a_folder_or_missing(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "folder.csv").mkdir()
    before = files_below(work)
    for target in ("folder.csv", "missing.csv"):
        code, _, err = run(["check", str(work / target), "--dims", "KOM", "--count", "n"], capsys)
        assert_bad(code, err, before, work)


def test_output_goes_to_the_current_folder_not_beside_the_input(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data, here = tmp_path / "shared", tmp_path / "here"
    data.mkdir()
    here.mkdir()
    src = data / "t.csv"
    src.write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(here)
    code, _, _ = run(["check", str(src), "--dims", "KOM", "--count", "n"], capsys)
    assert code == 0
    assert files_below(data) == {"t.csv"}
    assert (here / "t.checked.csv").read_text(encoding="utf-8").startswith("KOM,n,status")


def test_out_in_a_missing_folder_or_a_folder(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = table(work, GOOD)
    (work / "adir").mkdir()
    before = files_below(work)
    for out in (work / "missing" / "o.csv", work / "adir", work / "t.csv" / "o.csv"):
        code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", "--out", str(out)], capsys)
        assert_bad(code, err, before, work)


def test_out_never_overwrites_the_input(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = table(work, GOOD)
    code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", "--out", str(path)], capsys)
    assert code == 2 and path.read_text(encoding="utf-8") == GOOD and SENTINEL not in err


def test_unwritable_output_folder(work: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The file system refuses the write (PermissionError): exit 2, the file named, nothing left."""
    path = table(work, GOOD)
    before = files_below(work)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(work / "t.checked.csv"))

    monkeypatch.setattr(os, "replace", refuse)
    code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n"], capsys)
    assert_bad(code, err, before, work)
    assert "PermissionError" in err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(work: Path, capsys: pytest.CaptureFixture[str]) -> None:  # pragma: no cover
    path = table(work, GOOD)
    locked_dir = work / "ro"
    locked_dir.mkdir()
    locked_dir.chmod(0o500)
    try:
        code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", "--out",
                            str(locked_dir / "o.csv")], capsys)
        assert code == 2 and SENTINEL not in err
        code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n", "--release",
                            str(locked_dir / "rel"), "--out", str(work / "o2.csv")], capsys)
        assert code == 2 and not (work / "o2.csv").exists()
    finally:
        locked_dir.chmod(0o700)


MARGINS = f"KOM,S,n\n101,1,10\n101,2,12\n{SENTINEL},1,2\n{SENTINEL},2,15\n101,Total,22\n" \
          f"{SENTINEL},Total,17\nTotal,1,12\nTotal,2,27\nTotal,Total,39\n"


def test_release_below_a_plain_file_and_checker_paths(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = table(work, MARGINS)
    (work / "plain").write_text("x", encoding="utf-8")
    (work / "dangling").symlink_to(work / "nowhere")
    (work / "rels").mkdir()
    before = files_below(work)
    base = ["check", str(path), "--dims", "KOM,S", "--count", "n"]
    cases = [
        ["--release", str(work / "plain" / "rel")],  # below a plain file
        ["--release", str(work / "rels" / "rel"), "--checker-dir", str(work / "rels")],  # parent
        ["--release", str(work / "rels" / "rel"), "--checker-dir", str(work / "dangling")],  # dangling link
        ["--release", str(work / "rels" / "rel"), "--checker-dir", str(work / "plain")],  # a file
        ["--release", str(work / "rels" / "rel"), "--checker-dir", str(work / "plain" / "c")],
        ["--checker-dir", str(work / "c")],  # checker without release
    ]
    for extra in cases:
        code, _, err = run([*base, *extra], capsys)
        assert_bad(code, err, before, work)


def test_release_failure_leaves_no_checked_copy(work: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import kit.release

    path = table(work, MARGINS)
    before = files_below(work)

    def broken(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(work / "rel"))

    monkeypatch.setattr(kit.release, "write_release", broken)
    code, _, err = run(["check", str(path), "--dims", "KOM,S", "--count", "n", "--release", str(work / "rel")],
                       capsys)
    assert_bad(code, err, before, work)


def test_hierarchy_files(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = table(work, MARGINS)
    (work / "h_dir").mkdir()
    (work / "bin.hrc").write_bytes(b"\x00\x01" + SENTINEL.encode() + b"\xff")
    (work / "latin.hrc").write_bytes(f"{SENTINEL}\xe6\n@101\n".encode("latin-1"))
    (work / "twice.hrc").write_text(f"{SENTINEL}\n@101\n{SENTINEL}\n", encoding="utf-8")
    (work / "deep.hrc").write_text(f"{SENTINEL}\n@@101\n", encoding="utf-8")
    (work / "empty.hrc").write_text("@\n", encoding="utf-8")
    before = files_below(work)
    for hrc in ("h_dir", "bin.hrc", "latin.hrc", "twice.hrc", "deep.hrc", "empty.hrc", "missing.hrc"):
        code, _, err = run(["check", str(path), "--dims", "KOM,S", "--count", "n", "--hierarchy",
                            f"KOM={work / hrc}"], capsys)
        assert_bad(code, err, before, work)


def test_hierarchy_errors_quote_no_code() -> None:
    from kit.protect import Hierarchy

    for text in (f"{SENTINEL}\n@101\n{SENTINEL}\n", f"A\n@{SENTINEL}\n@@{SENTINEL}\n"):
        with pytest.raises(SpecError) as info:
            Hierarchy.from_hrc(text)
        assert SENTINEL not in str(info.value)
    with pytest.raises(SpecError) as info:
        Hierarchy.from_parents({SENTINEL: "Total", "B": SENTINEL, "Total": "B"}, root="Total")
    assert SENTINEL not in str(info.value)
    tree = Hierarchy.from_hrc("A\n@B\n")
    with pytest.raises(SpecError) as info:
        tree.leaves_under(SENTINEL)
    assert SENTINEL not in str(info.value)


def test_registers_convert_below_a_plain_file(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "plain").write_text("x", encoding="utf-8")
    (work / "proj").mkdir()
    before = files_below(work)
    code, _, err = run(["registers", "convert", str(work / "proj"), "--to", str(work / "plain" / "cache")],
                       capsys)
    assert_bad(code, err, before, work)
    code, _, err = run(["registers", "ls", str(work / "plain")], capsys)
    assert_bad(code, err, before, work)


def test_ragged_register_csv_is_refused(tmp_path: Path) -> None:
    from kit.registers.discover import FileFormat
    from kit.registers.readers import list_columns, read_file

    path = tmp_path / "bef2019.csv"
    path.write_text(f"PNR,KOM,ALDER\n1,101,30\n2,{SENTINEL},41,7\n3,147,52\n", encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        read_file(path, FileFormat.CSV, ["PNR", "KOM"], actual={"PNR": "PNR", "KOM": "KOM"}, where="bef2019.csv")
    assert SENTINEL not in str(info.value) and "line 3" in str(info.value)
    path.write_text("PNR,KOM,KOM\n1,101,30\n", encoding="utf-8")
    with pytest.raises(SchemaError):
        list_columns(path, FileFormat.CSV, where="bef2019.csv")


def test_library_inputs(tmp_path: Path) -> None:
    import kit

    session = kit.Session(unit="PNR", data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(40), "KOM": ["101", "147"] * 20, "w": [1.0] * 39 + [np.inf],
                       "inc": np.arange(40.0)})
    with pytest.raises(SchemaError):
        session.table(df, rows="KOM", weight="w")
    bad = df.assign(KOM=[{"code": SENTINEL}] * 40, w=1.0)
    with pytest.raises(SchemaError) as info:
        session.table(bad, rows="KOM")
    assert SENTINEL not in str(info.value)
    for bins in (["a", "b"], [{"x": 1}, 2], [0, float("inf")]):
        with pytest.raises(SpecError):
            session.histogram(df, "inc", bins)


def test_unexpected_exception_is_exit_70_without_traceback(
        work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import kit.cli.check

    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"secret {SENTINEL}")

    monkeypatch.setattr(kit.cli.check, "check_file", bug)
    path = table(work, GOOD)
    code, _, err = run(["check", str(path), "--dims", "KOM", "--count", "n"], capsys)
    assert code == 70 and err.count("\n") == 1
    assert "RuntimeError" in err and "report" in err and SENTINEL not in err
    for argv in (["--debug", "check", str(path), "--dims", "KOM", "--count", "n"],
                 ["check", str(path), "--dims", "KOM", "--count", "n", "--debug"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 70 and "Traceback" in err


def test_argument_errors_return_2_and_help_0(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["demo", "--out", "d", "--persons", "0"], ["demo", "--out", "d", "--permutations", "-1"],
                 ["demo", "--out", "d", "--seed", "1e3"], ["registers", "convert", "p", "--to", "c",
                                                            "--chunk-rows", "0"]):
        assert main(argv) == 2, argv  # refused before any work (the demo used to run a minute first)
    assert main(["check"]) == 2
    assert main(["nonsense-command"]) == 2
    assert main(["check", "t.csv", "--dims", "K", "--count", "n", "--unit-type", "alien"]) == 2
    assert main(["--help"]) == 0
    assert main([]) == 2
    capsys.readouterr()


# A table whose secondary suppression makes HiGHS's MIP print
# "HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();" from C++ (found by
# random search; the old code printed six such lines on stdout).
CHATTY = ("R,C,n\nr0,c0,3\nr0,c1,4\nr0,c2,1\nr0,c3,1\nr1,c0,2\nr1,c1,2\nr1,c2,1\nr1,c3,3\nr2,c0,5\n"
          "r2,c1,11\nr2,c2,2\nr2,c3,4\nr3,c0,7\nr3,c1,4\nr3,c2,4\nr3,c3,2\nr0,Total,9\nr1,Total,8\n"
          "r2,Total,22\nr3,Total,17\nTotal,c0,17\nTotal,c1,21\nTotal,c2,8\nTotal,c3,10\nTotal,Total,56\n")


def test_solver_prints_nothing_on_stdout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    """Secondary suppression and the LP audit run; stdout (file descriptor 1) holds only the kit's lines."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(CHATTY, encoding="utf-8")
    code = main(["check", "t.csv", "--dims", "R,C", "--count", "n", "--release", "rel", "--checker-dir", "chk",
                 "--no-differencing-check"])
    sys.stdout.flush()
    out, err = capfd.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("25 cells checked") and lines[1].startswith("audit "), out
    assert "highs" not in out.lower() and "tmpSolver" not in out
    expected = ["secondary suppression", "written", "differencing check", "release"]
    assert [line.split(":")[0] for line in lines[2:]] == expected, out
