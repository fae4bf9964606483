"""Strict loader for rule-set files and the :class:`RuleSet` record.

A rule-set file is TOML::

    schema_version = 1
    id = "dst"
    version = "2025.1"
    description = "..."

    [release]
    file_types = ["html", "xlsx", "png", "svg", "txt"]
    suppressed_symbol = "x"
    note_suppressed = "x: not shown to protect confidentiality."

    [[rules]]
    id = "dst-min-units"
    kind = "threshold"
    min_units = 3
    applies_to = ["count", "sum", "mean", "rate"]
    rationale = "..."
    source = "..."

Everything is checked: an unknown top-level key, rule key, kind, statistic or
enum value, a wrong type or an out-of-range number is a :class:`RuleSetError`
naming the file, the rule and the key. The fingerprint is the SHA-256 of the
canonical JSON form of the validated content (sorted keys, no whitespace), so
comments and layout do not change it but any parameter does. It is a property
computed from the content every time it is read, never a stored field: a rule
set changed with ``dataclasses.replace`` carries the fingerprint of what it now
says.

Names and paths
---------------
A name without a path separator and without ``.toml`` is looked up among the
shipped sets only (a file or folder called ``dst`` in the working folder is
never read in its place); anything else is a path. The ids of the shipped sets
are reserved: a rule set whose id is a shipped id must have exactly the
shipped content, or it is refused. Every numeric parameter must be finite and
within its documented range (NaN and infinity are refused).

Examples
--------
>>> rs = load_rule_set("dst")
>>> rs.id, rs.min_units()
('dst', 3)
>>> len(rs.fingerprint)
64
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import math
import os
import sys
import typing
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.core.rules.model import PARAMS_BY_KIND, Rule, RuleKind, RuleParams
from kit.core.spec_types import Statistic
from kit.errors import RuleSetError
from kit.resources import rules_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "SCHEMA_VERSION",
    "ReleasePolicy",
    "RuleSet",
    "list_rule_sets",
    "load_rule_set",
    "shipped_fingerprint",
    "verify_rule_set",
]

#: The rule-file schema version this kit reads.
SCHEMA_VERSION = 1

_TOP_KEYS = {"schema_version", "id", "version", "description", "release", "rules"}
_RELEASE_KEYS = {"file_types", "suppressed_symbol", "note_suppressed"}
_RULE_COMMON = {"id", "kind", "applies_to", "rationale", "source"}


@dataclass(frozen=True)
class ReleasePolicy:
    """What a release under this rule set may contain and how it marks suppression."""

    file_types: tuple[str, ...]
    suppressed_symbol: str
    note_suppressed: str

    def allows(self, extension: str) -> bool:
        """Whether a file type (extension without dot, any case) may be released."""
        return extension.lower().lstrip(".") in self.file_types


@dataclass(frozen=True)
class RuleSet:
    """A validated, fingerprinted rule set. Public: safe to print and log."""

    id: str
    version: str
    description: str
    schema_version: int
    rules: tuple[Rule, ...]
    release: ReleasePolicy
    source_name: str

    def __post_init__(self) -> None:
        verify_rule_set(self)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical content, recomputed on every read (never stored)."""
        canonical = _canonical(self.id, self.version, self.description, self.release, self.rules)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def of_kind(self, kind: RuleKind, statistic: Statistic | None = None) -> tuple[Rule, ...]:
        """Rules of one kind, optionally only those applying to a statistic."""
        return tuple(
            r for r in self.rules if r.kind is kind and (statistic is None or r.applies(statistic))
        )

    def min_units(self, statistic: Statistic = Statistic.COUNT) -> int:
        """The strictest threshold for a statistic (1 when the set has none)."""
        from kit.core.rules.model import Threshold

        values = [r.params.min_units for r in self.of_kind(RuleKind.THRESHOLD, statistic)
                  if isinstance(r.params, Threshold)]
        return max(values, default=1)

    def param(self, kind: RuleKind, name: str, statistic: Statistic | None = None) -> Any:
        """The parameter of the single rule of a kind, or ``None`` when the set has none.

        Raises
        ------
        RuleSetError
            When more than one rule of the kind applies (ambiguous).
        """
        rules = self.of_kind(kind, statistic)
        if not rules:
            return None
        if len(rules) > 1:
            raise RuleSetError(
                f"rule set '{self.id}'",
                f"{len(rules)} rules of kind '{kind.value}' apply; the kit needs exactly one",
                "merge them into one rule",
            )
        return getattr(rules[0].params, name)

    def describe(self) -> str:
        """A readable description for ``kit rules show``."""
        lines = [
            f"{self.id} {self.version} (schema {self.schema_version})",
            f"fingerprint sha256:{self.fingerprint}",
            self.description,
            f"release file types: {', '.join(self.release.file_types)}",
            f"suppressed symbol: {self.release.suppressed_symbol}",
            "",
        ]
        for rule in self.rules:
            params = ", ".join(
                f"{f.name}={_display(getattr(rule.params, f.name))}"
                for f in dataclasses.fields(rule.params)
            )
            lines.append(f"- {rule.id} [{rule.kind.value}] {params}")
            lines.append(f"    applies to: {', '.join(s.value for s in rule.applies_to)}")
            lines.append(f"    {rule.rationale}")
            lines.append(f"    source: {rule.source}")
        return "\n".join(lines)


