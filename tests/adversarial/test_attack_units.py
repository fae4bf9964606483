"""Red team: who is a unit? The thresholds must count distinct persons on every engine and input.

The pandas path refuses rows without a unit id; the lazy (DuckDB over Parquet) path must refuse
them too, whatever the column's type. And one person must count once however her id is written,
as the differencing registry already assumes (``kit.core.populations.unit_keys``). The attacker's own
computation: the persons behind a published cell, counted from the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitError

CREATED = "2026-01-01T00:00:00+00:00"


def session() -> kit.Session:
    return kit.Session("dst", unit="PNR", created=CREATED)


def test_lazy_float_unit_ids_with_nan_are_refused_like_the_dataframe_path(tmp_path: Path) -> None:
    """A DOUBLE person-number column with NaN (not NULL) in Parquet: DuckDB's ``IS NULL`` misses NaN,
    so two persons plus two id-less rows made a published 3-unit cell (the DataFrame path refuses)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from kit.registers import scan

    pnr = np.array([1.0, 2.0, np.nan, np.nan, 4.0, 5.0, 6.0, 7.0])
    kom = ["A"] * 4 + ["B"] * 4
    income = np.array([100_000.0, 200_000.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"PNR": pa.array(pnr, from_pandas=False), "KOM": kom, "INCOME": income}), path)
    frame = pd.DataFrame({"PNR": pnr, "KOM": kom, "INCOME": income})
    s = session()
    with pytest.raises(KitError):
        s.table(frame, rows="KOM", stat="sum", measure="INCOME")
    for source in (scan(path), str(path)):
        try:
            t = s.table(source, rows="KOM", stat="sum", measure="INCOME")
        except KitError as err:
            assert "no unit id" in str(err) and "100000" not in str(err)
            continue
        out = kit.clear(t).to_frame(symbols=False)
        a = out[out["KOM"] == "A"]["value"]
        # the attacker: cell A rests on persons 1 and 2 only
        assert a.isna().all(), "a two-person cell is published"


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_one_person_with_two_spellings_of_her_id_counts_once(engine: str) -> None:
    """Person-year rows from two registers concatenated: one stores PNR as an integer (the leading
    zero lost), the other as 10-character text. Cell A holds two persons."""
    bef = pd.DataFrame({"PNR": [101801234, 202801234], "KOM": ["A", "A"], "income": [300_000.0, 400_000.0]})
    ind = pd.DataFrame({"PNR": ["0101801234"], "KOM": ["A"], "income": [0.0]})
    rest = pd.DataFrame({"PNR": list(range(10, 20)), "KOM": "B", "income": 1000.0})
    df = pd.concat([bef, ind, rest], ignore_index=True)
    try:
        t = session().table(df, rows="KOM", stat="sum", measure="income", engine=engine)
    except KitError as err:  # refused: a unit column mixing numbers and text
        assert "101801234" not in str(err)
        return
    out = kit.clear(t).to_frame(symbols=False)
    persons_in_a = {int(str(p)) for p in df.loc[df["KOM"] == "A", "PNR"]}  # the attacker's count
    assert len(persons_in_a) == 2
    assert out.loc[out["KOM"] == "A", "value"].isna().all(), "a two-person cell is published"


