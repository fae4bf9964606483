"""Configuration: defaults, TOML round trip, and errors that name the offending key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kit.errors import DataReadError, KitError, SpecError
from synthetic import SynthConfig
from synthetic.cli import parse_years
from synthetic.engine import build_areas
from synthetic.geography import AreaType

AREA = "persons = 300000\n[[treated]]\nname='A'\nkom=851\nresidents=500\n"


def test_default_matches_the_brief() -> None:
    cfg = SynthConfig.default(persons=400_000, seed=3)
    areas = build_areas(cfg)
    kinds = [a.area_type for a in areas]
    assert kinds.count(AreaType.TREATED) == 2 and len(areas) == 32
    assert 3 <= kinds.count(AreaType.PLACEBO) <= 8
    k, s = cfg.treated
    assert (k.name, k.kom, k.residents, k.start) == ("Kildeparken", 851, 2000, 2014)
    assert (s.name, s.kom, s.residents, s.start) == ("Sundparken", 851, 750, 2012)
    assert s.effect("all", 2017) == 11.0 and k.effect("all", 2017) == 3.0
    assert abs(s.effect("newcomers", 2017) - 0.19 * 40) < 0.5
    sizes = cfg.comparison_sizes()
    assert min(sizes) >= 1000 and max(sizes) <= 5000


def test_toml_round_trip(tmp_path: Path) -> None:
    cfg = SynthConfig.default(persons=250_000, seed=42, years=(2009, 2018))
    path = tmp_path / "c.toml"
    path.write_text(cfg.to_toml(), encoding="utf-8")
    again = SynthConfig.from_toml(path)
    assert again == cfg and again.fingerprint() == cfg.fingerprint()
    assert replace(cfg, seed=43).fingerprint() != cfg.fingerprint()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("persons = 300000\nseeds = 1", "seeds"),
        ("persons = 300000\nseed = 'one'", "seed"),
        ("persons = 300000\nyears = [2019, 2008]", "years"),
        ("persons = 300000\nnational_employment = 74", "national_employment"),
        ("persons = 1000", "persons"),
        ("seed = 1", "persons"),
        ("persons = 300000\n[layout]\ncolumn_case = {bef = 'shouting'}", "layout.column_case.bef"),
        ("persons = 300000\n[layout]\ncolumn_case = {xyz = 'lower'}", "column_case.xyz"),
        ("persons = 300000\n[layout]\nrerun = ['bef1999']", "rerun"),
        ("persons = 300000\n[layout]\nfolder = 'x'", "layout.folder"),
        ("persons = 300000\n[[treated]]\nname = 'A'", "treated[1]."),
        (
            AREA + "start=2010\nrenovation=[2012,2013]\n"
            "selection_shift=0.1\nextra_move_out=0.1\neffect_all={}\neffect_newcomers={}",
            "start",
        ),
        (
            AREA + "start=2013\nrenovation=[2012,2013]\n"
            "selection_shift=0.1\nextra_move_out=1.5\neffect_all={}\neffect_newcomers={}",
            "extra_move_out",
        ),
        (
            AREA + "start=2013\nrenovation=[2013,2013]\n"
            'selection_shift=0.1\nextra_move_out=0.1\neffect_all={"2012" = 3.0}\neffect_newcomers={}',
            "effect_all",
        ),
    ],
)
def test_bad_config_names_the_key(text: str, key: str) -> None:
    with pytest.raises(SpecError) as info:
        SynthConfig.from_toml_text(text)
    assert key in str(info.value)
    assert "Fix:" in str(info.value)


def test_unknown_municipality_names_kom() -> None:
    cfg = SynthConfig.default(persons=250_000)
    bad = replace(cfg, treated=(replace(cfg.treated[0], kom=999),))
    with pytest.raises(SpecError, match="'kom'"):
        build_areas(bad)


def test_unreadable_or_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(DataReadError):
        SynthConfig.from_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("persons = = 3", encoding="utf-8")
    with pytest.raises(KitError, match="not valid TOML"):
        SynthConfig.from_toml(broken)


def test_parse_years() -> None:
    assert parse_years("2008-2019") == (2008, 2019)
    with pytest.raises(SpecError, match="--years"):
        parse_years("2008..2019")
