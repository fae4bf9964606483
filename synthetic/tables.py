"""Building the register tables of one year from the simulation state (Arrow tables).

Column names and codings follow registers.md; see docs/synthetic.md for types.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from synthetic.codes import BESKST13_CODE, HFAUDD_BASE, RAS_CODE, SOCIO13_CODE, Status
from synthetic.education import completion_year
from synthetic.geography import region_lookup
from synthetic.income import INCOME_COLUMNS
from synthetic.state import CIVST_LETTERS, State
from synthetic.writers import date32, id_strings

__all__ = ["IdCodec", "akm_table", "bef_table", "ind_table", "ras_table", "udda_table", "vnds_table"]

_MOD = 10**10


class IdCodec:
    """Pseudonymised ids: an affine bijection of the index modulo 10^10, keyed by the seed.

    Examples
    --------
    >>> c = IdCodec(1)
    >>> bool(c.pnr(np.array([0]))[0] != c.pnr(np.array([1]))[0])
    True
    """

    def __init__(self, seed: int) -> None:
        self._pnr_b = (seed * 2_654_435_761 + 1_000_003) % _MOD
        self._fam_b = (seed * 40_503 + 7_777_777) % _MOD

    def pnr(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Integer PNR of person indices (rendered as 10-digit strings)."""
        return (np.asarray(idx, dtype=np.int64) * 3_141_592_653 + self._pnr_b) % _MOD

    def family(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Integer FAMILIE_ID of family indices."""
        return (np.asarray(idx, dtype=np.int64) * 2_718_281_829 + self._fam_b) % _MOD


def _i32(values: npt.ArrayLike) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int32), type=pa.int32())


def bef_table(state: State, idx: npt.NDArray[np.int64], year: int, codec: IdCodec) -> pa.Table:
    """BEF at the end of ``year`` for the persons ``idx`` (already sorted by PNR)."""
    p, f = state.p, state.f
    fam = p["fam"][idx]
    kom = f["kom"][fam].astype(np.int64)
    mother = p["mother"][idx].astype(np.int64)
    father = p["father"][idx].astype(np.int64)
    # a child born after the family moved in has lived at the address since birth
    before_birth = (f["vfra_year"][fam] < p["byear"][idx]) | (
        (f["vfra_year"][fam] == p["byear"][idx]) & (f["vfra_day"][fam] < p["bday"][idx])
    )
    return pa.table({
        "PNR": id_strings(codec.pnr(idx)),
        "KOEN": _i32(p["sex"][idx]),
        "FOED_DAG": date32(p["byear"][idx], p["bday"][idx]),
        "ALDER": _i32(year - p["byear"][idx].astype(np.int64)),
        "IE_TYPE": _i32(p["ie"][idx]),
        "OPR_LAND": _i32(p["land"][idx]),
        "KOM": _i32(kom),
        "REG": _i32(region_lookup()[kom]),
        "BOPIKOM": _i32(f["addr"][fam]),
        "BOP_VFRA": date32(np.where(before_birth, p["byear"][idx], f["vfra_year"][fam]),
                           np.where(before_birth, p["bday"][idx], f["vfra_day"][fam])),
        "FAMILIE_ID": id_strings(codec.family(fam)),
        "MOR_ID": id_strings(codec.pnr(np.maximum(mother, 0)), mother >= 0),
        "FAR_ID": id_strings(codec.pnr(np.maximum(father, 0)), father >= 0),
        "CIVST": pa.array(CIVST_LETTERS[p["civst"][idx]].astype(object), type=pa.string()),
    })  # fmt: skip


def ras_table(
    state: State, idx: npt.NDArray[np.int64], year: int, codec: IdCodec, rng: np.random.Generator
) -> pa.Table:
    """RAS (November of ``year``): one primary row per person, secondary rows for ~3 % of the employed."""
    p = state.p
    status = p["status"][idx]
    code = RAS_CODE[status].astype(np.int64)
    late = (p["arr_year"][idx] == year) & (p["arr_day"][idx] >= 334)
    in_pop = np.where(late, 0, 1)
    employed = (code >= 100) & (code < 200)
    second = employed & (rng.random(idx.shape[0]) < 0.03)
    sec_code = np.where(rng.random(idx.shape[0]) < 0.5, 110, 135)
    pnr = codec.pnr(idx)
    all_pnr = np.concatenate([pnr, pnr[second]])
    order = np.lexsort((np.concatenate([np.zeros(idx.shape[0]), np.ones(int(second.sum()))]), all_pnr))
    return pa.table(
        {
            "PNR": id_strings(all_pnr[order]),
            "SOC_STATUS_KODE": _i32(np.concatenate([code, sec_code[second]])[order]),
            "PRIMAER_STATUS_KODE": _i32(np.concatenate([np.ones(idx.shape[0]), np.full(int(second.sum()), 2)])[order]),
            "I_BEFOLKNINGEN_KODE": _i32(np.concatenate([in_pop, in_pop[second]])[order]),
        }
    )


def akm_table(state: State, idx: npt.NDArray[np.int64], codec: IdCodec,
              months: npt.NDArray[np.int8] | None = None) -> pa.Table:
    """AKM: SOCIO13 from the same status (self-employed spread over 110-114).

    With ``months`` also the months in employment of the year (0-12,
    :data:`synthetic.months.MONTHS_COLUMN`), consistent with the November status.
    """
    from synthetic.months import MONTHS_COLUMN

    p = state.p
    status = p["status"][idx]
    socio = SOCIO13_CODE[status].astype(np.int64)
    socio = np.where(status == Status.SELF_EMPLOYED, 110 + p["se_code"][idx], socio)
    cols = {"PNR": id_strings(codec.pnr(idx)), "SOCIO13": _i32(socio)}
    if months is not None:
        cols[MONTHS_COLUMN] = _i32(months)
    return pa.table(cols)


def ind_table(
    state: State, idx: npt.NDArray[np.int64], codec: IdCodec, income: dict[str, npt.NDArray[np.float64]]
) -> pa.Table:
    """IND: income components (whole kroner as float64) and BESKST13."""
    cols: dict[str, pa.Array] = {"PNR": id_strings(codec.pnr(idx))}
    for name in INCOME_COLUMNS:
        cols[name] = pa.array(income[name], type=pa.float64())
    cols["BESKST13"] = _i32(BESKST13_CODE[state.p["status"][idx]])
    return pa.table(cols)


def udda_table(state: State, idx: npt.NDArray[np.int64], codec: IdCodec) -> pa.Table:
    """UDDA rows for the persons ``idx`` (those whose highest education changed, or everyone once)."""
    p = state.p
    level = p["edu"][idx]
    code = HFAUDD_BASE[level].astype(np.int64) + p["edu_sub"][idx]
    done = completion_year(p["byear"][idx], level)
    source = np.where(p["ie"][idx] == 2, 3, 1)
    return pa.table(
        {
            "PNR": id_strings(codec.pnr(idx)),
            "HFAUDD": _i32(code),
            "HF_VFRA": date32(done, np.full(idx.shape[0], 180)),
            "HF_KILDE": _i32(source),
        }
    )


def vnds_table(
    persons: npt.NDArray[np.int64],
    inbound: npt.NDArray[np.bool_],
    day: npt.NDArray[np.int16],
    year: int,
    codec: IdCodec,
) -> pa.Table:
    """VNDS: one row per migration event of the year."""
    pnr = codec.pnr(persons)
    order = np.lexsort((day, pnr))
    return pa.table(
        {
            "PNR": id_strings(pnr[order]),
            "INDUD_KODE": pa.array(np.where(inbound[order], "I", "U").astype(object), type=pa.string()),
            "HAEND_DATO": date32(np.full(persons.shape[0], year), day[order]),
        }
    )
