"""Issue 19, item 5: fuzzing the command line with malformed and hostile input.

A hypothesis generator writes malformed CSV tables, ``.hrc`` hierarchies, rule-set files,
register files and argument combinations, and runs ``kit`` in-process (``main(argv)`` with
stdout and stderr captured). For every generated input:

- the exit code is one of 0, 2, 3, 4 (never 1, never 70: a bug);
- stderr holds no traceback and at most one line;
- no data value reaches stderr: every data cell, hierarchy code and register value holds a
  planted sentinel (``SNTL`` + digits) and no sentinel may appear in stderr;
- a failed command (exit 2) leaves no file behind in its working folder.

The default run is modest (:data:`EXAMPLES` examples per generator, five generators, well under a
minute); set ``KIT_FUZZ_EXAMPLES=2000`` to run the big profile (marked slow).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kit.cli import main

#: Examples per generator in the default run.
EXAMPLES = 40
BIG = int(os.environ.get("KIT_FUZZ_EXAMPLES", "0"))
ALLOWED_EXIT = {0, 2, 3, 4}
STATS: dict[str, dict[int, int]] = {}

# no shrinking: a failure is reported as generated (shrinking these inputs can take minutes)
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BIG_SETTINGS = settings(max_examples=max(BIG, 1), deadline=None, database=None, phases=PHASES,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

sentinel = st.integers(0, 99999).map(lambda k: f"SNTL{k:05d}")
# text that is hostile to parsers and spreadsheets; always carries a sentinel
nasty_prefix = st.sampled_from(["", "=", "+", "-", "@", "\t", " ", '"', "'", ",", ";", "\x01", "\x00", "é", "∑",
                                "\r", "\n", "0", "Total", "\\", "../", "E:\\Rawdata\\"])
code = st.builds(lambda p, s, q: f"{p}{s}{q}", nasty_prefix, sentinel, nasty_prefix)
number_text = st.one_of(
    st.integers(-5, 60).map(str),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e300", "1e19", "9223372036854775808", "-0", "2.5", "",
                     " 7 ", "0x10", "1_000", "١٢", "3e-400"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    sentinel,  # a non-number that is also a data value
)


def run_kit(argv: list[str], workdir: Path) -> tuple[int, str, str]:
    """``main(argv)`` in ``workdir`` with captured output; checks the invariants shared by all cases."""
    before = {p.relative_to(workdir).as_posix() for p in workdir.rglob("*")}
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(cwd)
    stderr = err.getvalue()
    assert code in ALLOWED_EXIT, (code, argv, stderr)
    assert "Traceback" not in stderr and "Traceback" not in out.getvalue(), stderr
    assert "SNTL" not in stderr, (argv, stderr)
    if code == 2:
        after = {p.relative_to(workdir).as_posix() for p in workdir.rglob("*")}
        assert after == before, (argv, sorted(after - before))
        assert (stderr.strip() and len(stderr.strip().splitlines()) == 1) or "usage:" in stderr, stderr
    return code, out.getvalue(), stderr


def _count(kind: str, code: int) -> None:
    STATS.setdefault(kind, {}).setdefault(code, 0)
    STATS[kind][code] += 1


# ---------------------------------------------------------------- generators


good_count = st.integers(0, 60).map(str)
good_code = st.builds(lambda s, q: f"{s}{q}", sentinel, st.sampled_from(["", " a", "-x", "_1"]))


@st.composite
def csv_tables(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A long-format table: header, rows (sometimes ragged), maybe bad bytes; plus the options.

    Half the tables are well formed (valid counts, values and contributions, benign codes with
    sentinels, margin rows sometimes) with at most one planted fault, so the checks, the
    suppression and the release are reached too; the other half are hostile throughout.
    """
    clean = draw(st.booleans())
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    if clean:
        dims = draw(st.sampled_from([["KOM"], ["KOM", "S"], ["KOM", "S", "AAR"]]))
        extra = draw(st.sampled_from([["n"], ["n", "v"], ["n", "v", "t1"], ["n", "v", "t1", "t2"]]))
    else:
        dims = draw(st.lists(st.sampled_from(["KOM", "S", "AAR", "K O M", "Total"]), min_size=1, max_size=3,
                             unique=True))
        extra = draw(st.lists(st.sampled_from(["n", "v", "t1", "t2", "n", "KOM", ""]), min_size=1, max_size=4))
    header = dims + extra
    n_rows = draw(st.integers(0 if not clean else 1, 12))
    rows = []
    fault = draw(st.integers(0, n_rows * 3)) if clean else -1
    for i in range(n_rows):
        if clean:
            n = int(draw(good_count))
            v = draw(st.integers(0, 10_000))
            t1 = draw(st.integers(0, v))
            t2 = draw(st.integers(0, min(t1, v - t1)))
            nums = {"n": str(n), "v": str(v), "t1": str(t1), "t2": str(t2)}
            row = [draw(good_code) if draw(st.integers(0, 6)) else "Total" for _ in dims] + [nums[e] for e in extra]
            if i == fault:  # one planted fault
                k = draw(st.integers(0, len(row) - 1))
                row[k] = draw(code) if k < len(dims) else draw(number_text)
        else:
            row = [draw(code) for _ in dims] + [draw(number_text) for _ in extra]
        if not clean and draw(st.integers(0, 9)) == 0:  # ragged
            row = row[:-1] if draw(st.booleans()) else [*row, draw(number_text)]
        rows.append(row)

    def field(text: str) -> str:
        if any(c in text for c in (sep, '"', "\n", "\r")) and draw(st.integers(0, 4)):
            return '"' + text.replace('"', '""') + '"'
        return text

    text = "\n".join(sep.join(field(f) for f in r) for r in [header, *rows]) + "\n"
    data = text.encode("utf-8")
    mutation = "none" if clean and draw(st.integers(0, 3)) else draw(
        st.sampled_from(["none", "latin1", "nul", "truncate", "bom", "empty"]))
    if mutation == "latin1":
        data = text.encode("latin-1", errors="replace") + b"\xe6\xf8"
    elif mutation == "nul":
        data = data[: len(data) // 2] + b"\x00" + data[len(data) // 2:]
    elif mutation == "truncate":
        data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    elif mutation == "bom":
        data = b"\xef\xbb\xbf" + data
    elif mutation == "empty":
        data = b""
    count = "n" if clean else draw(st.sampled_from(["n", "v", "missing"]))
    argv = ["--dims", ",".join(dims), "--count", count]
    if sep != ",":
        argv += ["--sep", sep] if clean or draw(st.integers(0, 5)) else []
    if "v" in extra and draw(st.booleans()):
        argv += ["--value", "v"]
        if "t1" in extra and draw(st.booleans()):
            argv += ["--top1", "t1"] + (["--top2", "t2"] if "t2" in extra and draw(st.booleans()) else [])
    argv += ["--rules", draw(st.sampled_from(["dst", "sacro", "sds"]))]
    argv += draw(st.sampled_from([[], [], ["--no-derive-margins"], ["--unit-type", "enterprise"],
                                  ["--total-label", "Total"]]))
    return data, argv


@st.composite
def hrc_files(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        depth = draw(st.integers(0, 3))
        lines.append("@" * depth + draw(st.sampled_from(["", " ", "101", "147", "Total"]) | code))
    text = draw(st.sampled_from(["\n", "\r\n", "\n\n"])).join(lines)
    data = text.encode("utf-8")
    kind = draw(st.sampled_from(["ok", "ok", "latin1", "binary"]))
    if kind == "latin1":
        data = text.encode("latin-1", errors="replace") + b"\xff"
    elif kind == "binary":
        data = bytes(draw(st.lists(st.integers(0, 255), max_size=40))) + b"SNTL00001\x00"
    return data


RULES = (Path(__file__).resolve().parents[2] / "disclosure_rules" / "dst.toml").read_text(encoding="utf-8")


@st.composite
def rule_files(draw: st.DrawFn) -> bytes:
    lines = RULES.splitlines()
    for _ in range(draw(st.integers(0, 4))):
        k = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "junk", "value", "dup"]))
        if action == "drop":
            del lines[k]
        elif action == "junk":
            lines[k] = draw(st.sampled_from(["[[rules", "= 3", "min_units = 'three'", "kind = \"magic\"",
                                              "x = 1e999", "k_share = -0.5", "min_units = -1", "\x00",
                                              "schema_version = 99", "[release]", "applies_to = 3"]))
        elif action == "value" and "=" in lines[k]:
            key = lines[k].split("=")[0]
            lines[k] = key + "= " + draw(st.sampled_from(["nan", "inf", "-1", "0", "1e300", '""', "[]", "{}",
                                                           "true", '"SNTL12345"']))
        else:
            lines.insert(k, lines[k])
    data = "\n".join(lines).encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def register_folders(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    files = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["bef2019.csv", "ind2018.csv", "udda201512.csv", "bef2019.sas7bdat",
                                     "akm2019.parquet", "notes.txt", "bef.csv"]))
        header = draw(st.sampled_from(["PNR,KOM,ALDER", "PNR,KOM,KOM", "PNR,,ALDER", "", "PNR"]))
        rows = [",".join(draw(code) for _ in range(draw(st.integers(1, 4))))
                for _ in range(draw(st.integers(0, 5)))]
        data = ("\n".join([header, *rows]) + "\n").encode("utf-8", errors="replace")
        if draw(st.integers(0, 4)) == 0:
            data = bytes(draw(st.lists(st.integers(0, 255), max_size=30)))
        files.append((name, data))
    return files