def _display(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_display(v) for v in value) + "]"
    return str(value)


def list_rule_sets() -> tuple[str, ...]:
    """Names of the rule sets shipped with the kit.

    >>> {"dst", "sacro", "sds"} <= set(list_rule_sets())
    True
    """
    return tuple(sorted(p.stem for p in rules_dir().glob("*.toml")))


@functools.lru_cache(maxsize=1)
def _shipped_fingerprints() -> tuple[tuple[str, str], ...]:
    """(id, fingerprint) of every shipped set, computed from the packaged files."""
    out = []
    for path in sorted(rules_dir().glob("*.toml")):
        raw = _read_toml(path)
        content = _parse_content(raw, path.name)
        out.append((content[0], hashlib.sha256(_canonical(*content).encode("utf-8")).hexdigest()))
    return tuple(out)


def shipped_fingerprint(rule_set_id: str) -> str | None:
    """The fingerprint of the shipped set with this id, or ``None`` when no shipped set has it.

    >>> shipped_fingerprint("dst") == load_rule_set("dst").fingerprint
    True
    >>> shipped_fingerprint("my-project") is None
    True
    """
    return dict(_shipped_fingerprints()).get(rule_set_id)


def verify_rule_set(rule_set: RuleSet) -> None:
    """Refuse a rule set that claims a shipped id with other content, or has an invalid parameter.

    Called when a :class:`RuleSet` is built (also by ``dataclasses.replace``) and by the
    release writer (which also catches ``object.__setattr__``).

    Raises
    ------
    RuleSetError
        When the id is reserved and the content differs from the shipped set, or a
        numeric parameter is not finite or out of its documented range.
    """
    where = f"rule set '{rule_set.id}'"
    for rule in rule_set.rules:
        if not isinstance(rule, Rule) or not isinstance(rule.params, PARAMS_BY_KIND.get(rule.kind, ())):
            raise RuleSetError(where, "a rule is not a rule record of its kind",
                               "load rule sets with load_rule_set(); do not build them by hand")
        for fld in dataclasses.fields(rule.params):
            _check_number(getattr(rule.params, fld.name), fld.metadata, f"{where}, rule '{rule.id}'", fld.name)
    # what a reader sees: compatibility forms folded (full-width letters), invisible and punctuation
    # characters dropped ('dst\u200b', 'd\u00adst'); non-ASCII ids are refused (homoglyphs such as Cyrillic)
    text = unicodedata.normalize("NFKC", rule_set.id) if isinstance(rule_set.id, str) else ""
    if not text.isascii():
        raise RuleSetError(where, "the id has characters outside ASCII (it could pass for another set's id)",
                           "use ASCII letters, digits, '-', '_' or '.' (for example 'my-project')")
    normalised = "".join(c for c in text if c.isalnum()).lower()
    if normalised != rule_set.id and shipped_fingerprint(normalised) is not None:
        raise RuleSetError(where, f"the id looks like the reserved id of the shipped set '{normalised}'",
                           "give your own rule set its own id (for example 'my-project')")
    expected = shipped_fingerprint(rule_set.id)
    if expected is not None and rule_set.fingerprint != expected:
        raise RuleSetError(
            where,
            f"the id '{rule_set.id}' is reserved for the shipped rule set and this content differs from it",
            "give your own rule set its own id (for example 'my-project'); shipped sets cannot be changed",
        )


def _check_number(value: Any, meta: Mapping[str, Any], here: str, key: str) -> None:
    if isinstance(value, tuple):
        for v in value:
            _check_number(v, meta, here, key)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    _check_range(value, meta, here, key)


