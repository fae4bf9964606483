"""Outcomes beside employment, and the movers-out follow-up (BL 2019, issue 25).

Definitions (``docs/aalborg.md`` walks through them; all from the registers):

* **education** (``qualified``): residents aged 25-64 whose highest completed
  education (UDDA ``HFAUDD``, the latest row on or before year t) is at least
  upper secondary or vocational: level 20 or higher in DST's level grouping of
  the education nomenclature (the first two digits of ``HFAUDD``: 10 primary
  school, 20/25 upper secondary, 30/35 vocational, 40 short, 50/60 medium or
  bachelor, 65/70 long tertiary, 80 PhD). Level 90 (unknown) and persons
  without a UDDA row are left out of the share;
* **in education** (``in_education``): residents aged 16-24 whose AKM
  ``SOCIO13`` is 310 (in education as the year's main attachment);
* **labour-market attachment**: AKM ``SOCIO13`` grouped as
  :class:`Attachment` (employed 110-139; unemployed 210; cash benefit or other
  public support 220, 321, 323, 330; outside: education 310, old-age pension
  322, other 410, children 420 and missing); ``support`` is the 0/1 indicator
  of the support group;
* **share of the year in employment** (``employment_share``): residents aged
  16-64, the months with employment in year t divided by 12, in percent
  (:data:`MONTHS_COLUMN` beside SOCIO13 in AKM; 0 without a row, as a person
  without a RAS row is not employed). On the server the months come from
  monthly employment (BFL or eIndkomst: months with an employment spell);
  the synthetic AKM carries them as ``BESK_MDR``, consistent with the
  November status (see docs/synthetic.md). A mean, not a 0/1 share: its
  event study gives effects in percentage points of the year;
* **newcomer share**: the share of newcomers (see
  :func:`kit.demo.analysis.prepare_panel`) among the residents of the age band;
* **movers-out** (:func:`movers_frame`): persons living in a treated or
  comparison area in the base year who, in a later year t, live in Denmark
  outside it and outside every treated area (``same_municipality`` when their
  KOM is the area's, else ``elsewhere``), or live there again after having
  lived outside it in a year between (``back``); aged in the analysis band in
  t. Those living in a treated area other than their own are exposed to its
  plan and left out (for a comparison area's movers: they are not controls).

Examples
--------
>>> attachment_group(np.array([131.0, 210.0, 330.0, 310.0, np.nan])).tolist()
['employed', 'unemployed', 'support', 'outside', 'outside']
>>> education_level(np.array([1010.0, 3520.0, 9000.0, np.nan])).tolist()
[10.0, 35.0, 90.0, nan]
>>> year_share(np.array([12.0, 6.0, 0.0, np.nan, 15.0])).tolist()
[100.0, 50.0, 0.0, 0.0, nan]
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "ATTACHMENT_LABELS",
    "COMPARISON_LABEL",
    "DESTINATION_LABELS",
    "MONTHS_COLUMN",
    "OUTCOMES",
    "Attachment",
    "Destination",
    "OutcomeDef",
    "attachment_group",
    "education_level",
    "mover_attachment",
    "movers_frame",
    "november_attachment",
    "outcome",
    "year_share",
]

#: Months with employment in the year (0-12), read beside SOCIO13 from AKM (synthetic: ``BESK_MDR``).
MONTHS_COLUMN = "BESK_MDR"

#: Label of the pooled comparison areas in tables.
COMPARISON_LABEL = "Comparison areas"


class Attachment(enum.Enum):
    """Labour-market attachment groups from AKM SOCIO13."""

    EMPLOYED = "employed"
    UNEMPLOYED = "unemployed"
    SUPPORT = "support"
    OUTSIDE = "outside"


ATTACHMENT_LABELS = {
    Attachment.EMPLOYED.value: "Employed",
    Attachment.UNEMPLOYED.value: "Unemployed",
    Attachment.SUPPORT.value: "Cash benefit, other public support",
    Attachment.OUTSIDE.value: "Outside (education, other)",
}

#: SOCIO13 codes of the support group: sickness benefit and leave, disability pension, early retirement,
#: cash benefit.
SUPPORT_CODES = (220, 321, 323, 330)


class Destination(enum.Enum):
    """Where a base-year resident lives in a later year (movers-out: the first three)."""

    SAME_MUNICIPALITY = "same_municipality"
    ELSEWHERE = "elsewhere"
    BACK = "back"
    STAYED = "stayed"


DESTINATION_LABELS = {
    Destination.SAME_MUNICIPALITY.value: "Same municipality",
    Destination.ELSEWHERE.value: "Elsewhere in Denmark",
    Destination.BACK.value: "Back again",
}


@dataclass(frozen=True)
class OutcomeDef:
    """One outcome of the event studies: column, age band, labels (public description)."""

    name: str
    column: str
    age: tuple[int, int]
    title: str
    label: str
    binary: bool = True
    register_column: str = ""


#: The outcomes beside employment, by configuration name.
OUTCOMES = {
    "education": OutcomeDef("education", "qualified", (25, 64),
                            "at least upper-secondary or vocational education, 25-64",
                            "Education 25-64"),
    "in_education": OutcomeDef("in_education", "in_education", (16, 24), "in education, 16-24",
                               "In education 16-24"),
    "support": OutcomeDef("support", "support", (16, 64),
                          "on cash benefit or other public support, 16-64", "Public support 16-64"),
    "employment_share": OutcomeDef("employment_share", "employment_share", (16, 64),
                                   "of the year in employment, 16-64", "Share of the year employed 16-64",
                                   binary=False, register_column=MONTHS_COLUMN),
}


def outcome(name: str) -> OutcomeDef:
    """The outcome definition called ``name`` (a clear error for an unknown name)."""
    from kit.errors import SpecError

    if name not in OUTCOMES:
        raise SpecError("analysis config", f"unknown outcome '{name}'", f"choose from {sorted(OUTCOMES)}")
    return OUTCOMES[name]


def _numeric(series: pd.Series) -> npt.NDArray[np.float64]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    return np.asarray(pd.to_numeric(series, errors="coerce"), dtype=float)


def attachment_group(socio13: npt.NDArray[np.float64]) -> npt.NDArray[np.object_]:
    """:class:`Attachment` value per SOCIO13 code (missing: outside)."""
    code = np.asarray(socio13, dtype=float)
    out = np.full(code.shape[0], Attachment.OUTSIDE.value, dtype=object)
    out[(code >= 100) & (code < 200)] = Attachment.EMPLOYED.value
    out[code == 210] = Attachment.UNEMPLOYED.value
    out[np.isin(code, SUPPORT_CODES)] = Attachment.SUPPORT.value
    return out


def mover_attachment(employed: npt.NDArray[np.bool_], socio13: npt.NDArray[np.float64] | None
                     ) -> npt.NDArray[np.object_]:
    """:class:`Attachment` of a mover: employed by the November status (RAS 1xx, as the employment
    outcome everywhere), otherwise the SOCIO13 group (without SOCIO13: outside).

    The four groups partition the movers of a cell, so their shares sum to one.

    >>> mover_attachment(np.array([True, False, False]), np.array([330.0, 210.0, 330.0])).tolist()
    ['employed', 'unemployed', 'support']
    """
    groups = (np.full(len(employed), Attachment.OUTSIDE.value, dtype=object) if socio13 is None
              else attachment_group(socio13))
    return november_attachment(groups, employed)


def november_attachment(groups: npt.NDArray[np.object_], employed: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    """SOCIO13 attachment groups with "employed" taken from the November status (RAS 1xx).

    The employment outcome of every output is the November status; an attachment table whose
    "employed" share came from SOCIO13 would count one or two persons differently in the same
    cell, and the two employment shares together would single them out (the registry refuses
    that pair). SOCIO13-employed persons not employed in November count as outside.

    >>> november_attachment(np.array(["employed", "employed", "support"], dtype=object),
    ...                     np.array([True, False, True])).tolist()
    ['employed', 'outside', 'employed']
    """
    out: npt.NDArray[np.object_] = np.array(groups, dtype=object)
    out[out == Attachment.EMPLOYED.value] = Attachment.OUTSIDE.value  # SOCIO13-employed, not in November
    out[np.asarray(employed, dtype=bool)] = Attachment.EMPLOYED.value
    return out


def education_level(hfaudd: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Level group of an HFAUDD code: its first two digits (NaN stays NaN)."""
    code = np.asarray(hfaudd, dtype=float)
    return np.floor(code / 100)


