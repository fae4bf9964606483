"""What ``kit review`` checks about the DP outputs of a release: their ledger anchors.

Every DP output's provenance ends its privacy-budget statement with a ledger anchor
(:func:`kit.dp.anchor.anchor_text`): the data source, the caps, the charge id and the ledger's
head hash right after the release. :func:`review_dp_outputs` checks, for each DP output of a
manifest, against the project state folder (:func:`kit.state.project_state_dir`):

1. the output has an anchor at all (a DP output without one is a problem);
2. the project has a ledger for the source, and that ledger verifies against its chain and
   its anchor file (:func:`kit.dp.ledger.verify_file`);
3. the output's caps equal the anchored caps;
4. the output's head hash is a line of the ledger, and that line releases the output's charge
   (a truncated, rewritten or fresh ledger no longer holds it).

Every failure is a *problem* (``kit review`` exits 4). A project with ledgers for several data
sources gets a *note* (exit 3): a person in two sources is charged in each, so the checker must
confirm the populations are disjoint. The head hashes, charge ids and source names that were
found in the ledger are returned as ``allowed`` so the microdata scan does not report them as
identifiers.

Examples
--------
>>> review_dp_outputs({"outputs": [{"name": "t", "type": "counts", "provenance": {}}]}).problems
()
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.dp.anchor import Anchor, LedgerIntegrityError, ProvenanceAnchor, parse_anchor_text, read_anchor
from kit.dp.ledger import EntryType, LedgerReport, verify_file
from kit.errors import KitError
from kit.state import project_state_dir

__all__ = ["AnchorReview", "check_anchor", "review_dp_outputs"]

_DP_TYPES = frozenset({"dp_table", "dp_regression"})


@dataclass(frozen=True)
class AnchorReview:
    """Problems (tampering), notes (attention) and the verified hashes of a release's DP outputs."""

    problems: tuple[str, ...]
    notes: tuple[str, ...]
    allowed: frozenset[str]


def _is_dp(out: Mapping[str, Any]) -> bool:
    prov = out.get("provenance")
    flags = out.get("flags")
    return (str(out.get("type")) in _DP_TYPES
            or (isinstance(prov, Mapping) and bool(prov.get("privacy_budget")))
            or (isinstance(flags, Mapping) and bool(flags.get("differentially_private"))))


def review_dp_outputs(manifest: Mapping[str, Any], *, state_dir: str | os.PathLike[str] | None = None
                      ) -> AnchorReview:
    """Check the ledger anchors of a manifest's DP outputs (see the module docs).

    Parameters
    ----------
    manifest
        The release manifest (``manifest.json`` as a mapping).
    state_dir
        The project state folder (default: :func:`kit.state.project_state_dir`).
    """
    outputs = manifest.get("outputs")
    dp_outputs = [o for o in outputs if isinstance(o, Mapping) and _is_dp(o)] if isinstance(outputs, list) else []
    if not dp_outputs:
        return AnchorReview((), (), frozenset())
    problems: list[str] = []
    allowed: set[str] = set()
    folder = project_state_dir(state_dir, create=False)
    try:
        anchor = read_anchor(folder)
    except LedgerIntegrityError as exc:
        return AnchorReview((f"DP outputs: the project's ledger anchor cannot be trusted ({exc.problem})",), (),
                            frozenset())
    reports: dict[str, LedgerReport | str] = {}
    for out in dp_outputs:
        name = str(out.get("name"))
        prov = out.get("provenance")
        text = prov.get("privacy_budget") if isinstance(prov, Mapping) else None
        found = parse_anchor_text(text) if isinstance(text, str) else []
        if not found:
            problems.append(f"DP output '{name}' has no ledger anchor in its provenance")
        for a in found:
            problems.extend(_check(name, a, anchor, folder, reports, allowed))
    for source, rep in sorted(reports.items()):
        if isinstance(rep, str):
            problems.append(rep)
        elif not rep.ok:
            problems.append(f"the ledger of data source '{source}' fails verification ({len(rep.problems)} "
                            f"problem(s): {rep.problems[0]})")
    notes = []
    if len(anchor.entries) > 1:
        names = [e.source for e in anchor.entries]
        notes.append(f"the project has {len(names)} DP ledgers (data sources {names}); a person in more than "
                     "one source is charged in each: confirm the populations are disjoint")
    return AnchorReview(tuple(dict.fromkeys(problems)), tuple(notes), frozenset(allowed))


def check_anchor(a: ProvenanceAnchor, name: str, *, state_dir: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`LedgerIntegrityError` unless one DP output's anchor holds in the project's ledger.

    What :func:`review_dp_outputs` checks, for one output, when it is cleared (:func:`kit.clear`):
    the writer refuses an output whose ledger was reset or whose anchor was forged.
    """
    folder = project_state_dir(state_dir, create=False)
    reports: dict[str, LedgerReport | str] = {}
    problems = _check(name, a, read_anchor(folder), folder, reports, set())
    rep = reports.get(a.source)
    if isinstance(rep, str):
        problems.append(rep)
    elif rep is not None and not rep.ok:
        problems.append(f"the ledger of data source '{a.source}' fails verification ({rep.problems[0]})")
    if problems:
        raise LedgerIntegrityError(f"DP output '{name}'", f"its privacy-budget ledger does not confirm it "
                                   f"({len(problems)} problem(s): {problems[0]})",
                                   "run 'kit budget verify' and ask the output checker; an output whose "
                                   "charge is not in the project's ledger is never cleared")


def _check(name: str, a: ProvenanceAnchor, anchor: Anchor, folder: Path,
           reports: dict[str, LedgerReport | str], allowed: set[str]) -> list[str]:
    entry = anchor.by_source(a.source)
    if entry is None:
        return [f"DP output '{name}': the project state folder has no ledger for data source '{a.source}' "
                "(deleted or replaced; or the review runs outside the project: set KIT_STATE_DIR)"]
    if a.source not in reports:
        try:
            reports[a.source] = verify_file(entry.ledger_path(folder), state_dir=folder)
        except KitError as exc:
            reports[a.source] = f"the ledger of data source '{a.source}' cannot be read ({exc.problem})"
    rep = reports[a.source]
    if isinstance(rep, str):
        return []
    problems = []
    if (a.cap_rho, a.cap_delta) != (entry.cap_rho, entry.cap_delta):
        problems.append(f"DP output '{name}': the cap in its provenance differs from the ledger's anchored cap")
    if a.head not in rep.hashes:
        problems.append(f"DP output '{name}': its ledger head is not in the ledger of data source '{a.source}' "
                        "(the ledger was truncated, rewritten or replaced by a fresh one)")
    elif rep.ok:
        line = rep.entries[rep.hashes.index(a.head)]
        if line.get("type") != EntryType.RELEASED.value or line.get("charge") != a.charge:
            problems.append(f"DP output '{name}': the ledger line at its head does not release its charge")
        else:
            allowed.update({a.head, a.charge, a.source})
    return problems
