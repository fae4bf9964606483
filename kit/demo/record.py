"""Recorded demo numbers: the blocks of the docs that quote ``kit demo`` are written by it.

``kit demo --out DIR --record docs/aalborg.md --record README.md`` rewrites, in
each file, the text between the marker lines ``<!-- kit-demo:NAME:start -->``
and ``<!-- kit-demo:NAME:end -->`` for the blocks it knows (:data:`BLOCKS`):

* ``estimates``: the comparison with the planted truth, as ``kit demo`` prints it;
* ``headline``: one sentence with the headline numbers.

A test runs the default demo and checks that docs/aalborg.md and README.md hold
exactly these blocks, so the quoted numbers cannot drift from the code.

Examples
--------
>>> text = "a\\n<!-- kit-demo:headline:start -->\\nold\\n<!-- kit-demo:headline:end -->\\nb\\n"
>>> print(replace_block(text, "headline", "new"))
a
<!-- kit-demo:headline:start -->
new
<!-- kit-demo:headline:end -->
b
<BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kit.errors import SpecError

__all__ = ["BLOCKS", "blocks", "read_block", "record", "replace_block"]

#: Names of the recorded blocks.
BLOCKS = ("estimates", "headline")


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- kit-demo:{name}:start -->\n)(.*?)(<!-- kit-demo:{name}:end -->)", re.S)


def _pick(rows: Sequence[Mapping[str, Any]], area: str, key: str, value: str) -> Mapping[str, Any] | None:
    for r in rows:
        if r["area"] == area and r[key] == value:
            return r
    return None


def _fmt(row: Mapping[str, Any] | None, field: str = "estimate", unit: str = " pp") -> str:
    if row is None or row.get("suppressed") or row.get(field) is None:
        return "x (suppressed)"
    return f"{row[field]:+.1f}{unit}"


def _share(rows: Sequence[Mapping[str, Any]], area: str, status: str) -> str:
    for r in rows:
        if r["area"] == area and r["destination"] == "elsewhere":
            value = r["shares"].get(status)
            return "x (suppressed)" if value is None else f"{value:.1f} %"
    return "x (suppressed)"


def _movers_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """The movers' public-support share (cleared) for the headline, or nothing without E7."""
    if not rows:
        return ""
    return ("; of those who had lived in Sundparken in 2011 and lived elsewhere in Denmark in 2017, "
            f"{_share(rows, 'Sundparken', 'support')} were on cash benefit or other public support "
            f"(Kildeparken {_share(rows, 'Kildeparken', 'support')}, the comparison areas' movers "
            f"{_share(rows, 'Comparison', 'support')})")


def blocks(result: Any, seed: int, persons: int) -> dict[str, str]:
    """The recorded blocks of one demo run (``result`` is a :class:`~kit.demo.pipeline.DemoResult`)."""
    estimates = (f"```\n$ kit demo --out demo-out   # seed {seed}, {persons:,} persons\n{result.text}\n```")
    emp = result.comparison
    headline = (
        f"With the default seed the demo estimates the 2017 employment effect at "
        f"{_fmt(_pick(emp, 'Sundparken', 'group', 'all'))} in Sundparken and "
        f"{_fmt(_pick(emp, 'Kildeparken', 'group', 'all'))} in Kildeparken (planted +11 and +3), "
        f"the effect on the share of 25-64-year-olds with at least upper-secondary or vocational education at "
        f"{_fmt(_pick(result.outcomes, 'Sundparken', 'what', 'education'))} and "
        f"{_fmt(_pick(result.outcomes, 'Kildeparken', 'what', 'education'))}, and finds newcomers to be "
        f"{_fmt(_pick(result.newcomers, 'Sundparken', 'what', 'newcomer share %'), unit=' %')[1:]} and "
        f"{_fmt(_pick(result.newcomers, 'Kildeparken', 'what', 'newcomer share %'), unit=' %')[1:]} "
        "of the 16-64-year-old residents"
        f"{_movers_sentence(getattr(result, 'attachment', ()))}."
    )
    return {"estimates": estimates, "headline": headline}


def read_block(text: str, name: str) -> str | None:
    """The content of block ``name`` in ``text`` (without the markers), or ``None``."""
    match = _pattern(name).search(text)
    return None if match is None else match.group(2).rstrip("\n")


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with block ``name``'s content replaced (unchanged when the markers are absent)."""
    return _pattern(name).sub(lambda m: m.group(1) + content + "\n" + m.group(3), text)


def record(files: Sequence[str | Path], recorded: Mapping[str, str]) -> list[Path]:
    """Rewrite the recorded blocks in ``files``; return the files that held at least one block."""
    changed = []
    for file in files:
        path = Path(file)
        if not path.is_file():
            raise SpecError("kit demo --record", f"the file {path.name} does not exist",
                            "pass a markdown file with kit-demo markers, e.g. docs/aalborg.md")
        text = path.read_text(encoding="utf-8")
        found = [name for name in recorded if read_block(text, name) is not None]
        if not found:
            raise SpecError("kit demo --record", f"the file {path.name} has no kit-demo block",
                            f"add the lines <!-- kit-demo:NAME:start --> and <!-- kit-demo:NAME:end --> "
                            f"(NAME one of {list(BLOCKS)})")
        for name in found:
            text = replace_block(text, name, recorded[name])
        path.write_text(text, encoding="utf-8")
        changed.append(path)
    return changed
