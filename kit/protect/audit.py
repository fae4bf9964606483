"""The LP audit: the feasible interval of every suppressed cell.

An attacker knows the table's additive relations, that every atom is ≥ 0
(when ``nonnegative``), and every published value. For each suppressed cell
the audit minimises and maximises its value over everything consistent with
that knowledge (HiGHS, one model per independent block of unknowns, re-solved
with a new objective per cell). A primary (or never-publish) cell passes when
its interval reaches ``value − lpl`` and ``value + upl``; a cell whose levels
are both 0 passes when it is not exactly recoverable.

Singletons
----------
A cell with one contributing unit (``n_units == 1``) is known exactly to that
unit. The audit therefore also attacks every primary as a singleton would:
first as a coalition of all singletons of its block (each singleton cell fixed
at its value, the attacked cell itself not, nor a singleton cell of the same
unit: a one-unit cell nested in or containing the attacked one-unit cell); if
that fails, each singleton alone. A primary passes only if it passes against every singleton attacker.
(This is the situation of tau-Argus's singleton rules and of a unit that
contributes to two suppressed cells of a relation: it subtracts its own value.)

Examples
--------
>>> from kit.protect.structure import Dimension, TableStructure
>>> from kit.core.status import CellStatus as S
>>> s = TableStructure.from_dimensions([Dimension("g", ("a", "b", "c"))])
>>> r = audit(s, values=[9, 2, 3, 4], statuses=[S.SAFE, S.PRIMARY, S.SECONDARY, S.SAFE],
...           lpl=[0, 1, 0, 0], upl=[0, 1, 0, 0])
>>> r.verdict.value, r.n_failed
('PASS', 0)
>>> [float(x) for x in r.interval(1)]
[0.0, 5.0]
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from kit.core.status import CellStatus, Verdict
from kit.errors import SpecError
from kit.protect._highs import LinearModel
from kit.protect.problem import ProtectionProblem, statuses_array
from kit.protect.requirements import nested, same_unit
from kit.protect.structure import TableStructure

__all__ = ["AuditResult", "audit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class AuditResult:
    """Feasible intervals of the suppressed cells and whether each requirement holds.

    Arrays are aligned with :attr:`cells` (indices into the structure's cells).
    ``lower``/``upper`` are the plain attacker's interval; ``worst_lower`` /
    ``worst_upper`` the narrowest over the plain and all singleton attackers.
    ``required`` marks the cells with a protection requirement (primary, never);
    ``passed`` is True for cells whose requirement holds (and for cells without one);
    ``exact`` is False where a bound is an inner bound (``intervals="certify"``).
    Private data: never log the intervals; they go into the checker's report.
    """

    cells: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    worst_lower: np.ndarray
    worst_upper: np.ndarray
    required: np.ndarray
    passed: np.ndarray
    exact: np.ndarray
    verdict: Verdict
    n_lp: int
    seconds: float
    singletons_checked: int

    def __repr__(self) -> str:
        return (f"AuditResult(verdict={self.verdict.value}, suppressed={len(self.cells)}, "
                f"required={int(self.required.sum())}, failed={self.n_failed}, lps={self.n_lp}, "
                f"seconds={self.seconds:.3f})")

    @property
    def n_failed(self) -> int:
        """Number of cells whose protection requirement fails."""
        return int((~self.passed).sum())

    @property
    def failed_cells(self) -> np.ndarray:
        """Indices of the cells that fail."""
        return np.asarray(self.cells[~self.passed])

    def interval(self, cell: int) -> tuple[float, float]:
        """The worst-case feasible interval of one suppressed cell."""
        hit = np.flatnonzero(self.cells == cell)
        if not len(hit):
            raise SpecError("audit", f"cell {cell} is not suppressed", "ask for a suppressed cell")
        return float(self.worst_lower[hit[0]]), float(self.worst_upper[hit[0]])

    def to_frame(self, structure: TableStructure | None = None) -> pd.DataFrame:
        """One row per suppressed cell (for the checker's report, never for release)."""
        df = pd.DataFrame({"cell": self.cells, "lower": self.worst_lower, "upper": self.worst_upper,
                           "plain_lower": self.lower, "plain_upper": self.upper,
                           "required": self.required, "passed": self.passed, "exact": self.exact})
        if structure is not None:
            keys = pd.DataFrame([structure.keys[i] for i in self.cells], columns=list(structure.dims))
            df = pd.concat([keys, df], axis=1)
        return df

    def summary(self) -> str:
        """A short text without any value."""
        return (f"audit {self.verdict.value}: {len(self.cells)} suppressed cell(s), "
                f"{int(self.required.sum())} with a protection requirement, {self.n_failed} failing; "
                f"{self.n_lp} LPs in {self.seconds:.2f} s; {self.singletons_checked} singleton attack(s)")


def _resolve(problem_or_structure: ProtectionProblem | TableStructure, values: Any, statuses: Any,
             lpl: Any, upl: Any, n_units: Any, nonnegative: bool | None
             ) -> tuple[TableStructure, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, bool, bool]:
    if isinstance(problem_or_structure, ProtectionProblem):
        p = problem_or_structure
        st = p.status if statuses is None else statuses_array(statuses, p.structure.n_cells)
        return (p.structure, p.values if values is None else np.asarray(values, dtype=float), st,
                p.lpl if lpl is None else np.asarray(lpl, dtype=float),
                p.upl if upl is None else np.asarray(upl, dtype=float),
                p.n_units if n_units is None else np.asarray(n_units, dtype=float),
                p.nonnegative if nonnegative is None else nonnegative, p.sign_bounded)
    s = problem_or_structure
    if values is None or statuses is None:
        raise SpecError("audit", "values and statuses are needed with a bare structure",
                        "pass values= and statuses= (or a ProtectionProblem)")
    n = s.n_cells
    v = np.asarray(values, dtype=float)
    lo = np.zeros(n) if lpl is None else np.asarray(lpl, dtype=float)
    hi = np.zeros(n) if upl is None else np.asarray(upl, dtype=float)
    if v.shape != (n,) or lo.shape != (n,) or hi.shape != (n,):
        raise SpecError("audit", "values and protection levels need one entry per cell",
                        "pass arrays in the structure's cell order")
    nu = None if n_units is None else np.asarray(n_units, dtype=float)
    return s, v, statuses_array(statuses, n), lo, hi, nu, True if nonnegative is None else nonnegative, False


#: A requirement passes when the attacker's bound reaches the required one up to this share of the
#: cell's own protection level (never a share of the table's largest value).
LEVEL_REL = 1e-6
#: A suppressed cell with a requirement is exactly recoverable (and fails, whatever its levels) when its
#: feasible interval is narrower than this share of the cell's own magnitude (its value; for a cell of
#: value 0 the median magnitude of the table's non-zero cells).
EXACT_REL = 1e-6
#: Published totals must equal the sum of their parts up to this share of the sum of the parts' magnitudes.
ADDITIVITY_REL = 1e-9


class AtomBounds(str, enum.Enum):
    """What the attacker knows about each atom (inner cell) besides the published values."""

    NONNEGATIVE = "nonnegative"   # every atom ≥ 0 (counts, most magnitudes)
    SIGN = "sign"                 # every atom has the sign of its true value (income, profit)
    FREE = "free"                 # no bounds


def atom_reference(structure: TableStructure, values: np.ndarray, nonnegative: bool) -> np.ndarray:
    """True value of every atom: its inner cell's value; latent atoms (no cell) get a feasible value."""
    m = structure.matrix
    n_at = structure.n_atoms_per_cell
    ref = np.full(structure.n_atoms, np.nan)
    single = np.flatnonzero(n_at == 1)
    ref[m.indices[m.indptr[single]]] = values[single]
    latent = np.flatnonzero(np.isnan(ref))
    if len(latent):
        known = np.nan_to_num(ref)
        rows = np.flatnonzero(np.asarray(m[:, latent].sum(axis=1)).ravel() > 0)
        a = m[rows][:, latent]
        rhs = values[rows] - m[rows] @ known
        from scipy.optimize import linprog

        res = linprog(np.zeros(len(latent)), A_eq=a, b_eq=rhs,
                      bounds=(0, None) if nonnegative else (None, None), method="highs")
        if res.status != 0 or res.x is None:
            raise SpecError("audit", "the published totals are inconsistent with the table's other cells",
                            "check that every margin is the sum of its parts")
        ref[latent] = res.x
    return ref


def additivity_gaps(structure: TableStructure, values: np.ndarray, ref: np.ndarray,
                    rows: np.ndarray | None = None) -> np.ndarray:
    """Per aggregate cell (or ``rows``): |value − sum of its atoms| relative to the sum of |atoms|."""
    m = structure.matrix
    idx = np.flatnonzero(structure.n_atoms_per_cell > 1) if rows is None else np.asarray(rows)
    sub = m[idx]
    diff = np.abs(values[idx] - sub @ ref)
    size = np.maximum(sub @ np.abs(ref), np.abs(values[idx]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, diff / np.where(size > 0, size, 1.0), np.where(diff > 0, np.inf, 0.0))


class _Blocks:
    """The attacker's LP split into independent blocks of unknown atoms.

    The LP is written in deviations from the true table (unknown atom = true value + ``d``): every
    published aggregate gives a homogeneous row ``Σ d = 0`` and the atoms' bounds become bounds of
    ``d``. This is the same LP as over the values themselves, but an exactly recoverable cell has
    ``d = 0`` forced by the rows whatever the table's scale (a total of 1e12 next to a cell of 1e4 is
    no numerical problem), and the true table (``d = 0``) is always feasible.
    """

    def __init__(self, structure: TableStructure, values: np.ndarray, published: np.ndarray,
                 bounds: AtomBounds) -> None:
        m = structure.matrix
        n_atoms_cell = structure.n_atoms_per_cell
        ref = atom_reference(structure, values, bounds is AtomBounds.NONNEGATIVE)
        known = np.zeros(structure.n_atoms, dtype=bool)
        single = np.flatnonzero(published & (n_atoms_cell == 1))
        known[m.indices[m.indptr[single]]] = True
        self.known = known
        unknown = np.flatnonzero(~known)
        self.unknown = unknown
        col_of = np.full(structure.n_atoms, -1, dtype=np.int64)
        col_of[unknown] = np.arange(len(unknown))
        self.col_of = col_of
        pub_rows = np.flatnonzero(published & (n_atoms_cell > 1))
        gaps = additivity_gaps(structure, values, ref, pub_rows)
        bad = gaps > ADDITIVITY_REL
        if bad.any():
            raise SpecError("audit", f"{int(bad.sum())} published total(s) do not equal the sum of their parts "
                            f"(largest difference {float(gaps.max()):.2g} of the total)",
                            "check the table: margins must add up exactly")
        a = m[pub_rows][:, unknown].tocsr()
        has = np.diff(a.indptr) > 0
        self.a = a[has]
        uref = ref[unknown]
        if bounds is AtomBounds.NONNEGATIVE:
            self.lo = -uref
            self.hi = np.full(len(unknown), np.inf)
        elif bounds is AtomBounds.SIGN:
            self.lo = np.where(uref >= 0, -uref, -np.inf)
            self.hi = np.where(uref >= 0, np.inf, -uref)
        else:
            self.lo = np.full(len(unknown), -np.inf)
            self.hi = np.full(len(unknown), np.inf)
        nu = len(unknown)
        nr = self.a.shape[0]
        if nu:
            adj = sp.bmat([[None, self.a.T], [self.a, None]], format="csr") if nr else sp.csr_matrix((nu, nu))
            _, labels = connected_components(adj, directed=False)
            self.comp_of_col = labels[:nu]
            self.comp_of_row = labels[nu:] if nr else np.empty(0, dtype=np.int64)
        else:
            self.comp_of_col = np.empty(0, dtype=np.int64)
            self.comp_of_row = np.empty(0, dtype=np.int64)
        self._models: dict[int, tuple[LinearModel, np.ndarray, dict[int, int]]] = {}
        self._mats: dict[int, sp.csr_matrix] = {}
        self._active: dict[int, set[int]] = {}
        self.n_lp = 0

    def pieces(self, atoms: np.ndarray) -> dict[int, np.ndarray]:
        """Unknown columns per block of a set of atoms (the known ones cannot move)."""
        cols = self.col_of[atoms[~self.known[atoms]]]
        out: dict[int, list[int]] = {}
        for c in cols:
            out.setdefault(int(self.comp_of_col[c]), []).append(int(c))
        return {b: np.asarray(v, dtype=np.int64) for b, v in out.items()}

    def model(self, block: int, extra: dict[int, np.ndarray]
              ) -> tuple[LinearModel, np.ndarray, dict[int, int]]:
        """The block's model; ``extra`` are optional rows (singleton knowledge), inactive at first."""
        if block in self._models:
            return self._models[block]
        cols = np.flatnonzero(self.comp_of_col == block)
        rows = np.flatnonzero(self.comp_of_row == block)
        local = {int(c): i for i, c in enumerate(cols)}
        a = self.a[rows][:, cols]
        n_extra = len(extra)
        extra_rows: list[np.ndarray] = []
        extra_index: dict[int, int] = {}
        for key, ecols in extra.items():
            r = np.zeros(len(cols))
            r[[local[int(c)] for c in ecols]] = 1.0
            extra_index[key] = a.shape[0] + len(extra_rows)
            extra_rows.append(r)
        if extra_rows:
            a = sp.vstack([a, sp.csr_matrix(np.array(extra_rows))])
        rlo = np.concatenate([np.zeros(len(rows)), np.full(n_extra, -np.inf)])
        rhi = np.concatenate([np.zeros(len(rows)), np.full(n_extra, np.inf)])
        model = LinearModel(a, rlo, rhi, self.lo[cols], self.hi[cols])
        self._models[block] = (model, cols, extra_index)
        self._mats[block] = sp.csr_matrix(a)
        return self._models[block]

    def _violation(self, block: int, x: np.ndarray) -> float:
        """Largest violation of a row or bound by a solution (rows are homogeneous: Σ d = 0)."""
        _, cols, index = self._models[block]
        r = self._mats[block] @ x
        active = np.zeros(len(r), dtype=bool)
        active[:len(r) - len(index)] = True
        for key in self._active.get(block, set()):
            active[index[key]] = True
        row_v = float(np.abs(r[active]).max(initial=0.0))
        lo, hi = self.lo[cols], self.hi[cols]
        with np.errstate(invalid="ignore"):
            bnd_v = float(np.nanmax(np.concatenate([[0.0], lo - x, x - hi])))
        return max(row_v, bnd_v)

    def extremes(self, block: int, cols: np.ndarray, extra: dict[int, np.ndarray],
                 senses: tuple[float, ...] = (1.0, -1.0), seen: Any = None, tol: float = np.inf
                 ) -> tuple[float, float, bool, float]:
        """Min and max of the deviation of the sum of ``cols`` in a block.

        Returns ``(min, max, ok, violation)``: ok False when a solve did not finish; violation is the
        largest row or bound violation of the optimal points (for the caller's reliability check); a
        point that violates more than ``tol`` is solved again from scratch with a tighter tolerance.
        ``senses`` picks which to solve (1 = min, -1 = max; the other is NaN);
        ``seen(block, x)`` receives every optimal point.
        """
        model, bcols, _ = self.model(block, extra)
        pos = np.searchsorted(bcols, cols)
        c = np.zeros(len(bcols))
        c[pos] = 1.0
        out = []
        ok = True
        viol = 0.0
        for sign in (1.0, -1.0):
            if sign not in senses:
                out.append(np.nan)
                continue
            model.set_cost(sign * c)
            sol = model.solve()
            self.n_lp += 1
            if sol.status == "optimal" and sol.x is not None and self._violation(block, sol.x) > tol:
                # a point that violates a row or bound: solve again from scratch, tighter
                sol2 = model.solve_cold(1e-10)
                self.n_lp += 1
                if sol2.status == "optimal" and sol2.x is not None and (
                        self._violation(block, sol2.x) < self._violation(block, sol.x)):
                    sol = sol2
            if sol.status in ("infeasible", "unbounded"):
                # d = 0 is feasible, so "infeasible" is numerical; and a warm primal simplex re-solve
                # reports "unbounded" for bounded problems with large bounds (seen at 1e10): both are
                # confirmed from scratch; an infeasible second answer is a failed solve (fail closed)
                sol = model.solve_cold()
                self.n_lp += 1
            if sol.status == "optimal" and sol.x is not None:
                if seen is not None:
                    seen(block, sol.x)
                viol = max(viol, self._violation(block, sol.x))
                out.append(float(c @ sol.x))
            elif sol.status == "unbounded":
                out.append(-sign * np.inf)
            else:
                ok = False
                out.append(np.nan)
        return out[0], out[1], ok, viol

    def set_extra(self, block: int, extra: dict[int, np.ndarray], active: set[int]) -> None:
        """Make exactly the singleton rows ``active`` binding (only rows whose state changes are touched)."""
        model, _, index = self.model(block, extra)
        current = self._active.setdefault(block, set())
        for key in current - active:
            model.set_row_bounds(index[key], -np.inf, np.inf)
        for key in active - current:
            model.set_row_bounds(index[key], 0.0, 0.0)
        self._active[block] = set(active)


def audit(problem_or_structure: ProtectionProblem | TableStructure, values: Any = None,
          statuses: Any = None, lpl: Any = None, upl: Any = None, *, n_units: Any = None,
          nonnegative: bool | None = None, singletons: bool = True, intervals: str = "all") -> AuditResult:
    """Audit a suppression pattern by attacking it with linear programming.

    Parameters
    ----------
    problem_or_structure
        A :class:`ProtectionProblem` (its values, statuses and levels are used
        unless overridden) or a bare :class:`TableStructure`.
    values, statuses, lpl, upl
        Arrays in cell order (statuses as :class:`CellStatus` or one-letter codes).
    n_units
        Units per cell; cells with one unit are attacked as singletons.
    nonnegative
        Whether atoms are ≥ 0 (default: the problem's setting, else True).
    singletons
        Attack as singletons too (needs ``n_units``).
    intervals
        ``"all"``: exact min and max of every suppressed cell (the checker's
        report); ``"required"``: only of cells with a requirement (others NaN);
        ``"certify"``: as few LPs as prove each requirement (a feasible point of
        an earlier solve that already reaches a bound proves it); the reported
        bounds are then inner bounds, flagged by ``exact == False``.

    Notes
    -----
    Tolerances are relative to each cell, never to the table: a bound passes when it reaches the
    required one up to ``LEVEL_REL`` times the cell's own level; a cell with a requirement whose
    interval is narrower than ``EXACT_REL`` times its own magnitude fails whatever its levels; a
    solution that violates a row or bound by more than the cell's tolerance is solved again from
    scratch with a tighter tolerance, and if still unreliable the verdict is at best ``REVIEW``.

    Returns
    -------
    AuditResult
        Intervals, pass/fail per cell and the overall verdict (``PASS``; ``FAIL``
        when a requirement fails; ``REVIEW`` when a solve did not finish).
    """
    t0 = time.perf_counter()
    if intervals not in ("all", "required", "certify"):
        raise SpecError("audit", f"unknown intervals option {intervals!r}", "use all, required or certify")
    structure, v, st, lo_lvl, hi_lvl, nu, nonneg, signed = _resolve(problem_or_structure, values, statuses, lpl,
                                                                    upl, n_units, nonnegative)
    bounds = AtomBounds.NONNEGATIVE if nonneg else (AtomBounds.SIGN if signed else AtomBounds.FREE)
    n = structure.n_cells
    canon = structure.canonical
    supp_cell = np.array([s.suppressed for s in st], dtype=bool)
    # a group of duplicate cells is published when any member is
    group_pub = np.zeros(n, dtype=bool)
    np.logical_or.at(group_pub, canon, ~supp_cell)
    published = group_pub[canon]
    blocks = _Blocks(structure, v, published & (np.arange(n) == canon), bounds)
    cells = np.flatnonzero(supp_cell)
    lower = np.empty(len(cells))
    upper = np.empty(len(cells))
    ok_all = True
    m = structure.matrix
    pieces: dict[int, dict[int, np.ndarray]] = {}
    cache: dict[int, tuple[float, float]] = {}
    # singleton knowledge rows, per block: the unit knows its cell, so its deviation is 0
    sing = np.zeros(n, dtype=bool) if (nu is None or not singletons) else (nu == 1)
    extra: dict[int, dict[int, np.ndarray]] = {}
    sing_cells = [int(c) for c in cells if sing[c] and canon[c] == c and not published[c]]
    for s_cell in sing_cells:
        atoms = m.indices[m.indptr[s_cell]:m.indptr[s_cell + 1]]
        pcs = blocks.pieces(atoms)
        if len(pcs) == 1:
            (b, cols), = pcs.items()
            extra.setdefault(b, {})[s_cell] = cols
    required = np.array([st[c] in (CellStatus.PRIMARY, CellStatus.NEVER) for c in cells], dtype=bool)
    need_lo = v[cells] - lo_lvl[cells]
    need_hi = v[cells] + hi_lvl[cells]
    no_level = (lo_lvl[cells] <= 0) & (hi_lvl[cells] <= 0)
    # tolerances relative to each cell (its level; for the width, its magnitude), never to the table
    nonzero = np.abs(v[v != 0])
    typical = float(np.median(nonzero)) if len(nonzero) else 1.0
    magnitude = np.where(v[cells] != 0, np.abs(v[cells]), typical)
    min_width = EXACT_REL * magnitude
    ctol = np.where(no_level, min_width, LEVEL_REL * np.maximum(lo_lvl[cells], hi_lvl[cells]))
    unreliable = np.zeros(len(cells), dtype=bool)
    exact = np.ones(len(cells), dtype=bool)
    for c in cells:
        g = int(canon[c])
        if not published[c] and g not in pieces:
            atoms = m.indices[m.indptr[g]:m.indptr[g + 1]]
            pieces[g] = blocks.pieces(atoms)
    # certify mode: feasible points of earlier solves prove requirements without their own LP
    seen_lo = np.full(len(cells), np.inf)
    seen_hi = np.full(len(cells), -np.inf)
    watch: dict[int, tuple[list[int], sp.csr_matrix, np.ndarray]] = {}
    if intervals == "certify":
        per_block: dict[int, list[int]] = {}
        for i, c in enumerate(cells):
            if required[i] and not published[c] and len(pieces[int(canon[c])]) == 1:
                per_block.setdefault(next(iter(pieces[int(canon[c])])), []).append(i)
        for b, idx in per_block.items():
            _, bcols, _ = blocks.model(b, extra.get(b, {}))
            rows, cols_, consts = [], [], []
            for r, i in enumerate(idx):
                pcs = pieces[int(canon[cells[i]])]
                pos = np.searchsorted(bcols, pcs[b])
                rows.extend([r] * len(pos))
                cols_.extend(pos.tolist())
                consts.append(v[cells[i]])
            mat = sp.csr_matrix((np.ones(len(rows)), (rows, cols_)), shape=(len(idx), len(bcols)))
            watch[b] = (idx, mat, np.asarray(consts))

    def seen(block: int, x: np.ndarray) -> None:
        if block in watch:
            idx, mat, consts = watch[block]
            val = mat @ x + consts
            seen_lo[idx] = np.minimum(seen_lo[idx], val)
            seen_hi[idx] = np.maximum(seen_hi[idx], val)

    def width_ok(lo_: Any, hi_: Any, at: Any) -> Any:
        with np.errstate(invalid="ignore"):
            return (hi_ - lo_) > min_width[at]

    order = np.argsort(~required, kind="stable")
    for i in order:
        c = cells[i]
        if published[c]:
            lower[i] = upper[i] = v[c]
            continue
        g = int(canon[c])
        if g in cache:
            lower[i], upper[i] = cache[g]
            continue
        if intervals != "all" and not required[i]:
            lower[i], upper[i] = np.nan, np.nan
            exact[i] = False
            continue
        pcs = pieces[g]
        senses: tuple[float, ...] = (1.0, -1.0)
        if intervals == "certify" and i in {j for b in pcs for j in watch.get(b, ([], None, None))[0]}:
            if no_level[i]:
                done_lo = done_hi = bool(width_ok(seen_lo[i], seen_hi[i], i))
            else:
                # each side proved on its own (feasible points give inner bounds: the final check on
                # them, width included, can only be stricter than on the exact interval)
                done_lo = bool(seen_lo[i] <= need_lo[i] + ctol[i])
                done_hi = bool(seen_hi[i] >= need_hi[i] - ctol[i])
            senses = tuple(s_ for s_, d in ((1.0, done_lo), (-1.0, done_hi)) if not d)
        lo_sum, hi_sum = float(v[c]), float(v[c])
        for b, cols in pcs.items():
            lo_b, hi_b, ok, viol = blocks.extremes(b, cols, extra.get(b, {}), senses, seen, float(ctol[i]))
            ok_all &= ok
            unreliable[i] |= required[i] and viol > ctol[i]
            lo_sum += lo_b
            hi_sum += hi_b
        if 1.0 not in senses:
            lo_sum = seen_lo[i]
            exact[i] = False
        if -1.0 not in senses:
            hi_sum = seen_hi[i]
            exact[i] = False
        if exact[i]:
            cache[g] = (lo_sum, hi_sum)
        lower[i], upper[i] = lo_sum, hi_sum

    def passes(lo_: np.ndarray, hi_: np.ndarray, at: Any = slice(None)) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            interval_ok = (hi_ >= need_hi[at] - ctol[at]) & (lo_ <= need_lo[at] + ctol[at])
        # a cell that is exactly recoverable fails whatever its levels
        return np.asarray(width_ok(lo_, hi_, at) & (no_level[at] | interval_ok))

    worst_lo = lower.copy()
    worst_hi = upper.copy()
    # certify mode: points of all-singleton (coalition) solves, valid for every coalition of fewer singletons
    cseen_lo = np.full(len(cells), np.inf)
    cseen_hi = np.full(len(cells), -np.inf)
    watched = {j for idx_, _, _ in watch.values() for j in idx_}

    def cseen(block: int, x: np.ndarray) -> None:
        if block in watch:
            idx, mat, consts = watch[block]
            val = mat @ x + consts
            cseen_lo[idx] = np.minimum(cseen_lo[idx], val)
            cseen_hi[idx] = np.maximum(cseen_hi[idx], val)

    passed = ~required | passes(lower, upper)
    n_sing = 0
    # singleton attacks on primaries that pass the plain attacker
    if extra:
        for i, c in enumerate(cells):
            if not required[i] or not passed[i] or published[c]:
                continue
            g = int(canon[c])
            pcs = pieces[g]
            tol_i = float(ctol[i])
            others = {b: {k for k in extra.get(b, {}) if not same_unit(m, sing, k, g)} for b in pcs}
            hit = [b for b in pcs if others[b]]
            if not hit:
                continue
            full = all(others[b] == set(extra[b]) for b in hit)
            one = len(pcs) == 1
            if intervals == "certify" and one and i in watched:
                # a point of an earlier all-singleton solve is feasible for this (weaker or equal) coalition
                done = bool(passes(np.array([cseen_lo[i]]), np.array([cseen_hi[i]]), [i])[0])
                if done:
                    worst_lo[i] = max(worst_lo[i], cseen_lo[i])
                    worst_hi[i] = min(worst_hi[i], cseen_hi[i])
                    exact[i] = False
                    n_sing += 1
                    continue
            # coalition of all singletons in the blocks of this cell
            if not one:
                for b in pcs:
                    if b in extra:
                        blocks.set_extra(b, extra[b], set())
            plain: dict[int, tuple[float, float]] = {}
            if not one:
                for b in pcs:
                    lo_b, hi_b, ok, viol = blocks.extremes(b, pcs[b], extra.get(b, {}), tol=tol_i)
                    ok_all &= ok
                    unreliable[i] |= viol > tol_i
                    plain[b] = (lo_b, hi_b)
            lo_s = float(v[c]) + sum(x[0] for b, x in plain.items() if b not in hit)
            hi_s = float(v[c]) + sum(x[1] for b, x in plain.items() if b not in hit)
            for b in hit:
                blocks.set_extra(b, extra[b], others[b])
                lo_b, hi_b, ok, viol = blocks.extremes(b, pcs[b], extra[b], seen=cseen if full else None, tol=tol_i)
                ok_all &= ok
                unreliable[i] |= viol > tol_i
                lo_s += lo_b
                hi_s += hi_b
            n_sing += 1
            if passes(np.array([lo_s]), np.array([hi_s]), [i])[0]:
                continue
            if one:
                for b in pcs:
                    if b in extra:
                        blocks.set_extra(b, extra[b], set())
                for b in pcs:
                    lo_b, hi_b, ok, viol = blocks.extremes(b, pcs[b], extra.get(b, {}), tol=tol_i)
                    ok_all &= ok
                    unreliable[i] |= viol > tol_i
                    plain[b] = (lo_b, hi_b)
            base_lo = float(v[c]) + sum(x[0] for x in plain.values())
            base_hi = float(v[c]) + sum(x[1] for x in plain.values())
            # each singleton alone. A unit whose one-unit cell lies inside the attacked cell knows the
            # cell is at least its own value: against it the lower requirement is on the remainder
            # (the other units' total), i.e. the attacked cell's minimum need not go below that value.
            w_lo, w_hi = base_lo, base_hi
            each_ok = True
            for b in hit:
                for k in sorted(others[b]):
                    blocks.set_extra(b, extra[b], {k})
                    lo_b, hi_b, ok, viol = blocks.extremes(b, pcs[b], extra[b], tol=tol_i)
                    ok_all &= ok
                    unreliable[i] |= viol > tol_i
                    n_sing += 1
                    # the other blocks as the plain attacker sees them, this block under attacker k
                    lo_k = float(v[c]) + lo_b + sum(x[0] for bb, x in plain.items() if bb != b)
                    hi_k = float(v[c]) + hi_b + sum(x[1] for bb, x in plain.items() if bb != b)
                    w_lo, w_hi = max(w_lo, lo_k), min(w_hi, hi_k)
                    each_ok &= bool(hi_k - lo_k > min_width[i])
                    if not no_level[i]:
                        floor = float(v[k]) if nested(m, int(k), int(c)) else -np.inf
                        each_ok &= bool(hi_k >= need_hi[i] - tol_i and lo_k <= max(need_lo[i], floor) + tol_i)
            worst_lo[i], worst_hi[i] = w_lo, w_hi
            passed[i] = each_ok
    if unreliable.any():
        # the LP's points violate rows or bounds by more than the cell's own tolerance: the audit cannot
        # vouch for these cells (never PASS); the verdict is REVIEW unless a requirement fails outright
        log.info("audit: %d cell(s) with numerically unreliable LP solutions", int(unreliable.sum()))
        ok_all = False
    if not passed.all():
        verdict = Verdict.FAIL
    elif not ok_all:
        verdict = Verdict.REVIEW
    else:
        verdict = Verdict.PASS
    result = AuditResult(cells, lower, upper, worst_lo, worst_hi, required, passed, exact, verdict,
                         blocks.n_lp, time.perf_counter() - t0, n_sing)
    log.debug("%s", result.summary())
    return result
