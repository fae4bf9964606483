"""Read and validate the input of ``kit check``: a CSV table made elsewhere, its hierarchy files.

Everything here fails closed with a :class:`~kit.errors.KitError` that says what is wrong, why
and how to fix it, and never quotes a value from the file (only column names, counts and line
numbers):

- the separator must be one character that is not a quote, a line break or a space-like
  character the CSV reader cannot use;
- the file must be a readable file (not a folder), text without NUL bytes in the encoding
  asked for (``--encoding``; by default UTF-8 with or without a BOM, else cp1252, what Windows
  Excel writes, with a note; see :func:`decode_text`), with a header row, at least one data row,
  no duplicate or empty header names and every row as long as the header (a ragged row is
  refused, never silently dropped or padded);
- dimension codes must not hold control characters (they would break XLSX and terminal output);
- counts must be finite whole numbers ``>= 0`` and at most :data:`MAX_COUNT` (``2**53``, the
  largest whole number a float holds exactly, well within int64); cell values and largest
  contributions must be finite and at most :data:`MAX_MAGNITUDE` in size; the largest
  contributions must be ``>= 0``, ``top2 <= top1`` and ``top1 + top2 <= |value|`` (with a
  relative tolerance of ``1e-9`` of the value);
- the output goes to the current folder (or ``--out``), never beside the input unless asked;
  ``--out`` must name a file in an existing folder, and an existing file is never overwritten.

Examples
--------
>>> import pandas as pd
>>> validate_numbers(pd.DataFrame({"n": ["3", "1e19"]}), count="n")
Traceback (most recent call last):
...
kit.errors.SchemaError: kit check: 1 row(s) of 'n' are larger than 2**53 (9007199254740992), ...
>>> parse_delimited("KOM,n\\n101,3\\n", ",", "t.csv").columns.tolist()
['KOM', 'n']
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import DataReadError, OutputExistsError, SchemaError, SpecError

__all__ = [
    "ENCODING_DETECT",
    "MAX_COUNT",
    "MAX_INPUT_BYTES",
    "MAX_MAGNITUDE",
    "check_encoding",
    "check_separator",
    "decode_text",
    "output_target",
    "parse_delimited",
    "read_table_csv",
    "read_text_file",
    "validate_codes",
    "validate_numbers",
    "write_text_new",
]

#: Largest count accepted: every whole number up to it is exact in a float, and it is far inside int64.
MAX_COUNT = 2**53
#: Largest magnitude of a cell value or contribution accepted (sums of many stay finite).
MAX_MAGNITUDE = 1e18
#: Largest input file read (a table of cells, not microdata).
MAX_INPUT_BYTES = 512 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WHERE = "kit check"
#: The default of ``--encoding``: UTF-8 (with or without a BOM), else cp1252 with a note.
ENCODING_DETECT = "detect"
#: The fallback of detection: what Windows Excel writes for "CSV" in Western European locales.
_FALLBACK = "cp1252"


def check_encoding(encoding: str) -> str:
    """The encoding's canonical name, or a :class:`SpecError` naming the option.

    >>> check_encoding("latin-1"), check_encoding("CP1252"), check_encoding("detect")
    ('iso8859-1', 'cp1252', 'detect')
    """
    import codecs

    if encoding == ENCODING_DETECT:
        return encoding
    try:
        info = codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        raise SpecError(_WHERE, "--encoding names no text encoding Python knows",
                        "write e.g. --encoding utf-8, --encoding cp1252 or --encoding latin-1 "
                        "(the default 'detect' reads UTF-8, else cp1252)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise SpecError(_WHERE, "--encoding names a byte transform, not a text encoding",
                        "write e.g. --encoding utf-8 or --encoding cp1252")
    return info.name


def decode_text(data: bytes, encoding: str, where: str, fix_format: str) -> tuple[str, str | None]:
    """Decode ``data``: the text and a note (``None`` unless detection fell back to cp1252).

    ``encoding`` is a name Python knows or ``"detect"``: UTF-8 (a BOM is dropped) when the bytes
    are valid UTF-8, else cp1252 (Windows Excel's default for CSV; its 5 unused bytes are refused)
    with a note saying so. Bytes that are not valid in the encoding are a :class:`DataReadError`
    naming the file and ``--encoding``, never the bytes.

    >>> decode_text("Ærø".encode("cp1252"), "detect", "t.csv", "save as CSV")
    ('Ærø', "the file is not UTF-8; read as cp1252 (Windows Excel's CSV encoding). Pass --encoding to choose another")
    >>> decode_text("\ufeffÆrø".encode("utf-8"), "detect", "t.csv", "save as CSV")
    ('Ærø', None)
    """
    name = check_encoding(encoding)
    if name == ENCODING_DETECT:
        try:
            return data.decode("utf-8-sig"), None
        except UnicodeDecodeError:
            pass
        try:
            text = data.decode(_FALLBACK)
        except UnicodeDecodeError:
            raise DataReadError(where, "the file is neither UTF-8 nor cp1252 text", f"{fix_format}, or pass "
                                "--encoding with the file's encoding (e.g. --encoding latin-1)") from None
        return text, (f"the file is not UTF-8; read as {_FALLBACK} (Windows Excel's CSV encoding). Pass "
                      "--encoding to choose another")
    try:
        text = data.decode("utf-8-sig" if name == "utf-8" else name)
    except UnicodeDecodeError:
        raise DataReadError(where, f"the file is not valid {name} text", f"{fix_format}, or pass --encoding "
                            "with the file's encoding (the default 'detect' reads UTF-8, else cp1252)") from None
    return text, None


def check_separator(sep: str) -> str:
    """The field separator, checked: one character, not a quote or line break.

    >>> check_separator(";")
    ';'
    """
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\"'\r\n" or sep == "\x00":
        raise SpecError(_WHERE, "--sep must be exactly one character other than a quote, a line break or NUL",
                        "write e.g. --sep ';' or --sep $'\\t' (the default is ',')")
    return sep


def read_text_file(path: str | os.PathLike[str], what: str, fix_format: str, encoding: str = "utf-8",
                   notes: list[str] | None = None) -> str:
    """The text of a small input file, or a :class:`DataReadError` naming only the file.

    Refuses a missing path, a folder, an unreadable file, a file larger than
    :data:`MAX_INPUT_BYTES`, bytes that are not text in ``encoding`` (UTF-8 by default; see
    :func:`decode_text` for ``"detect"``) and NUL bytes (a binary file). A note on the encoding
    used goes to ``notes`` when detection fell back to cp1252.
    """
    src = Path(path)
    where = f"{_WHERE}: {what} '{src.name}'"
    if not src.exists():
        raise DataReadError(where, "the file does not exist", "check the path")
    if not src.is_file():
        raise DataReadError(where, "the path is not a plain file (a folder?)", "pass the path of the file itself")
    try:
        size = src.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise DataReadError(where, f"the file is larger than {MAX_INPUT_BYTES // 2**20} MiB",
                                "check a table of cells, not microdata")
        data = src.read_bytes()
    except OSError as exc:
        raise DataReadError(where, f"the file cannot be read ({type(exc).__name__})",
                            "check that it exists and that you may read it") from None
    if b"\x00" in data and not check_encoding(encoding).startswith(("utf-16", "utf-32")):
        raise DataReadError(where, "the file is binary (it holds NUL bytes), not text", fix_format)
    text, note = decode_text(data, encoding, where, fix_format)
    if "\x00" in text:
        raise DataReadError(where, "the file is binary (it holds NUL characters), not text", fix_format)
    if note is not None and notes is not None:
        notes.append(f"{src.name}: {note}")
    return text


def parse_delimited(text: str, sep: str, name: str) -> pd.DataFrame:
    """Parse CSV text into a frame of strings; refuse empty, duplicate-header and ragged input.

    Blank lines are skipped. Every field stays text (``""`` when empty).
    """
    where = f"{_WHERE} {name}"
    check_separator(sep)
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)]
    except csv.Error as exc:
        raise DataReadError(where, f"the file is not valid CSV ({type(exc).__name__}: a stray quote or line "
                            "break inside a field?)", "save it as CSV with quoted fields, or pass the right "
                            "--sep") from None
    numbered = [(k, r) for k, r in enumerate(rows, 1) if any(field.strip() for field in r)]
    if not numbered:
        raise SchemaError(where, "the file is empty (no header row)", "save the table with a header row and "
                          "one row per cell")
    _, header = numbered[0]
    header = [h.strip() for h in header]
    if any(not h for h in header):
        raise SchemaError(where, f"{sum(1 for h in header if not h)} column(s) have an empty header name",
                          "give every column a name (or check --sep)")
    if any(_CONTROL.search(h) for h in header):
        raise SchemaError(where, "a header name holds a control character", "rename the column")
    dupes = sorted(h for h, n in Counter(header).items() if n > 1)
    if dupes:
        raise SchemaError(where, f"the header names {dupes} appear more than once",
                          "give every column its own name (the kit does not rename them)")
    body = numbered[1:]
    if not body:
        raise SchemaError(where, "the table has no rows", "check the file: it holds only the header")
    ragged = [k for k, r in body if len(r) != len(header)]
    if ragged:
        raise SchemaError(where, f"{len(ragged)} row(s) do not have {len(header)} fields like the header "
                          f"(first at line {ragged[0]})", "give every row one field per column; quote "
                          "fields holding the separator (or check --sep)")
    return pd.DataFrame([r for _, r in body], columns=header, dtype=object)


def read_table_csv(path: str | os.PathLike[str], sep: str = ",", encoding: str = ENCODING_DETECT,
                   notes: list[str] | None = None) -> pd.DataFrame:
    """Read the CSV table of ``kit check`` (see the module docs for what is refused).

    ``encoding`` is ``"detect"`` (UTF-8 with or without a BOM, else cp1252 with a note added to
    ``notes``) or a name Python knows (``"latin-1"``, ``"cp1252"``, ``"utf-16"``...).
    """
    check_separator(sep)
    check_encoding(encoding)
    text = read_text_file(path, "table", "save the table as UTF-8 CSV with a header row", encoding, notes)
    return parse_delimited(text, sep, Path(path).name)


def validate_codes(df: pd.DataFrame, dims: Sequence[str]) -> None:
    """Refuse dimension codes holding control characters, and dimension cells that are not scalars."""
    for d in dims:
        col = df[d]
        bad_type = sum(1 for v in col if isinstance(v, (dict, list, set, tuple, bytes)))
        if bad_type:
            raise SchemaError(_WHERE, f"{bad_type} value(s) of dimension '{d}' are not codes (lists, "
                              "dicts or bytes)", "give every dimension a text or whole-number code")
        n_ctrl = sum(1 for v in col if isinstance(v, str) and _CONTROL.search(v))
        if n_ctrl:
            raise SchemaError(_WHERE, f"{n_ctrl} code(s) of dimension '{d}' hold control characters "
                              "(tabs, line breaks, NUL ...)", "clean the codes: control characters "
                              "cannot go into a release")


def _numbers(df: pd.DataFrame, col: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise SchemaError(_WHERE, f"{int(np.isnan(values).sum())} row(s) of '{col}' are not numbers",
                          f"fill every row's '{col}' with a number")
    if not np.isfinite(values).all():
        raise SchemaError(_WHERE, f"{int((~np.isfinite(values)).sum())} row(s) of '{col}' are infinite",
                          f"'{col}' must hold finite numbers")
    return np.asarray(values)


def validate_numbers(df: pd.DataFrame, count: str, value: str | None = None, top1: str | None = None,
                     top2: str | None = None) -> dict[str, np.ndarray]:
    """The checked numeric columns: counts (int64) and values (float64), range-checked.

    Returns a mapping column name -> array; raises :class:`SchemaError` (no value quoted).
    """
    raw = pd.to_numeric(df[count], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(raw) | (raw < 0) | (raw != np.floor(np.where(np.isfinite(raw), raw, 0)))
    if bad.any():
        raise SchemaError(_WHERE, f"{int(bad.sum())} row(s) of '{count}' are not whole numbers >= 0",
                          "the count column must hold the number of distinct units per cell")
    big = raw > MAX_COUNT
    if big.any():
        raise SchemaError(_WHERE, f"{int(big.sum())} row(s) of '{count}' are larger than 2**53 ({MAX_COUNT}), "
                          "more units than any register holds", "check that --count names the column of "
                          "distinct units per cell")
    out: dict[str, np.ndarray] = {count: raw.astype(np.int64)}
    for col in (value, top1, top2):
        if col and col not in out:
            vals = _numbers(df, col)
            if (np.abs(vals) > MAX_MAGNITUDE).any():
                raise SchemaError(_WHERE, f"{int((np.abs(vals) > MAX_MAGNITUDE).sum())} row(s) of '{col}' are "
                                  f"larger than {MAX_MAGNITUDE:.0e} in size", "rescale the column (e.g. to "
                                  "thousands) or check that it is the right column")
            out[col] = vals
    for col in (top1, top2):
        if col and (out[col] < 0).any():
            raise SchemaError(_WHERE, f"{int((out[col] < 0).sum())} row(s) of '{col}' are negative",
                              "a largest contribution is the size of one unit's share (>= 0)")
    if value and top1:
        size = np.abs(out[value])
        tol = 1e-9 * np.maximum(size, np.abs(out[top1]))
        share = out[top1] + (out[top2] if top2 else 0.0)
        over = share > size + tol
        if over.any():
            what = f"'{top1}' + '{top2}'" if top2 else f"'{top1}'"
            raise SchemaError(_WHERE, f"in {int(over.sum())} row(s) {what} exceed the size of the cell value "
                              f"'{value}'", "the largest contributions are parts of the cell value; check "
                              "that --value, --top1 and --top2 name the right columns")
    if top1 and top2:
        over2 = out[top2] > out[top1] + 1e-9 * np.abs(out[top1])
        if over2.any():
            raise SchemaError(_WHERE, f"in {int(over2.sum())} row(s) '{top2}' is larger than '{top1}'",
                              "--top1 is the largest contribution, --top2 the second largest")
    return out


def output_target(src: Path, out: str | os.PathLike[str] | None) -> Path:
    """Where ``kit check`` writes its copy: ``--out``, else ``TABLE.checked.csv`` in the current folder.

    Raises
    ------
    SpecError
        When ``--out``'s folder does not exist or is not a folder, or ``--out`` is a folder.
    OutputExistsError
        When the target exists (the kit never overwrites).
    """
    where = f"{_WHERE} {src.name}"
    if out is not None and str(out).strip():
        target = Path(out)
        if target.is_dir():
            raise SpecError(where, f"--out '{target.name}' is a folder", "pass a file name, e.g. --out "
                            "checked.csv")
        parent = target.parent
        if not parent.is_dir():
            raise SpecError(where, f"the folder of --out '{target.name}' does not exist (or is a file)",
                            "create the folder first, or pass --out in an existing folder")
    else:
        target = Path.cwd() / f"{src.stem}.checked{src.suffix or '.csv'}"
    if target.exists() or target.is_symlink():
        raise OutputExistsError(where, f"the output {target.name} exists already",
                                "delete it or pass --out with a new name")
    try:
        same = target.resolve() == src.resolve()
    except OSError:
        same = False
    if same:
        raise SpecError(where, "the output would overwrite the input", "pass --out with another name")
    return target


def write_text_new(target: Path, text: str, where: str) -> None:
    """Write ``text`` to a new file atomically (temporary file + rename; nothing left on failure)."""
    from kit.state import atomic_write_text

    if target.exists():
        raise OutputExistsError(where, f"the output {target.name} exists already", "pass a new name")
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise DataReadError(where, f"the output {target.name} cannot be written ({type(exc).__name__})",
                            "write to a folder you may write to (pass --out), or check the disk space") from None
