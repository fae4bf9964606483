"""Issue 17: differencing across outputs. Each test is the attacker's own arithmetic on what landed.

Every test releases what an analyst would, keeps the outputs the kit let through, and then does
the subtraction itself: it asserts that no subtraction isolates 1 to threshold-1 persons (or one
person's value). On the kit before issue 17 (registry optional, keyed on labels) each of them
recovered the planted person.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import DisclosureError
from kit.release import write_release
from kit.release.registry import DifferencingError

T = 3  # dst threshold
CREATED = "2026-01-01T00:00:00+00:00"
KOMS = [f"K{i}" for i in range(10)]
REGION = {k: ("R1" if k in ("K0", "K1") else "R2" if i < 6 else "R3") for i, k in enumerate(KOMS)}


def planted_frame(seed: int = 7, n_per_kom: int = 30, old_in: str = "K3") -> pd.DataFrame:
    """Persons in ten municipalities, all aged 16-64 except exactly one person (in ``old_in``)."""
    rng = np.random.default_rng(seed)
    rows = []
    pnr = 1_000
    for kom in KOMS:
        for _ in range(n_per_kom):
            pnr += 1
            rows.append({"PNR": pnr, "KOM": kom, "age": int(rng.integers(16, 65)),
                         "sex": "m" if rng.random() < 0.5 else "f",
                         "income": float(rng.integers(200, 600) * 1000)})
    frame = pd.DataFrame(rows)
    frame.loc[frame.index[frame["KOM"] == old_in][0], "age"] = 70
    frame["region"] = frame["KOM"].map(REGION)
    frame["all"] = "all"
    return frame


def session() -> kit.Session:
    return kit.Session(rules="dst", unit="PNR", created=CREATED)


def try_release(s: kit.Session, folder: Path, outputs: Sequence[Any], **options: Any) -> list[Any]:
    """Release; returns the cleared outputs that landed ([] when the kit refused)."""
    try:
        s.release(folder, list(outputs), title="attack", formats=("html",), **options)
    except DisclosureError:
        assert not folder.exists(), "a refused release must leave no folder"
        return []
    return [kit.clear(o) if hasattr(type(o), "_build_cleared") else o for o in outputs]


def values(cleared: Any, dim: str, col: str = "value") -> dict[str, float]:
    """Published values by code of one dimension (suppressed cells are left out)."""
    frame = cleared.to_frame(symbols=False)
    return {str(k): float(v) for k, v in zip(frame[dim], frame[col]) if not np.isnan(v)}


def _small(diff: float) -> bool:
    return 0 < round(diff) < T


def test_all_ages_vs_16_64_in_one_release_by_default(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"].between(16, 64)], rows="KOM", name="ages_16_64")
    landed = try_release(s, tmp_path / "r1", [everyone, working])  # no registry argument: the default
    if len(landed) == 2:
        a, b = values(landed[0], "KOM"), values(landed[1], "KOM")
        assert not any(_small(a[k] - b[k]) for k in a if k in b), "the old person is isolated"
    assert landed == []


def test_same_attack_across_two_releases(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"].between(16, 64)], rows="KOM", name="ages_16_64")
    first = try_release(s, tmp_path / "r1", [everyone])
    second = try_release(s, tmp_path / "r2", [working])
    assert first, "the first table alone is safe"
    if second:
        a, b = values(first[0], "KOM"), values(second[0], "KOM")
        assert not any(_small(a[k] - b[k]) for k in a if k in b)
    assert second == []


def test_outputs_passed_already_cleared_are_not_skipped(tmp_path):
    s, df = session(), planted_frame()
    everyone = kit.clear(s.table(df, rows="KOM", name="all_ages"))
    working = kit.clear(s.table(df[df["age"].between(16, 64)], rows="KOM", name="ages_16_64"))
    # the writer finds the private tables sealed into the cleared outputs: the pair is checked
    with pytest.raises(DifferencingError):
        write_release(tmp_path / "r1", [everyone, working], s.rules, title="t", formats=("html",))
    assert not (tmp_path / "r1").exists()


def test_renamed_dimension_and_recoded_codes(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    renamed = df[df["age"].between(16, 64)].rename(columns={"KOM": "kommune"})
    renamed["kommune"] = renamed["kommune"].str.lower()
    working = s.table(renamed, rows="kommune", name="ages_16_64")
    first = try_release(s, tmp_path / "r1", [everyone])
    second = try_release(s, tmp_path / "r2", [working])
    assert first
    if second:
        a, b = values(first[0], "KOM"), values(second[0], "kommune")
        assert not any(_small(a[k] - b[k.lower()]) for k in a if k.lower() in b)
    assert second == []


def test_finer_table_without_margins(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    by_sex = s.table(df[df["age"].between(16, 64)], rows="KOM", cols="sex", name="by_sex_16_64")
    first = try_release(s, tmp_path / "r1", [everyone])
    second = try_release(s, tmp_path / "r2", [by_sex])
    assert first
    if second:
        a = values(first[0], "KOM")
        fr = second[0].to_frame(symbols=False)
        sums = fr.groupby("KOM")["value"].sum(min_count=2)
        assert not any(_small(a[k] - sums[k]) for k in a if k in sums and not np.isnan(sums[k]))
    assert second == []


def test_other_geography_region_against_municipalities(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    regions = s.table(df[df["age"].between(16, 64)], rows="region", name="regions_16_64")
    first = try_release(s, tmp_path / "r1", [everyone])
    second = try_release(s, tmp_path / "r2", [regions])
    assert first
    if second:
        a, r = values(first[0], "KOM"), values(second[0], "region")
        for reg, value in r.items():
            parts = [a[k] for k in KOMS if REGION[k] == reg and k in a]
            if len(parts) == sum(REGION[k] == reg for k in KOMS):
                assert not _small(sum(parts) - value)
    assert second == []


def _primary_frame():
    """K0 has 2 persons (primary under dst); every other municipality has 30."""
    df = planted_frame()
    k0 = df.index[df["KOM"] == "K0"]
    return df.drop(k0[2:])


@pytest.mark.parametrize("order", ["margins_first", "plain_first"])
def test_suppressed_cell_recovered_from_the_same_table_without_margins(tmp_path, order):
    s, df = session(), _primary_frame()
    with_margins = s.table(df, rows="KOM", cols="sex", margins=True, name="with_margins")
    plain = s.table(df, rows="KOM", name="plain")
    outputs = [with_margins, plain] if order == "margins_first" else [plain, with_margins]
    landed = [o for i, o in enumerate(outputs) for o in try_release(s, tmp_path / f"r{i}", [o])]
    if len(landed) == 2:
        wm = next(o for o in landed if o.name == "with_margins").to_frame(symbols=False)
        pl = values(next(o for o in landed if o.name == "plain"), "KOM")
        totals = wm[wm["sex"] == "Total"].set_index("KOM")["value"]
        known = {k: v for k, v in totals.items() if k != "Total" and not np.isnan(v)}
        known.update({k: v for k, v in pl.items() if k not in known})
        unknown = [k for k in KOMS if k not in known]
        if len(unknown) == 1:  # the attacker's subtraction: Total minus every other municipality
            recovered = totals["Total"] - sum(known[k] for k in KOMS if k in known)
            assert not (0 < recovered < T), "the suppressed municipality is recovered"
    assert len(landed) == 1


def test_linked_tables_in_one_release(tmp_path):
    s, df = session(), _primary_frame()
    with_margins = s.table(df, rows="KOM", cols="sex", margins=True, name="with_margins")
    plain = s.table(df, rows="KOM", name="plain")
    assert try_release(s, tmp_path / "r", [with_margins, plain]) == []


def test_mean_income_all_and_all_but_one_with_two_counts(tmp_path):
    s, df = session(), planted_frame()
    target = df.index[5]
    rest = df.drop(target)
    outputs = [
        s.table(df, rows="all", stat="mean", measure="income", name="mean_all"),
        s.table(rest, rows="all", stat="mean", measure="income", name="mean_rest"),
        s.table(df, rows="all", name="count_all"),
        s.table(rest, rows="all", name="count_rest"),
    ]
    landed = [o for i, o in enumerate(outputs) for o in try_release(s, tmp_path / f"r{i}", [o])]
    got = {o.name: o for o in landed}
    if {"mean_all", "mean_rest", "count_all", "count_rest"} <= set(got):
        n_all = values(got["count_all"], "all")["all"]
        n_rest = values(got["count_rest"], "all")["all"]
        m_all = values(got["mean_all"], "all", "estimate")["all"]
        m_rest = values(got["mean_rest"], "all", "estimate")["all"]
        recovered = n_all * m_all - n_rest * m_rest
        assert abs(recovered - df.loc[target, "income"]) > 1.0, "one person's income is recovered"
    assert len(landed) < 4


def test_model_estimation_samples_differing_by_one(tmp_path):
    pytest.importorskip("statsmodels")
    s, df = session(), planted_frame()
    rest = df.drop(df.index[5])
    full = s.model(df, "income ~ 1", name="m_all")
    fewer = s.model(rest, "income ~ 1", name="m_rest")
    first = try_release(s, tmp_path / "r1", [full])
    second = try_release(s, tmp_path / "r2", [fewer])
    assert first and second == []


def test_rates_for_populations_differing_by_one(tmp_path):
    s, df = session(), planted_frame()
    df["employed"] = (df["income"] > 400_000).astype(int)
    rest = df.drop(df.index[5])
    first = try_release(s, tmp_path / "r1", [s.rates(df, by="KOM", outcome="employed", name="rate_all")])
    second = try_release(s, tmp_path / "r2", [s.rates(rest, by="KOM", outcome="employed", name="rate_rest")])
    assert first and second == []


def test_separate_registries_are_visible_in_the_manifests(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"].between(16, 64)], rows="KOM", name="ages_16_64")
    s.release(tmp_path / "r1", [everyone], title="t", formats=("html",))
    s.release(tmp_path / "r2", [working], title="t", formats=("html",), state_dir=tmp_path / "other")
    ids = [json.loads((tmp_path / r / "manifest.txt").read_text())["differencing"]["registry_id"]
           for r in ("r1", "r2")]
    assert ids[0] != ids[1], "the checker must see that the two releases used different registries"


def test_opt_out_is_explicit_and_recorded(tmp_path):
    s, df = session(), planted_frame()
    s.release(tmp_path / "r1", [s.table(df, rows="KOM", name="a")], title="t", formats=("html",),
              differencing=False, checker_dir=tmp_path / "chk")
    doc = json.loads((tmp_path / "r1" / "manifest.txt").read_text())
    assert doc["differencing"]["checked"] is False
    assert "DIFFERENCING CHECK TURNED OFF" in (tmp_path / "chk" / "r1" / "checker_report.txt").read_text()
    assert json.loads((tmp_path / "chk" / "r1" / "checker.json").read_text())["differencing"]["checked"] is False
    s.release(tmp_path / "r2", [s.table(df, rows="KOM", name="a")], title="t", formats=("html",),
              checker_dir=tmp_path / "chk")
    assert json.loads((tmp_path / "r2" / "manifest.txt").read_text())["differencing"]["checked"] is True
    assert "TURNED OFF" not in (tmp_path / "chk" / "r2" / "checker_report.txt").read_text()


def test_kit_check_release_refuses_a_table_without_units(tmp_path):
    from kit.cli import main

    table = tmp_path / "t.csv"
    table.write_text("KOM,n\n101,10\n147,12\n", encoding="utf-8")
    assert main(["check", str(table), "--dims", "KOM", "--count", "n", "--release", str(tmp_path / "rel")]) == 3
    assert not (tmp_path / "rel").exists()


def test_a_failed_release_records_nothing(tmp_path):
    s, df = session(), planted_frame()
    everyone = s.table(df, rows="KOM", name="all_ages")
    working = s.table(df[df["age"].between(16, 64)], rows="KOM", name="ages_16_64")
    assert try_release(s, tmp_path / "r1", [everyone, working]) == []
    # nothing was recorded: each table alone can still be released
    assert try_release(s, tmp_path / "r2", [working])


def _all_employed_in_k0() -> pd.DataFrame:
    rows = []
    for k in range(4):
        for j in range(30):
            rows.append({"PNR": 100 * k + j, "KOM": f"K{k}", "emp": 1 if k == 0 else int(j % 3 == 0)})
    return pd.DataFrame(rows)


def test_suppressed_rate_recovered_from_two_counts(tmp_path):
    # K0's rate (everyone employed) is suppressed; a count of employed persons by KOM next to a
    # count of all persons by KOM gives it back: employed / all = 1 in K0
    s, df = session(), _all_employed_in_k0()
    rates = s.rates(df, by="KOM", outcome="emp", name="rates")
    everyone = s.table(df, rows="KOM", name="persons")
    employed = s.table(df[df["emp"] == 1], rows="KOM", name="employed")
    landed = [o for i, o in enumerate([rates, everyone, employed])
              for o in try_release(s, tmp_path / f"r{i}", [o])]
    got = {o.name: o for o in landed}
    assert "rates" in got
    if {"persons", "employed"} <= set(got):
        a, e = values(got["persons"], "KOM"), values(got["employed"], "KOM")
        assert not ("K0" in a and "K0" in e and a["K0"] == e["K0"]), "K0's suppressed rate is recovered"
    assert "employed" not in got


def test_an_edited_registry_stops_every_release(tmp_path):
    from kit.release.registry import RegistryDamagedError

    s, df = session(), planted_frame()
    s.release(tmp_path / "r1", [s.table(df, rows="KOM", name="a")], title="t", formats=("html",),
              state_dir=tmp_path / "state")
    (data,) = (tmp_path / "state" / "differencing" / "outputs").iterdir()
    data.write_bytes(b"")  # the attacker empties what the project released
    with pytest.raises(RegistryDamagedError) as err:
        s.release(tmp_path / "r2", [s.table(df, rows="KOM", name="b")], title="t", formats=("html",),
                  state_dir=tmp_path / "state")
    assert err.value.exit_code == 4 and not (tmp_path / "r2").exists()
