"""Check a table made elsewhere (SAS, R, Stata): ``kit check TABLE.csv``.

The input is a long-format CSV with one row per cell: the dimension columns,
a column with the number of distinct units behind the cell (``--count``), and
for magnitude tables optionally the cell value and its largest contributions
(``--value``, ``--top1``, ``--top2``). Margin rows, if present, carry the total
label (``--total-label``, default ``Total``) in the dimensions they sum over.

The primary rules of the chosen rule set run on this per-cell evidence. For the
differencing rule the kit needs the margins with one grouping left out; when the
file has no margin rows they are summed from the inner cells, which assumes each
unit is counted in one cell only (true of an ordinary frequency table; say
``--no-derive-margins`` when it is not, and the differencing rule then needs the
margin rows in the file). When the file publishes margins and cells must be
suppressed, secondary suppression and the LP audit run as for tables made in
the kit.

With ``--release DIR`` the cleared table (suppressed cells as the rule set's
symbol) is also written as a release with its manifest, and the checker's report
to ``--checker-dir``: the command-line equivalent of ``Session.release``.

The result is a copy of the file with ``status`` (SAFE, PRIMARY, SECONDARY,
...), ``status_code`` (tau-Argus / sdcTable letters) and ``reasons`` columns,
written atomically to the current folder (or to ``--out``), never beside the
input unless asked and never over an existing file. Reading and validating the
input (separator, encoding, duplicate headers, ragged rows, number ranges) is in
:mod:`kit.external.table_input`. Exit codes: 0 every cell safe, 3 cells must be suppressed, 2 bad input.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"KOM": ["101", "147", "851"], "n": [10, 2, 7]})
>>> result = check_table(df, dims=["KOM"], count="n", rules="dst")
>>> result.frame["status"].tolist()
['SAFE', 'PRIMARY', 'SAFE']
>>> result.exit_code
3
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.core.assess import Assessment, assess, top_k_needed
from kit.core.cleared import utc_now
from kit.core.evidence import TOTAL, Evidence
from kit.core.rules.loader import RuleSet, load_rule_set
from kit.core.spec import TableSpec
from kit.core.spec_types import Statistic, UnitType
from kit.core.table import Table, cell_estimates
from kit.errors import EXIT_BLOCKED, EXIT_OK, SchemaError, SpecError
from kit.external.table_input import output_target, read_table_csv, validate_codes, validate_numbers, write_text_new
from kit.protect.hierarchy import Hierarchy

__all__ = ["CheckResult", "check_file", "check_table"]


@dataclass
class CheckResult:
    """Outcome of checking an external table (private: holds the table's values)."""

    frame: pd.DataFrame
    assessment: Assessment
    evidence: Evidence
    rules: RuleSet
    table: Table

    @property
    def n_suppressed(self) -> int:
        """Cells that must be suppressed."""
        return int(sum(s.suppressed for s in self.assessment.statuses))

    @property
    def suppression_summary(self) -> str:
        """Secondary suppression's information loss, for the researcher's screen (``""`` when none ran).

        The suppressed value is one more equation about the suppressed cells: print it for the
        researcher, never put it into a release.
        """
        a = self.assessment
        if a.suppressed_value is None or a.suppressed_share is None:
            return ""
        return (f"secondary suppression: {a.protection_method}; suppressed value {a.suppressed_value:,.0f} "
                f"= {100 * a.suppressed_share:.2f} % of the table total")

    @property
    def exit_code(self) -> int:
        """0 when every cell is safe, 3 when cells must be suppressed."""
        return EXIT_BLOCKED if self.n_suppressed else EXIT_OK

    def __repr__(self) -> str:
        return f"<CheckResult {len(self.frame)} cells, {self.n_suppressed} to suppress; values hidden>"


def check_table(
    df: pd.DataFrame,
    dims: Sequence[str],
    count: str,
    rules: str | RuleSet = "dst",
    *,
    value: str | None = None,
    top1: str | None = None,
    top2: str | None = None,
    total_label: str = TOTAL,
    unit_type: str | UnitType = UnitType.PERSON,
    derive_margins: bool = True,
    hierarchies: Mapping[str, str | Path] | None = None,
    name: str = "checked_table",
    title: str = "",
    time_limit: float | None = None,
    allow_empty_secondaries: bool = False,
) -> CheckResult:
    """Check a long-format table made elsewhere (see the module docs).

    ``time_limit`` (seconds; default :data:`kit.protect.bridge.DEFAULT_TIME_LIMIT`) bounds
    secondary suppression; ``allow_empty_secondaries`` lets empty cells be secondaries.
    """
    rule_set = rules if isinstance(rules, RuleSet) else load_rule_set(rules)
    unit_kind = UnitType.parse(unit_type, "unit type")
    where = "kit check"
    dims = list(dims)
    needed = [*dims, count] + [c for c in (value, top1, top2) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise SchemaError(where, f"column(s) {missing} are not in the table",
                          f"the table has: {', '.join(map(str, df.columns[:30]))}")
    if not dims:
        raise SpecError(where, "no dimensions were given", "pass --dims A,B")
    if len(df) == 0:
        raise SchemaError(where, "the table has no rows", "check the file")
    validate_codes(df, dims)
    numbers = validate_numbers(df, count, value=value, top1=top1, top2=top2)
    work = df.copy()
    for d in dims:
        work[d] = work[d].astype(str).str.strip()
    work["_n"] = numbers[count]
    if work.duplicated(dims).any():
        raise SchemaError(where, f"{int(work.duplicated(dims).sum())} cell(s) appear more than once",
                          "give each combination of dimension codes once")
    statistic = Statistic.SUM if value else Statistic.COUNT
    unknown_h = sorted(set(hierarchies or {}) - set(dims))
    if unknown_h:
        raise SpecError(where, f"hierarchies were given for non-dimensions {unknown_h}",
                        "name dimensions of the table in --hierarchy DIM=FILE.hrc")
    is_margin = (work[dims] == total_label).any(axis=1).to_numpy().copy()
    trees = _read_hierarchies(work, hierarchies or {}, total_label)
    for d, tree in trees.items():
        subtotals = set(tree.codes) - set(tree.leaves)
        is_margin |= work[d].isin(subtotals & set(work[d])).to_numpy()
    has_margins = bool(is_margin.any())
    for col in (value, top1, top2):
        if col:
            work[col] = numbers[col]
    cells = pd.DataFrame({d: work[d].to_numpy(dtype=object) for d in dims})
    cells["is_margin"] = is_margin
    cells["margin_level"] = (work[dims] == total_label).sum(axis=1).to_numpy()
    cells["n_units"] = work["_n"].to_numpy()
    cells["n_units_any"] = cells["n_units"]
    cells["n_records"] = cells["n_units"]
    cells["n_missing"] = 0
    total = work[value].to_numpy() if value else cells["n_units"].to_numpy(dtype=float)
    cells["total"] = total
    cells["abs_total"] = np.abs(total)
    cells["n_negative_units"] = (total < 0).astype(np.int64) if value else 0
    cells["n_positive_units"] = cells["n_units"]
    # moments for the cell estimates (a count's value is its units, a sum's its total)
    cells["sum_w"] = cells["n_units"].astype(float)
    cells["sum_wx"] = total
    cells["sum_wx2"] = 0.0
    cells["sum_w2"] = cells["sum_w"]
    top_k = 0
    if top1:
        cells["top_1"] = work[top1].to_numpy()
        top_k = 1
        cells["top_2"] = work[top2].to_numpy() if top2 else 0.0
        top_k = 2
    published_margins = has_margins
    if has_margins:
        # additivity before anything else: a margin that is not the sum of its parts cannot be protected
        if value:
            _verify_additivity(work, dims, trees, total_label, value, is_margin)
        if derive_margins:
            _verify_additivity(work, dims, trees, total_label, "_n", is_margin)
    if not has_margins and derive_margins and len(dims) >= 1:
        cells = _append_derived_margins(cells, dims)
    evidence = Evidence(cells, dims, n_input_units=int(cells.loc[~cells["is_margin"], "n_units"].sum()),
                        top_k=top_k)
    spec = TableSpec(dims=tuple(dims), statistic=statistic, measure=value, margins=published_margins,
                     name=name, title=title)
    if statistic.is_magnitude and not top1 and top_k_needed(rule_set, statistic, unit_kind) > 0:
        # only rules that apply to this unit type count: dst's dominance rule is for enterprises
        raise SpecError(where, f"the rule set has dominance or p % rules for {unit_kind.value} units but the "
                        "table has no largest contributions", "pass --top1 (and --top2) columns, or check a "
                        "count table")
    assessment = assess(evidence, spec, rule_set, unit_kind)
    if published_margins and any(s.suppressed for s in assessment.statuses):
        from kit.protect.bridge import protect_cells

        protect_cells(evidence, assessment, spec, rule_set, hierarchies=trees or None, time_limit=time_limit,
                      allow_empty_secondaries=allow_empty_secondaries)
    keep = ~cells["is_margin"].to_numpy() | published_margins
    out = df.copy().reset_index(drop=True)
    statuses = [s for s, k in zip(assessment.statuses, keep) if k]
    reasons = [r for r, k in zip(assessment.reasons, keep) if k]
    out["status"] = [s.name for s in statuses[: len(out)]]
    out["status_code"] = [s.code for s in statuses[: len(out)]]
    out["reasons"] = ["; ".join(f"{x.code.value} ({x.rule_id})" for x in r) for r in reasons[: len(out)]]
    table = Table(spec=spec, rules=rule_set, unit_type=unit_kind, evidence=evidence,
                  estimates=cell_estimates(cells, statistic, weighted=False), assessment=assessment,
                  data_label="a table checked with kit check", created=utc_now())
    return CheckResult(frame=out, assessment=assessment, evidence=evidence, rules=rule_set, table=table)


#: A published margin must equal the sum of its inner cells up to this share of the sum of their sizes.
ADDITIVITY_REL = 1e-9


def _read_hierarchies(work: pd.DataFrame, hierarchies: Mapping[str, str | Path], total_label: str
                      ) -> dict[str, Hierarchy]:
    """Read the ``.hrc`` files; refuse an empty one or one that does not hold every code of its dimension."""
    from kit.protect import Hierarchy

    trees: dict[str, Hierarchy] = {}
    for d, f in hierarchies.items():
        tree = Hierarchy.from_hrc(Path(f), total_label=total_label)
        codes = set(tree.codes) - {total_label}
        if not codes:
            raise SpecError("kit check", f"the hierarchy file for '{d}' ({Path(f).name}) has no codes",
                            "write one code a line, each '@' one level deeper (tau-Argus .hrc)")
        missing = set(work[d]) - codes - {total_label}
        if missing:
            raise SpecError("kit check", f"{len(missing)} code(s) of '{d}' are not in its hierarchy file "
                            f"{Path(f).name} (for example {sorted(missing)[0]!r})",
                            "give a .hrc file that holds every code of the dimension")
        trees[d] = tree
    return trees


def _verify_additivity(work: pd.DataFrame, dims: list[str], trees: Mapping[str, Hierarchy], total_label: str,
                       column: str, is_margin: np.ndarray) -> None:
    """Refuse a table whose published margins or sub-totals are not the sums of their inner cells.

    The message names the first such margin by its codes and the size of the difference relative to
    the sum of its parts (no value of any cell).
    """
    from kit.protect import TableStructure

    frame = work[dims].astype(str).reset_index(drop=True)
    structure = TableStructure.from_frame(frame, dims, total_label=total_label, hierarchies=dict(trees) or None)
    pos = structure.positions(frame)
    vals = np.full(structure.n_cells, np.nan)
    vals[pos] = work[column].to_numpy(dtype=float)
    m = structure.matrix
    n_at = structure.n_atoms_per_cell
    atom_val = np.full(structure.n_atoms, np.nan)
    single = np.flatnonzero(n_at == 1)
    atom_val[m.indices[m.indptr[single]]] = vals[single]
    present = ~np.isnan(atom_val)
    covered = np.asarray(m[:, ~present].sum(axis=1)).ravel() == 0
    check = np.flatnonzero((n_at > 1) & covered & ~np.isnan(vals))
    if not len(check):
        return
    filled = np.nan_to_num(atom_val)
    parts = m[check] @ filled
    size = np.maximum(m[check] @ np.abs(filled), np.abs(vals[check]))
    diff = vals[check] - parts
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(size > 0, np.abs(diff) / np.where(size > 0, size, 1.0), 0.0)
    bad = np.flatnonzero(rel > ADDITIVITY_REL)
    if not len(bad):
        return
    worst = bad[np.argmax(rel[bad])]
    key = dict(zip(dims, structure.keys[check[worst]]))
    what = "units" if column == "_n" else f"'{column}'"
    hint = "make every margin the sum of its inner cells (or pass --no-derive-margins for counts of units " \
           "that may be in several cells)" if column == "_n" else "make every margin the sum of its inner cells"
    if (diff[bad] < 0).any() and len(trees) < len(dims):
        hint += "; if some codes are sub-totals of others (a region and its municipalities), pass " \
                "--hierarchy DIM=FILE.hrc for that dimension"
    raise SpecError("kit check", f"{len(bad)} margin(s) of {what} are not the sum of their inner cells; e.g. "
                    f"{key} differs from the sum of its {int(n_at[check[worst]])} inner cells by "
                    f"{100 * rel[worst]:.3g} % of its size", hint)


def _append_derived_margins(cells: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """Add one-left-out margins summed from inner cells (for the differencing rule only)."""
    inner = cells[~cells["is_margin"]]
    parts = [cells]
    sum_cols = ["n_units", "n_units_any", "n_records", "n_missing", "total", "abs_total",
                "n_negative_units", "n_positive_units"]
    for keep in itertools.combinations(dims, len(dims) - 1):
        if keep:
            grouped = inner.groupby(list(keep), sort=False)[sum_cols].sum().reset_index()
        else:
            grouped = inner[sum_cols].sum().to_frame().T
        for d in dims:
            if d not in keep:
                grouped[d] = TOTAL
        grouped["is_margin"] = True
        grouped["margin_level"] = 1
        for col in cells.columns:
            if col not in grouped.columns:
                grouped[col] = 0.0
        parts.append(grouped[cells.columns])
    return pd.concat(parts, ignore_index=True)


def check_file(
    path: str | Path,
    dims: Sequence[str],
    count: str,
    rules: str | RuleSet = "dst",
    *,
    out: str | Path | None = None,
    sep: str = ",",
    encoding: str = "detect",
    notes: list[str] | None = None,
    value: str | None = None,
    top1: str | None = None,
    top2: str | None = None,
    total_label: str = TOTAL,
    unit_type: str | UnitType = UnitType.PERSON,
    derive_margins: bool = True,
    hierarchies: Mapping[str, str | Path] | None = None,
    name: str = "checked_table",
    title: str = "",
    time_limit: float | None = None,
    allow_empty_secondaries: bool = False,
) -> tuple[CheckResult, Path]:
    """Check a CSV file and write the copy with status columns (atomically, never overwriting).

    ``encoding`` is the file's text encoding, or ``"detect"`` (UTF-8 with or without a BOM, else
    cp1252 with a note appended to ``notes``); see :func:`kit.external.table_input.read_table_csv`.
    The keyword parameters from ``value`` on are :func:`check_table`'s.
    """
    src = Path(path)
    df = read_table_csv(src, sep, encoding, notes)
    target = output_target(src, out)
    result = check_table(
        df, dims, count, rules, value=value, top1=top1, top2=top2, total_label=total_label,
        unit_type=unit_type, derive_margins=derive_margins, hierarchies=hierarchies, name=name,
        title=title, time_limit=time_limit, allow_empty_secondaries=allow_empty_secondaries,
    )
    write_text_new(target, result.frame.to_csv(index=False, sep=sep, lineterminator="\n"),
                   f"kit check {src.name}")
    return result, target