def _check_range(value: float, meta: Mapping[str, Any], here: str, key: str) -> None:
    """A parameter is finite and within its documented range (``min``/``max`` of its field)."""
    if not math.isfinite(value):
        raise RuleSetError(here, f"'{key}' is not a finite number (nan and inf switch rules off)",
                           f"write a number from {meta.get('min')} to {meta.get('max')}")
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise RuleSetError(here, f"'{key}' = {value} is out of range", f"use a value from {lo} to {hi}")


def _looks_like_path(text: str) -> bool:
    """A rule-set argument is a path only if it has a separator or ends in .toml.

    >>> _looks_like_path("dst"), _looks_like_path("./dst"), _looks_like_path("mine.toml")
    (False, True, True)
    """
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    return text.lower().endswith(".toml") or any(sep in text for sep in seps)


def _read_toml(path: Path) -> Mapping[str, Any]:
    try:
        data: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleSetError(f"rule set file {path.name}", f"cannot be read ({type(exc).__name__})",
                           "check the file's permissions and that it is UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError(f"rule set file {path.name}", f"is not valid TOML ({exc})",
                           "fix the syntax at the line named") from None


def load_rule_set(name_or_path: str | Path | RuleSet) -> RuleSet:
    """Load a shipped rule set by name, or a custom rule-set file by path.

    A bare name (no separator, no ``.toml``) is looked up among the shipped sets only; a
    :class:`RuleSet` object is verified (reserved id, finite parameters) and returned.

    Raises
    ------
    RuleSetError
        When the name is unknown, the file is unreadable, or any content is invalid.
    """
    if isinstance(name_or_path, RuleSet):
        verify_rule_set(name_or_path)
        return name_or_path
    text = str(name_or_path)
    if isinstance(name_or_path, str) and not _looks_like_path(text):
        if text not in list_rule_sets():
            raise RuleSetError(
                f"rule set '{text}'",
                "no shipped rule set has this name (a name is never read from the working folder)",
                f"use one of {', '.join(list_rule_sets())}, or give a path with a folder or a .toml "
                "ending (for example ./my-rules.toml)",
            )
        path = rules_dir() / f"{text}.toml"
    else:
        path = Path(text)
    if not path.is_file():
        raise RuleSetError(f"rule set file {path.name}", "the file does not exist or is not a file",
                           "check the path (kit rules list shows the shipped sets)")
    raw = _read_toml(path)
    return parse_rule_set(raw, path.name)


def parse_rule_set(raw: Mapping[str, Any], source_name: str) -> RuleSet:
    """Validate a parsed TOML mapping and build a :class:`RuleSet`."""
    rid, version, description, release, rules = _parse_content(raw, source_name)
    return RuleSet(
        id=rid, version=version, description=description,
        schema_version=SCHEMA_VERSION, rules=rules, release=release, source_name=source_name,
    )


