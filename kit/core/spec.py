"""Table specifications: frozen, data-free, hashable descriptions.

A :class:`TableSpec` says *what* to compute; a :class:`~kit.session.Session`
evaluates it against microdata. Specs are public (zone 1): safe to print, log,
hash and store. The fingerprint (SHA-256 of the canonical JSON form) goes into
every output's provenance.

Examples
--------
>>> spec = TableSpec(dims=("KOM", "year"), statistic=Statistic.COUNT, name="residents")
>>> spec.fingerprint == TableSpec(dims=("KOM", "year"), statistic=Statistic.COUNT,
...                               name="residents").fingerprint
True
>>> TableSpec(dims=("KOM",), statistic=Statistic.MEAN)
Traceback (most recent call last):
...
kit.errors.SpecError: table: a mean needs a measure column. Fix: pass measure="COLUMN"
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from kit.core.spec_types import Statistic, UnitType
from kit.errors import SpecError

__all__ = ["Statistic", "TableSpec", "UnitType", "as_dims", "safe_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


def safe_name(name: str, where: str = "output name") -> str:
    """Check an output name: letters, digits, ``_`` and ``-``, at most 64 characters.

    >>> safe_name("employment_rate")
    'employment_rate'
    """
    if not _NAME.match(name):
        raise SpecError(where, f"{name!r} is not a safe name",
                        "use letters, digits, '_' and '-' only (at most 64 characters), starting "
                        "with a letter or digit")
    return name


@dataclass(frozen=True)
class TableSpec:
    """A frequency or magnitude table.

    Parameters
    ----------
    dims
        Grouping columns, in order (rows first, then columns).
    statistic
        ``count`` (distinct units), ``sum``, ``mean`` or ``rate`` (share of a 0/1 measure).
    measure
        The measure column (required for sum, mean and rate).
    weight
        Optional weight column: estimates are weighted, thresholds stay on unweighted
        distinct units.
    margins
        Publish totals over every dimension (requires secondary suppression).
    codes
        Public code list per dimension, as ``((dim, (code, ...)), ...)`` or a mapping;
        cells are built over it so empty cells appear.
    structural_zeros
        Cells (tuples of codes) that are empty by definition and may be published.
    attributes
        Dimensions that are attributes of the unit (employment status, diagnosis):
        group disclosure is checked along them.
    forced, never
        Cells the caller forces public / forbids publishing.
    name, title
        Output name (safe file name) and display title.
    population
        Public description of the population (for provenance and the differencing registry).
    """

    dims: tuple[str, ...]
    statistic: Statistic
    measure: str | None = None
    weight: str | None = None
    margins: bool = False
    codes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    structural_zeros: tuple[tuple[str, ...], ...] = ()
    attributes: tuple[str, ...] = ()
    forced: tuple[tuple[str, ...], ...] = ()
    never: tuple[tuple[str, ...], ...] = ()
    name: str = "table"
    title: str = ""
    population: str = ""
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        dims = tuple(self.dims) if not isinstance(self.dims, str) else (self.dims,)
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "statistic", Statistic.parse(self.statistic, "table statistic"))
        if not dims:
            raise SpecError("table", "no dimensions were given", "pass rows=... (and cols=...)")
        if len(set(dims)) != len(dims):
            raise SpecError("table", "a dimension is listed twice", "list each dimension once")
        if len(dims) > 4:
            raise SpecError("table", f"{len(dims)} dimensions were given; the kit supports 1 to 4",
                            "split the table into several tables")
        stat = self.statistic
        if stat in (Statistic.SUM, Statistic.MEAN, Statistic.RATE) and not self.measure:
            raise SpecError("table", f"a {stat.value} needs a measure column", 'pass measure="COLUMN"')
        if stat is Statistic.COUNT and self.measure:
            raise SpecError("table", "a count takes no measure", "leave measure out or use stat='sum'")
        if stat not in (Statistic.COUNT, Statistic.SUM, Statistic.MEAN, Statistic.RATE):
            raise SpecError("table", f"a table cannot hold the statistic '{stat.value}'",
                            "use count, sum, mean or rate (quantiles: kit.estimate.safe_quantiles)")
        if self.measure in dims or self.weight in dims:
            raise SpecError("table", "the measure or weight is also a dimension", "use different columns")
        codes = self.codes
        if isinstance(codes, Mapping):
            codes = tuple((str(k), tuple(str(c) for c in v)) for k, v in codes.items())
        else:
            codes = tuple((str(k), tuple(str(c) for c in v)) for k, v in codes)
        unknown = [k for k, _ in codes if k not in dims]
        if unknown:
            raise SpecError("table", f"code lists were given for non-dimensions {unknown}",
                            "give code lists only for the table's dimensions")
        object.__setattr__(self, "codes", codes)
        for attr in ("structural_zeros", "forced", "never"):
            cells = tuple(tuple(str(c) for c in cell) for cell in getattr(self, attr))
            bad = [c for c in cells if len(c) != len(dims)]
            if bad:
                raise SpecError("table", f"{len(bad)} cell(s) in '{attr}' do not have one code per dimension",
                                f"give tuples of {len(dims)} codes")
            object.__setattr__(self, attr, cells)
        missing_attr = [a for a in self.attributes if a not in dims]
        if missing_attr:
            raise SpecError("table", f"attributes {missing_attr} are not dimensions of the table",
                            "name attribute dimensions that are in dims")
        object.__setattr__(self, "attributes", tuple(self.attributes))
        object.__setattr__(self, "notes", tuple(self.notes))
        safe_name(self.name, "table name")

    def code_list(self, dim: str) -> tuple[str, ...] | None:
        """The public code list of a dimension, if given."""
        return dict(self.codes).get(dim)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON form of the spec."""
        doc = asdict(self)
        doc["statistic"] = self.statistic.value
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_dims(rows: str | Sequence[str], cols: str | Sequence[str] | None) -> tuple[str, ...]:
    """Rows and columns as one tuple of dimensions.

    >>> as_dims("KOM", "year")
    ('KOM', 'year')
    >>> as_dims(["KOM", "KOEN"], None)
    ('KOM', 'KOEN')
    """
    out: list[str] = [rows] if isinstance(rows, str) else list(rows)
    if cols is not None:
        out.extend([cols] if isinstance(cols, str) else list(cols))
    return tuple(out)

