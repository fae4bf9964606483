"""Configuration of the synthetic generator: frozen dataclasses, TOML in and out.

Examples
--------
>>> cfg = SynthConfig.default(persons=200_000, seed=7)
>>> cfg.years, cfg.base_year, [a.name for a in cfg.treated]
((2008, 2019), 2011, ['Kildeparken', 'Sundparken'])
>>> SynthConfig.from_toml_text(cfg.to_toml()) == cfg
True
>>> len(cfg.fingerprint())
64
"""

from __future__ import annotations

import enum
import hashlib
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kit.errors import DataReadError, SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_DEMO_PERSONS",
    "DEFAULT_SEED",
    "REGISTERS",
    "ColumnCase",
    "Layout",
    "SynthConfig",
    "TreatedArea",
    "default_treated_areas",
]

#: Registers written, in this order (file stem = register + year).
REGISTERS: tuple[str, ...] = ("bef", "ras", "akm", "ind", "udda", "vnds")
#: Default seed (the demo's acceptance figures refer to it).
DEFAULT_SEED = 20191110
#: Default population size of the demo.
DEFAULT_DEMO_PERSONS = 400_000
#: Named areas may hold at most this share of the initial population.
MAX_AREA_SHARE = 1 / 3

_WHERE = "synthetic configuration"


class ColumnCase(enum.Enum):
    """Case of column names in a written register file."""

    UPPER = "upper"
    LOWER = "lower"
    MIXED = "mixed"  # first letter upper, rest lower (``Pnr``, ``Soc_status_kode``)

    def apply(self, name: str) -> str:
        """Return ``name`` in this case.

        Examples
        --------
        >>> ColumnCase.MIXED.apply("SOC_STATUS_KODE")
        'Soc_status_kode'
        """
        if self is ColumnCase.UPPER:
            return name.upper()
        if self is ColumnCase.LOWER:
            return name.lower()
        return name[:1].upper() + name[1:].lower()


def _schedule(values: Mapping[int, float]) -> tuple[tuple[int, float], ...]:
    return tuple(sorted((int(k), float(v)) for k, v in values.items()))


