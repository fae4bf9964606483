from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kit.errors import SchemaError, SpecError
from kit.protect import Dimension, Hierarchy, TableStructure, link


def test_hierarchy_from_hrc_and_parents_agree():
    text = "R1\n@M1\n@M2\nR2\n@M3\n"
    h = Hierarchy.from_hrc(text)
    assert h.leaves == ("M1", "M2", "M3")
    assert h.leaves_under("Total") == ("M1", "M2", "M3")
    assert h.depth("M3") == 2


def test_hierarchy_rejects_bad_input():
    with pytest.raises(SpecError):
        Hierarchy.from_hrc("R1\n@@M1\n")
    with pytest.raises(SpecError):
        Hierarchy.from_parents({"a": "b", "b": "a"}, root="T")


def test_structure_with_hierarchy_and_duplicates():
    h = Hierarchy.from_parents({"R1": "Total", "M1": "R1", "M2": "R1", "R2": "Total", "M3": "R2"})
    s = TableStructure.from_dimensions([Dimension("geo", hierarchy=h), Dimension("sex", ("F", "M"))])
    assert s.n_atoms == 6
    assert s.n_cells == 6 * 3
    # R2 has one child: (R2, x) duplicates (M3, x)
    assert s.canonical[s.index(("M3", "F"))] == s.index(("R2", "F"))
    assert len(s.atoms_of(s.index(("Total", "Total")))) == 6


def test_from_frame_and_align():
    df = pd.DataFrame({"g": ["Total", "a", "b", "Total", "a", "b"], "s": ["T"] * 3 + ["x"] * 3,
                       "v": [1, 2, 3, 4, 5, 6]})
    s = TableStructure.from_frame(df, ["g", "s"], total_label="T")
    assert s.dims == ("g", "s")
    with pytest.raises(SchemaError):
        TableStructure.from_frame(df, ["g", "nope"])
    v = s.align(df.iloc[::-1], "v", fill=0)
    assert v[s.index(("b", "x"))] == 6


def test_link_merges_shared_margins():
    s1 = TableStructure.from_dimensions([Dimension("geo", ("A", "B")), Dimension("year", ("1", "2"))])
    s2 = TableStructure.from_dimensions([Dimension("geo", ("A", "B")), Dimension("sex", ("F", "M"))])
    s = link([s1, s2])
    assert s.index(("A", "Total", "Total")) >= 0
    # the geo margin appears once
    assert sum(1 for k in s.keys if k[1:] == ("Total", "Total")) == 3
    m = s.matrix.toarray()
    assert np.all(m.sum(axis=1) >= 2)  # every cell of a linked table sums latent atoms


def test_link_rejects_different_leaves():
    s1 = TableStructure.from_dimensions([Dimension("geo", ("A", "B"))])
    s2 = TableStructure.from_dimensions([Dimension("geo", ("A", "C"))])
    with pytest.raises(SpecError):
        link([s1, s2])
