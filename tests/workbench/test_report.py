"""The static checker's report rebuilt on the workbench's views (issue 20, item 7)."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Rows(HTMLParser):
    """The attacker's own reading of the report: every table row's class and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str], list[str]]] = []
        self._cls = ""
        self._cells: list[str] | None = None
        self._spans: list[str] = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self._cls, self._cells, self._spans = a.get("class") or "", [], []
        elif tag == "td":
            self._text = ""
        elif tag == "span" and self._cells is not None:
            self._spans.append(a.get("class") or "")

    def handle_data(self, data):
        self._text += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cells is not None:
            self._cells.append(self._text.strip())
        elif tag == "tr" and self._cells is not None:
            self.rows.append((self._cls, self._cells, self._spans))
            self._cells = None


def test_report_has_overview_first_and_cells_by_codes_coloured_by_reason(rel):
    _, checker = rel
    html = (checker / "rel" / "checker_report.html").read_text()
    overview = html.index('id="chk-overview"')
    assert overview < html.index('id="chk-residents"') and overview < html.index('id="chk-employment"')
    parser = Rows()
    parser.feed(html)
    # the cell of 2 persons: named by its codes, primary, its reason coloured as a threshold
    vejgaard = [r for r in parser.rows if r[1][:2] == ["Vejgaard", "2011"] and r[0].startswith("st-")]
    assert vejgaard and all(r[0] == "st-primary" for r in vejgaard)
    assert any("rk rk-threshold" in s for r in vejgaard for s in r[2])
    # every cell with fewer than 3 distinct units is a primary row (independent count)
    small = [r for r in parser.rows if r[0].startswith("st-") and len(r[1]) > 2 and r[1][2].isdigit()
             and int(r[1][2]) < 3]
    assert small and all(r[0] == "st-primary" for r in small)
    # the overview row of residents counts 1 primary cell
    row = next(r for r in parser.rows if r[1] and r[1][0].startswith("Residents by area and year"))
    assert row[1][4] == "1" and int(row[1][5]) >= 1
    assert not re.search(r"<script(?![^>]*src=)", html.split("</head>", 1)[1])
