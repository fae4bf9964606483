"""One-time conversion of SAS files to a Parquet cache; later reads come from the cache.

Layout: the cache folder mirrors the project folder, one Parquet file per SAS
file (``December_2023/bef2022.sas7bdat`` becomes
``CACHE/December_2023/bef2022.parquet``), plus a state file
(:data:`~kit.registers.discover.CACHE_STATE_NAME`) recording, per converted
file, the source's size and modification time. Column names and types are kept
as in the SAS file; the loader normalises names when it reads.

Conversion reads chunks of rows (memory stays bounded by the chunk size, not the
file size), writes each file to ``<name>.parquet.partial`` and renames it when
complete, then records it in the state file. After an interruption, run the
conversion again: finished files whose source is unchanged are skipped, a
partial file is started afresh. A cache entry whose source has changed since is
stale: reads go to the source (with a warning in the log) until it is converted
again.

Only the newest delivery of each register-year is converted; Parquet and CSV
files are read where they are.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import DataReadError, OptionalDependencyError
from kit.progress import Progress, start
from kit.registers import readers
from kit.registers.discover import CACHE_STATE_NAME, FileFormat, RegisterFile

__all__ = ["STATE_SCHEMA_VERSION", "ConversionReport", "convert", "lookup", "target_for"]

logger = logging.getLogger(__name__)

#: Version of the state file's format.
STATE_SCHEMA_VERSION = 1

_CONVERTIBLE = (FileFormat.SAS7BDAT, FileFormat.XPORT)
_PARTIAL_SUFFIX = ".partial"


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion did (file paths relative to the project and cache folders)."""

    cache_dir: Path
    converted: tuple[str, ...]
    skipped: tuple[str, ...]
    not_convertible: tuple[str, ...]
    rows: int

    def summary(self) -> str:
        """One line for the log or the CLI."""
        return (
            f"converted {len(self.converted)} file(s) ({self.rows} rows), "
            f"{len(self.skipped)} already in the cache, "
            f"{len(self.not_convertible)} read in place (Parquet/CSV); cache: {self.cache_dir}"
        )


def target_for(cache_dir: Path, source: RegisterFile) -> Path:
    """Where the cache copy of a source file lives."""
    rel = Path(source.relpath)
    return cache_dir / rel.parent / (source.path.name.split(".")[0] + ".parquet")


def _state_path(cache_dir: Path) -> Path:
    return cache_dir / CACHE_STATE_NAME


def _load_state(cache_dir: Path) -> dict[str, Any]:
    path = _state_path(cache_dir)
    if not path.exists():
        return {"schema_version": STATE_SCHEMA_VERSION, "entries": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(
            f"cache state {path.name} in {cache_dir}",
            "cannot be read",
            "delete the state file to rebuild the cache (finished files are converted again)",
        ) from exc
    if not isinstance(state, dict) or state.get("schema_version") != STATE_SCHEMA_VERSION:
        raise DataReadError(
            f"cache state {path.name} in {cache_dir}",
            "has an unknown format version",
            "use a new cache folder or delete the state file",
        )
    return state


def _save_state(cache_dir: Path, state: dict[str, Any]) -> None:
    path = _state_path(cache_dir)
    tmp = path.with_name(path.name + _PARTIAL_SUFFIX)
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _entry_matches(entry: dict[str, Any] | None, source: RegisterFile) -> bool:
    return (
        entry is not None
        and entry.get("size") == source.size
        and entry.get("mtime_ns") == source.mtime_ns
    )


def lookup(cache_dir: Path, source: RegisterFile) -> Path | None:
    """The cache file for ``source`` when it is complete and up to date, else ``None``."""
    if source.fmt not in _CONVERTIBLE or not _state_path(cache_dir).exists():
        return None
    entry = _load_state(cache_dir)["entries"].get(source.relpath)
    target = target_for(cache_dir, source)
    if entry is None:
        return None
    if not _entry_matches(entry, source) or not target.exists():
        logger.warning(
            "cache copy of %s is stale (the source changed or the copy is gone); reading the source. "
            "Run the conversion again to refresh it",
            source.relpath,
        )
        return None
    return target


def _write_table(writer: Any, table: Any) -> None:
    """Write one chunk (a separate function so tests can interrupt a conversion here)."""
    writer.write_table(table)


def _arrow_schema(first: Any) -> Any:
    import pyarrow as pa

    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in first.schema]
    return pa.schema(fields)


