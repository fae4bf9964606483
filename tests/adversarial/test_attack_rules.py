"""Red team: rule files that relabel themselves, and what the output checker is shown.

The loader refuses ids that look like a shipped id after case and surrounding spaces are
removed ('DST', 'dst '). An id that only *renders* as 'dst' (an invisible character, full-width
letters, a homoglyph) must be refused too: the report, the XLSX and the manifest would read
"Rule set dst 2025.1" over a 1-unit threshold.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitError

CREATED = "2026-01-01T00:00:00+00:00"
LOOK_ALIKES = {
    "zero-width space": "dst\u200b",
    "full-width letters": "\uff44\uff53\uff54",
    "soft hyphen": "d\u00adst",
    "cyrillic d": "\u0501st",
}


def weak_copy(tmp_path: Path, rule_id: str) -> Path:
    """The shipped dst.toml with another id and a threshold of 1 unit."""
    src = (Path(kit.__file__).parent.parent / "disclosure_rules" / "dst.toml").read_text(encoding="utf-8")
    body = src.replace('id = "dst"', f'id = "{rule_id}"', 1).replace("min_units = 3\napplies_to",
                                                                       "min_units = 1\napplies_to", 1)
    assert body != src
    path = tmp_path / "weak.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", [
    "zero-width space",
    "full-width letters",
    "soft hyphen",
    "cyrillic d",
])
def test_an_id_that_renders_as_dst_is_refused(tmp_path: Path, kind: str) -> None:
    rule_id = LOOK_ALIKES[kind]
    path = weak_copy(tmp_path, rule_id)
    df = pd.DataFrame({"PNR": np.arange(31), "KOM": ["A"] * 30 + ["B"]})
    try:
        s = kit.Session(str(path), unit="PNR", created=CREATED)
    except KitError:
        return  # refused by the loader, as 'DST' is
    s.release(tmp_path / "r", [s.table(df, rows="KOM", name="t")], title="t", formats=("html",))
    # the attacker's reading of the report: what the checker sees as the rule set's name
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    shown = html[html.find("Rule set ") + 9:].split(" ")[0]
    assert not reads_as(shown, "dst"), "a 1-unit rule set is released under a name that reads 'dst'"


def reads_as(name: str, word: str) -> bool:
    """What a reader sees: compatibility forms folded, invisible characters dropped, a few
    Cyrillic homoglyphs read as the Latin letters they look like."""
    homoglyphs = {"\u0501": "d", "\u0455": "s", "\u0442": "t", "\u0430": "a", "\u043e": "o"}
    folded = unicodedata.normalize("NFKC", name)
    seen = "".join(homoglyphs.get(c, c) for c in folded if unicodedata.category(c) != "Cf")
    return seen.casefold() == word