@dataclass(frozen=True)
class TreatedArea:
    """A treated area and its planted effect.

    Parameters
    ----------
    name
        Area name (``AREA_NAME``).
    kom
        Municipality code.
    residents
        Target number of residents (kept roughly constant over the years).
    start
        First year in which the treatment acts (moves during and status at the end of ``start``).
    renovation
        First and last renovation year (inclusive): extra move-outs of non-employed families.
    selection_shift
        From ``start`` on, in-movers' latent employability is shifted by this many units
        (the latent index has unit variance).
    extra_move_out
        Extra annual move-out probability of families whose head is not employed, in renovation years.
    effect_all, effect_newcomers
        Planted effect in percentage points on the employment rate of residents aged 16-64, per year
        (years missing from the schedule have zero effect). See docs/synthetic.md for the estimand.
    effect_education
        Planted effect (pp) on the share of residents aged 25-64 with at least an upper-secondary or
        vocational qualification (HFAUDD level 20 or higher), per year; reached by adult vocational
        qualifications of residents (permanent), never by removing one.
    effect_in_education
        Planted effect (pp) on the share of residents aged 16-24 in education (SOCIO13 310), per year.
    effect_support
        Planted effect (pp) on the share of residents aged 16-64 on cash benefit or other public
        support (SOCIO13 220, 321, 323, 330), per year (negative: fewer on support).
    mover_effect
        Planted within-person effect (pp) on the employment of *rehoused* movers-out: residents of the
        base year who left the area in one of its renovation years, in every later year they live
        outside it.
    """

    name: str
    kom: int
    residents: int
    start: int
    renovation: tuple[int, int]
    selection_shift: float
    extra_move_out: float
    effect_all: tuple[tuple[int, float], ...]
    effect_newcomers: tuple[tuple[int, float], ...]
    effect_education: tuple[tuple[int, float], ...] = ()
    effect_in_education: tuple[tuple[int, float], ...] = ()
    effect_support: tuple[tuple[int, float], ...] = ()
    mover_effect: float = 0.0

    def __post_init__(self) -> None:
        where = f"{_WHERE}, treated area '{self.name}'"
        if self.residents < 100:
            raise SpecError(where, "key 'residents' must be at least 100", "give a realistic area size")
        if self.renovation[0] > self.renovation[1]:
            raise SpecError(where, "key 'renovation' must be [first, last] with first <= last", "swap the two years")
        if not 0.0 <= self.extra_move_out < 0.8:
            raise SpecError(
                where,
                "key 'extra_move_out' must be a probability in [0, 0.8)",
                "give an extra annual move-out probability such as 0.05",
            )
        if not -2.0 <= self.selection_shift <= 2.0:
            raise SpecError(
                where,
                "key 'selection_shift' must lie in [-2, 2]",
                "give a shift of the latent index in standard-deviation units, e.g. 0.4",
            )
        if not -40.0 <= self.mover_effect <= 40.0 or math.isnan(self.mover_effect):
            raise SpecError(where, "key 'mover_effect' is outside [-40, 40] pp", "give the effect in percentage points")
        for key, sched in (("effect_all", self.effect_all), ("effect_newcomers", self.effect_newcomers),
                           ("effect_education", self.effect_education),
                           ("effect_in_education", self.effect_in_education),
                           ("effect_support", self.effect_support)):
            for year, pp in sched:
                if year < self.start and pp != 0.0:
                    raise SpecError(
                        where,
                        f"key '{key}' plants an effect before the start year",
                        "set effects to zero before 'start' or move 'start' earlier",
                    )
                if not -40.0 <= pp <= 40.0 or math.isnan(pp):
                    raise SpecError(
                        where,
                        f"key '{key}' has an effect outside [-40, 40] pp",
                        "give effects in percentage points",
                    )

    def effect(self, group: str, year: int) -> float:
        """Planted effect (pp) for ``group`` ('all' or 'newcomers') in ``year``.

        Examples
        --------
        >>> SynthConfig.default(persons=200_000).treated[1].effect("all", 2017)
        11.0
        """
        sched = dict(self.effect_all if group == "all" else self.effect_newcomers)
        return sched.get(year, 0.0)

    def outcome_effect(self, outcome: str, year: int) -> float:
        """Planted effect (pp) on ``outcome`` ('education', 'in_education' or 'support') in ``year``.

        Examples
        --------
        >>> SynthConfig.default(persons=200_000).treated[1].outcome_effect("education", 2017)
        10.0
        """
        sched = {"education": self.effect_education, "in_education": self.effect_in_education,
                 "support": self.effect_support}[outcome]
        return dict(sched).get(year, 0.0)


def default_treated_areas() -> tuple[TreatedArea, ...]:
    """Kildeparken and Sundparken with the default schedules (aalborg-analysis.md)."""
    kilde_all = {2014: 1.0, 2015: 2.0, 2016: 2.5, 2017: 3.0, 2018: 3.0, 2019: 3.0}
    kilde_new = {2014: 2.5, 2015: 4.5, 2016: 6.0, 2017: 7.6, 2018: 7.6, 2019: 7.6}
    sund_all = {2012: 2.0, 2013: 4.0, 2014: 6.0, 2015: 8.0, 2016: 9.5, 2017: 11.0, 2018: 11.0, 2019: 11.0}
    sund_new = {2012: 2.5, 2013: 3.5, 2014: 4.5, 2015: 5.5, 2016: 6.5, 2017: 7.6, 2018: 7.6, 2019: 7.6}
    # education, in education, public support (issue 25): BL saw "progress" without figures; these
    # magnitudes are a synthetic choice (documented in docs/synthetic.md)
    kilde_edu = {2015: 2.0, 2016: 4.0, 2017: 6.0, 2018: 6.0, 2019: 6.0}
    kilde_ine = {2014: 1.0, 2015: 2.0, 2016: 3.0, 2017: 4.0, 2018: 4.0, 2019: 4.0}
    kilde_sup = {2014: -0.5, 2015: -1.0, 2016: -1.5, 2017: -2.0, 2018: -2.0, 2019: -2.0}
    sund_edu = {2013: 2.0, 2014: 4.0, 2015: 6.0, 2016: 8.0, 2017: 10.0, 2018: 10.0, 2019: 10.0}
    sund_ine = {2012: 1.0, 2013: 2.0, 2014: 3.0, 2015: 4.0, 2016: 5.0, 2017: 6.0, 2018: 6.0, 2019: 6.0}
    sund_sup = {2012: -1.0, 2013: -2.0, 2014: -3.0, 2015: -4.0, 2016: -5.0, 2017: -6.0, 2018: -6.0, 2019: -6.0}
    return (
        TreatedArea(
            "Kildeparken", 851, 2000, 2014, (2014, 2019), 0.19, 0.05, _schedule(kilde_all), _schedule(kilde_new),
            effect_education=_schedule(kilde_edu), effect_in_education=_schedule(kilde_ine),
            effect_support=_schedule(kilde_sup), mover_effect=-4.0,
        ),
        TreatedArea(
            "Sundparken", 851, 750, 2012, (2012, 2016), 0.10, 0.25, _schedule(sund_all), _schedule(sund_new),
            effect_education=_schedule(sund_edu), effect_in_education=_schedule(sund_ine),
            effect_support=_schedule(sund_sup), mover_effect=-8.0,
        ),
    )


