"""Dataset schemas: column roles, dtypes and public code lists.

A :class:`DatasetSchema` is public description (zone 1 in DESIGN.md): it holds
column names, roles and *public* code lists, never data. Tables are built over
the public code lists, so empty cells appear as zeros instead of vanishing.

Roles
-----
``UNIT``
    The unit of disclosure control (``PNR`` for persons, ``CVR`` for
    enterprises). Thresholds count distinct values of this column.
``KEY``
    Any other identifier or linking key (``FAMILIE_ID``, ``BOPIKOM``,
    ``MOR_ID``). Keys are microdata even without the unit column and are
    never released.
``DIMENSION``
    A grouping variable with a (public) code list.
``MEASURE``
    A numeric variable that is summed, averaged or modelled.
``WEIGHT``
    A survey or calibration weight.
``TIME``
    A period column (year), also usable as a dimension.
``OTHER``
    Anything else (dates, free text). Never released as such.

Examples
--------
>>> s = DatasetSchema.of(
...     Column("PNR", ColumnRole.UNIT),
...     Column("KOM", ColumnRole.DIMENSION, codes=("101", "851")),
...     Column("LOENMV_13", ColumnRole.MEASURE),
... )
>>> s.unit
'PNR'
>>> s["KOM"].codes
('101', '851')
>>> s.key_columns()
('PNR',)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kit.errors import SchemaError

__all__ = ["KEY_NAME_PATTERNS", "Column", "ColumnRole", "DatasetSchema", "looks_like_key"]


class ColumnRole(enum.Enum):
    """What a column is for (see the module docs)."""

    UNIT = "unit"
    KEY = "key"
    DIMENSION = "dimension"
    MEASURE = "measure"
    WEIGHT = "weight"
    TIME = "time"
    OTHER = "other"


#: Upper-case name fragments that mark identifier columns on DST's server (person numbers,
#: enterprise and workplace numbers, family and address keys, and their pseudonymised forms).
KEY_NAME_PATTERNS: tuple[str, ...] = (
    "PNR",
    "CPR",
    "CVR",
    "CVRNR",
    "ARBNR",
    "LBNR",
    "RAS_ARBNR",
    "FAMILIE_ID",
    "MOR_ID",
    "FAR_ID",
    "BOPIKOM",
    "BOPAEL",
    "ADRESSE",
    "KOEKEY",
    "E_FAMILIE_ID",
    "DST_BOLIGMATCH",
)


def looks_like_key(name: str) -> bool:
    """Whether a column name looks like a DST identifier (case-insensitive).

    >>> looks_like_key("pnr"), looks_like_key("V_PNR_ENCRYPTED"), looks_like_key("KOM")
    (True, True, False)
    """
    upper = name.upper()
    return any(pattern in upper for pattern in KEY_NAME_PATTERNS)


@dataclass(frozen=True)
class Column:
    """One column of a dataset schema.

    Parameters
    ----------
    name
        Column name as it appears in the (normalised) data.
    role
        What the column is for.
    dtype
        Optional dtype name (``"int64"``, ``"category"``, ``"string"``); informational.
    codes
        The public code list of a dimension, in display order. ``None`` means
        "no public list": only observed categories are used.
    labels
        Optional display labels per code.
    """

    name: str
    role: ColumnRole
    dtype: str | None = None
    codes: tuple[str, ...] | None = None
    labels: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.name:
            raise SchemaError("schema", "a column has an empty name", "give every column a name")
        if self.codes is not None:
            codes = tuple(str(c) for c in self.codes)
            if len(set(codes)) != len(codes):
                raise SchemaError(
                    f"schema column '{self.name}'",
                    "the code list has duplicate codes",
                    "list each code once",
                )
            object.__setattr__(self, "codes", codes)

    def label(self, code: str) -> str:
        """Display label of a code (the code itself when no label is given)."""
        return dict(self.labels).get(code, code)


@dataclass(frozen=True)
class DatasetSchema:
    """An ordered, frozen set of columns with roles.

    Use :meth:`of` to build one. At most one ``UNIT`` column is allowed.
    """

    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise SchemaError("schema", "a column name appears twice", "give each column once")
        units = [c.name for c in self.columns if c.role is ColumnRole.UNIT]
        if len(units) > 1:
            raise SchemaError(
                "schema",
                f"{len(units)} columns have the role UNIT ({', '.join(units)})",
                "declare one unit column; mark the other identifiers as KEY",
            )

    @classmethod
    def of(cls, *columns: Column) -> DatasetSchema:
        """Build a schema from columns."""
        return cls(tuple(columns))

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise SchemaError(
            "schema",
            f"no column named '{name}'",
            f"use one of: {', '.join(c.name for c in self.columns)}",
        )

    @property
    def unit(self) -> str | None:
        """Name of the unit column, if declared."""
        for column in self.columns:
            if column.role is ColumnRole.UNIT:
                return column.name
        return None

    def names(self, role: ColumnRole | None = None) -> tuple[str, ...]:
        """Column names, optionally only those with one role."""
        return tuple(c.name for c in self.columns if role is None or c.role is role)

    def key_columns(self) -> tuple[str, ...]:
        """Names of all identifier columns (unit and keys): never releasable."""
        return tuple(c.name for c in self.columns if c.role in (ColumnRole.UNIT, ColumnRole.KEY))

    def with_columns(self, columns: Iterable[Column]) -> DatasetSchema:
        """A new schema with columns added or replaced by name."""
        new = {c.name: c for c in self.columns}
        for column in columns:
            new[column.name] = column
        return DatasetSchema(tuple(new.values()))