def _convert_one(
    source: RegisterFile, target: Path, *, chunk_rows: int, progress: Progress | None
) -> tuple[int, list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + _PARTIAL_SUFFIX)
    if partial.exists():
        logger.info("removing the partial copy of %s left by an interrupted conversion", source.relpath)
        partial.unlink()
    where = f"register file {source.relpath}"
    rows = 0
    columns: list[str] = []
    writer = None
    schema = None
    total = readers.count_rows(source.path, source.fmt)
    bar = start(progress, f"convert {source.relpath}", total, "rows")
    try:
        for chunk in readers.iter_chunks(source.path, source.fmt, chunk_rows=chunk_rows, where=where):
            if schema is None:
                columns = [str(c) for c in chunk.columns]
                schema = _arrow_schema(pa.Table.from_pandas(chunk, preserve_index=False))
                writer = pq.ParquetWriter(partial, schema, compression="zstd")
            try:
                table = pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise DataReadError(
                    where,
                    f"a column changes type between row chunks (rows after {rows})",
                    "convert this file with a larger chunk size, or read it directly without the cache",
                ) from exc
            _write_table(writer, table)
            rows += len(chunk)
            bar.advance(len(chunk))
        if writer is None:  # no rows at all: keep the columns
            names = readers.list_columns(source.path, source.fmt, where=where)
            columns = list(names)
            empty = pa.table({name: pa.array([], pa.string()) for name in names})
            pq.write_table(empty, partial, compression="zstd")
        else:
            writer.close()
            writer = None
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    os.replace(partial, target)
    return rows, columns


def convert(
    files: Iterable[RegisterFile],
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    chunk_rows: int = readers.DEFAULT_CHUNK_ROWS,
) -> ConversionReport:
    """Convert SAS files to Parquet in ``cache_dir`` (resumable; see the module docs).

    ``progress`` reports the rows of each file converted (:mod:`kit.progress`; ``None``: nothing).
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise OptionalDependencyError("converting to a Parquet cache", None, "pyarrow") from exc
    cache_dir.mkdir(parents=True, exist_ok=True)
    state = _load_state(cache_dir)
    if not _state_path(cache_dir).exists():
        _save_state(cache_dir, state)  # marks the folder as a cache before anything else is written
    converted: list[str] = []
    skipped: list[str] = []
    in_place: list[str] = []
    total_rows = 0
    for source in files:
        if source.fmt not in _CONVERTIBLE:
            in_place.append(source.relpath)
            continue
        target = target_for(cache_dir, source)
        entry = state["entries"].get(source.relpath)
        if _entry_matches(entry, source) and target.exists():
            skipped.append(source.relpath)
            logger.info("%s is already in the cache", source.relpath)
            continue
        logger.info("converting %s to %s", source.relpath, target)
        rows, columns = _convert_one(source, target, chunk_rows=chunk_rows, progress=progress)
        state["entries"][source.relpath] = {
            "target": target.relative_to(cache_dir).as_posix(),
            "size": source.size,
            "mtime_ns": source.mtime_ns,
            "rows": rows,
            "columns": columns,
            "converted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        _save_state(cache_dir, state)
        converted.append(source.relpath)
        total_rows += rows
    report = ConversionReport(cache_dir, tuple(converted), tuple(skipped), tuple(in_place), total_rows)
    logger.info("%s", report.summary())
    return report