@dataclass(frozen=True)
class Layout:
    """How files are written.

    Parameters
    ----------
    column_case
        Pairs (key, case) where key is a register (``"bef"``) or a register-year (``"bef2013"``);
        a register-year key wins over a register key; default upper case.
    rerun_folder
        Name of the re-delivery sub-folder.
    rerun
        Register-years (``"bef2018"``) that get a corrected re-delivery in ``rerun_folder``; the file in
        the main folder is then the flawed first delivery (see docs/synthetic.md).
    """

    column_case: tuple[tuple[str, ColumnCase], ...] = ()
    rerun_folder: str = "December_2023"
    rerun: tuple[str, ...] = ()

    def case_for(self, register: str, year: int) -> ColumnCase:
        """Column-name case of one register-year file.

        Examples
        --------
        >>> lay = Layout(column_case=(("bef", ColumnCase.LOWER), ("bef2013", ColumnCase.UPPER)))
        >>> lay.case_for("bef", 2012).value, lay.case_for("bef", 2013).value
        ('lower', 'upper')
        """
        lookup = dict(self.column_case)
        return lookup.get(f"{register}{year}", lookup.get(register, ColumnCase.UPPER))


@dataclass(frozen=True)
class SynthConfig:
    """Everything the generator needs; the same config and seed give byte-identical files.

    Build one with :meth:`default` or :meth:`from_toml`; change fields with
    :func:`dataclasses.replace`. Validation happens on construction.
    """

    persons: int
    seed: int = DEFAULT_SEED
    years: tuple[int, int] = (2008, 2019)
    base_year: int = 2011
    n_comparison: int = 30
    n_placebo: int = 5
    comparison_size: tuple[int, int] = (1000, 5000)
    national_employment: float = 0.74
    area_employment: float = 0.40
    area_move_out: float = 0.15
    treated: tuple[TreatedArea, ...] = field(default_factory=default_treated_areas)
    layout: Layout = field(default_factory=Layout)

    def __post_init__(self) -> None:
        first, last = self.years
        if not 1990 <= first <= last <= 2030:
            raise SpecError(
                _WHERE,
                "key 'years' must be [first, last] within 1990-2030 with first <= last",
                "give e.g. years = [2008, 2019]",
            )
        if not first <= self.base_year <= last:
            raise SpecError(_WHERE, "key 'base_year' must lie within 'years'", "give e.g. base_year = 2011")
        if self.seed < 0:
            raise SpecError(_WHERE, "key 'seed' must be a non-negative integer", "give e.g. seed = 1")
        if self.n_comparison < 2 or self.n_placebo < 0 or self.n_placebo >= self.n_comparison:
            raise SpecError(
                _WHERE,
                "keys 'n_comparison'/'n_placebo' need n_comparison >= 2 and 0 <= n_placebo < n_comparison",
                "e.g. n_comparison = 30, n_placebo = 5",
            )
        lo, hi = self.comparison_size
        if not 100 <= lo <= hi:
            raise SpecError(
                _WHERE,
                "key 'comparison_size' must be [min, max] with 100 <= min <= max",
                "give e.g. comparison_size = [1000, 5000]",
            )
        for key in ("national_employment", "area_employment", "area_move_out"):
            value = getattr(self, key)
            if not 0.02 <= value <= 0.98:
                raise SpecError(
                    _WHERE,
                    f"key '{key}' must be a share between 0.02 and 0.98",
                    "give a share such as 0.74, not a percentage",
                )
        names = [a.name for a in self.treated]
        if len(set(names)) != len(names):
            raise SpecError(_WHERE, "treated area names must be unique", "rename one of the areas")
        for area in self.treated:
            if area.start <= self.base_year:
                raise SpecError(
                    f"{_WHERE}, treated area '{area.name}'",
                    "key 'start' must be after 'base_year'",
                    "move the start year or the base year",
                )
        for key, _case in self.layout.column_case:
            reg = key.rstrip("0123456789")
            if reg not in REGISTERS:
                raise SpecError(
                    _WHERE,
                    f"layout key 'column_case.{key}' names no register",
                    f"use one of {', '.join(REGISTERS)}, optionally followed by a year",
                )
        for item in self.layout.rerun:
            reg, year = item.rstrip("0123456789"), item[len(item.rstrip("0123456789")) :]
            if reg not in REGISTERS or not year or not first <= int(year) <= last:
                raise SpecError(
                    _WHERE,
                    f"layout key 'rerun' has an entry '{item}' that is not a register-year of this run",
                    "give entries such as 'bef2018'",
                )
        if (
            not self.layout.rerun_folder
            or "/" in self.layout.rerun_folder
            or "\\" in self.layout.rerun_folder
            or self.layout.rerun_folder.startswith(".")
        ):
            raise SpecError(
                _WHERE,
                "layout key 'rerun_folder' must be a plain folder name",
                "give e.g. rerun_folder = 'December_2023'",
            )
        if self.persons < self.min_persons():
            raise SpecError(
                _WHERE,
                f"key 'persons' is below the minimum of {self.min_persons()} for "
                f"these named areas (they may hold at most a third of the population)",
                "raise 'persons' or lower 'n_comparison' / 'comparison_size'",
            )

    # ------------------------------------------------------------------ derived
    def year_range(self) -> range:
        """The simulated years.

        Examples
        --------
        >>> list(SynthConfig.default(persons=200_000, years=(2010, 2012)).year_range())
        [2010, 2011, 2012]
        """
        return range(self.years[0], self.years[1] + 1)

    def comparison_sizes(self) -> tuple[int, ...]:
        """Target residents of the comparison/placebo areas (deterministic, skewed to small).

        Examples
        --------
        >>> sizes = SynthConfig.default(persons=200_000).comparison_sizes()
        >>> len(sizes), min(sizes) >= 1000, max(sizes) <= 5000
        (30, True, True)
        """
        lo, hi = self.comparison_size
        n = self.n_comparison
        out = []
        for i in range(n):
            q = ((i + 0.5) / n) ** 1.8
            out.append(round(lo * (hi / lo) ** q / 10) * 10)
        # interleave so that sizes do not follow the host-municipality order
        return tuple(out[(7 * i) % n] for i in range(n)) if math.gcd(7, n) == 1 else tuple(out)

    def area_residents(self) -> int:
        """Total target residents of all named areas."""
        return sum(a.residents for a in self.treated) + sum(self.comparison_sizes())

    def min_persons(self) -> int:
        """Smallest allowed ``persons``: three times the named areas' residents.

        Examples
        --------
        >>> SynthConfig.default(persons=200_000).min_persons()
        189120
        """
        return math.ceil(self.area_residents() / MAX_AREA_SHARE)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def default(
        cls,
        persons: int = DEFAULT_DEMO_PERSONS,
        seed: int = DEFAULT_SEED,
        years: tuple[int, int] = (2008, 2019),
    ) -> SynthConfig:
        """The default configuration (magnitudes from aalborg-analysis.md).

        Examples
        --------
        >>> SynthConfig.default(persons=300_000, seed=1).persons
        300000
        """
        return cls(persons=persons, seed=seed, years=tuple(years))  # type: ignore[arg-type]

    @classmethod
    def from_toml(cls, path: Path | str) -> SynthConfig:
        """Read a configuration file (format: the ``synth_config.toml`` written with every run).

        Raises
        ------
        DataReadError
            The file is missing or not valid TOML.
        SpecError
            A key is unknown or a value is invalid; the message names the key.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise DataReadError(
                f"synthetic configuration {p.name}",
                "the file cannot be read",
                "check the path passed with --config",
            ) from exc
        return cls.from_toml_text(text, source=p.name)

    @classmethod
    def from_toml_text(cls, text: str, source: str = "TOML text") -> SynthConfig:
        """Parse a configuration from TOML text; see :meth:`from_toml`.

        Examples
        --------
        >>> SynthConfig.from_toml_text("persons = 300000\\nseed = 3").seed
        3
        >>> SynthConfig.from_toml_text("persons = 300000\\nsed = 3")
        Traceback (most recent call last):
        ...
        kit.errors.SpecError: synthetic configuration (TOML text): unknown key 'sed'. Fix: ...
        """
        where = f"{_WHERE} ({source})"
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DataReadError(
                where,
                "the file is not valid TOML",
                "fix the syntax error the TOML parser reports at its line and column",
            ) from exc
        return _from_mapping(raw, where)

    # ------------------------------------------------------------------ output
    def to_toml(self) -> str:
        """The full configuration as TOML (written to ``synth_config.toml``)."""
        lines = [
            "# synthetic register generator configuration (kit synth --config FILE)",
            f"persons = {self.persons}",
            f"seed = {self.seed}",
            f"years = [{self.years[0]}, {self.years[1]}]",
            f"base_year = {self.base_year}",
            f"n_comparison = {self.n_comparison}",
            f"n_placebo = {self.n_placebo}",
            f"comparison_size = [{self.comparison_size[0]}, {self.comparison_size[1]}]",
            f"national_employment = {self.national_employment!r}",
            f"area_employment = {self.area_employment!r}",
            f"area_move_out = {self.area_move_out!r}",
            "",
            "[layout]",
            f"rerun_folder = {_q(self.layout.rerun_folder)}",
            "rerun = [" + ", ".join(_q(r) for r in self.layout.rerun) + "]",
            "column_case = {" + ", ".join(f"{_q(k)} = {_q(c.value)}" for k, c in self.layout.column_case) + "}",
        ]
        for area in self.treated:
            lines += [
                "",
                "[[treated]]",
                f"name = {_q(area.name)}",
                f"kom = {area.kom}",
                f"residents = {area.residents}",
                f"start = {area.start}",
                f"renovation = [{area.renovation[0]}, {area.renovation[1]}]",
                f"selection_shift = {area.selection_shift!r}",
                f"extra_move_out = {area.extra_move_out!r}",
                "effect_all = {" + ", ".join(f'"{y}" = {v!r}' for y, v in area.effect_all) + "}",
                "effect_newcomers = {" + ", ".join(f'"{y}" = {v!r}' for y, v in area.effect_newcomers) + "}",
                "effect_education = {" + ", ".join(f'"{y}" = {v!r}' for y, v in area.effect_education) + "}",
                "effect_in_education = {"
                + ", ".join(f'"{y}" = {v!r}' for y, v in area.effect_in_education) + "}",
                "effect_support = {" + ", ".join(f'"{y}" = {v!r}' for y, v in area.effect_support) + "}",
                f"mover_effect = {area.mover_effect!r}",
            ]
        return "\n".join(lines) + "\n"

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`to_toml` (goes into truth.json)."""
        return hashlib.sha256(self.to_toml().encode("utf-8")).hexdigest()


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------- parsing
_TOP_KEYS = {f.name for f in fields(SynthConfig)}
_AREA_KEYS = {f.name for f in fields(TreatedArea)}
#: Keys of a treated area that may be left out (no planted effect on the outcome).
_AREA_OPTIONAL = {"effect_education", "effect_in_education", "effect_support", "mover_effect"}
_LAYOUT_KEYS = {f.name for f in fields(Layout)}


