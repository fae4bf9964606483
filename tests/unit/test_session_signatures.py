"""The Session facade mirrors its estimators: every option by name, default and type.

``help(s.rates)`` and an IDE show the options because each Session method spells them out; this
test keeps the spelling true. It compares ``inspect.signature`` of each Session method with the
function it calls (without that function's ``session`` parameter), so an option added to an
estimator and not to the facade (or the reverse) fails here.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import kit
from kit import estimate
from kit.core.spec import TableSpec
from kit.errors import SpecError

PAIRS: list[tuple[str, Callable[..., Any]]] = [
    ("event_study", estimate.event_study),
    ("model", estimate.model),
    ("rates", estimate.rates),
    ("rate_difference", estimate.rate_difference),
    ("staggered", estimate.staggered),
    ("decomposition", estimate.decomposition),
    ("safe_quantiles", estimate.safe_quantiles),
    ("histogram", estimate.histogram),
]


def _shape(params: list[inspect.Parameter]) -> list[tuple[str, object, object]]:
    return [(p.name, p.default, p.annotation) for p in params]


@pytest.mark.parametrize(("method", "func"), PAIRS, ids=[m for m, _ in PAIRS])
def test_session_method_mirrors_its_estimator(method: str, func: Callable[..., Any]) -> None:
    mine = list(inspect.signature(getattr(kit.Session, method)).parameters.values())
    theirs = list(inspect.signature(func).parameters.values())
    assert mine[0].name == "self" and theirs[0].name == "session"
    assert _shape(mine[1:]) == _shape(theirs[1:])
    assert not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in mine), "no **options on the facade"


@pytest.mark.parametrize(("method", "func"), PAIRS, ids=[m for m, _ in PAIRS])
def test_every_option_is_documented(method: str, func: Callable[..., Any]) -> None:
    doc = inspect.getdoc(getattr(kit.Session, method)) or ""
    assert "Parameters\n----------" in doc
    names = [p for p in inspect.signature(func).parameters if p != "session"]
    entries = {n.strip() for line in doc.splitlines() if line and not line.startswith(" ")
               for n in line.split(",")}
    undocumented = [n for n in names if n not in entries and f"``{n}``" not in doc]
    assert not undocumented
    assert "\nsession\n" not in doc


def test_table_offers_every_table_spec_field() -> None:
    """Every TableSpec field is a Session.table option (under its spec name or its table alias)."""
    params = inspect.signature(kit.Session.table).parameters
    aliases = {"dims": "rows", "statistic": "stat"}
    fields = [f.name for f in dataclasses.fields(TableSpec)]
    assert [aliases.get(f, f) for f in fields if aliases.get(f, f) not in params] == []
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
    doc = inspect.getdoc(kit.Session.table) or ""
    for name in params:
        if name not in ("self", "cols", "title", "never"):  # documented with rows, name, forced
            assert f"\n{name}" in doc, name


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"PNR": [f"p{i}" for i in range(40)], "area": ["a", "b"] * 20,
                         "y": [0, 1, 1, 0] * 10})


def test_table_spec_options_reach_the_spec() -> None:
    s = kit.Session("dst", unit="PNR")
    t = s.table(_frame(), rows="area", never=[("a",)], population="adults", notes=["n1"],
                attributes=("area",))
    assert t.spec.never == (("a",),) and t.spec.population == "adults"
    assert t.spec.notes == ("n1",) and t.spec.attributes == ("area",)


def test_a_misspelt_option_is_refused_with_the_kits_error() -> None:
    s = kit.Session("dst", unit="PNR")
    with pytest.raises(SpecError, match=r"unknown option\(s\) \['popluation'\].*population"):
        s.table(_frame(), rows="area", popluation="x")  # type: ignore[call-arg]
    with pytest.raises(SpecError, match="outcom"):
        s.rates(_frame(), by="area", outcom="y")  # type: ignore[call-arg]
    with pytest.raises(SpecError, match="missing a required argument: 'outcome'"):
        s.rates(_frame(), by="area")  # type: ignore[call-arg]


def test_facade_and_function_give_the_same_result() -> None:
    s = kit.Session("dst", unit="PNR", created="2025-01-01T00:00:00Z")
    a = s.rates(_frame(), by="area", outcome="y")
    b = estimate.rates(s, _frame(), by="area", outcome="y")
    assert a.summary() == b.summary()


def test_unknown_table_option_is_refused_before_any_work() -> None:
    """As before: an unknown option is a SpecError naming it (and no data)."""
    s = kit.Session("dst", unit="PNR")
    with pytest.raises(SpecError, match="colour"):
        s.table(_frame(), rows="area", colour="red")  # type: ignore[call-arg]


def test_check_file_spells_out_every_check_table_option() -> None:
    """``kit.external.check.check_file`` forwards ``check_table``'s options by name (no ``**options``)."""
    from kit.external.check import check_file, check_table

    file_params = inspect.signature(check_file).parameters
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in file_params.values())
    table_params = list(inspect.signature(check_table).parameters.values())[1:]  # without df
    forwarded = [file_params[p.name] for p in table_params if p.name in file_params]
    assert _shape(forwarded) == _shape(table_params)
