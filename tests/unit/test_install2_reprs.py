"""Short reprs and escaped ``_repr_html_`` for notebook objects (issue 22 item 4).

Text under 1,000 characters for any names; HTML escaped (a code holding markup shows as text);
private objects show statuses and counts, never values (a notebook saves its output cells).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.estimate.models import model

LONG = "x" * 300
MARKUP = "<b onmouseover=alert(1)>KOM&co</b>"
# distinctive sums that must never show in a private object's repr
SECRET_SUMS = (918273.5, 564738.25)


def _frame() -> pd.DataFrame:
    rows = []
    pnr = 0
    for code, total in zip(["101", "851", MARKUP], [*SECRET_SUMS, 777.0]):
        for _ in range(6):
            rows.append({"PNR": pnr, "KOM": code, "inc": total / 6})
            pnr += 1
    rows.append({"PNR": pnr, "KOM": "999", "inc": 5.0})  # one unit: primary
    return pd.DataFrame(rows)


class _Tags(HTMLParser):
    """The HTML's tag names and text (an independent parser: markup in data must be text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_html(text: str) -> str:
    parser = _Tags()
    parser.feed(text)
    assert set(parser.tags) <= {"div", "strong", "table", "thead", "tbody", "tr", "th", "td", "p"}, parser.tags
    assert "onmouseover" not in "".join(parser.tags)
    return "".join(parser.text)


@pytest.fixture()
def objects(tmp_path: Path) -> dict[str, object]:
    session = kit.Session(rules="dst", unit="PNR", data_label="synthetic " + LONG)
    table = session.table(_frame(), rows="KOM", stat="sum", measure="inc", name="t_" + "a" * 62,
                          title=MARKUP + LONG)
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"PNR": np.arange(300), "x": rng.normal(size=300), "y": rng.normal(size=300)})
    estimate = model(session, df, "y ~ x", name="m", title=MARKUP)
    cleared_table, cleared_estimate = kit.clear(table), kit.clear(estimate)
    release = session.release(tmp_path / "rel", [cleared_table, cleared_estimate], title="r",
                              checker_dir=tmp_path / "chk")
    return {"session": session, "table": table, "estimate": estimate, "cleared_table": cleared_table,
            "cleared_estimate": cleared_estimate, "release": release}


@pytest.mark.parametrize("name", ["session", "table", "estimate", "cleared_table", "cleared_estimate", "release"])
def test_repr_short_and_html_escaped(objects: dict[str, object], name: str) -> None:
    obj = objects[name]
    text = repr(obj)
    assert len(text) < 1000, len(text)
    assert "\n" not in text
    page = obj._repr_html_()  # type: ignore[attr-defined]
    assert len(page) < 20_000
    shown = _check_html(page)
    if name in ("table", "cleared_table"):
        assert html.unescape(MARKUP) in shown or MARKUP[:20] in shown  # the code shows as text


@pytest.mark.parametrize("name", ["table", "estimate"])
def test_private_objects_show_no_values(objects: dict[str, object], name: str) -> None:
    obj = objects[name]
    text = repr(obj) + obj._repr_html_()  # type: ignore[attr-defined]
    numbers = {float(m) for m in re.findall(r"\d+\.\d+|\d{4,}", text)}
    for secret in SECRET_SUMS:
        assert secret not in numbers
        assert f"{secret:g}" not in text and str(int(secret)) not in text
    if name == "estimate":
        est = objects["estimate"]
        # no coefficient shows: each published value's leading digits are absent from the HTML
        for row in est._rows:  # type: ignore[attr-defined]
            assert f"{row.values[0]:.4g}" not in text


def test_private_table_html_shows_statuses(objects: dict[str, object]) -> None:
    shown = _check_html(objects["table"]._repr_html_())  # type: ignore[attr-defined]
    assert "PRIMARY" in shown and "BELOW_MIN_UNITS" in shown and "hidden (private" in shown


def test_cleared_table_html_shows_released_values(objects: dict[str, object]) -> None:
    shown = _check_html(objects["cleared_table"]._repr_html_())  # type: ignore[attr-defined]
    frame = objects["cleared_table"].to_frame()  # type: ignore[attr-defined]
    assert str(frame["value"].iloc[0]) in shown
