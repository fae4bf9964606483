"""Code sets, types, identities and cross-register consistency of the generated registers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthetic.geography import MUNICIPALITIES

YEARS = range(2008, 2020)
RAS_CODES = {110, 120, 131, 132, 133, 134, 135, 200, 311, 321, 411, 412, 413, 511, 512, 517}
SOCIO13_CODES = {
    110,
    111,
    112,
    113,
    114,
    120,
    131,
    132,
    133,
    134,
    135,
    210,
    220,
    310,
    321,
    322,
    323,
    330,
    410,
    420,
}
BEF_COLUMNS = [
    "PNR",
    "KOEN",
    "FOED_DAG",
    "ALDER",
    "IE_TYPE",
    "OPR_LAND",
    "KOM",
    "REG",
    "BOPIKOM",
    "BOP_VFRA",
    "FAMILIE_ID",
    "MOR_ID",
    "FAR_ID",
    "CIVST",
]


def test_file_layout(medium_run: Path) -> None:
    names = {p.name for p in medium_run.iterdir()}
    for reg in ("bef", "ras", "akm", "ind", "udda", "vnds"):
        assert {f"{reg}{y}.parquet" for y in YEARS} <= names
    assert {"area_key.csv", "truth.json", "synth_config.toml"} <= names
    assert not any(n.startswith(".") for n in names)


def test_bef_schema_and_codes(medium_run: Path) -> None:
    bef = pd.read_parquet(medium_run / "bef2015.parquet")
    assert list(bef.columns) == BEF_COLUMNS
    assert bef["PNR"].str.len().eq(10).all() and bef["PNR"].is_unique
    assert bef["PNR"].str.fullmatch(r"\d{10}").all()
    assert set(bef["KOEN"]) == {1, 2}
    assert set(bef["IE_TYPE"]) == {1, 2, 3}
    assert set(bef["KOM"]) <= set(MUNICIPALITIES) and bef["KOM"].nunique() == 98
    assert set(bef["REG"]) == {81, 82, 83, 84, 85}
    regions = {m.code: m.region for m in MUNICIPALITIES.values()}
    assert (bef["KOM"].map(regions) == bef["REG"]).all()
    assert set(bef["CIVST"]) <= set("UGFEPOLD")
    birth = pd.to_datetime(bef["FOED_DAG"])
    assert (bef["ALDER"] == 2015 - birth.dt.year).all()
    assert (pd.to_datetime(bef["BOP_VFRA"]) >= birth).all()
    assert (pd.to_datetime(bef["BOP_VFRA"]).dt.year <= 2015).all()
    # parents: ids of the right width where present, mothers are women
    mothers = bef["MOR_ID"].dropna()
    assert mothers.str.len().eq(10).all() and len(mothers) > 0.1 * len(bef)
    sex = bef.set_index("PNR")["KOEN"]
    known = mothers[mothers.isin(sex.index)]
    assert (sex.loc[known].to_numpy() == 2).all()
    # families share an address
    assert bef.groupby("FAMILIE_ID")[["KOM", "BOPIKOM"]].nunique().max().max() == 1


@pytest.mark.parametrize("year", [2008, 2014, 2019])
def test_one_status_drives_ras_akm_ind(medium_run: Path, year: int) -> None:
    bef = pd.read_parquet(medium_run / f"bef{year}.parquet", columns=["PNR", "ALDER"])
    ras = pd.read_parquet(medium_run / f"ras{year}.parquet")
    akm = pd.read_parquet(medium_run / f"akm{year}.parquet")
    ind = pd.read_parquet(medium_run / f"ind{year}.parquet")
    assert set(ras["SOC_STATUS_KODE"]) <= RAS_CODES
    assert set(akm["SOCIO13"]) <= SOCIO13_CODES
    assert set(ras["PRIMAER_STATUS_KODE"]) == {1, 2}
    assert set(ras["I_BEFOLKNINGEN_KODE"]) <= {0, 1}
    prim = ras[ras["PRIMAER_STATUS_KODE"] == 1]
    assert prim["PNR"].is_unique and set(prim["PNR"]) == set(bef["PNR"])
    assert set(akm["PNR"]) == set(bef["PNR"]) == set(ind["PNR"])
    d = bef.merge(prim, on="PNR").merge(akm, on="PNR").merge(ind, on="PNR")
    ras_emp = d["SOC_STATUS_KODE"] // 100 == 1
    akm_emp = d["SOCIO13"] // 100 == 1
    ind_emp = d["BESKST13"].isin([11, 12, 13])
    assert (ras_emp == akm_emp).all() and (ras_emp == ind_emp).all()
    assert (d.loc[d["ALDER"] < 15, "SOCIO13"] == 420).all()
    assert (d.loc[d["SOC_STATUS_KODE"] == 413, "ALDER"] >= 65).all()
    assert (d.loc[d["SOC_STATUS_KODE"] == 200, "SOCIO13"] == 210).all()
    wages = d.loc[d["SOC_STATUS_KODE"].between(131, 135), "LOENMV_13"]
    assert (wages > 0).all() and 250_000 < wages.median() < 550_000


def test_income_identities_exact(medium_run: Path) -> None:
    for year in (2008, 2019):
        ind = pd.read_parquet(medium_run / f"ind{year}.parquet")
        earned = ind["LOENMV_13"] + ind["HONORAR_13"] + ind["NETOVSKUD_13"]
        assert (ind["ERHVERVSINDK_13"] == earned).all()
        total = (
            ind["ERHVERVSINDK_13"]
            + ind["OFF_OVERFORSEL_13"]
            + ind["PRIVAT_PENSION_13"]
            + ind["KAPITALINDK_13"]
            + ind["RESUINK_13"]
        )
        assert (ind["PERINDKIALT_13"] == total).all()
        assert (ind["PERINDKIALT_13"] < 0).any()  # personal income can be negative
        assert ind.dtypes["PERINDKIALT_13"] == np.float64


def test_udda_rows_only_on_change(medium_run: Path) -> None:
    first = pd.read_parquet(medium_run / "udda2008.parquet")
    bef = pd.read_parquet(medium_run / "bef2008.parquet", columns=["PNR", "ALDER"])
    assert set(bef.loc[bef["ALDER"] >= 16, "PNR"]) <= set(first["PNR"])  # everyone's level in year one
    assert set((first["HFAUDD"] // 100).unique()) <= {10, 20, 35, 40, 60, 70, 80}
    latest = first.set_index("PNR")["HFAUDD"]
    for year in range(2009, 2020):
        rows = pd.read_parquet(medium_run / f"udda{year}.parquet")
        assert rows["PNR"].is_unique
        assert len(rows) < 0.1 * len(latest)
        prev = rows["PNR"].map(latest)
        assert (prev.isna() | (prev // 100 != rows["HFAUDD"] // 100)).all()  # a change or a new person
        assert (pd.to_datetime(rows["HF_VFRA"]).dt.year <= year).all()
        latest = pd.concat([latest[~latest.index.isin(rows["PNR"])], rows.set_index("PNR")["HFAUDD"]])


def test_migrations_match_population_changes(medium_run: Path) -> None:
    v = pd.read_parquet(medium_run / "vnds2015.parquet")
    assert set(v["INDUD_KODE"]) == {"I", "U"}
    assert (pd.to_datetime(v["HAEND_DATO"]).dt.year == 2015).all()
    b14 = set(pd.read_parquet(medium_run / "bef2014.parquet", columns=["PNR"])["PNR"])
    b15 = set(pd.read_parquet(medium_run / "bef2015.parquet", columns=["PNR"])["PNR"])
    assert set(v.loc[v["INDUD_KODE"] == "U", "PNR"]) <= b14 - b15
    assert set(v.loc[v["INDUD_KODE"] == "I", "PNR"]) <= b15 - b14


def test_area_key(medium_run: Path) -> None:
    key = pd.read_csv(medium_run / "area_key.csv")
    assert list(key.columns) == ["KOM", "BOPIKOM", "AREA_ID", "AREA_NAME", "AREA_TYPE"]
    assert set(key["AREA_TYPE"]) == {"treated", "comparison", "placebo"}
    assert not key.duplicated(["KOM", "BOPIKOM"]).any()
    treated = key[key["AREA_TYPE"] == "treated"]
    assert set(treated["AREA_NAME"]) == {"Kildeparken", "Sundparken"} and set(treated["KOM"]) == {851}


def test_parquet_has_no_pandas_metadata_or_timestamps(medium_run: Path) -> None:
    meta = pq.read_metadata(medium_run / "bef2011.parquet")
    keys = set((meta.metadata or {}).keys())
    assert b"pandas" not in keys
    assert meta.row_group(0).column(0).compression == "ZSTD"