# ---------------------------------------------------------------- the cases


FLAT = b"<flat hierarchy of the table's codes>"


def _flat_hrc(data: bytes, options: list[str], dim: str) -> bytes:
    import csv

    sep = options[options.index("--sep") + 1] if "--sep" in options else ","
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=sep))
        k = rows[0].index(dim)
        codes = sorted({r[k].strip() for r in rows[1:] if len(r) > k and r[k].strip() not in ("", "Total")})
    except (UnicodeDecodeError, ValueError, IndexError, csv.Error):
        return b"A\n"
    groups = ["G1", "G2"] if len(codes) > 3 else []
    lines = []
    for g, chunk in ((g, codes[i::2]) for i, g in enumerate(groups)) if groups else [("", codes)]:
        if g:
            lines.append(g)
        lines += [("@" if g else "") + c for c in chunk]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _with_folder(body: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        body(Path(tmp))


def _check_case(table: tuple[bytes, list[str]], hrc: bytes | None, release: bool) -> None:
    data, options = table

    def body(work: Path) -> None:
        (work / "t.csv").write_bytes(data)
        argv = ["check", "t.csv", *options]
        if hrc is not None:
            dim = options[options.index("--dims") + 1].split(",")[0]
            # FLAT: a valid hierarchy of the table's own codes, so the suppression runs
            (work / "h.hrc").write_bytes(_flat_hrc(data, options, dim) if hrc == FLAT else hrc)
            argv += ["--hierarchy", f"{dim}=h.hrc"]
        if release:
            argv += ["--release", "rel", "--checker-dir", "chk"]
        code, _, _ = run_kit(argv, work)
        _count("check" + ("+hrc" if hrc is not None else "") + ("+release" if release else ""), code)
        # the checked copy exists exactly when the whole command succeeded (or, without a release,
        # when cells must be suppressed); a blocked release takes its copy with it
        assert (work / "t.checked.csv").is_file() == (code == 0 or (code == 3 and not release))
        assert (work / "rel").exists() == (release and code == 0)

    _with_folder(body)


@SETTINGS
@given(table=csv_tables(), release=st.booleans())
def test_fuzz_check_tables(table: tuple[bytes, list[str]], release: bool) -> None:
    _check_case(table, None, release)


@SETTINGS
@given(table=csv_tables(), hrc=st.just(FLAT) | hrc_files())
def test_fuzz_check_hierarchies(table: tuple[bytes, list[str]], hrc: bytes) -> None:
    _check_case(table, hrc, False)


@SETTINGS
@given(rules=rule_files(), table=csv_tables())
def test_fuzz_rule_files(rules: bytes, table: tuple[bytes, list[str]]) -> None:
    def body(work: Path) -> None:
        (work / "r.toml").write_bytes(rules)
        code, _, _ = run_kit(["rules", "check", "r.toml"], work)
        _count("rules check", code)
        code, _, _ = run_kit(["rules", "show", "r.toml"], work)
        data, options = table
        (work / "t.csv").write_bytes(data)
        opts = list(options)
        opts[opts.index("--rules") + 1] = "r.toml"
        code, _, _ = run_kit(["check", "t.csv", *opts], work)
        _count("check --rules FILE", code)

    _with_folder(body)


@SETTINGS
@given(files=register_folders(), action=st.sampled_from(["ls", "convert", "convert-file"]))
def test_fuzz_register_folders(files: list[tuple[str, bytes]], action: str) -> None:
    def body(work: Path) -> None:
        raw = work / "raw"
        raw.mkdir()
        for name, data in files:
            (raw / name).write_bytes(data)
        if action == "ls":
            argv = ["registers", "ls", "raw"]
        elif action == "convert":
            argv = ["registers", "convert", "raw", "--to", "cache", "--no-progress"]
        else:
            (work / "plain").write_bytes(b"x")
            argv = ["registers", "convert", "raw", "--to", "plain/cache", "--no-progress"]
        code, _, _ = run_kit(argv, work)
        _count(f"registers {action}", code)

    _with_folder(body)


path_arg = st.sampled_from(["t.csv", "missing.csv", "adir", "plain", "plain/x", "dangling", "adir/new", "",
                            ".", "..", "/", "t.csv/x", "adir/../t.csv", "-x"])


@SETTINGS
@given(
    out=st.none() | path_arg,
    rel=st.none() | path_arg,
    chk=st.none() | path_arg,
    sep=st.none() | st.sampled_from(["", ",", ";;", "\\t", '"', "\n", " "]),
    hierarchy=st.none() | st.sampled_from(["KOM=adir", "KOM=", "=x.hrc", "KOM", "S=plain", "X=plain",
                                           "KOM=missing.hrc"]),
    unit=st.none() | st.sampled_from(["person", "alien", ""]),
    total=st.none() | st.sampled_from(["Total", "", "101", "SNTLx"]),
    dims=st.sampled_from(["KOM,S", "KOM", "", ",", "KOM,KOM", "n", "missing"]),
    count=st.sampled_from(["n", "", "KOM", "missing"]),
)
def test_fuzz_argument_combinations(out: str | None, rel: str | None, chk: str | None, sep: str | None,
                                    hierarchy: str | None, unit: str | None, total: str | None, dims: str,
                                    count: str) -> None:
    def body(work: Path) -> None:
        (work / "t.csv").write_text("KOM,S,n\n101,1,10\n101,2,12\nSNTL00042,1,2\nSNTL00042,2,15\n"
                                    "101,Total,22\nSNTL00042,Total,17\nTotal,1,12\nTotal,2,27\nTotal,Total,39\n",
                                    encoding="utf-8")
        (work / "adir").mkdir()
        (work / "plain").write_text("x", encoding="utf-8")
        (work / "dangling").symlink_to(work / "nowhere")
        argv = ["check", "t.csv", "--dims", dims, "--count", count]
        for flag, value in (("--out", out), ("--release", rel), ("--checker-dir", chk), ("--sep", sep),
                            ("--hierarchy", hierarchy), ("--unit-type", unit), ("--total-label", total)):
            if value is not None:
                argv += [f"{flag}={value}"]
        code, _, _ = run_kit(argv, work)
        _count("check arguments", code)

    _with_folder(body)


@pytest.mark.slow
@pytest.mark.skipif(BIG == 0, reason="the big fuzzing profile runs with KIT_FUZZ_EXAMPLES=N")
@BIG_SETTINGS
@given(table=csv_tables(), hrc=st.none() | st.just(FLAT) | hrc_files(), release=st.booleans())
def test_fuzz_big_profile(table: tuple[bytes, list[str]], hrc: bytes | None, release: bool) -> None:
    _check_case(table, hrc, release)


def test_fuzz_report() -> None:
    """Prints how many generated inputs ran and their exit codes (``pytest -s`` shows it)."""
    total = sum(sum(v.values()) for v in STATS.values())
    for kind, codes in sorted(STATS.items()):
        print(f"fuzz {kind}: {sum(codes.values())} inputs, exit codes {dict(sorted(codes.items()))}")
    print(f"fuzz total: {total} generated inputs, all with exit codes in {sorted(ALLOWED_EXIT)}")