def year_share(months: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Percent of the year in employment from months employed (missing: 0; outside 0-12: missing)."""
    m = np.asarray(months, dtype=float)
    m = np.where(np.isnan(m), 0.0, m)
    return np.where((m >= 0) & (m <= 12), 100.0 * m / 12.0, np.nan)


def add_outcomes(frame: pd.DataFrame, socio13: pd.Series | None, hfaudd: pd.Series | None,
                 months: pd.Series | None = None) -> pd.DataFrame:
    """Add ``attachment``, ``support``, ``in_education``, ``qualified`` and ``employment_share`` (in place).

    ``in_education`` is missing outside ages 16-24 and ``qualified`` outside 25-64 or
    without a known level, so each outcome's rows are its own population;
    ``employment_share`` (percent of the year, from ``months``) is missing only for a
    value outside 0-12.
    """
    age = frame["age"].to_numpy()
    if months is not None:
        frame["employment_share"] = year_share(_numeric(months))
    if socio13 is not None:
        code = _numeric(socio13)
        frame["attachment"] = attachment_group(code)
        frame["support"] = np.isin(code, SUPPORT_CODES).astype(np.int8)
        young = (age >= 16) & (age <= 24)
        frame["in_education"] = np.where(young, (code == 310).astype(float), np.nan)
    if hfaudd is not None:
        level = education_level(_numeric(hfaudd))
        known = ~np.isnan(level) & (level < 90)
        adult = (age >= 25) & (age <= 64)
        frame["qualified"] = np.where(adult & known, (level >= 20).astype(float), np.nan)
    return frame


def movers_frame(panel: pd.DataFrame, base_year: int, treated: Sequence[str], comparison: Sequence[str],
                 age: tuple[int, int]) -> pd.DataFrame:
    """Base-year residents of the treated and comparison areas in later years, by destination.

    Parameters
    ----------
    panel
        The whole persons x years panel (every resident of Denmark, not only the areas):
        ``YEAR``, ``PNR``, ``ALDER``, ``KOM``, ``AREA_NAME``, ``SOC_STATUS_KODE`` and
        optionally ``SOCIO13``.
    base_year
        The base year.
    treated, comparison
        Treated and comparison areas; comparison areas are pooled as :data:`COMPARISON_LABEL`.
    age
        Age band in the later year.

    Returns
    -------
    pandas.DataFrame
        One row per person and later year in which the person is a mover-out or back:
        ``PNR``, ``year``, ``area`` (origin: a treated area or the comparison label),
        ``destination`` (:class:`Destination` value), ``employed``, ``attachment``
        (:func:`mover_attachment`) and, with SOCIO13, ``support``.
    """
    areas = [*treated, *comparison]
    name = panel["AREA_NAME"].astype(object)
    year = panel["YEAR"].to_numpy().astype(np.int64)
    base = panel.loc[(year == base_year) & name.isin(areas).to_numpy(), ["PNR", "AREA_NAME", "KOM"]]
    origin = pd.DataFrame({"PNR": base["PNR"].astype(str).to_numpy(),
                           "origin": base["AREA_NAME"].astype(str).to_numpy(),
                           "origin_kom": _numeric(base["KOM"])})
    cols = ["PNR", "YEAR", "ALDER", "KOM", "AREA_NAME", "SOC_STATUS_KODE"]
    cols += ["SOCIO13"] if "SOCIO13" in panel.columns else []
    later = panel.loc[year > base_year, cols]
    later = later.assign(PNR=later["PNR"].astype(str)).merge(origin, on="PNR", how="inner")
    later = later.sort_values(["PNR", "YEAR"], kind="stable")
    now = later["AREA_NAME"].astype(object)
    here = (now == later["origin"]).to_numpy()
    # a mover into a treated area is exposed to its plan: neither a control nor a mover-out
    exposed = (now.isin(list(treated)).to_numpy() & ~here)
    away = pd.Series(~here, index=later.index)
    been_away = away.groupby(later["PNR"].to_numpy()).cummax().to_numpy()
    same_kom = _numeric(later["KOM"]) == later["origin_kom"].to_numpy()
    destination = np.where(here, np.where(been_away, Destination.BACK.value, Destination.STAYED.value),
                           np.where(same_kom, Destination.SAME_MUNICIPALITY.value, Destination.ELSEWHERE.value))
    status = _numeric(later["SOC_STATUS_KODE"])
    out = pd.DataFrame({
        "PNR": later["PNR"].to_numpy(),
        "year": later["YEAR"].to_numpy().astype(np.int64),
        "area": np.where(later["origin"].isin(list(treated)).to_numpy(), later["origin"].to_numpy(),
                         COMPARISON_LABEL),
        "destination": destination,
        "age": later["ALDER"].to_numpy(),
        "employed": ((status >= 100) & (status < 200)).astype(np.int8),
    })
    socio = _numeric(later["SOCIO13"]) if "SOCIO13" in later.columns else None
    out["attachment"] = mover_attachment(out["employed"].to_numpy() == 1, socio)
    if socio is not None:
        out["support"] = np.isin(socio, SUPPORT_CODES).astype(np.int8)
    keep = ((out["destination"] != Destination.STAYED.value) & ~exposed
            & (out["age"] >= age[0]) & (out["age"] <= age[1]))
    return out.loc[keep.to_numpy()].drop(columns="age").reset_index(drop=True)