def test_an_enterprise_id_as_the_unit_does_not_default_to_persons() -> None:
    """A hurried researcher tabulates turnover with the CVR number as the unit and forgets unit_type."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"CVRNR": np.arange(12345670, 12345710), "KOM": np.repeat(["A", "B"], 20),
                       "turnover": rng.integers(1, 5, 40) * 1e5})
    df.loc[0, "turnover"] = 5e9
    try:
        s = kit.Session("dst", unit="CVRNR", created=CREATED)
        out = kit.clear(s.table(df, rows="KOM", stat="sum", measure="turnover")).to_frame(symbols=False)
    except KitError:
        return  # refused: the unit type must be given for an enterprise id
    a = out.loc[out["KOM"] == "A", "value"]
    # the attacker: the cell total minus 19 small firms (at most 4e5 each) bounds the giant within 0.2 %
    if not a.isna().all():
        giant_low = float(a.iloc[0]) - 19 * 4e5
        assert not (abs(giant_low - 5e9) / 5e9 < 0.002), "one enterprise's turnover is published"


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("second", ["101801234", " 0101801234", "0101801234 "])
def test_two_text_spellings_of_one_id_do_not_make_a_third_unit(engine: str, second: str) -> None:
    """Two registers both store PNR as text, one with the leading zero lost (or a stray blank). Cell
    A holds two persons, one of them written two ways: counted as three units it would pass."""
    df = pd.DataFrame({"PNR": ["0101801234", "0202801234", second] + [f"09{i:08d}" for i in range(10)],
                       "KOM": ["A", "A", "A"] + ["B"] * 10, "income": [300_000.0, 400_000.0, 0.0] + [1000.0] * 10})
    persons_in_a = len({p.strip().lstrip("0") for p in df.loc[df["KOM"] == "A", "PNR"]})  # the attacker
    assert persons_in_a == 2
    try:
        t = session().table(df, rows="KOM", stat="sum", measure="income", engine=engine)
    except KitError as err:
        assert "leading zeros" in str(err) and "0101801234" not in str(err)
        return
    out = kit.clear(t).to_frame(symbols=False)
    assert out.loc[out["KOM"] == "A", "value"].isna().all(), "a two-person cell is published"


@pytest.mark.parametrize("second", ["101801234", " 0101801234"])
def test_two_text_spellings_of_one_id_in_a_parquet_file(tmp_path: Path, second: str) -> None:
    """The same, read lazily from a Parquet file (the DuckDB path counts distinct ids itself)."""
    df = pd.DataFrame({"PNR": ["0101801234", "0202801234", second] + [f"09{i:08d}" for i in range(10)],
                       "KOM": ["A", "A", "A"] + ["B"] * 10, "INCOME": [300_000.0, 400_000.0, 0.0] + [1000.0] * 10})
    pytest.importorskip("duckdb")
    from kit.registers import scan

    path = tmp_path / "x.parquet"
    df.to_parquet(path)
    for source in (scan(path), str(path)):
        try:
            t = session().table(source, rows="KOM", stat="sum", measure="INCOME")
        except KitError as err:
            assert "leading zeros" in str(err) and "0101801234" not in str(err)
            continue
        out = kit.clear(t).to_frame(symbols=False)
        assert out.loc[out["KOM"] == "A", "value"].isna().all(), "a two-person cell is published"


def _panel_with_twin(twin: str | None) -> pd.DataFrame:
    """200 persons in two municipalities over two years; person 0 appears again as ``twin``."""
    rng = np.random.default_rng(3)
    ids = [f"0{i:09d}" for i in range(200)]
    df = pd.DataFrame({"PNR": ids * 2, "KOM": (["A"] * 100 + ["B"] * 100) * 2, "YEAR": [2018] * 200 + [2019] * 200,
                       "TREATED": ([1] * 100 + [0] * 100) * 2, "X": rng.normal(size=400), "Y": rng.normal(size=400)})
    if twin is not None:
        df.loc[200, "PNR"] = twin  # the 2019 row of person 0 written another way (or missing)
    return df


@pytest.mark.parametrize("twin", ["000000000", " 0000000000", None])
@pytest.mark.parametrize("estimator", ["model", "safe_quantiles"])
def test_estimators_refuse_two_spellings_of_one_id_and_missing_ids(twin: str | None, estimator: str) -> None:
    """A model or quantiles counts units by their ids: one person written two ways (or a row with no
    id) would count as an extra unit behind a group, and a missing id as none at all."""
    df = _panel_with_twin(twin)
    if twin is None:
        df["PNR"] = df["PNR"].astype(object)
        df.loc[200, "PNR"] = None
    s = session()
    with pytest.raises(KitError) as caught:
        if estimator == "model":
            s.model(df, "Y ~ X + C(KOM)")
        else:
            s.safe_quantiles(df, measure="Y", by="KOM")
    message = str(caught.value)
    assert ("leading zeros" in message or "no unit id" in message) and "0000000000" not in message
