"""Exchange cell statuses with tau-Argus and sdcTable (one-letter codes).

Codes: ``s`` safe, ``u`` primary, ``x`` secondary, ``z`` forced public, ``w``
never public (see :class:`kit.core.status.CellStatus`).

Examples
--------
>>> import pandas as pd
>>> from kit.protect.structure import Dimension, TableStructure
>>> s = TableStructure.from_dimensions([Dimension("g", ("a", "b"))])
>>> df = pd.DataFrame({"g": ["b", "Total", "a"], "sdc": ["x", "s", "U"]})
>>> [st.code for st in read_status_codes(df, "sdc", s)]
['s', 'u', 'x']
>>> write_status_codes(s, read_status_codes(df, "sdc", s))["status"].tolist()
['s', 'u', 'x']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kit.core.status import CellStatus
from kit.errors import SchemaError
from kit.protect.structure import TableStructure

__all__ = ["read_status_codes", "write_status_codes"]


def read_status_codes(frame: pd.DataFrame, column: str, structure: TableStructure | None = None
                      ) -> np.ndarray:
    """Statuses from a column of codes; in the structure's cell order when one is given.

    Without a structure the statuses follow the frame's row order.
    """
    if column not in frame.columns:
        raise SchemaError("status codes", f"column {column!r} is not in the data", "check the column name")
    codes = frame[column].astype(str).tolist()
    parsed = np.array([CellStatus.from_code(c) for c in codes], dtype=object)
    if structure is None:
        return parsed
    pos = structure.positions(frame)
    if len(np.unique(pos)) != len(pos) or len(pos) != structure.n_cells:
        raise SchemaError("status codes", "the frame does not have exactly one row per cell",
                          "give one status per cell of the table")
    out = np.empty(structure.n_cells, dtype=object)
    out[pos] = parsed
    return out


def write_status_codes(structure: TableStructure, statuses: Sequence[CellStatus] | np.ndarray,
                       column: str = "status") -> pd.DataFrame:
    """A long frame: dimension columns and one code per cell (for tau-Argus / sdcTable)."""
    return structure.to_frame(**{column: [CellStatus(s).code if not isinstance(s, CellStatus) else s.code
                                          for s in statuses]})