def _parse_content(raw: Mapping[str, Any],
                   source_name: str) -> tuple[str, str, str, ReleasePolicy, tuple[Rule, ...]]:
    where = f"rule set file {source_name}"
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise RuleSetError(where, f"unknown top-level key(s) {sorted(unknown)}",
                           f"allowed keys are {sorted(_TOP_KEYS)}")
    for key in ("schema_version", "id", "version", "description", "release", "rules"):
        if key not in raw:
            raise RuleSetError(where, f"the key '{key}' is missing", f"add '{key}' (see docs/rules.md)")
    if raw["schema_version"] != SCHEMA_VERSION or isinstance(raw["schema_version"], bool):
        raise RuleSetError(where, f"schema_version is {raw['schema_version']!r}, this kit reads "
                           f"{SCHEMA_VERSION}", "convert the file to the current schema")
    for key in ("id", "version", "description"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RuleSetError(where, f"'{key}' must be a non-empty string", f"set {key} = \"...\"")
    release = _parse_release(raw["release"], where)
    rules_raw = raw["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise RuleSetError(where, "'rules' must be a non-empty list of [[rules]] tables",
                           "add at least one [[rules]] table")
    rules = tuple(_parse_rule(r, where, i) for i, r in enumerate(rules_raw))
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RuleSetError(where, f"rule id(s) {dupes} appear more than once", "give every rule its own id")
    return raw["id"], raw["version"], raw["description"], release, rules


def _parse_release(raw: Any, where: str) -> ReleasePolicy:
    if not isinstance(raw, dict):
        raise RuleSetError(where, "'release' must be a table", "write a [release] table")
    unknown = set(raw) - _RELEASE_KEYS
    if unknown:
        raise RuleSetError(f"{where}, [release]", f"unknown key(s) {sorted(unknown)}",
                           f"allowed keys are {sorted(_RELEASE_KEYS)}")
    for key in _RELEASE_KEYS:
        if key not in raw:
            raise RuleSetError(f"{where}, [release]", f"the key '{key}' is missing", f"add '{key}'")
    types = raw["file_types"]
    if not isinstance(types, list) or not types or not all(
        isinstance(t, str) and t.isalnum() for t in types
    ):
        raise RuleSetError(f"{where}, [release]", "'file_types' must be a list of extensions like \"html\"",
                           "list extensions without dots")
    for key in ("suppressed_symbol", "note_suppressed"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RuleSetError(f"{where}, [release]", f"'{key}' must be a non-empty string", f"set {key}")
    return ReleasePolicy(
        file_types=tuple(sorted({t.lower() for t in types})),
        suppressed_symbol=raw["suppressed_symbol"],
        note_suppressed=raw["note_suppressed"],
    )


def _parse_rule(raw: Any, where: str, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise RuleSetError(where, f"rule number {index + 1} is not a table", "write each rule as [[rules]]")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleSetError(where, f"rule number {index + 1} has no string 'id'", "give the rule an id")
    here = f"{where}, rule '{rule_id}'"
    kind_text = raw.get("kind")
    try:
        kind = RuleKind(kind_text)
    except ValueError:
        raise RuleSetError(here, f"unknown kind {kind_text!r}",
                           f"use one of: {', '.join(k.value for k in RuleKind)}") from None
    params_cls = PARAMS_BY_KIND[kind]
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    unknown = set(raw) - _RULE_COMMON - set(fields)
    if unknown:
        raise RuleSetError(here, f"unknown key(s) {sorted(unknown)} for kind '{kind.value}'",
                           f"kind '{kind.value}' takes {sorted(fields) or 'no parameters'}")
    for key in ("applies_to", "rationale", "source"):
        if key not in raw:
            raise RuleSetError(here, f"the key '{key}' is missing", f"add '{key}' (every rule cites its source)")
    for key in ("rationale", "source"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RuleSetError(here, f"'{key}' must be a non-empty string", f"write the {key}")
    applies = raw["applies_to"]
    if not isinstance(applies, list) or not applies:
        raise RuleSetError(here, "'applies_to' must be a non-empty list of statistics",
                           f"use values from: {', '.join(s.value for s in Statistic)}")
    statistics = []
    for item in applies:
        try:
            statistics.append(Statistic(item))
        except ValueError:
            raise RuleSetError(here, f"'applies_to' has unknown statistic {item!r}",
                               f"use values from: {', '.join(s.value for s in Statistic)}") from None
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(params_cls)
    for name, fld in fields.items():
        if name not in raw:
            raise RuleSetError(here, f"parameter '{name}' is missing", f"add {name} ({fld.metadata['doc']})")
        values[name] = _convert(raw[name], hints[name], fld.metadata, here, name)
    params: RuleParams = params_cls(**values)
    return Rule(id=rule_id, kind=kind, params=params, applies_to=tuple(statistics),
                rationale=raw["rationale"], source=raw["source"])


def _convert(value: Any, hint: Any, meta: Mapping[str, Any], here: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        (inner, _ellipsis) = typing.get_args(hint)
        if not isinstance(value, list) or not value:
            raise RuleSetError(here, f"'{key}' must be a non-empty list", f"write {key} = [...]")
        return tuple(_convert(v, inner, meta, here, key) for v in value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise RuleSetError(here, f"'{key}' has unknown value {value!r}",
                               f"use one of: {', '.join(str(m.value) for m in hint)}") from None
    if hint is bool:
        if not isinstance(value, bool):
            raise RuleSetError(here, f"'{key}' must be true or false", f"write {key} = true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleSetError(here, f"'{key}' must be a whole number", f"write {key} as an integer")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleSetError(here, f"'{key}' must be a number", f"write {key} as a number")
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_range(value, meta, here, key)
    return value


def _canonical(rid: str, version: str, description: str, release: ReleasePolicy,
               rules: tuple[Rule, ...]) -> str:
    def plain(obj: Any) -> Any:
        if isinstance(obj, enum.Enum):
            return obj.value
        if isinstance(obj, tuple):
            return [plain(o) for o in obj]
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return obj

    doc = {
        "schema_version": SCHEMA_VERSION,
        "id": rid,
        "version": version,
        "description": description,
        "release": plain(release),
        "rules": [plain(r) for r in rules],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
