"""The demo's estimates beside the synthetic generator's planted truth (synthetic data only).

Everything here reads *cleared* outputs (display values that passed the rules)
and ``truth.json``; nothing reads microdata.

Examples
--------
>>> print(format_rows([{"what": "education", "area": "Sundparken", "suppressed": False, "estimate": 9.5,
...                     "ci_low": 4.0, "ci_high": 15.0, "planted": 10.0, "covered": True, "flag": "significant"}],
...                   "Effects 2017"))
Effects 2017
area         what                        estimate      95% interval       p  planted  covered  note
Sundparken   education                        9.5  [   4.0,   15.0]             10.0      yes  significant
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kit.demo.outcomes import COMPARISON_LABEL, Attachment, Destination

__all__ = ["format_attachment", "format_rows", "movers_attachment_vs_truth", "movers_vs_truth",
           "newcomer_share_vs_truth", "outcomes_vs_truth"]

_NDZ = "not_distinguishable_from_zero"


def _covered(low: float | None, high: float | None, planted: float | None) -> bool | None:
    if planted is None or low is None or high is None:
        return None
    return bool(low <= planted <= high)


def outcomes_vs_truth(cleared: Mapping[str, Any], truth: Mapping[str, Any], year: int) -> list[dict[str, Any]]:
    """E5 target-year effects per treated area and outcome, with the planted value (pp)."""
    rows = []
    for name, est in cleared.items():
        for row in est.rows:
            if row.key("year") != str(year):
                continue
            values = dict(zip(est.columns, row.values))
            area = row.key("area")
            planted = truth["areas"].get(area, {}).get("outcomes_pp", {}).get(name, {}).get(str(year))
            low, high = (None, None) if row.suppressed else (values.get("ri_low"), values.get("ri_high"))
            rows.append({
                "what": name, "area": area, "suppressed": row.suppressed,
                "estimate": None if row.suppressed else values.get("estimate"), "ci_low": low, "ci_high": high,
                "p_perm": None if row.suppressed else values.get("p_perm"), "planted": planted,
                "covered": _covered(low, high, planted),
                "flag": "not distinguishable from zero" if _NDZ in [f.value for f in row.flags] else "significant",
            })
    return rows


def movers_vs_truth(cleared: Any, truth: Mapping[str, Any], year: int) -> list[dict[str, Any]]:
    """E7 differences (treated area's movers minus comparison movers, pp) with the planted difference."""
    rows = []
    for row in cleared.rows:
        if row.key("year") != str(year):
            continue
        values = dict(zip(cleared.columns, row.values))
        area, dest = row.key("pair"), row.key("destination")
        cell = truth.get("movers_out", {}).get(area, {}).get(dest, {}).get(str(year), {})
        planted = cell.get("difference_pp")
        ok = not row.suppressed and values.get("difference") is not None
        low = 100 * values["ci_low"] if ok else None
        high = 100 * values["ci_high"] if ok else None
        rows.append({
            "what": f"movers {dest}", "area": area, "suppressed": not ok,
            "estimate": 100 * values["difference"] if ok else None, "ci_low": low, "ci_high": high,
            "planted": planted, "covered": _covered(low, high, planted),
            "flag": "not distinguishable from zero" if _NDZ in [f.value for f in row.flags] else "significant",
        })
    return rows


def newcomer_share_vs_truth(cleared: Any, truth: Mapping[str, Any], year: int) -> list[dict[str, Any]]:
    """E4 newcomer share (%) per treated area against the generator's own count of residents."""
    rows = []
    frame = cleared.to_frame(symbols=False)
    value = cleared.value_columns[0]
    for area in truth["treated_areas"]:
        sel = frame[(frame["area"] == area) & (frame["year"] == str(year))]
        counts = truth["areas"][area].get("residents_16_64", {})
        n_all = counts.get("all", {}).get(str(year))
        n_new = counts.get("newcomers", {}).get(str(year))
        planted = 100 * n_new / n_all if n_all else None
        share = None if sel.empty else 100 * float(sel[value].iloc[0])
        rows.append({"what": "newcomer share %", "area": area, "suppressed": share is None or share != share,
                     "estimate": share, "ci_low": None, "ci_high": None, "planted": planted,
                     "covered": None if share is None or planted is None else bool(abs(share - planted) < 0.5),
                     "flag": "generator's count (exact up to rounding)"})
    comp = frame[(frame["area"] == COMPARISON_LABEL) & (frame["year"] == str(year))]
    if not comp.empty:
        rows.append({"what": "newcomer share %", "area": "Comparison", "suppressed": False,
                     "estimate": 100 * float(comp[value].iloc[0]), "ci_low": None, "ci_high": None,
                     "planted": None, "covered": None, "flag": "pooled comparison areas"})
    return rows


def format_rows(rows: Sequence[Mapping[str, Any]], heading: str) -> str:
    """A small fixed-width text table of estimates, intervals and planted values."""
    lines = [heading, f"{'area':<12} {'what':<26} {'estimate':>9} {'95% interval':>17} {'p':>7} {'planted':>8} "
                      f"{'covered':>8}  note"]
    for r in rows:
        if r["suppressed"] or r["estimate"] is None:
            lines.append(f"{r['area']:<12} {r['what']:<26} {'x':>9}  (suppressed by the rules)")
            continue
        interval = "" if r["ci_low"] is None else f"[{r['ci_low']:6.1f}, {r['ci_high']:6.1f}]"
        planted = "" if r["planted"] is None else f"{r['planted']:8.1f}"
        covered = "" if r["covered"] is None else ("yes" if r["covered"] else "no")
        p = "" if r.get("p_perm") is None else f"{r['p_perm']:7.3f}"
        lines.append(f"{r['area']:<12} {r['what']:<26} {r['estimate']:9.1f} {interval:>17} {p:>7} {planted:>8} "
                     f"{covered:>8}  {r['flag']}")
    return "\n".join(lines)


def movers_attachment_vs_truth(cleared: Any, truth: Mapping[str, Any], year: int) -> list[dict[str, Any]]:
    """E7 attachment shares (%) per origin and destination in ``year``, from the cleared table.

    Each row holds the four shares (``None`` where the cell is suppressed: a cell is published
    whole or not at all), the treated movers' employed share minus the comparison movers' (pp,
    both cleared numbers) and the generator's planted employment difference for the destination.
    """
    frame = cleared.to_frame(symbols=False)
    value = cleared.value_columns[0]
    sel = frame[frame["year"] == str(year)]
    rows = []
    origins = [*truth["treated_areas"], COMPARISON_LABEL]
    for dest in (Destination.SAME_MUNICIPALITY.value, Destination.ELSEWHERE.value, Destination.BACK.value):
        comp_emp = None
        for area in reversed(origins):  # the comparison first: the treated rows are compared with it
            cell = sel[(sel["area"] == area) & (sel["destination"] == dest)]
            shares: dict[str, float | None] = {}
            for status in Attachment:
                v = cell.loc[cell["status"] == status.value, value]
                x = None if v.empty or v.iloc[0] != v.iloc[0] else 100 * float(v.iloc[0])
                shares[status.value] = x
            emp = shares[Attachment.EMPLOYED.value]
            if area == COMPARISON_LABEL:
                comp_emp = emp
            diff = None if area == COMPARISON_LABEL or emp is None or comp_emp is None else emp - comp_emp
            planted = truth.get("movers_out", {}).get(area, {}).get(dest, {}).get(str(year), {}).get("difference_pp")
            rows.append({"area": "Comparison" if area == COMPARISON_LABEL else area, "destination": dest,
                         "shares": shares, "difference": diff, "planted": planted,
                         "suppressed": all(x is None for x in shares.values())})
    return rows


def format_attachment(rows: Sequence[Mapping[str, Any]], heading: str) -> str:
    """The movers' attachment rows as a fixed-width text table (x: suppressed)."""
    names = [a.value for a in Attachment]
    lines = [heading, f"{'area':<12} {'destination':<18} " + " ".join(f"{n:>10}" for n in names)
             + f" {'emp - comp':>10} {'planted':>8}"]
    for r in rows:
        cells = " ".join(f"{'x':>10}" if r["shares"][n] is None else f"{r['shares'][n]:10.1f}" for n in names)
        diff = "" if r["difference"] is None else f"{r['difference']:10.1f}"
        planted = "" if r["planted"] is None else f"{r['planted']:8.1f}"
        lines.append(f"{r['area']:<12} {r['destination']:<18} {cells} {diff:>10} {planted:>8}".rstrip())
    return "\n".join(lines)
