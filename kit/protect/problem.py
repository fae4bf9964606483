"""The protection problem: a table structure with values, statuses and protection levels.

Holds private data (values): its ``repr`` shows sizes only.

Examples
--------
>>> from kit.protect.structure import Dimension, TableStructure
>>> s = TableStructure.from_dimensions([Dimension("g", ("a", "b", "c"))])
>>> p = ProtectionProblem.build(s, [9, 2, 3, 4], primary=[False, True, False, False], share=0.5)
>>> p
ProtectionProblem(cells=4, atoms=3, primary=1, forced=0, never=0)
>>> p.upl.tolist()
[0.0, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kit.core.status import CellStatus
from kit.errors import SpecError
from kit.protect.structure import TableStructure

__all__ = ["ProtectionProblem", "statuses_array"]


def statuses_array(statuses: Any, n: int) -> np.ndarray:
    """An object array of :class:`CellStatus` (accepts statuses or one-letter codes)."""
    arr = np.empty(n, dtype=object)
    seq = list(statuses)
    if len(seq) != n:
        raise SpecError("cell statuses", f"{len(seq)} statuses for {n} cells", "pass one status per cell")
    for i, s in enumerate(seq):
        arr[i] = s if isinstance(s, CellStatus) else CellStatus.from_code(str(s))
    return arr


def _ro(a: Any, n: int, name: str, dtype: Any = float) -> np.ndarray:
    arr = np.array(a, dtype=dtype).reshape(-1)
    if arr.shape[0] != n:
        raise SpecError("protection problem", f"{name} has {arr.shape[0]} entries for {n} cells",
                        "pass one entry per cell in the structure's cell order")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, repr=False)
class ProtectionProblem:
    """Everything secondary suppression needs, in the structure's cell order.

    Parameters
    ----------
    structure
        The additive relations.
    values
        Cell values (counts or magnitudes).
    status
        :class:`~kit.core.status.CellStatus` per cell: ``SAFE``, ``PRIMARY``, ``FORCED``
        (never suppress), ``NEVER`` (always suppress); ``SECONDARY`` marks cells of
        an earlier pattern that stay suppressed.
    lpl, upl
        Lower and upper protection levels (≥ 0): the attacker's feasible interval
        of a primary cell must reach ``value − lpl`` and ``value + upl``. A
        primary with both 0 needs only protection against exact recovery.
    cost
        Cost of suppressing each cell (``None``: the value).
    n_units
        Contributing units per cell (optional): cells with one unit are
        *singletons* whose unit knows the cell's value (see :mod:`kit.protect.audit`).
    top1
        Largest single contribution per cell (optional, for protection levels).
    nonnegative
        Whether every atom is ≥ 0 (counts, most magnitudes).
    sign_bounded
        With ``nonnegative=False``: every atom (inner cell) keeps the sign of its value, i.e. the
        attacker is assumed to know each inner cell's sign (income and profit tables: cells that are
        net-negative are bounded above by 0, the others below by 0). Conservative for the audit
        (the attacker knows more than non-negativity alone).
    """

    structure: TableStructure
    values: np.ndarray
    status: np.ndarray
    lpl: np.ndarray
    upl: np.ndarray
    cost: np.ndarray | None = None
    n_units: np.ndarray | None = None
    top1: np.ndarray | None = None
    nonnegative: bool = True
    sign_bounded: bool = False

    def __post_init__(self) -> None:
        n = self.structure.n_cells
        object.__setattr__(self, "values", _ro(self.values, n, "values"))
        st = statuses_array(self.status, n)
        st.setflags(write=False)
        object.__setattr__(self, "status", st)
        object.__setattr__(self, "lpl", _ro(self.lpl, n, "lpl"))
        object.__setattr__(self, "upl", _ro(self.upl, n, "upl"))
        for name in ("cost", "n_units", "top1"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, _ro(v, n, name))
        if not np.all(np.isfinite(self.values)):
            raise SpecError("protection problem", f"{int((~np.isfinite(self.values)).sum())} cell value(s) "
                            "are missing or infinite", "fill empty cells with 0 and drop undefined cells")
        if self.nonnegative and (self.values < 0).any():
            raise SpecError("protection problem", f"{int((self.values < 0).sum())} cell value(s) are negative",
                            "pass nonnegative=False for tables with negative values")
        if (self.lpl < 0).any() or (self.upl < 0).any() or not (
                np.isfinite(self.lpl).all() and np.isfinite(self.upl).all()):
            raise SpecError("protection problem", "protection levels must be finite and ≥ 0",
                            "derive them with kit.protect.protection_levels")
        if self.cost is not None and ((self.cost < 0).any() or not np.isfinite(self.cost).all()):
            raise SpecError("protection problem", "costs must be finite and ≥ 0", "fix the cost weights")
        self._check_duplicates()

    def _check_duplicates(self) -> None:
        canon = self.structure.canonical
        scale = max(1.0, float(np.abs(self.values).max(initial=0.0)))
        diff = np.abs(self.values - self.values[canon]) > 1e-9 * scale
        if diff.any():
            raise SpecError("protection problem", f"{int(diff.sum())} cell(s) differ from a cell with "
                            "the same parts (for example a region with one municipality)",
                            "check the totals of single-child codes")

    def __repr__(self) -> str:
        st = list(self.status)
        return (f"ProtectionProblem(cells={self.structure.n_cells}, atoms={self.structure.n_atoms}, "
                f"primary={st.count(CellStatus.PRIMARY)}, forced={st.count(CellStatus.FORCED)}, "
                f"never={st.count(CellStatus.NEVER)})")

    # ------------------------------------------------------------------ builders
    @classmethod
    def build(cls, structure: TableStructure, values: Sequence[float] | np.ndarray, *,
              primary: Sequence[bool] | np.ndarray | None = None,
              status: Sequence[Any] | np.ndarray | None = None,
              lpl: Any = None, upl: Any = None, share: float = 0.10,
              cost: Any = None, n_units: Any = None, top1: Any = None,
              nonnegative: bool = True, sign_bounded: bool = False) -> ProtectionProblem:
        """Convenience builder: primaries by mask or statuses, levels default to ``share`` × value."""
        n = structure.n_cells
        vals = np.asarray(values, dtype=float)
        if status is None:
            mask = np.zeros(n, dtype=bool) if primary is None else np.asarray(primary, dtype=bool)
            status = [CellStatus.PRIMARY if m else CellStatus.SAFE for m in mask]
        st = statuses_array(status, n)
        need = np.array([s in (CellStatus.PRIMARY, CellStatus.NEVER) for s in st])
        lv = np.where(need, share * np.abs(vals), 0.0)
        lo = lv if lpl is None else np.broadcast_to(np.asarray(lpl, dtype=float), (n,))
        hi = lv if upl is None else np.broadcast_to(np.asarray(upl, dtype=float), (n,))
        return cls(structure, vals, st, lo, hi, cost, n_units, top1, nonnegative, sign_bounded)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, structure: TableStructure, *, value: str,
                   status: str | None = None, primary: str | None = None,
                   lpl: str | None = None, upl: str | None = None, share: float = 0.10,
                   cost: str | None = None, n_units: str | None = None, top1: str | None = None,
                   nonnegative: bool = True) -> ProtectionProblem:
        """Build from a long frame with one row per cell (columns named by the arguments).

        ``status`` is a column of tau-Argus/sdcTable codes; ``primary`` a 0/1 column.
        """
        pos = structure.positions(frame)
        if len(np.unique(pos)) != structure.n_cells or len(pos) != structure.n_cells:
            raise SpecError("protection problem", "the frame does not have exactly one row per cell",
                            "add missing cells (an empty cell is a zero) and drop duplicates")
        order = np.argsort(pos)
        f = frame.iloc[order]

        def col(name: str | None) -> np.ndarray | None:
            return None if name is None else f[name].to_numpy(dtype=float)

        st = None
        if status is not None:
            st = f[status].astype(str).tolist()
        prim = None if primary is None else f[primary].to_numpy().astype(bool)
        return cls.build(structure, f[value].to_numpy(dtype=float), primary=prim, status=st,
                         lpl=col(lpl), upl=col(upl), share=share, cost=col(cost),
                         n_units=col(n_units), top1=col(top1), nonnegative=nonnegative)

    # ------------------------------------------------------------------ helpers
    def with_status(self, status: Any) -> ProtectionProblem:
        """The same problem with other statuses."""
        return ProtectionProblem(self.structure, self.values, status, self.lpl, self.upl, self.cost,
                                 self.n_units, self.top1, self.nonnegative, self.sign_bounded)

    def mask(self, *which: CellStatus) -> np.ndarray:
        """Boolean mask of the cells with one of the given statuses."""
        return np.array([s in which for s in self.status], dtype=bool)

    @property
    def suppressed(self) -> np.ndarray:
        """Mask of suppressed cells (primary, secondary, never)."""
        return np.array([s.suppressed for s in self.status], dtype=bool)

    @property
    def singleton(self) -> np.ndarray:
        """Mask of cells with exactly one contributing unit (all False without ``n_units``)."""
        if self.n_units is None:
            return np.zeros(self.structure.n_cells, dtype=bool)
        return np.asarray(self.n_units == 1)
