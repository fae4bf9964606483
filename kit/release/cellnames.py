"""Cells of recorded outputs named by their codes, for the differencing findings (no units, no values).

The differencing registry (:mod:`kit.release.registry`) keeps the cells of every output by index.
To name a finding the way an output checker reads a table (``employment_by_kom [KOM=K3, KON=2]``
vs ``income_all [KOM=K3]``), it records beside every output a small sidecar: the output's dimension
names and, per cell in the registry's order, its codes and a label (``numerator`` for the units with
the attribute of a rate, or the statistic label of an estimate). Codes of a released table are
public (the released file shows every cell, suppressed or not); the sidecar never holds a unit
key, a count or a value.

Examples
--------
>>> codes = CellCodes(("KOM", "KON"), (("K3", "2"), ("K3", "Total")), ("", "numerator"))
>>> str(codes.name("employment_by_kom", 0))
'employment_by_kom [KOM=K3, KON=2]'
>>> str(codes.name("employment_by_kom", 1))
'employment_by_kom [KOM=K3, KON=Total] (numerator)'
>>> CellCodes.from_bytes(codes.to_bytes()) == codes
True
>>> str(CellName("mean_income", (), "mean income"))
'mean_income [mean income]'
>>> link = NamedLink((CellName("a", (("KOM", "K3"),)),), (CellName("b", (("R", "1"),)), CellName("b", (("R", "2"),))))
>>> str(link)
'a [KOM=K3] vs the sum of b [R=1] + [R=2]'
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kit.errors import KitInternalError

__all__ = ["CellCodes", "CellName", "NamedLink", "describe_links"]

_FORMAT = 1


@dataclass(frozen=True)
class CellName:
    """One cell of one output: the output's name, (dimension, code) pairs and a label."""

    output: str
    codes: tuple[tuple[str, str], ...] = ()
    label: str = ""

    def coordinates(self) -> str:
        """The cell without its output's name: ``[KOM=K3, KON=2]`` (``[label]`` for an estimate)."""
        if not self.codes:
            return f"[{self.label}]" if self.label else "[the output]"
        inner = "[" + ", ".join(f"{d}={c}" for d, c in self.codes) + "]"
        return f"{inner} ({self.label})" if self.label else inner

    def __str__(self) -> str:
        return f"{self.output} {self.coordinates()}"

    def as_dict(self) -> dict[str, Any]:
        """For ``checker.json``."""
        return {"output": self.output, "codes": {d: c for d, c in self.codes}, "label": self.label,
                "text": str(self)}


def _side(names: Sequence[CellName]) -> str:
    if not names:
        return "(no cell of the other output shares its units)"
    if len(names) == 1:
        return str(names[0])
    outputs = {n.output for n in names}
    if len(outputs) == 1:
        return f"the sum of {names[0].output} " + " + ".join(n.coordinates() for n in names)
    return "the sum of " + " + ".join(str(n) for n in names)


@dataclass(frozen=True)
class NamedLink:
    """Cells of two outputs whose difference is risky: one cell (or the sum of cells of one layer) each."""

    a: tuple[CellName, ...]
    b: tuple[CellName, ...]

    def __str__(self) -> str:
        return f"{_side(self.a)} vs {_side(self.b)}"

    def as_dict(self) -> dict[str, Any]:
        """For ``checker.json``."""
        return {"cells": [n.as_dict() for n in self.a], "other_cells": [n.as_dict() for n in self.b],
                "text": str(self)}


def describe_links(links: Sequence[NamedLink], limit: int = 5) -> str:
    """The first ``limit`` links as one line (with how many more there are).

    >>> describe_links([NamedLink((CellName("a"),), (CellName("b"),))] * 3, limit=2)
    'a [the output] vs b [the output]; a [the output] vs b [the output] and 1 more'
    """
    shown = "; ".join(str(k) for k in links[:limit])
    more = f" and {len(links) - limit} more" if len(links) > limit else ""
    return shown + more


class CellCodes:
    """The codes of every cell of one recorded output, in the registry's cell order.

    Parameters
    ----------
    dims
        The output's dimension names (empty for an estimate).
    codes
        Per cell, one code per dimension (empty tuples for an estimate).
    labels
        Per cell, ``""``, ``"numerator"`` (a rate's units with the attribute) or an estimate's
        statistic label.

    A stored sidecar (:meth:`stored`) is parsed only when a cell is named: the registry reads and
    checks the digest of every sidecar it compares, but names cells only of risky pairs.
    """

    __slots__ = ("_data", "_parsed")

    def __init__(self, dims: Sequence[str], codes: Sequence[Sequence[str]], labels: Sequence[str]) -> None:
        parsed = (tuple(dims), tuple(tuple(c) for c in codes), tuple(labels))
        if len(parsed[1]) != len(parsed[2]) or any(len(c) != len(parsed[0]) for c in parsed[1]):
            raise KitInternalError("cell codes: the codes do not match the dimensions or the labels")
        self._parsed: tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]] | None = parsed
        self._data: bytes | None = None

    @classmethod
    def stored(cls, data: bytes) -> CellCodes:
        """Codes read from a sidecar, parsed on first use (:meth:`from_bytes` parses at once)."""
        obj = cls.__new__(cls)
        obj._parsed, obj._data = None, data
        return obj

    def _get(self) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...]]:
        if self._parsed is None:
            parsed = CellCodes.from_bytes(self._data or b"")
            self._parsed = parsed._get()
        return self._parsed

    @property
    def dims(self) -> tuple[str, ...]:
        """The dimension names."""
        return self._get()[0]

    @property
    def codes(self) -> tuple[tuple[str, ...], ...]:
        """Per cell, its codes."""
        return self._get()[1]

    @property
    def labels(self) -> tuple[str, ...]:
        """Per cell, its label."""
        return self._get()[2]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellCodes) and self._get() == other._get()

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return f"<CellCodes: {len(self)} cell(s) over {list(self.dims)}>"

    def __len__(self) -> int:
        return len(self.labels)

    def name(self, output: str, cell: int) -> CellName:
        """The name of cell ``cell`` of ``output`` (``cell #k`` when the sidecar has no such cell)."""
        if not 0 <= cell < len(self):
            return CellName(output, (), f"cell #{cell}")
        return CellName(output, tuple(zip(self.dims, self.codes[cell], strict=True)), self.labels[cell])

    def to_bytes(self) -> bytes:
        """Gzipped JSON (deterministic: no time stamp)."""
        if self._data is not None:
            return self._data
        doc = {"format": _FORMAT, "dims": list(self.dims), "codes": [list(c) for c in self.codes],
               "labels": list(self.labels)}
        raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return gzip.compress(raw, compresslevel=6, mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> CellCodes:
        """Read :meth:`to_bytes` (raises :class:`ValueError` on anything else)."""
        try:
            doc = json.loads(gzip.decompress(data).decode("utf-8"))
            if not isinstance(doc, Mapping) or doc.get("format") != _FORMAT:
                raise ValueError("not a cell-codes file")
            dims = tuple(str(d) for d in doc["dims"])
            codes = tuple(tuple(str(c) for c in row) for row in doc["codes"])
            labels = tuple(str(x) for x in doc["labels"])
            return cls(dims, codes, labels)
        except (KitInternalError, KeyError, TypeError, OSError, EOFError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a cell-codes file ({type(exc).__name__})") from None
