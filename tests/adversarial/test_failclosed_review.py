"""Issue 19, item 2: ``kit review`` gaps.

The attacker hides a CPR number where the scan did not look (a folder name, a compressed PNG
chunk, a PDF stream, an SVG character reference) or writes it in a form the pattern missed
(``010180 1234``, ``010180_1234``, followed by ``.`` or a letter, after a ``,``). The CPR forms
and the hash digests below are the attacker's own, generated here; the checks are that the scan
flags every written form and never a checksum, and that no message repeats the number.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.release import review_release, write_release
from kit.release.scan import FindingKind, scan_file, scan_text

CPR = "0101801234"
CPRS = ["0101801234", "3112991234", "1506424321", "2902000001"]


def cpr_forms(c: str) -> list[str]:
    head, tail = c[:6], c[6:]
    return [
        f"id {c}",
        f"{head}-{tail}",
        f"{head} {tail}",
        f"{head}_{tail}",
        f"{head}.{tail}",
        f"{head}/{tail}",
        f"cpr{c}x",  # embedded in a word
        f"person{head}-{tail}abc",
        f"ends with {c}.",
        f"{c}a",
        f"a,{c}",
        f",{head}-{tail},",
        f"({c})",
        f"'{c}'",
    ]


@pytest.mark.parametrize("c", CPRS)
def test_every_written_form_of_a_cpr_number_is_flagged(c: str) -> None:
    for text in cpr_forms(c):
        kinds = [f.kind for f in scan_text("t.txt", text)]
        assert FindingKind.CPR_LIKE in kinds, text


def test_checksums_are_never_cpr_numbers() -> None:
    """2000 hex digests, each with a CPR-shaped run planted inside: LONG_ID at most, never CPR_LIKE."""
    rng = random.Random(19)
    for k in range(2000):
        digest = hashlib.sha256(str(k).encode()).hexdigest()
        pos = rng.randrange(0, 54)
        planted = digest[:pos] + rng.choice(CPRS) + digest[pos + 10:]
        kinds = {f.kind for f in scan_text("m.txt", f"sha256:{planted}")}
        assert FindingKind.CPR_LIKE not in kinds, planted
        assert scan_text("m.txt", f"sha256:{planted}", allowed_hex={planted}) == []


def test_numbers_that_are_not_cpr_numbers() -> None:
    for text in ("rate 0.41509433962264153", "3.0101801234", "12345678901", "1,234,567", "total 4.5e+10",
                 "99999 1234", "3201801234", "0113801234"):
        assert FindingKind.CPR_LIKE not in {f.kind for f in scan_text("t.txt", text)}, text


def _png_with_text(path: Path, kind: str) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if kind == "zTXt":
        info.add_text("Comment", f"person {CPR}", zip=True)
    else:
        info.add_itxt("Comment", f"person {CPR}", lang="da", tkey="kommentar", zip=True)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    raw = path.read_bytes()
    assert CPR.encode() not in raw and kind.encode() in raw  # really compressed


@pytest.mark.parametrize("kind", ["zTXt", "iTXt"])
def test_compressed_png_text_is_scanned(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("PIL")
    _png_with_text(tmp_path / "f.png", kind)
    assert FindingKind.CPR_LIKE in {f.kind for f in scan_file(tmp_path, "f.png")}


def test_pdf_and_svg_text_is_scanned(tmp_path: Path) -> None:
    stream = zlib.compress(f"BT /F1 12 Tf ({CPR}) Tj ET".encode())
    (tmp_path / "f.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n" + stream +
                                     b"\nendstream\nendobj\n%%EOF\n")
    (tmp_path / "f.svg").write_text(f'<svg><text x="1">&#48;{CPR[1:6]}&#45;{CPR[6:]}</text></svg>',
                                    encoding="utf-8")
    for name in ("f.pdf", "f.svg"):
        assert FindingKind.CPR_LIKE in {f.kind for f in scan_file(tmp_path, name)}, name


def _release(tmp_path: Path, codes: list[str], rules: str = "sacro") -> Path:
    session = kit.Session(unit="PNR", rules=rules, data_label="test", created="2024-01-01T00:00:00+00:00")
    df = pd.DataFrame({"PNR": np.arange(30 * len(codes)), "KOM": codes * 30})
    table = kit.clear(session.table(df, rows="KOM", name="by_area"))
    return write_release(tmp_path / "rel", [table], session.rules, title="t",
                         checker_dir=tmp_path / "checker").folder


def test_a_folder_name_with_a_cpr_number_is_not_clean(tmp_path: Path) -> None:
    release = _release(tmp_path, ["101", "147"])
    assert review_release(release, checker_dir=tmp_path / "checker").exit_code == 0
    (release / "tables" / f"{CPR} income 523000").mkdir()
    result = review_release(release, checker_dir=tmp_path / "checker")
    assert result.exit_code == 4
    assert FindingKind.CPR_LIKE in {f.kind for f in result.findings}
    shown = result.render() + json.dumps([str(f) for f in result.findings]) + " ".join(result.problems)
    assert CPR not in shown and "523000" not in shown


def test_a_file_name_with_a_cpr_number_is_withheld_from_messages(tmp_path: Path) -> None:
    release = _release(tmp_path, ["101", "147"])
    (release / "tables" / f"{CPR[:6]}_{CPR[6:]}.txt").write_text("nothing", encoding="utf-8")
    result = review_release(release, checker_dir=tmp_path / "checker")
    assert result.exit_code == 4 and CPR[:6] not in result.render()


def test_the_release_folder_name_itself_is_scanned(tmp_path: Path) -> None:
    release = _release(tmp_path, ["101", "147"])
    renamed = release.rename(release.with_name(f"rel_{CPR}"))
    result = review_release(renamed)
    assert FindingKind.CPR_LIKE in {f.kind for f in result.findings} and CPR not in result.render()


def test_a_cpr_code_in_a_cleared_table_is_found(tmp_path: Path) -> None:
    release = _release(tmp_path, [f"{CPR[:6]} {CPR[6:]}", "147"])
    result = review_release(release, checker_dir=tmp_path / "checker")
    assert result.exit_code == 3 and CPR[:6] not in result.render()
    assert FindingKind.CPR_LIKE in {f.kind for f in result.findings}


def test_dp_release_reviews_clean(tmp_path: Path) -> None:
    """The ledger head hash and charge id in a DP table's provenance are not identifiers."""
    pytest.importorskip("opendp")
    pl = pytest.importorskip("polars")
    from kit.dp import DPConfig, DPTableSpec, dp_table
    from kit.dp.ledger import BudgetLedger

    rng = np.random.default_rng(7)
    n = 3000
    data = tmp_path / "panel.parquet"
    pl.DataFrame({"PNR": np.repeat(np.arange(n), 3), "year": np.tile([2015, 2016, 2017], n),
                  "KOM": rng.integers(0, 4, 3 * n).astype(str)}).write_parquet(data)
    config = DPConfig(population=100_000, period="year", periods=("2015", "2016", "2017"),
                      codes={"KOM": ("0", "1", "2", "3", "9")})
    session = kit.Session(unit="PNR", data_label="synthetic", created="2024-01-01T00:00:00+00:00")
    ledger = BudgetLedger.create(tmp_path / "budget.jsonl", cap_rho="1/2", delta="1e-7", project="p")
    result = dp_table(session, data, DPTableSpec(name="t_count", dims=("KOM", "year"), statistic="count",
                                                 rho="1/16", config=config), ledger)
    cleared = kit.clear(result)
    rel = write_release(tmp_path / "rel", [cleared], session.rules, title="dp", checker_dir=tmp_path / "chk",
                        ledger=ledger.path)
    review = review_release(rel.folder, checker_dir=tmp_path / "chk")
    assert result.ledger_head in (rel.folder / "manifest.txt").read_text(encoding="utf-8")
    assert review.exit_code == 0, review.render()