def _check_keys(raw: Mapping[str, Any], allowed: set[str], where: str, prefix: str = "") -> None:
    for key in raw:
        if key not in allowed:
            raise SpecError(where, f"unknown key '{prefix}{key}'", f"allowed keys here: {', '.join(sorted(allowed))}")


def _get(raw: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, prefix: str = "") -> Any:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(where, f"key '{prefix}{key}' must be of type {names}", "see docs/synthetic.md")
    return value


def _pair(raw: Mapping[str, Any], key: str, where: str, prefix: str = "") -> tuple[int, int]:
    value = _get(raw, key, list, where, prefix)
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SpecError(where, f"key '{prefix}{key}' must be a list of two integers", "e.g. [2008, 2019]")
    return int(value[0]), int(value[1])


def _from_mapping(raw: Mapping[str, Any], where: str) -> SynthConfig:
    _check_keys(raw, _TOP_KEYS, where)
    if "persons" not in raw:
        raise SpecError(where, "key 'persons' is missing", "add e.g. persons = 400000")
    kwargs: dict[str, Any] = {}
    for key in ("persons", "seed", "base_year", "n_comparison", "n_placebo"):
        if key in raw:
            kwargs[key] = _get(raw, key, int, where)
    for key in ("years", "comparison_size"):
        if key in raw:
            kwargs[key] = _pair(raw, key, where)
    for key in ("national_employment", "area_employment", "area_move_out"):
        if key in raw:
            kwargs[key] = float(_get(raw, key, (int, float), where))
    if "layout" in raw:
        lay = _get(raw, "layout", dict, where)
        _check_keys(lay, _LAYOUT_KEYS, where, "layout.")
        lk: dict[str, Any] = {}
        if "rerun_folder" in lay:
            lk["rerun_folder"] = _get(lay, "rerun_folder", str, where, "layout.")
        if "rerun" in lay:
            items = _get(lay, "rerun", list, where, "layout.")
            if not all(isinstance(i, str) for i in items):
                raise SpecError(where, "key 'layout.rerun' must be a list of strings", "e.g. ['bef2018']")
            lk["rerun"] = tuple(items)
        if "column_case" in lay:
            cases = _get(lay, "column_case", dict, where, "layout.")
            pairs = []
            for k, v in cases.items():
                try:
                    pairs.append((str(k), ColumnCase(v)))
                except ValueError:
                    raise SpecError(
                        where,
                        f"key 'layout.column_case.{k}' must be upper, lower or mixed",
                        "give one of the three words",
                    ) from None
            lk["column_case"] = tuple(sorted(pairs, key=lambda p: p[0]))
        kwargs["layout"] = Layout(**lk)
    if "treated" in raw:
        areas = _get(raw, "treated", list, where)
        out = []
        for i, item in enumerate(areas):
            if not isinstance(item, dict):
                raise SpecError(where, f"'treated' entry {i + 1} must be a table", "use [[treated]] tables")
            out.append(_area(item, where, f"treated[{i + 1}]."))
        kwargs["treated"] = tuple(out)
    return SynthConfig(**kwargs)


