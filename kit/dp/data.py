"""Turning researcher data into the frame OpenDP sees (needs polars; no OpenDP).

The privacy unit is a person. The structural bounds declared to OpenDP are
made true here, before OpenDP, by plain row-wise and per-person steps:

1. keep only the needed columns (a Parquet scan reads no others);
2. on a panel, drop rows whose period is not in the public list of periods;
3. drop rows with a missing measure (sums, means, rates);
4. at most one row per person and period (one per person without a panel):
   counts keep the first row of each person in each period (a per-period
   ``is_first_distinct`` on the person id: one hash key, far less memory than
   a ``unique`` on the (person, period) pair); sums, means and rates add up a
   person's rows (dimensions are taken from one of them);
5. cast dimensions to text codes, or, for the columns in ``native`` (integer
   columns whose public codes are all canonical integers, ``str(int(c)) == c``),
   keep them as integers (see :func:`native_key_types`: same cells, less memory);
6. derived columns (public recodes) under new names;
7. drop the person id: OpenDP never sees it.

Then at most ``len(periods)`` rows per person and at most one per person and
period are true, and are declared with
``dp.unit_of(contributions=[Bound(per_group=k), Bound(by=[period], per_group=1)])``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kit.dp.spec import Derive, DPConfig
from kit.errors import DataReadError, SchemaError, SpecError

__all__ = ["DataLike", "native_key_types", "prepare", "resolve"]

#: Data accepted by DP releases: a Parquet path (read lazily; the fastest path),
#: a polars LazyFrame or DataFrame, a pandas DataFrame, or a callable returning one
#: (called only after the ledger has accepted the charge's size).
DataLike = Any


def resolve(pl: Any, data: DataLike, where: str) -> Any:
    """The data as a polars LazyFrame."""
    if callable(data) and not isinstance(data, (str, os.PathLike)) and not hasattr(data, "collect_schema"):
        data = data()
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise DataReadError(where, "the Parquet file does not exist", "check the path")
        return pl.scan_parquet(path)
    if isinstance(data, pl.LazyFrame):
        return data
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return pl.from_pandas(data).lazy()
    raise SchemaError(where, f"cannot read a {type(data).__name__} as data",
                      "pass a Parquet path, a polars or pandas DataFrame, or a polars LazyFrame")


def _text(pl: Any, col: str, dtype: Any) -> Any:
    expr = pl.col(col)
    if dtype.is_float():
        expr = expr.cast(pl.Int64, strict=False)
    return expr.cast(pl.String)


def _native_dtype(pl: Any, dtype: Any) -> Any:
    """The integer dtype OpenDP accepts for an integer column (it has no 8- or 16-bit domains)."""
    if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16):
        return pl.Int32
    if dtype in (pl.Int64, pl.UInt32, pl.UInt64):
        return dtype
    return None


def _int_range(pl: Any, dtype: Any) -> tuple[int, int]:
    bits = {pl.Int8: 8, pl.Int16: 16, pl.Int32: 32, pl.Int64: 64, pl.UInt8: 8, pl.UInt16: 16,
            pl.UInt32: 32, pl.UInt64: 64}[dtype]
    if dtype in (pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _canonical_ints(codes: Sequence[str], lo: int, hi: int) -> bool:
    for c in codes:
        try:
            v = int(c)
        except ValueError:
            return False
        if str(v) != c or not lo <= v <= hi:
            return False
    return True


def native_key_types(pl: Any, schema: Any, *, config: DPConfig, dims: Sequence[str],
                     derive: Sequence[Derive] = (), public_keys: bool = True) -> dict[str, Any]:
    """Columns that can stay integers instead of being cast to text codes, with their OpenDP dtype.

    A column qualifies when it is an integer column in the data, is the period
    or a public-key dimension, is not the source of a derived column, and each
    of its public codes is the canonical text of an integer within the
    column's range. Then ``str(value) == code`` exactly when ``value ==
    int(code)``, so the same rows match the same cells as with text codes.
    The released keys are formatted back with ``str``, which gives the codes.
    """
    sources = {d.source for d in derive} | {d.name for d in derive}
    candidates: dict[str, tuple[str, ...]] = {}
    if config.period:
        candidates[config.period] = config.periods
    if public_keys:
        for dim in dims:
            codes = config.code_list(dim)
            if codes is not None:
                candidates[dim] = codes
    elif config.period is not None and config.period in dims:   # observed keys are sorted as text
        candidates.pop(config.period, None)
    names = set(schema.names())
    out: dict[str, Any] = {}
    for col, codes in candidates.items():
        if col in sources or col not in names:
            continue
        dtype = schema[col]
        target = _native_dtype(pl, dtype)
        if target is None:
            continue
        lo, hi = _int_range(pl, dtype)
        if _canonical_ints(codes, lo, hi):
            out[col] = target
    return out


def prepare(pl: Any, lf: Any, *, unit: str, config: DPConfig, dims: Sequence[str],
            measures: Sequence[str], aggregate: bool, derive: Sequence[Derive] = (),
            clip_measures: bool = False, where: str = "DP release",
            native: dict[str, Any] | None = None) -> Any:
    """Apply the steps in the module docs; returns a LazyFrame without the person id.

    ``native`` maps columns kept as integers to their dtype (from
    :func:`native_key_types`); all other dimensions become text codes.

    Raises
    ------
    SchemaError
        Missing columns, non-integer measures.
    SpecError
        A derived column would overwrite an existing column; a float measure.
    """
    schema = lf.collect_schema()
    names = list(schema.names())
    derived = {d.name for d in derive}
    source_dims = [d for d in dims if d not in derived]
    needed = [unit, *([config.period] if config.period else []), *source_dims,
              *(d.source for d in derive), *measures]
    missing = sorted({c for c in needed if c not in names})
    if missing:
        shown = ", ".join(names[:30])
        raise SchemaError(where, f"column(s) {missing} are not in the data",
                          f"check the spelling; the data have: {shown}")
    clash = sorted(derived & set(names))
    if clash:
        raise SpecError(where, f"derived column(s) {clash} would overwrite existing columns (OpenDP issue "
                        "2949 keeps the old column's bounds)", "derive them under new names")
    if unit in dims or unit in measures:
        raise SpecError(where, f"the person id '{unit}' is used as a dimension or measure",
                        "a release by person id is microdata")
    for m in measures:
        dtype = schema[m]
        if dtype.is_float():
            raise SpecError(where, f"measure '{m}' is a float column; float sums are refused (more noise, "
                            "and OpenDP needs extra bounds)", "convert it to whole units first, e.g. "
                            "round kroner: pl.col(m).round().cast(pl.Int64)")
        if not (dtype.is_integer() or dtype == pl.Boolean):
            raise SchemaError(where, f"measure '{m}' is not numeric", "use an integer or 0/1 column")
    native = dict(native or {})
    keep = list(dict.fromkeys(needed))
    out = lf.select(keep)
    if config.period:
        if config.period in native:
            out = out.filter(pl.col(config.period).is_in([int(p) for p in config.periods]))
        else:
            out = out.filter(_text(pl, config.period, schema[config.period]).is_in(list(config.periods)))
    if measures:
        out = out.filter(pl.all_horizontal([pl.col(m).is_not_null() for m in measures]))
    # de-duplicate on the original (compact) dtypes first; text casts afterwards are cheaper
    person = [unit, *([config.period] if config.period else [])]
    if aggregate:
        others = [c for c in keep if c not in person and c not in measures]
        out = out.group_by(person).agg([*(pl.col(c).first() for c in others),
                                        *(pl.col(m).cast(pl.Int64).sum() for m in measures)])
    elif config.period:
        out = out.filter(pl.col(unit).is_first_distinct().over(config.period))
    else:
        out = out.filter(pl.col(unit).is_first_distinct())

    def cast(c: str) -> Any:
        return pl.col(c).cast(native[c]) if c in native else _text(pl, c, schema[c])

    casts = [cast(c).alias(c) for c in dict.fromkeys(
        [*([config.period] if config.period else []), *source_dims, *(d.source for d in derive)])
        if c not in measures]
    casts += [pl.col(m).cast(pl.Int64).alias(m) for m in measures]
    out = out.with_columns(casts)
    if clip_measures:
        clips = []
        for m in measures:
            bounds = config.bounds(m)
            if bounds is not None:
                clips.append(pl.col(m).clip(bounds[0], bounds[1]).alias(m))
        if clips:
            out = out.with_columns(clips)
    if derive:
        out = out.with_columns([
            pl.col(d.source).replace_strict(dict(d.mapping), default=None, return_dtype=pl.String)
            .alias(d.name)
            for d in derive])
    final = [*([config.period] if config.period else []), *dims, *measures]
    return out.select(list(dict.fromkeys(final)))


def empty_frame(pl: Any, *, config: DPConfig, dims: Sequence[str], measures: Sequence[str]) -> Any:
    """An empty LazyFrame with the prepared schema (for data-free previews)."""
    cols = [*([config.period] if config.period else []), *dims]
    schema = {c: pl.String for c in dict.fromkeys(cols)}
    schema.update({m: pl.Int64 for m in measures})
    return pl.LazyFrame(schema=schema)

