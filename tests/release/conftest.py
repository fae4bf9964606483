"""Fixtures for the release tests: cleared outputs made through the real path.

Tables come from ``kit.Session(...).table(...)`` and ``kit.clear(...)``. Cleared
estimates are built inside the clearance window and sealed to a stand-in private result by
:func:`cleared_estimate_fixture_factory` only, because the estimators are written in parallel;
nothing else here touches the kit's clearance internals.

Golden files live in ``tests/golden/release/``. Rewrite them with
``KIT_UPDATE_GOLDEN=1 python3 -m pytest tests/release`` or ``--update-golden``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.core.cleared import _GATE, ClearedEstimate, EstimateKind, EstimateRow, Flag, Provenance, _clearance, _seal

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "release"
CREATED = "2024-05-01T12:00:00+00:00"
#: Values planted in the test data that must never show up in a release.
AREAS = ["Kildeparken", "Sundparken", "Vejgaard"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the release golden files in tests/golden/release/",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden")) or os.environ.get("KIT_UPDATE_GOLDEN") == "1"


@pytest.fixture
def golden(update_golden: bool) -> Callable[[str, str], None]:
    """Compare text with a golden file (or rewrite it when asked)."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update_golden or not path.exists():
            if not update_golden:
                pytest.fail(f"golden file {name} is missing; run with KIT_UPDATE_GOLDEN=1 to create it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        expected = path.read_text(encoding="utf-8")
        assert text == expected, (
            f"{name} differs from its golden file; rerun with KIT_UPDATE_GOLDEN=1 if intended"
        )

    return check


def residents_frame() -> pd.DataFrame:
    """Deterministic microdata: 3 areas x 2 years, one area-year cell with 2 persons."""
    rng = np.random.default_rng(20191110)
    rows = []
    pnr = 1000
    sizes = {
        ("Kildeparken", "2011"): 40,
        ("Kildeparken", "2017"): 44,
        ("Sundparken", "2011"): 25,
        ("Sundparken", "2017"): 27,
        ("Vejgaard", "2011"): 2,
        ("Vejgaard", "2017"): 30,
    }
    for (area, year), n in sizes.items():
        for _ in range(n):
            pnr += 1
            rows.append(
                {
                    "PNR": pnr,
                    "area": area,
                    "year": year,
                    "employed": int(rng.random() < 0.45),
                    "group": "newcomers" if rng.random() < 0.6 else "stayers",
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def frame() -> pd.DataFrame:
    return residents_frame()


@pytest.fixture
def session() -> kit.Session:
    return kit.Session(rules="dst", unit="PNR", created=CREATED, data_label="synthetic BEF/RAS 2011-2017")


@pytest.fixture
def sacro_session() -> kit.Session:
    return kit.Session(rules="sacro", unit="PNR", created=CREATED, data_label="synthetic BEF/RAS 2011-2017")


@pytest.fixture
def count_table(session: kit.Session, frame: pd.DataFrame):
    return session.table(
        frame,
        rows="area",
        cols="year",
        stat="count",
        name="residents",
        title="Residents by area and year",
        population="residents 16-64",
    )


@pytest.fixture
def rate_table(session: kit.Session, frame: pd.DataFrame):
    return session.table(
        frame,
        rows="area",
        cols="year",
        stat="rate",
        measure="employed",
        name="employment",
        title="Employment rate by area and year",
        population="residents 16-64",
    )


class _FixtureEstimateSource:
    """Stand-in for the private estimate result a fixture estimate is sealed to."""


def _fixture_estimate(**fields: object) -> ClearedEstimate:
    """Build and seal a cleared estimate the way kit.clear() does (test-only)."""
    with _clearance():
        obj = ClearedEstimate(**fields, gate=_GATE)  # type: ignore[arg-type]
        _seal(obj, _FixtureEstimateSource())
    return obj


def cleared_estimate_fixture_factory(
    provenance: Provenance, *, name: str = "effects", suppress: tuple[str, ...] = ()
) -> ClearedEstimate:
    """FIXTURE FACTORY: a cleared event-study estimate shaped like BL's figure (test-only use of the gate).

    Kildeparken/all residents is flagged not distinguishable from zero, as in BL's figure.
    """
    truth = {
        ("Kildeparken", "all"): (3.0, 1.9),
        ("Kildeparken", "newcomers"): (7.2, 2.4),
        ("Sundparken", "all"): (11.0, 3.1),
        ("Sundparken", "newcomers"): (6.9, 3.0),
    }
    rows = []
    for (area, group), (effect, se) in truth.items():
        term = f"{area}:{group}:2017"
        lo, hi = effect - 1.96 * se, effect + 1.96 * se
        flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if lo <= 0 <= hi else ()
        if term in suppress:
            rows.append(
                EstimateRow(
                    term=term,
                    keys=(("area", area), ("group", group), ("year", "2017")),
                    values=(None, None, None, None),
                    suppressed=True,
                )
            )
            continue
        rows.append(
            EstimateRow(
                term=term,
                keys=(("area", area), ("group", group), ("year", "2017")),
                values=(effect, round(lo, 4), round(hi, 4), round(100 * effect / 40.0, 4)),
                flags=flags,
            )
        )
    return _fixture_estimate(
        name=name,
        title="Effect on employment, 2017 vs 2011",
        kind=EstimateKind.EVENT_STUDY,
        columns=("effect_pp", "ci_low", "ci_high", "pct_of_2011"),
        rows=tuple(rows),
        n_reported="2,750",
        notes=("Difference-in-differences against 30 comparison areas; standard errors clustered by area.",),
        symbol="x",
        provenance=provenance,
    )


def line_estimate_fixture_factory(provenance: Provenance) -> ClearedEstimate:
    """FIXTURE FACTORY: yearly effects with one suppressed year (test-only use of the gate)."""
    rows = []
    for year, effect in (
        ("2012", 0.5),
        ("2013", 1.8),
        ("2014", None),
        ("2015", 5.0),
        ("2016", 8.1),
        ("2017", 11.0),
    ):
        keys = (("area", "Sundparken"), ("year", year))
        if effect is None:
            rows.append(
                EstimateRow(term=f"Sundparken:{year}", keys=keys, values=(None, None, None), suppressed=True)
            )
        else:
            flags = (Flag.NOT_DISTINGUISHABLE_FROM_ZERO,) if effect < 6 else ()
            rows.append(
                EstimateRow(
                    term=f"Sundparken:{year}",
                    keys=keys,
                    values=(effect, effect - 6.0, effect + 6.0),
                    flags=flags,
                )
            )
    return _fixture_estimate(
        name="yearly",
        title="Yearly effects, Sundparken",
        kind=EstimateKind.EVENT_STUDY,
        columns=("effect_pp", "ci_low", "ci_high"),
        rows=tuple(rows),
        n_reported="750",
        notes=(),
        symbol="x",
        provenance=provenance,
    )


@pytest.fixture
def estimate(count_table) -> ClearedEstimate:
    return cleared_estimate_fixture_factory(kit.clear(count_table).provenance)  # type: ignore[arg-type]


@pytest.fixture
def bl_figure(estimate: ClearedEstimate):
    from kit.release import Figure

    return Figure.bar(
        estimate,
        name="bl_figure",
        x="area",
        group="group",
        value="effect_pp",
        low="ci_low",
        high="ci_high",
        title="Effect on employment 2017 vs 2011",
        y_label="Percentage points",
        labels={"all": "All residents", "newcomers": "Newcomers"},
    )