def _area(raw: Mapping[str, Any], where: str, prefix: str) -> TreatedArea:
    _check_keys(raw, _AREA_KEYS, where, prefix)
    missing = sorted(_AREA_KEYS - _AREA_OPTIONAL - set(raw))
    if missing:
        raise SpecError(where, f"key '{prefix}{missing[0]}' is missing", "give every key of a treated area")
    scheds: dict[str, tuple[tuple[int, float], ...]] = {}
    for key in ("effect_all", "effect_newcomers", "effect_education", "effect_in_education", "effect_support"):
        if key not in raw:
            scheds[key] = ()
            continue
        table = _get(raw, key, dict, where, prefix)
        try:
            scheds[key] = _schedule({int(k): float(v) for k, v in table.items()})
        except (TypeError, ValueError):
            raise SpecError(where, f"key '{prefix}{key}' must map years to numbers", 'e.g. {"2017" = 11.0}') from None
    return TreatedArea(
        name=_get(raw, "name", str, where, prefix),
        kom=_get(raw, "kom", int, where, prefix),
        residents=_get(raw, "residents", int, where, prefix),
        start=_get(raw, "start", int, where, prefix),
        renovation=_pair(raw, "renovation", where, prefix),
        selection_shift=float(_get(raw, "selection_shift", (int, float), where, prefix)),
        extra_move_out=float(_get(raw, "extra_move_out", (int, float), where, prefix)),
        effect_all=scheds["effect_all"],
        effect_newcomers=scheds["effect_newcomers"],
        effect_education=scheds["effect_education"],
        effect_in_education=scheds["effect_in_education"],
        effect_support=scheds["effect_support"],
        mover_effect=float(_get(raw, "mover_effect", (int, float), where, prefix)) if "mover_effect" in raw else 0.0,
    )


def with_changes(config: SynthConfig, **changes: Any) -> SynthConfig:
    """Copy of ``config`` with fields changed (validated again).

    Examples
    --------
    >>> with_changes(SynthConfig.default(persons=200_000), seed=5).seed
    5
    """
    return replace(config, **changes)
