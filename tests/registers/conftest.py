"""Fixtures: a small project folder in every format, with the quirks of real deliveries.

Layout written by :func:`build_project`::

    bef2018.parquet            upper-case names
    bef2019.csv                lower-case names
    bef2020.xpt                mixed-case names (SAS transport v8, written by pyreadstat)
    December_2023/bef2018.parquet   re-run: person 05 added
    ras2018.csv                old name SOCSTIL_KODE (renamed to SOC_STATUS_KODE)
    ras2020.parquet            (ras 2019 is missing)
    ind2018.parquet ind2019.csv ind2020.xpt
    udda2015.csv udda2018.parquet udda2020.xpt   rows only on change
    area_key.csv

Values are chosen to be recognisable (PNR 00000000xx, KOM "0851" in text,
income 123456.78) so tests can assert that no error message contains them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: Values that must never appear in an error message.
SECRET_VALUES = ("0000000001", "0000000002", "0000000003", "123456.78", "6520", "1010")

PNRS = ["0000000001", "0000000002", "0000000003", "0000000004"]


def bef_frame(year: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PNR": PNRS,
            "KOEN": [1, 2, 1, 2],
            "ALDER": [30 + year - 2018, 40 + year - 2018, 17 + year - 2018, 70 + year - 2018],
            "IE_TYPE": [1, 1, 2, 3],
            "KOM": [851, 101, 851, 147],
            "BOPIKOM": ["A1", "B1", "A2", "C1"],
            "FAMILIE_ID": ["F1", "F2", "F1", "F3"],
        }
    )


def write(df: pd.DataFrame, path: Path) -> None:
    """Write a frame in the format the extension says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix == ".xpt":
        import pyreadstat

        pyreadstat.write_xport(df, str(path), file_format_version=8)
    else:  # pragma: no cover
        raise ValueError(suffix)


def build_project(root: Path) -> Path:
    write(bef_frame(2018), root / "bef2018.parquet")
    write(bef_frame(2019).rename(columns=str.lower), root / "bef2019.csv")
    write(
        bef_frame(2020).rename(columns={"PNR": "pnr", "KOM": "Kom", "ALDER": "Alder", "KOEN": "koen"}),
        root / "bef2020.xpt",
    )
    rerun = pd.concat(
        [bef_frame(2018), bef_frame(2018).iloc[[0]].assign(PNR="0000000005", KOM=101)],
        ignore_index=True,
    )
    write(rerun, root / "December_2023" / "bef2018.parquet")

    write(
        pd.DataFrame({"pnr": PNRS[:3], "SOCSTIL_KODE": [131, 110, 511]}),
        root / "ras2018.csv",
    )
    write(
        pd.DataFrame({"PNR": PNRS, "soc_status_kode": [131.0, 200.0, 511.0, np.nan]}),
        root / "ras2020.parquet",
    )
    for year, ext in ((2018, "parquet"), (2019, "csv"), (2020, "xpt")):
        write(
            pd.DataFrame(
                {
                    "PNR": PNRS,
                    "PERINDKIALT_13": [123456.78, 250000.0, -500.5, np.nan],
                    "LOENMV_13": [100000.0, 200000.0, 0.0, 0.0],
                }
            ),
            root / f"ind{year}.{ext}",
        )
    # UDDA: rows only on change. Hand-worked expectation in test_panel.py.
    write(
        pd.DataFrame(
            {
                "PNR": ["0000000001", "0000000002", "0000000002"],
                "HFAUDD": ["1010", "2010", "1010"],
                "HF_VFRA": ["2015-06-30", "2015-08-01", "2015-06-30"],
            }
        ),
        root / "udda2015.csv",
    )
    write(
        pd.DataFrame(
            {"PNR": ["0000000001"], "HFAUDD": ["6520"], "HF_VFRA": pd.to_datetime(["2018-06-30"])}
        ),
        root / "udda2018.parquet",
    )
    write(
        pd.DataFrame(
            {
                "pnr": ["0000000002", "0000000003"],
                "hfaudd": ["3510", "1010"],
                "hf_vfra": pd.to_datetime(["2020-06-30", "2020-06-30"]),
            }
        ),
        root / "udda2020.xpt",
    )
    write(
        pd.DataFrame(
            {
                "KOM": [851, 851, 101, 101, 147],
                "BOPIKOM": ["A1", "A2", "B1", "B2", "C1"],
                "AREA_ID": ["851-01", "851-02", "101-01", "101-02", "147-01"],
                "AREA_TYPE": ["udsat", "other", "other", "other", "ghetto"],
            }
        ),
        root / "area_key.csv",
    )
    (root / "README.txt").write_text("delivery notes\n")
    return root


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return build_project(tmp_path / "raw")


def assert_no_values(message: str) -> None:
    for value in SECRET_VALUES:
        assert value not in message, f"error message shows a data value: {message}"


@pytest.fixture(name="no_values")
def _no_values():  # type: ignore[no-untyped-def]
    """The check that an error message shows no data value (tests import nothing from conftest)."""
    return assert_no_values


@pytest.fixture(name="write_file")
def _write_file():  # type: ignore[no-untyped-def]
    return write
