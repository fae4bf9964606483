"""Short text and HTML representations for notebooks (Jupyter, VS Code).

Every object a researcher holds in a notebook (session, private table, cleared table, estimate,
release, register project) shows itself in at most :data:`MAX_REPR` characters of text and a small
escaped HTML table. Private objects show names, statuses and counts, never values: a notebook's
output cells are saved in the ``.ipynb`` file, which may travel further than the object.

Examples
--------
>>> short("<Table " + "x" * 2000 + ">")[-12:]
'... (cut)>'
>>> len(short("<Table " + "x" * 2000 + ">")) <= MAX_REPR
True
>>> html_card("Table <t>", [("rules", "dst & co")])[:61]
'<div class="kit-repr"><strong>Table &lt;t&gt;</strong><table>'
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["MAX_HTML_ROWS", "MAX_REPR", "html_card", "html_rows", "short", "short_list"]

#: Longest text representation (characters).
MAX_REPR = 1000
#: Rows shown in an HTML preview of a table.
MAX_HTML_ROWS = 10
#: Longest text shown for one name or value in a representation.
_MAX_FIELD = 80


def short(text: str, limit: int = MAX_REPR) -> str:
    """``text`` cut to ``limit`` characters, marking the cut (keeps a closing ``>``)."""
    if len(text) <= limit:
        return text
    tail = "... (cut)>" if text.endswith(">") else "... (cut)"
    return text[: limit - len(tail)] + tail


def short_list(items: Sequence[object], limit: int = 8) -> str:
    """A list shown with at most ``limit`` items, each cut to a sensible length.

    >>> short_list(["a", "b", "c"], limit=2)
    "['a', 'b', ... 3 in all]"
    """
    shown = [_field(repr(str(i))) for i in list(items)[:limit]]
    more = f", ... {len(items)} in all" if len(items) > limit else ""
    return "[" + ", ".join(shown) + more + "]"


def _field(text: str) -> str:
    return text if len(text) <= _MAX_FIELD else text[: _MAX_FIELD - 3] + "..."


def html_card(title: str, facts: Sequence[tuple[str, str]], body: str = "") -> str:
    """A titled block with a two-column table of facts and an optional (already escaped) body."""
    rows = "".join(f"<tr><th style='text-align:left'>{escape(_field(k))}</th><td>{escape(_field(v))}</td></tr>"
                   for k, v in facts)
    return f'<div class="kit-repr"><strong>{escape(_field(title))}</strong><table>{rows}</table>{body}</div>'


def html_rows(columns: Sequence[str], rows: Sequence[Sequence[object]], total: int) -> str:
    """An escaped HTML table of the first rows (``total`` is the number of rows in all)."""
    head = "".join(f"<th>{escape(_field(str(c)))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_field(str(v)))}</td>" for v in row) + "</tr>"
                   for row in rows[:MAX_HTML_ROWS])
    more = (f"<p>first {min(len(rows), MAX_HTML_ROWS)} of {total} rows</p>"
            if total > min(len(rows), MAX_HTML_ROWS) else "")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
