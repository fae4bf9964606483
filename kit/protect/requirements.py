"""Protection requirements and costs of a problem (internal, shared by the methods)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kit.core.status import CellStatus
from kit.errors import KitError, SpecError
from kit.protect.problem import ProtectionProblem

__all__ = ["CostModel", "Prepared", "Requirement", "cost_vector", "prepare"]

UP, DOWN = 1, -1
#: Exact-only requirements (both levels 0) are modelled as a move of this share of the cell's own
#: magnitude (its value; the median non-zero magnitude for a zero cell). The audit asks an interval
#: wider than ``kit.protect.audit.EXACT_REL`` (1e-6) of it: the model's 1e-3 leaves a margin for the
#: solvers' tolerances, and any positive move needs the same cells as a tiny one except where a
#: cell's own bound (its value) is below it.
EXACT_MODEL_REL = 1e-3


@dataclass(frozen=True)
class Requirement:
    """Canonical cell ``cell`` must be movable by ``level`` in ``direction`` (+1 up, −1 down)."""

    cell: int
    direction: int
    level: float
    #: protection against exact recovery only (both levels 0): any move of at least ``level`` (a small
    #: share of the cell's magnitude, ``EXACT_MODEL_REL``) in either direction; ``direction`` is the
    #: one tried first by the methods that need one
    exact_only: bool = False


@dataclass(frozen=True)
class Prepared:
    """Canonical statuses, weights and requirements."""

    canon_mask: np.ndarray     # canonical cells
    must: np.ndarray           # canonical cells that must be suppressed (primary, never, secondary input)
    forced: np.ndarray         # canonical cells that must stay published
    weight: np.ndarray         # cost of suppressing each cell (> 0)
    requirements: tuple[Requirement, ...]
    singleton: np.ndarray      # canonical cells of one unit (their unit knows them)
    scale: float
    avoid: dict[int, np.ndarray]  # per requirement cell: singleton cells its witnesses must not move
    # per requirement cell: singleton cells nested in it of another unit. A witness may move them, but each
    # such unit alone knows its cell, so a witness that moves one needs a second witness that does not
    # (see :func:`kit.protect.repair.witness_cells`)
    attackers: dict[int, np.ndarray] = field(default_factory=dict)
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cell values (for the attackers' levels)

    def attacker_level(self, req: Requirement, k: int) -> float:
        """The move of ``req.cell`` needed against singleton ``k`` alone (``k``'s cell fixed).

        The audit judges a singleton nested in the attacked cell on the remainder: that unit knows the cell
        is at least its own value, so downwards the move is capped at the other units' total.
        """
        if req.direction == UP or not bool(np.any(self.attackers.get(req.cell, np.empty(0)) == k)):
            return req.level
        return float(min(req.level, self.values[req.cell] - self.values[k]))


class CostModel(str, enum.Enum):
    """What a secondary suppression costs (the quantity the pattern minimises).

    ``VALUE`` (default): the cell's value (its absolute value), or the problem's own ``cost``
    column when it has one (a user weight column, :meth:`ProtectionProblem.from_frame`
    ``cost=``). ``FREQUENCY``: the number of contributing units (``n_units``; needs it).
    ``UNITY``: 1 per cell (fewest cells). ``LOG``: log(1 + value). As in tau-Argus, every model
    adds a small per-cell charge so that free cells are not suppressed needlessly.

    Examples
    --------
    >>> CostModel.parse("frequency") is CostModel.FREQUENCY, CostModel.parse("cells") is CostModel.UNITY
    (True, True)
    """

    VALUE = "value"
    FREQUENCY = "frequency"
    UNITY = "unity"
    LOG = "log"

    @classmethod
    def parse(cls, name: str) -> CostModel:
        """The model named ``name`` (``cells`` is accepted for ``unity``); a clear error otherwise."""
        key = {"cells": "unity", "freq": "frequency"}.get(name.strip().lower(), name.strip().lower())
        try:
            return cls(key)
        except ValueError:
            raise SpecError("protect", f"unknown cost model {name!r}",
                            f"use one of {', '.join(m.value for m in cls)} or an array of weights") from None


def cost_vector(problem: ProtectionProblem, cost: Any) -> np.ndarray:
    """Cost per cell from a :class:`CostModel` (or its name) or an array of weights (one per cell).

    Examples
    --------
    >>> from kit.protect.structure import Dimension, TableStructure
    >>> s = TableStructure.from_dimensions([Dimension("r", ("a", "b"))])
    >>> p = ProtectionProblem.build(s, [30.0, 10.0, 20.0], primary=[False, True, False], n_units=[5, 2, 3])
    >>> cost_vector(p, "frequency").round(3).tolist()
    [5.003, 2.003, 3.003]
    """
    v = np.abs(problem.values)
    if isinstance(cost, (str, CostModel)):
        model = cost if isinstance(cost, CostModel) else CostModel.parse(cost)
        if model is CostModel.VALUE:
            base = v if problem.cost is None else problem.cost
        elif model is CostModel.FREQUENCY:
            if problem.n_units is None:
                raise SpecError("protect", "the frequency cost needs the number of units per cell",
                                "give n_units (ProtectionProblem n_units=) or use the value cost")
            base = np.abs(np.asarray(problem.n_units, dtype=float))
        elif model is CostModel.UNITY:
            base = np.ones_like(v)
        else:
            base = np.log1p(v)
    else:
        base = np.asarray(cost, dtype=float)
        if base.shape != v.shape or (base < 0).any() or not np.isfinite(base).all():
            raise SpecError("protect", "cost weights need one finite value ≥ 0 per cell",
                            "pass an array in the structure's cell order")
    base = np.asarray(base, dtype=float)
    pos = base[base > 0]
    # a small per-cell charge so that free cells are not suppressed needlessly
    delta = 1e-3 * (float(pos.mean()) if len(pos) else 1.0)
    return base + delta


def prepare(problem: ProtectionProblem, cost: Any) -> Prepared:
    s = problem.structure
    n = s.n_cells
    canon = s.canonical
    is_canon = canon == np.arange(n)
    st = problem.status
    must = np.zeros(n, dtype=bool)
    forced = np.zeros(n, dtype=bool)
    lpl = np.zeros(n)
    upl = np.zeros(n)
    req_cell = np.zeros(n, dtype=bool)
    for i in range(n):
        g = canon[i]
        if st[i].suppressed:
            must[g] = True
        if st[i] is CellStatus.FORCED:
            forced[g] = True
        if st[i] in (CellStatus.PRIMARY, CellStatus.NEVER):
            req_cell[g] = True
            lpl[g] = max(lpl[g], problem.lpl[i])
            upl[g] = max(upl[g], problem.upl[i])
    clash = must & forced
    if clash.any():
        raise KitError("protect", f"{int(clash.sum())} cell(s) are both forced public and suppressed "
                       "(or equal to a suppressed cell)", "remove the forced status of those cells")
    scale = max(1.0, float(np.abs(problem.values).max(initial=0.0)))
    nonzero = np.abs(problem.values[problem.values != 0])
    typical = float(np.median(nonzero)) if len(nonzero) else 1.0
    reqs: list[Requirement] = []
    impossible = 0
    for g in np.flatnonzero(req_cell):
        val = float(problem.values[g])
        if upl[g] <= 0 and lpl[g] <= 0:
            mag = abs(val) if val != 0 else typical
            # a negative cell of a sign-bounded table cannot move up past 0: try downwards first
            direction = DOWN if (val < 0 and not problem.nonnegative) else UP
            reqs.append(Requirement(int(g), direction, EXACT_MODEL_REL * mag, exact_only=True))
            continue
        if upl[g] > 0:
            if problem.sign_bounded and not problem.nonnegative and val < 0 and upl[g] > -val * (1 + 1e-9):
                impossible += 1
            reqs.append(Requirement(int(g), UP, float(upl[g])))
        if lpl[g] > 0:
            if (problem.nonnegative or (problem.sign_bounded and val >= 0)) and lpl[g] > val * (1 + 1e-9):
                impossible += 1
            reqs.append(Requirement(int(g), DOWN, float(lpl[g])))
    if impossible:
        raise KitError("protect", f"{impossible} cell(s) have a protection level that passes zero (a lower "
                       "level above a non-negative value, or an upper level above a negative value's size), "
                       "which no pattern can meet when cells keep their sign",
                       "cap the levels at the cell's size (protection_levels does)")
    reqs.sort(key=lambda r: -r.level)
    weight = cost_vector(problem, cost)
    sing = problem.singleton & is_canon
    sing_idx = np.flatnonzero(sing)
    # A witness must not move a singleton cell whose unit could fix it, except singletons nested in
    # the protected cell itself: their units are part of it, and the audit attacks with each of them
    # alone (requiring one witness that avoids all of them at once makes e.g. a total of two
    # one-unit cells unprotectable, although each unit alone cannot recover the other).
    # Each of those units is an attacker of its own, though: a witness that moves its cell must be
    # backed by one that does not (``attackers``, see :func:`kit.protect.repair.witness_cells`).
    avoid, attackers = _avoid(s.matrix, sing, sing_idx, sorted({r.cell for r in reqs}))
    values = np.asarray(problem.values, dtype=float)
    return Prepared(is_canon, must & is_canon, forced & is_canon, weight, tuple(reqs), sing, scale, avoid,
                    attackers, values)


def _avoid(matrix: Any, sing: np.ndarray, sing_idx: np.ndarray, req_cells: list[int]
           ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per requirement cell, the singleton cells its witnesses must not move, and its nested attackers.

    Singleton ``k`` is excluded for cell ``r`` when it is ``r``, nested in ``r``, or (``r`` a
    singleton too) contains ``r``. Of the excluded ones, those of another unit than ``r``'s
    (:func:`same_unit`: nested in a cell ``r`` of more than one unit) are ``r``'s attackers.
    """
    rc = np.asarray(req_cells, dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    if not len(sing_idx) or not len(rc):
        return {int(r): empty for r in rc}, {int(r): empty for r in rc}
    n_at = np.diff(matrix.indptr)
    out_avoid: dict[int, np.ndarray] = {}
    out_att: dict[int, np.ndarray] = {}
    ms = matrix[sing_idx]
    # in chunks of requirement cells: the dense overlap is |singletons| x |chunk|
    step = max(1, 4_000_000 // max(len(sing_idx), 1))
    for lo in range(0, len(rc), step):
        part = rc[lo:lo + step]
        overlap = (ms @ matrix[part].T).toarray()
        inside = overlap >= n_at[sing_idx][:, None] - 0.5
        same = sing_idx[:, None] == part[None, :]
        exclude = inside | same | (sing[part][None, :] & (overlap >= n_at[part][None, :] - 0.5))
        attack = inside & ~same & ~sing[part][None, :]
        for j, r in enumerate(part):
            out_avoid[int(r)] = sing_idx[~exclude[:, j]].astype(np.int64)
            out_att[int(r)] = sing_idx[attack[:, j]].astype(np.int64)
    return out_avoid, out_att


def nested(matrix: Any, inner: int, outer: int) -> bool:
    """True when cell ``inner``'s atoms are all atoms of cell ``outer``."""
    si = set(matrix.indices[matrix.indptr[inner]:matrix.indptr[inner + 1]].tolist())
    so = set(matrix.indices[matrix.indptr[outer]:matrix.indptr[outer + 1]].tolist())
    return si <= so


def same_unit(matrix: Any, singleton: np.ndarray, a: int, b: int) -> bool:
    """True when cells ``a`` and ``b`` are one unit's: both singletons with nested atoms (or equal)."""
    if a == b:
        return True
    if not (singleton[a] and singleton[b]):
        return False
    sa = set(matrix.indices[matrix.indptr[a]:matrix.indptr[a + 1]].tolist())
    sb = set(matrix.indices[matrix.indptr[b]:matrix.indptr[b + 1]].tolist())
    return sa <= sb or sb <= sa
