"""Column-name normalisation: one case, and renames over time from a data file.

Every column name is stripped and upper-cased, then renamed with the table in
``kit/registers/data/renames.toml`` (``SOCSTIL_KODE`` becomes
``SOC_STATUS_KODE``). A project can add its own renames.

Examples
--------
>>> names = NameMap.default()
>>> names.canonical("socstil_kode", "ras")
'SOC_STATUS_KODE'
>>> names.canonical(" Pnr ", "bef")
'PNR'
>>> names.resolve(["pnr", "Kom", "ALDER"], "bef", where="bef2018.csv")
{'PNR': 'pnr', 'KOM': 'Kom', 'ALDER': 'ALDER'}
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kit.errors import SchemaError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["RENAMES_RESOURCE", "NameMap"]

#: Package-relative location of the renames data file.
RENAMES_RESOURCE = "data/renames.toml"

_SUPPORTED_SCHEMA_VERSION = 1


def _upper(name: str) -> str:
    return str(name).strip().upper()


def _load_toml_text(text: str, where: str) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = tomllib.loads(text)
        return loaded
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(where, "is not valid TOML", "fix the syntax of the renames file") from exc


def _str_table(table: object, where: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise SchemaError(where, "must be a table of OLD = \"NEW\" entries", "see docs/registers.md")
    out: dict[str, str] = {}
    for old, new in table.items():
        if not isinstance(new, str):
            raise SchemaError(where, f"the rename of '{old}' is not a string", "write OLD = \"NEW\"")
        out[_upper(old)] = _upper(new)
    return out


@dataclass(frozen=True)
class NameMap:
    """Renames (all registers and per register) and the known code columns.

    Parameters
    ----------
    common
        ``(old, new)`` pairs applied to every register.
    per_register
        ``(register, ((old, new), ...))`` pairs; they win over ``common``.
    codes
        Names (after renaming) of columns that hold codes.
    """

    common: tuple[tuple[str, str], ...] = ()
    per_register: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    codes: tuple[str, ...] = ()

    @classmethod
    def from_toml_text(cls, text: str, where: str = "renames file") -> NameMap:
        """Parse the renames file format (see ``kit/registers/data/renames.toml``)."""
        data = _load_toml_text(text, where)
        version = data.get("schema_version", _SUPPORTED_SCHEMA_VERSION)
        if version != _SUPPORTED_SCHEMA_VERSION:
            raise SchemaError(
                where,
                f"schema_version {version} is not supported",
                f"use schema_version = {_SUPPORTED_SCHEMA_VERSION}",
            )
        unknown = set(data) - {"schema_version", "all", "register", "codes"}
        if unknown:
            raise SchemaError(
                where,
                f"unknown keys: {', '.join(sorted(unknown))}",
                "use only schema_version, [all], [register.<name>] and [codes]",
            )
        common = _str_table(data.get("all", {}), f"{where} [all]")
        registers = data.get("register", {})
        if not isinstance(registers, Mapping):
            raise SchemaError(where, "[register] must hold tables", "write [register.<name>]")
        per = tuple(
            (str(reg).lower(), tuple(sorted(_str_table(table, f"{where} [register.{reg}]").items())))
            for reg, table in sorted(registers.items())
        )
        codes_table = data.get("codes", {})
        codes = codes_table.get("columns", []) if isinstance(codes_table, Mapping) else None
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise SchemaError(where, "[codes] columns must be a list of names", 'write columns = ["KOM"]')
        return cls(tuple(sorted(common.items())), per, tuple(_upper(c) for c in codes))

    @classmethod
    def default(cls) -> NameMap:
        """The renames shipped with the kit."""
        text = resources.files("kit.registers").joinpath(RENAMES_RESOURCE).read_text(encoding="utf-8")
        return cls.from_toml_text(text, "kit renames file")

    @classmethod
    def build(cls, extra: Mapping[str, str] | str | os.PathLike[str] | None = None) -> NameMap:
        """The shipped renames plus a project's own (a mapping or a TOML file path).

        >>> NameMap.build({"old_kom": "KOM"}).canonical("OLD_KOM", "bef")
        'KOM'
        """
        base = cls.default()
        if extra is None:
            return base
        if isinstance(extra, Mapping):
            more = cls(tuple(sorted(_str_table(extra, "renames").items())))
        else:
            path = Path(extra)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise SchemaError(
                    f"renames file {path.name}", "cannot be read", "check the path"
                ) from exc
            more = cls.from_toml_text(text, f"renames file {path.name}")
        return base.merged(more)

    def merged(self, other: NameMap) -> NameMap:
        """A new map with ``other``'s entries added (``other`` wins)."""
        common = dict(self.common) | dict(other.common)
        per = {reg: dict(pairs) for reg, pairs in self.per_register}
        for reg, pairs in other.per_register:
            per[reg] = per.get(reg, {}) | dict(pairs)
        return NameMap(
            tuple(sorted(common.items())),
            tuple((reg, tuple(sorted(p.items()))) for reg, p in sorted(per.items())),
            tuple(dict.fromkeys(self.codes + other.codes)),
        )

    def canonical(self, name: str, register: str) -> str:
        """The normalised name of a column of ``register``."""
        upper = _upper(name)
        for reg, pairs in self.per_register:
            if reg == register.lower():
                specific = dict(pairs)
                if upper in specific:
                    return specific[upper]
        return dict(self.common).get(upper, upper)

    def is_code(self, canonical_name: str) -> bool:
        """Whether a (normalised) column is a known code column."""
        return canonical_name in self.codes

    def resolve(self, actual: Iterable[str], register: str, *, where: str) -> dict[str, str]:
        """Map normalised names to the names as they are in a file.

        Raises
        ------
        SchemaError
            When two columns of the file normalise to the same name.
        """
        out: dict[str, str] = {}
        for name in actual:
            canon = self.canonical(name, register)
            if canon in out:
                raise SchemaError(
                    where,
                    f"columns '{out[canon]}' and '{name}' both mean '{canon}' after upper-casing "
                    "and renaming",
                    "drop one of them from the file or remove the rename",
                )
            out[canon] = name
        return out
