"""Shared fixtures: one medium run (analysed by several tests) and a small-config builder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthetic import SynthConfig, generate
from synthetic.config import default_treated_areas

#: Medium run: realistic national structure, 12 comparison areas, treated areas 4x their real size so
#: that a DiD on one seed is precise enough for a tight tolerance.
MEDIUM_SEED = 11


def medium_config() -> SynthConfig:
    treated = tuple(replace(a, residents=a.residents * 4) for a in default_treated_areas())
    return SynthConfig(persons=150_000, seed=MEDIUM_SEED, treated=treated, n_comparison=12, n_placebo=2)


def small_config(seed: int = 1, years: tuple[int, int] = (2010, 2013), **changes: Any) -> SynthConfig:
    """A fast configuration (3 comparison areas of 1,000 residents, 20,000 persons)."""
    return SynthConfig(
        persons=20_000,
        seed=seed,
        years=years,
        n_comparison=3,
        n_placebo=1,
        comparison_size=(1000, 1000),
        **changes,
    )


@pytest.fixture(scope="session")
def medium_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "medium"
    generate(medium_config(), out, progress=False)
    return out


@pytest.fixture(scope="session")
def truth(medium_run: Path) -> dict[str, Any]:
    return json.loads((medium_run / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def panel(medium_run: Path) -> pd.DataFrame:
    """Named-area residents by year with primary RAS status (plain pandas, independent of the generator)."""
    key = pd.read_csv(medium_run / "area_key.csv")
    frames = []
    for year in range(2008, 2020):
        bef = pd.read_parquet(medium_run / f"bef{year}.parquet", columns=["PNR", "KOM", "BOPIKOM", "ALDER"])
        ras = pd.read_parquet(medium_run / f"ras{year}.parquet")
        ras = ras.loc[ras["PRIMAER_STATUS_KODE"] == 1, ["PNR", "SOC_STATUS_KODE"]]
        d = bef.merge(key, on=["KOM", "BOPIKOM"]).merge(ras, on="PNR")
        d["emp"] = (d["SOC_STATUS_KODE"] // 100) == 1
        d["year"] = year
        frames.append(d[["PNR", "AREA_NAME", "AREA_TYPE", "ALDER", "emp", "year"]])
    out = pd.concat(frames, ignore_index=True)
    base = out.loc[out["year"] == 2011, ["PNR", "AREA_NAME"]].rename(columns={"AREA_NAME": "AREA_2011"})
    out = out.merge(base, on="PNR", how="left")
    out["newcomer"] = out["AREA_2011"] != out["AREA_NAME"]
    return out


@pytest.fixture
def make_small() -> Any:
    """The :func:`small_config` builder."""
    return small_config
