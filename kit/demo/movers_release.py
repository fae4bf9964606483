"""The movers-out's labour-market attachment as one releasable table (E7, issue 25).

The movers-out's groups are small (a treated area's movers who came back are a dozen persons),
and two rate tables over the same movers (employment, public support) leak by difference: each
table on its own suppresses one of two cells whose populations differ by one person (Kildeparken's
back-movers of 2016 and 2017, say), but not the same one, so together they publish both. The
differencing registry refuses that pair, rightly.

The attachment is therefore released as **one categorical distribution per cell**: one rate table
with rows area x destination x status and a column per year, in which the four status shares of a
cell (employed, unemployed, on public support, outside; :func:`kit.demo.outcomes.mover_attachment`)
partition the cell's movers. :func:`attachment_table` protects it in two steps, both through the
kit's own rules (the table rules decide every primary suppression; the demo only widens them):

1. **complements**: a cell with any share suppressed by the table rules (fewer than 3 persons in a
   status, or fewer than 3 outside it) is suppressed whole, so no share follows from the others as
   one minus their sum;
2. **differences**: no two published cells, of this table or of the outputs published beside it
   (the employment difference of the movers), count populations that differ by 1 to ``t - 1``
   persons (``t`` the rule set's differencing threshold); of such a pair the smaller cell of this
   table is suppressed whole, until none is left. Suppressed outputs' numerators count as
   published-elsewhere populations a published cell may not equal.

Both steps mark cells ``never`` (:meth:`kit.Session.table`), so the release writer re-derives the
same statuses, and the registry, which stays on, checks the result against every other output.

Examples
--------
>>> import numpy as np
>>> risky_difference(np.array([1, 2, 3], dtype=np.uint64), np.array([1, 2], dtype=np.uint64), 3)
True
>>> risky_difference(np.array([1, 2, 3], dtype=np.uint64), np.array([1, 2, 3], dtype=np.uint64), 3)
False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kit.demo.outcomes import Attachment

__all__ = ["STATUS_DIM", "attachment_table", "distribution_table", "risky_difference"]

#: The dimension holding the attachment group in the table.
STATUS_DIM = "status"

_Cell = tuple[str, ...]


def risky_difference(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64], threshold: int,
                     b_published: bool = True) -> bool:
    """Whether two populations (sorted distinct unit keys) differ by too few units.

    Both published: ``1 <= |a ^ b| <= threshold - 1``; ``b`` suppressed: ``|a ^ b| <= threshold - 1``
    (publishing ``a`` would reveal ``b``). Populations that share no unit are never risky.
    """
    if abs(len(a) - len(b)) > threshold - 1:  # |a ^ b| >= ||a| - |b||
        return False
    common = len(np.intersect1d(a, b, assume_unique=True))
    if common == 0:
        return False
    d = len(a) + len(b) - 2 * common
    return d <= threshold - 1 and (d >= 1 or not b_published)


def _populations(frame: pd.DataFrame, unit: str, cell_dims: Sequence[str]) -> dict[_Cell, npt.NDArray[np.uint64]]:
    from kit.core.populations import sorted_unique, unit_keys

    keyed = pd.DataFrame({**{d: frame[d].astype(str).to_numpy() for d in cell_dims}, "key": unit_keys(frame[unit])})
    return {tuple(str(v) for v in (k if isinstance(k, tuple) else (k,))): sorted_unique(g["key"].to_numpy())
            for k, g in keyed.groupby(list(cell_dims), sort=True)}


def _others(outputs: Sequence[Any]) -> list[tuple[npt.NDArray[np.uint64], bool, bool]]:
    """(keys, published, attribute) of every population the other outputs record."""
    from kit.core.populations import ELEMENTS_SUFFIX, table_population_map

    out = []
    for o in outputs:
        is_table = hasattr(o, "evidence") and getattr(o, "unit_populations", None) is not None
        mapping: Mapping[str, Any] | None = table_population_map(o) if is_table else o.populations()
        for label, keys in (mapping or {}).items():
            bare = str(label).removesuffix(" suppressed")
            if bare.endswith(ELEMENTS_SUFFIX):
                continue  # (unit, contribution) rows: compared by the release's registry, not here
            published = not str(label).endswith(" suppressed")
            attribute = bare.endswith(" numerator")
            out.append((np.asarray(keys, dtype=np.uint64), published, attribute))
    return out


def suppressed_cells(table: Any, cell_dims: Sequence[str]) -> set[_Cell]:
    """Cells (one code per cell dimension) with at least one share suppressed."""
    cells = table.evidence.cells
    statuses = table.assessment.statuses
    inner = ~cells["is_margin"].to_numpy(dtype=bool)
    return {tuple(str(cells.at[i, d]) for d in cell_dims) for i in np.flatnonzero(inner) if statuses[i].suppressed}


def distribution_table(session: Any, frame: pd.DataFrame, *, column: str, groups: Sequence[str],
                       rows: Sequence[str], cols: str, codes: Mapping[str, Sequence[str]],
                       published_elsewhere: Sequence[Any], name: str, title: str,
                       notes: Sequence[str]) -> Any:
    """One categorical distribution per cell as a rate table, published whole or not at all.

    Parameters
    ----------
    session
        The :class:`kit.Session`.
    frame
        One row per unit and cell: the unit column, the cell dimensions (``rows`` and ``cols``
        without :data:`STATUS_DIM`) and ``column``, the unit's group (one of ``groups``).
    column, groups
        The group column and its codes (they partition every cell).
    rows, cols
        The table's row dimensions (including :data:`STATUS_DIM`) and column dimension.
    codes
        Code lists of the cell dimensions (:data:`STATUS_DIM` gets ``groups``).
    published_elsewhere
        Private results released beside the table (their populations protocol is read).
    name, title, notes
        Output name, title and notes.

    Returns
    -------
    kit.core.table.Table
        The private table; every cell is published whole (all shares) or not at all, and no two
        published cells, nor a published cell and a population of ``published_elsewhere``, differ
        by 1 to ``t - 1`` units.
    """
    from kit.release.registry import threshold_of

    cell_dims = [d for d in (*rows, cols) if d != STATUS_DIM]
    long = pd.concat([frame.assign(**{STATUS_DIM: g, "share": (frame[column] == g).astype(np.int8)})
                      for g in groups], ignore_index=True)
    all_codes = {**{d: list(v) for d, v in codes.items()}, STATUS_DIM: list(groups)}

    def evaluate(never: Sequence[tuple[str, ...]]) -> Any:
        return session.table(long, rows=list(rows), cols=cols, stat="rate", measure="share", codes=all_codes,
                             never=never, name=name, title=title, notes=notes)

    first = evaluate(())
    blocked = suppressed_cells(first, cell_dims)
    t = threshold_of(session.rules)
    pops = _populations(frame, session.unit, cell_dims)
    by_group = [_populations(frame[frame[column] == g], session.unit, cell_dims) for g in groups]
    numerators = {c: [p[c] for p in by_group if c in p] for c in pops}
    others = _others(published_elsewhere)
    changed = True
    while changed:
        changed = False
        published = sorted((c for c in pops if c not in blocked), key=lambda c: (len(pops[c]), c))
        for k, c in enumerate(published):
            mine = pops[c]
            # against the other outputs: this cell's population and its numerators
            bad = any(risky_difference(mine, keys, t, pub) for keys, pub, _ in others) or any(
                risky_difference(num, keys, t, pub)
                for num in numerators[c] for keys, pub, attr in others if not attr)
            # against this table's larger published cells (the smaller of a pair goes)
            bad = bad or any(risky_difference(mine, pops[o], t) for o in published[k + 1:])
            if bad:
                blocked.add(c)
                changed = True
                break
    if not blocked:
        return first
    dims = [*rows, cols]
    never = []
    for cell in sorted(blocked):
        where = dict(zip(cell_dims, cell))
        for g in groups:
            where[STATUS_DIM] = g
            never.append(tuple(where[d] for d in dims))
    table = evaluate(never)
    if suppressed_cells(table, cell_dims) != blocked:  # fail closed: the statuses must be the ones decided here
        from kit.errors import KitInternalError

        raise KitInternalError(f"{name}: the suppressed cells differ from the protection's")
    return table


def attachment_table(session: Any, movers: pd.DataFrame, codes: Mapping[str, Sequence[str]], *,
                     published_elsewhere: Sequence[Any], name: str, title: str, notes: Sequence[str]) -> Any:
    """The movers' attachment shares, one rate table protected as a whole (see the module docstring).

    ``movers`` are rows of :func:`kit.demo.outcomes.movers_frame` (``attachment`` per person and
    year); ``codes`` the code lists of ``area``, ``destination`` and ``year``; the rest as
    :func:`distribution_table`.
    """
    return distribution_table(session, movers, column="attachment", groups=[a.value for a in Attachment],
                              rows=["area", "destination", STATUS_DIM], cols="year", codes=codes,
                              published_elsewhere=published_elsewhere, name=name, title=title, notes=notes)
