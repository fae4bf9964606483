"""The additive structure of one or more linked tables.

A table with margins is a set of *cells* tied by sums. The kit describes every
cell as a sum of *atoms*: the atoms are the cells of the finest
cross-classification of all dimensions (the leaves of every hierarchy), and a
cell is the sum of the atoms under its codes. Inner cells are cells of one atom;
margins, sub-totals and the grand total are sums of several. Linked tables
(several tables over the same dimensions, or over some of them) are combined by
:func:`link` into one structure over the product of all their dimensions; an
atom that no table publishes is then simply unknown to everyone.

Cells with the same atoms (a region with one municipality equals that
municipality) are *duplicates*: :attr:`TableStructure.canonical` maps each cell
to the first cell with the same atoms, and protection treats them as one.

The structure holds codes and a sparse 0/1 matrix only, never values.

Examples
--------
>>> s = TableStructure.from_dimensions([Dimension("geo", ("A", "B")), Dimension("sex", ("F", "M"))])
>>> s.n_cells, s.n_atoms
(9, 4)
>>> s.keys[0]
('Total', 'Total')
>>> s.index(("A", "Total"))
3
>>> s.atoms_of(s.index(("A", "Total")))
(('A', 'F'), ('A', 'M'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from kit.errors import SchemaError, SpecError
from kit.protect.hierarchy import Hierarchy

__all__ = ["Dimension", "TableStructure", "link"]

Key = tuple[str, ...]


@dataclass(frozen=True)
class Dimension:
    """One dimension of a table: a name, its published codes and their hierarchy.

    Parameters
    ----------
    name
        Column name.
    codes
        The codes that appear in the table, or ``None`` for all codes of the
        hierarchy (margins included). Without a hierarchy, the codes are the
        categories; the total (``total_label``) is added unless ``margin=False``.
    hierarchy
        How codes sum. ``None`` means a flat list summing to the total.
    margin
        Whether the table carries the total of this dimension (only used
        without a hierarchy).
    """

    name: str
    codes: tuple[str, ...] | None = None
    hierarchy: Hierarchy | None = None
    margin: bool = True

    def __post_init__(self) -> None:
        if self.codes is not None:
            object.__setattr__(self, "codes", tuple(str(c) for c in self.codes))
        if self.codes is None and self.hierarchy is None:
            raise SpecError(f"dimension {self.name!r}", "neither codes nor a hierarchy given",
                            "pass the code list, a Hierarchy, or both")

    def resolved(self, total_label: str) -> tuple[Hierarchy, tuple[str, ...]]:
        """The hierarchy (flat if none) and the published codes, totals first."""
        h = self.hierarchy
        if h is None:
            cats = [c for c in (self.codes or ()) if c != total_label]
            h = Hierarchy.flat(cats, total_label)
            codes = tuple(([total_label] if self.margin else []) + cats)
            return h, codes
        if self.codes is None:
            return h, h.codes
        known = set(h.codes)
        bad = [c for c in self.codes if c not in known]
        if bad:
            raise SpecError(f"dimension {self.name!r}", f"{len(bad)} code(s) are not in the hierarchy "
                            f"(for example {bad[0]!r})", "add them to the hierarchy or fix the codes")
        order = {c: i for i, c in enumerate(h.codes)}
        return h, tuple(sorted(dict.fromkeys(self.codes), key=order.__getitem__))


def _incidence(h: Hierarchy, codes: Sequence[str], leaves: Sequence[str]) -> sp.csr_matrix:
    col = {leaf: j for j, leaf in enumerate(leaves)}
    rows: list[int] = []
    cols: list[int] = []
    for i, code in enumerate(codes):
        for leaf in h.leaves_under(code):
            rows.append(i)
            cols.append(col[leaf])
    data = np.ones(len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(len(codes), len(leaves)))


@dataclass(frozen=True)
class TableStructure:
    """Cells of one or more linked tables as 0/1 sums of atoms.

    Build it with :meth:`from_dimensions`, :meth:`from_frame` or :func:`link`.

    Attributes
    ----------
    dims
        Dimension names; a cell key has one code per dimension.
    keys
        One key per cell, in cell order (arrays of values follow this order).
    atom_keys
        One key per atom (leaf codes).
    matrix
        CSR matrix ``n_cells × n_atoms``: entry 1 when the atom is in the cell.
    totals
        The code that means "all" in each dimension (the hierarchy root).
    """

    dims: tuple[str, ...]
    keys: tuple[Key, ...]
    atom_keys: tuple[Key, ...]
    matrix: sp.csr_matrix = field(repr=False, compare=False)
    totals: tuple[str, ...]
    _index: dict[Key, int] = field(init=False, repr=False, compare=False, hash=False)
    _canonical: np.ndarray = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        m = sp.csr_matrix(self.matrix, dtype=float)
        m.sort_indices()
        object.__setattr__(self, "matrix", m)
        if m.shape != (len(self.keys), len(self.atom_keys)):
            raise SpecError("table structure", "matrix shape does not match the cells and atoms",
                            "build the structure with TableStructure.from_dimensions or link")
        index = {k: i for i, k in enumerate(self.keys)}
        if len(index) != len(self.keys):
            raise SpecError("table structure", "two cells have the same key", "remove duplicate cells")
        object.__setattr__(self, "_index", index)
        # duplicates: cells with identical atom sets
        seen: dict[tuple[int, ...], int] = {}
        canon = np.empty(len(self.keys), dtype=np.int64)
        for i in range(len(self.keys)):
            sig = tuple(m.indices[m.indptr[i]:m.indptr[i + 1]].tolist())
            if not sig:
                raise SpecError("table structure", f"cell {self.keys[i]!r} contains no atom",
                                "check the hierarchy: every code needs at least one leaf")
            canon[i] = seen.setdefault(sig, i)
        canon.setflags(write=False)
        object.__setattr__(self, "_canonical", canon)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_dimensions(cls, dimensions: Sequence[Dimension], total_label: str = "Total") -> TableStructure:
        """The full cross-classification of ``dimensions`` with the published codes of each.

        >>> s = TableStructure.from_dimensions([Dimension("a", ("x", "y", "z"))])
        >>> s.keys
        (('Total',), ('x',), ('y',), ('z',))
        """
        if not dimensions:
            raise SpecError("table structure", "no dimensions given", "pass at least one Dimension")
        names = [d.name for d in dimensions]
        if len(set(names)) != len(names):
            raise SpecError("table structure", "a dimension name appears twice", "use distinct names")
        resolved = [d.resolved(total_label) for d in dimensions]
        mats = []
        code_lists = []
        leaf_lists = []
        for h, codes in resolved:
            leaves = h.leaves
            mats.append(_incidence(h, codes, leaves))
            code_lists.append(codes)
            leaf_lists.append(leaves)
        matrix = mats[0]
        for m in mats[1:]:
            matrix = sp.kron(matrix, m, format="csr")
        keys = tuple(_product(code_lists))
        atoms = tuple(_product(leaf_lists))
        return cls(tuple(names), keys, atoms, sp.csr_matrix(matrix),
                   tuple(h.root for h, _ in resolved))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, dims: Sequence[str], total_label: str = "Total",
                   hierarchies: Mapping[str, Hierarchy] | None = None) -> TableStructure:
        """Structure of a long table with one row per cell, margins marked by ``total_label``.

        The published codes of each dimension are those in the frame. A dimension
        with a hierarchy uses it (its codes must be in the hierarchy); one without
        is a flat list summing to ``total_label``. Use :meth:`align` to get the
        frame's columns in the structure's cell order.

        >>> df = pd.DataFrame({"g": ["Total", "a", "b"], "n": [7, 3, 4]})
        >>> s = TableStructure.from_frame(df, ["g"])
        >>> s.align(df, "n").tolist()
        [7.0, 3.0, 4.0]
        """
        hierarchies = dict(hierarchies or {})
        missing = [d for d in dims if d not in frame.columns]
        if missing:
            raise SchemaError("table", f"dimension column(s) {missing} are not in the data",
                              "check the column names")
        dimensions = []
        for d in dims:
            codes = tuple(dict.fromkeys(frame[d].astype(str)))
            h = hierarchies.get(d)
            margin = total_label in codes
            dimensions.append(Dimension(d, codes, h, margin=margin))
        return cls.from_dimensions(dimensions, total_label=total_label)

    # ------------------------------------------------------------------ access
    @property
    def n_cells(self) -> int:
        """Number of cells (margins included)."""
        return len(self.keys)

    @property
    def n_atoms(self) -> int:
        """Number of atoms (finest cells of the cross-classification)."""
        return len(self.atom_keys)

    @property
    def canonical(self) -> np.ndarray:
        """For each cell, the index of the first cell with the same atoms."""
        return self._canonical

    @property
    def n_atoms_per_cell(self) -> np.ndarray:
        """Number of atoms in each cell (1 for inner cells)."""
        return np.diff(self.matrix.indptr)

    def index(self, key: Iterable[str]) -> int:
        """Cell index of a key (a code per dimension)."""
        k = tuple(str(c) for c in key)
        try:
            return self._index[k]
        except KeyError:
            raise SpecError("table structure", f"cell {k!r} is not in the table",
                            "check the codes and the total label") from None

    def atoms_of(self, cell: int) -> tuple[Key, ...]:
        """Atom keys of one cell."""
        m = self.matrix
        return tuple(self.atom_keys[j] for j in m.indices[m.indptr[cell]:m.indptr[cell + 1]])

    def cell_frame(self) -> pd.DataFrame:
        """One row per cell with the dimension columns, in cell order."""
        return pd.DataFrame(list(self.keys), columns=list(self.dims))

    def to_frame(self, **columns: Sequence[object] | np.ndarray) -> pd.DataFrame:
        """The cell frame with extra columns (arrays in cell order).

        >>> s = TableStructure.from_dimensions([Dimension("a", ("x", "y"))])
        >>> s.to_frame(v=[3, 1, 2]).to_dict("list")
        {'a': ['Total', 'x', 'y'], 'v': [3, 1, 2]}
        """
        df = self.cell_frame()
        for name, col in columns.items():
            if len(col) != self.n_cells:
                raise SpecError("table structure", f"column {name!r} has the wrong length",
                                "pass one value per cell in cell order")
            df[name] = list(col) if not isinstance(col, np.ndarray) else col
        return df

    def positions(self, frame: pd.DataFrame) -> np.ndarray:
        """Cell index of each row of a long frame (dimension columns as strings)."""
        missing = [d for d in self.dims if d not in frame.columns]
        if missing:
            raise SchemaError("table", f"dimension column(s) {missing} are not in the data",
                              "check the column names")
        cols = [frame[d].astype(str).tolist() for d in self.dims]
        out = np.empty(len(frame), dtype=np.int64)
        unknown = 0
        for r, key in enumerate(zip(*cols, strict=False)):
            i = self._index.get(key, -1)
            unknown += i < 0
            out[r] = i
        if unknown:
            raise SchemaError("table", f"{unknown} row(s) have codes that are not cells of the table",
                              "check the codes, the total label and the hierarchy")
        return out

    def align(self, frame: pd.DataFrame, column: str, fill: float | None = None) -> np.ndarray:
        """A frame column as a float array in cell order.

        Cells missing from the frame are an error unless ``fill`` is given; a cell
        listed twice is an error.
        """
        if column not in frame.columns:
            raise SchemaError("table", f"column {column!r} is not in the data", "check the column name")
        pos = self.positions(frame)
        if len(np.unique(pos)) != len(pos):
            raise SchemaError("table", f"{len(pos) - len(np.unique(pos))} cell(s) appear more than once",
                              "aggregate the frame to one row per cell")
        out = np.full(self.n_cells, np.nan if fill is None else float(fill))
        out[pos] = frame[column].to_numpy(dtype=float)
        if fill is None and len(pos) < self.n_cells:
            raise SchemaError("table", f"{self.n_cells - len(pos)} cell(s) of the table are missing "
                              "from the data", "add them (an empty cell is a zero) or pass fill=0")
        return out

    def subtable(self, cells: Sequence[int]) -> np.ndarray:
        """Boolean mask over cells (helper for block methods)."""
        mask = np.zeros(self.n_cells, dtype=bool)
        mask[np.asarray(cells, dtype=np.int64)] = True
        return mask


def _product(lists: Sequence[Sequence[str]]) -> list[Key]:
    out: list[Key] = [()]
    for codes in lists:
        out = [(*k, c) for k in out for c in codes]
    return out


def link(structures: Sequence[TableStructure], total_label: str | None = None) -> TableStructure:
    """Combine linked tables into one structure over the union of their dimensions.

    A cell of a table that lacks a dimension gets that dimension's total code;
    cells with the same key in two tables are one cell. A dimension that appears
    in several tables must have the same leaves in each (its hierarchies may
    differ). The atoms are the product of all leaves; those no table publishes
    are unknown to an attacker.

    >>> s1 = TableStructure.from_dimensions([Dimension("geo", ("A", "B")), Dimension("year", ("1", "2"))])
    >>> s2 = TableStructure.from_dimensions([Dimension("geo", ("A", "B")), Dimension("sex", ("F", "M"))])
    >>> s = link([s1, s2])
    >>> s.dims, s.n_atoms, s.n_cells
    (('geo', 'year', 'sex'), 8, 15)
    """
    if not structures:
        raise SpecError("link", "no tables given", "pass at least one TableStructure")
    dims: list[str] = []
    leaves: dict[str, tuple[str, ...]] = {}
    totals: dict[str, str] = {}
    for s in structures:
        for d_i, d in enumerate(s.dims):
            lv = tuple(dict.fromkeys(k[d_i] for k in s.atom_keys))
            if d not in leaves:
                dims.append(d)
                leaves[d] = lv
                totals[d] = total_label or s.totals[d_i]
            elif set(lv) != set(leaves[d]):
                raise SpecError("link", f"dimension {d!r} has different finest codes in two tables",
                                "use the same leaf codes in every table (hierarchies may differ)")
    atom_keys = _product([leaves[d] for d in dims])
    atom_index = {k: j for j, k in enumerate(atom_keys)}
    sizes = [len(leaves[d]) for d in dims]
    keys: list[Key] = []
    rows: list[np.ndarray] = []
    seen: dict[Key, frozenset[int]] = {}
    for s in structures:
        pos = [dims.index(d) for d in s.dims]
        # map each atom of s to the set of combined atoms (product over missing dims)
        other = [i for i in range(len(dims)) if i not in pos]
        other_keys = _product([leaves[dims[i]] for i in other])
        s_atom_to_cols: list[np.ndarray] = []
        for ak in s.atom_keys:
            cols = []
            for ok in other_keys:
                full = [""] * len(dims)
                for p, c in zip(pos, ak, strict=False):
                    full[p] = c
                for p, c in zip(other, ok, strict=False):
                    full[p] = c
                cols.append(atom_index[tuple(full)])
            s_atom_to_cols.append(np.asarray(cols, dtype=np.int64))
        m = s.matrix
        for i, k in enumerate(s.keys):
            full_key = [totals[d] for d in dims]
            for p, c in zip(pos, k, strict=False):
                full_key[p] = c
            fk = tuple(full_key)
            cols_arr = np.unique(np.concatenate([s_atom_to_cols[j]
                                                 for j in m.indices[m.indptr[i]:m.indptr[i + 1]]]))
            sig = frozenset(cols_arr.tolist())
            if fk in seen:
                if seen[fk] != sig:
                    raise SpecError("link", f"cell {fk!r} means different sums in two tables",
                                    "use consistent hierarchies across the linked tables")
                continue
            seen[fk] = sig
            keys.append(fk)
            rows.append(cols_arr)
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(keys), int(np.prod(sizes))))
    return TableStructure(tuple(dims), tuple(keys), tuple(atom_keys), matrix, tuple(totals[d] for d in dims))
