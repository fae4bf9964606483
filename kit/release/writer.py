"""The release writer: the only code that writes a release folder.

:func:`write_release` renders the cleared outputs of one transfer (tables,
estimates, figures) to the file types the rule set allows, one
self-contained HTML report and a manifest; writes the output checker's report
to a separate folder; and checks the tables against earlier releases in the
differencing registry. Everything is written to a temporary sibling folder
and renamed into place, so a failure half-way leaves nothing behind, and an
existing release is never overwritten.

Release layout::

    <release>/
      report.html                 every table, figure, note and the provenance
      manifest.txt                (manifest.json when the rule set allows json)
      tables/<name>.html .md .tex .xlsx .csv   (or .tab / .txt instead of .csv)
      figures/<name>.svg .png

Examples
--------
>>> import tempfile, pathlib
>>> from kit.core.rules import load_rule_set
>>> dst = load_rule_set("dst")
>>> with tempfile.TemporaryDirectory() as tmp:
...     write_release(pathlib.Path(tmp) / "r", [{"a": 1}], dst, title="t")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kit.errors.DisclosureError: release: a dict is not a cleared output. Fix: pass the result ...
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit import __version__
from kit.core.cleared import ClearedEstimate, ClearedTable
from kit.core.rules.loader import RuleSet
from kit.core.spec import safe_name
from kit.errors import SpecError
from kit.release.charts import Figure, render_chart
from kit.release.context import OutputContext, output_context, require_cleared
from kit.release.manifest import MANIFEST_VERSION, manifest_name, manifest_text, seal, sha256_bytes
from kit.release.paths import check_release_paths, make_folders, nearest_existing
from kit.release.render import (
    FigureContext,
    ReportContext,
    make_environment,
    render_delimited,
    render_output,
    render_report,
)
from kit.release.tempdirs import TempFolder, remove_stale

__all__ = ["DEFAULT_FORMATS", "ReleaseResult", "write_release"]

log = logging.getLogger(__name__)

#: Formats written when the caller does not choose.
DEFAULT_FORMATS = ("html", "xlsx", "csv", "md", "tex", "png", "svg")
_KNOWN_FORMATS = frozenset(DEFAULT_FORMATS)

#: Output names that look like register files (bef2018, RAS_2019, udda201512) are refused.
_REGISTER_NAME = re.compile(
    r"^(bef|ras|ind|udda|akm|idap|idan|idas|bol|byg|dream|lpr|fain|firm|krin|vnds|fam|uddf|ilme|"
    r"befupd|bbr|fire|sygdom|lmdb|opgm)[_\-]?(19|20)\d{2}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReleaseResult:
    """What :func:`write_release` wrote."""

    folder: Path
    manifest_path: Path
    files: tuple[str, ...]
    outputs: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    checker_folder: Path | None
    differencing_pairs: int
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        from kit.reprs import short, short_list

        return short(
            f"<ReleaseResult {self.folder.name!r}: {len(self.outputs)} outputs {short_list(self.outputs)}, "
            f"{len(self.files)} files, manifest {self.manifest_path.name}>"
        )

    def _repr_html_(self) -> str:
        """Notebook view: folder, outputs, files, notes (all of it cleared)."""
        from kit.reprs import html_card, html_rows

        facts = [("folder", self.folder.name), ("manifest", self.manifest_path.name),
                 ("outputs", f"{len(self.outputs)}"), ("files", f"{len(self.files)}"),
                 ("differencing pairs checked", str(self.differencing_pairs))]
        if self.skipped:
            facts.append(("skipped formats", str(len(self.skipped))))
        facts.extend(("note", n) for n in self.notes[:5])
        return html_card(f"Release {self.folder.name}", facts,
                         html_rows(["output"], [[o] for o in self.outputs[:10]], len(self.outputs)))


Output = ClearedTable | ClearedEstimate | Figure


def _check_outputs(outputs: Sequence[object]) -> list[Output]:
    if isinstance(outputs, (ClearedTable, ClearedEstimate, Figure)):
        outputs = [outputs]
    checked: list[Output] = []
    names: set[str] = set()
    for obj in outputs:
        if not isinstance(obj, Figure):
            obj = require_cleared(obj)
        where = f"output '{obj.name}'"
        safe_name(obj.name, "output name")
        if _REGISTER_NAME.match(obj.name):
            raise SpecError(
                where,
                "the name looks like a register file name",
                "give the output a descriptive name (file names of microdata inputs never go into a release)",
            )
        if obj.name in names:
            raise SpecError(where, "two outputs have this name", "give every output its own name")
        names.add(obj.name)
        checked.append(obj)
    if not checked:
        raise SpecError(
            "release", "there are no outputs", "pass at least one cleared table, estimate or figure"
        )
    return checked


def _plan_formats(formats: Sequence[str], rules: RuleSet) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Map each requested format to the file extension written, and list what is skipped."""
    allowed = rules.release.file_types
    plan: dict[str, str] = {}
    skipped: list[tuple[str, str]] = []
    for fmt in formats:
        fmt = fmt.lower()
        if fmt not in _KNOWN_FORMATS:
            raise SpecError(
                "release formats", f"unknown format '{fmt}'", f"use some of {sorted(_KNOWN_FORMATS)}"
            )
        choices: tuple[str, ...] = {"csv": ("csv", "tab", "txt"), "html": ("html", "htm")}.get(fmt, (fmt,))
        ext: str | None = next((e for e in choices if e in allowed), None)
        if ext is None:
            skipped.append((fmt, f"the rule set '{rules.id}' does not allow the file type"))
        else:
            plan[fmt] = ext
            if ext != fmt and not (fmt == "html" and ext == "htm"):
                skipped.append(
                    (fmt, f"written as tab-separated .{ext}: the rule set '{rules.id}' does not allow .{fmt}")
                )
    return plan, skipped


def _release_created(outputs: Sequence[Output]) -> str:
    stamps = []
    for obj in outputs:
        source = obj.source if isinstance(obj, Figure) else obj
        if source.provenance is not None:
            stamps.append(source.provenance.created)
    return max(stamps) if stamps else ""


def _flag_counts(obj: ClearedTable | ClearedEstimate) -> dict[str, int]:
    if isinstance(obj, ClearedTable):
        return {}
    counts: dict[str, int] = {}
    for row in obj.rows:
        for flag in row.flags:
            counts[flag.value] = counts.get(flag.value, 0) + 1
    return dict(sorted(counts.items()))


def _entry(obj: Output) -> dict[str, Any]:
    if isinstance(obj, Figure):
        src = obj.source
        return {
            "name": obj.name,
            "kind": "figure",
            "type": obj.kind.value,
            "title": obj.title or obj.name,
            "status": "cleared",
            "source": src.name,
            "n_points": len(obj.points()),
            "n_suppressed": sum(p.suppressed for p in obj.points()),
            "n_not_distinguishable_from_zero": sum(p.not_significant for p in obj.points()),
            "provenance": src.provenance.as_dict() if src.provenance else {},
            "files": [],
        }
    kind = "table" if isinstance(obj, ClearedTable) else "estimate"
    typ = obj.statistic if isinstance(obj, ClearedTable) else obj.kind.value
    n_supp = sum(r.suppressed for r in obj.rows)
    return {
        "name": obj.name,
        "kind": kind,
        "type": typ,
        "title": obj.title or obj.name,
        "status": "cleared",
        "n_rows": len(obj.rows),
        "n_suppressed": n_supp,
        "flags": _flag_counts(obj),
        "provenance": obj.provenance.as_dict() if obj.provenance else {},
        "files": [],
    }


class _Staging:
    """Files written into the temporary folder, with their checksums."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, Any]] = {}

    def write(self, relpath: str, data: bytes | str, fmt: str) -> dict[str, Any]:
        if relpath in self.files or ".." in relpath.split("/") or relpath.startswith("/"):
            raise SpecError(
                "release",
                f"the file '{relpath}' would be written twice or outside the release",
                "this is a bug; please report it",
            )
        payload = data.encode("utf-8") if isinstance(data, str) else data
        target = self.root.joinpath(*relpath.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
        record = {"path": relpath, "format": fmt, "sha256": sha256_bytes(payload), "bytes": len(payload)}
        self.files[relpath] = record
        return record


def write_release(
    folder: str | Path,
    outputs: Sequence[Output],
    rules: RuleSet,
    *,
    title: str,
    formats: Sequence[str] = DEFAULT_FORMATS,
    checker_dir: str | Path | None = None,
    private_results: Sequence[Any] = (),
    registry: Any = None,
    site_templates: str | Path | None = None,
    ledger: str | Path | None = None,
    created: str | None = None,
    mixed_rule_sets: bool = False,
    differencing: bool = True,
    state_dir: str | Path | None = None,
    request: Mapping[str, Any] | None = None,
) -> ReleaseResult:
    """Write one release: rendered outputs, a self-contained report and a manifest.

    Parameters
    ----------
    folder
        The release folder to create (must not exist).
    outputs
        Cleared tables, cleared estimates and :class:`~kit.release.Figure` objects.
        Anything else raises :class:`~kit.errors.DisclosureError`.
    rules
        The rule set: its file types limit what is written; its symbol marks suppression.
    title
        Title of the report.
    formats
        Requested formats (``html xlsx csv md tex png svg``); formats whose file type the rule
        set does not allow are skipped (``csv`` falls back to tab-separated ``.tab``/``.txt``)
        and listed in the manifest.
    checker_dir
        Folder for the output checker's report (never inside the release); the report goes
        into ``<checker_dir>/<release name>/``.
    private_results
        The private tables behind the cleared outputs (matched by name), for the checker's
        report and the differencing registry. They are never written to the release.
    registry
        A :class:`~kit.release.registry.ReleaseRegistry` or its folder (default: the project's, in
        ``<state folder>/differencing``): every output is checked against the others and against
        earlier releases on the units it counts, and recorded once the release is in place.
    site_templates
        A folder whose templates override the kit's.
    ledger
        A DP budget ledger file to list in the checker's report (default: every ledger of the
        project, from the anchor in its state folder; none when the project has none).
    created
        Release time for the manifest (default: the latest creation time of the outputs, so
        the same outputs give the same release).
    mixed_rule_sets
        Accept outputs cleared under another rule set than ``rules`` even when it is not at
        least as strict on every parameter; the manifest (``mixed_rule_sets``) and the
        checker's report show it prominently.
    request
        A release request (needs ``checker_dir``): per output name its context, controls and
        exception request (:class:`kit.release.request.ResearcherContext`, a mapping of those
        fields or a text). ``request.json`` with the author (the OS user) goes beside the
        checker's report, never into the release (:mod:`kit.release.request`).

    differencing
        ``False`` turns the differencing check off (explicit opt-out; the manifest says so).
    state_dir
        The project state folder (default: :func:`kit.state.project_state_dir`).

    Before anything is written every output is verified and re-derived from its private
    evidence (:func:`kit.release.rederive.rederive_outputs`).

    Raises
    ------
    DisclosureError
        When an output is not cleared, arrives without its evidence, fails the
        re-derivation, or the registry finds a differencing pair.
    OutputExistsError
        When the release folder (or its checker folder) exists.
    """
    from kit.release.checker import write_checker_report
    from kit.release.registry import (
        REGISTRY_FOLDER,
        DifferencingError,
        DifferencingGuard,
        as_registry,
        private_name,
    )
    from kit.state import project_state_dir

    checked = _check_outputs(outputs)
    contexts = _request_contexts(request, checked, checker_dir)
    rederived = _rederive(checked, rules, mixed_rule_sets)
    # failclosed: paths checked up front (exit 2, no traceback); stale temporaries of killed writers removed
    target, checker_target = check_release_paths(folder, checker_dir)
    stale = remove_stale(nearest_existing(target.parent))
    if checker_target is not None:
        stale += remove_stale(nearest_existing(checker_target.parent))
    notes = tuple(f"removed the temporary folder '{n}' left by an interrupted release" for n in stale)
    for note in notes:
        log.warning(note)
    plan, skipped = _plan_formats(formats, rules)
    stamp = created or _release_created(checked)
    privates: dict[Any, Any] = dict(_sealed_privates(checked))
    privates.update({private_name(p): p for p in private_results})
    env = make_environment(site_templates)
    ledgers = [ledger] if ledger is not None else project_ledgers(state_dir)  # the checker's report lists them
    # differencing registry: check here; record pending before the rename, commit after; one lock (`held`)
    guard = DifferencingGuard(
        as_registry(registry) if registry is not None else as_registry(project_state_dir(state_dir) / REGISTRY_FOLDER),
        rules, target.name, enabled=differencing,
    )
    held = contextlib.ExitStack()
    held.enter_context(guard.held())
    try:
        pairs = guard.check(checked, privates)
    except BaseException:
        held.close()
        raise
    blocking = tuple(p for p in pairs if p.blocking) if differencing else ()  # opted out: reported, not enforced

    created_dirs = make_folders(target.parent)
    if checker_target is not None:
        created_dirs += make_folders(checker_target.parent)
    stack = contextlib.ExitStack()
    temps = [TempFolder(target.parent, target.name)]
    if checker_target is not None:
        temps.append(TempFolder(checker_target.parent, checker_target.name))
    tmp = temps[0].path
    tmp_checker = temps[1].path if checker_target is not None else None
    moved: list[Path] = []
    try:
        for temp in temps:
            stack.enter_context(temp)
        if blocking:
            if tmp_checker is not None and checker_target is not None:
                write_checker_report(
                    tmp_checker,
                    title=title,
                    release_name=target.name,
                    outputs=checked,
                    privates=privates,
                    rules=rules,
                    manifest_sha256=None,
                    pairs=pairs,
                    ledger=ledgers,
                    created=stamp,
                    env=env,
                    blocked=True,
                    **_checker_extras(rederived, mixed_rule_sets),
                    differencing=guard.manifest_entry(),
                )
                checker_target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(tmp_checker, checker_target)
            raise DifferencingError(blocking)
        tmp.mkdir()
        staging = _Staging(tmp)
        entries, items = _write_outputs(staging, checked, plan, rules, env, stamp)
        report_files: list[str] = []
        if "html" in plan:
            report = ReportContext(
                title=title,
                created=stamp,
                rule_set={"id": rules.id, "version": rules.version, "fingerprint": rules.fingerprint},
                items=tuple(items),
                skipped=tuple({"format": f, "reason": r} for f, r in skipped),
            )
            report_files.append(
                staging.write(f"report.{plan['html']}", render_report(env, report), "html")["path"]
            )
        doc = {
            "manifest_version": MANIFEST_VERSION,
            "kit_version": __version__,
            "title": title,
            "release": target.name,
            "created": stamp,
            "rule_set": {"id": rules.id, "version": rules.version, "fingerprint": rules.fingerprint},
            "file_types_allowed": list(rules.release.file_types),
            "formats_requested": [f.lower() for f in formats],
            "skipped": [{"format": f, "reason": r} for f, r in skipped],
            "suppressed_symbol": rules.release.suppressed_symbol,
            "report": report_files[0] if report_files else None,
            "outputs": entries,
            "differencing": guard.manifest_entry(),
            "files": [staging.files[k] for k in sorted(staging.files)],
            **_manifest_extras(rederived, mixed_rule_sets),
            **({"review_request": True} if contexts is not None else {}),  # reviewed as a request (issue 20)
        }
        text = manifest_text(seal(doc))
        manifest_file = manifest_name(rules.release.file_types)
        (tmp / manifest_file).write_text(text, encoding="utf-8")
        if tmp_checker is not None:
            write_checker_report(
                tmp_checker,
                title=title,
                release_name=target.name,
                outputs=checked,
                privates=privates,
                rules=rules,
                manifest_sha256=sha256_bytes(text.encode()),
                pairs=pairs,
                ledger=ledgers,
                created=stamp,
                env=env,
                blocked=False,
                **_checker_extras(rederived, mixed_rule_sets),
                differencing=guard.manifest_entry(),
            )
            if contexts is not None:
                _write_request(tmp_checker, target.name, contexts, stamp)
        guard.record(stamp, pending=target)  # inside the lock: pending -> rename -> commit
        os.rename(tmp, target)
        moved.append(target)
        if tmp_checker is not None and checker_target is not None:
            checker_target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(tmp_checker, checker_target)
            moved.append(checker_target)
        guard.commit()
    except BaseException:
        with contextlib.suppress(Exception):
            guard.abort()  # a failed release records nothing (a killed one: settled at the next check)
        for path in (tmp, tmp_checker, *moved):
            if path is not None and path.exists():
                shutil.rmtree(path, ignore_errors=True)
        stack.close()
        for made in reversed(created_dirs):
            with contextlib.suppress(OSError):
                made.rmdir()  # only when still empty
        raise
    finally:
        held.close()
    stack.close()
    log.info("release %s written: %d outputs, %d files", target.name, len(checked), len(staging.files) + 1)
    return ReleaseResult(
        folder=target,
        manifest_path=target / manifest_file,
        files=tuple(sorted([*staging.files, manifest_file])),
        outputs=tuple(o.name for o in checked),
        skipped=tuple(skipped),
        checker_folder=checker_target,
        differencing_pairs=len(pairs),
        notes=notes,
    )


def project_ledgers(state_dir: str | Path | None = None) -> list[Path]:
    """The project's DP budget ledgers (from the anchor in its state folder), for the checker's report.

    A project without ledgers gives none; an anchor that cannot be read gives none and a warning
    (a DP release verifies the anchor itself and refuses a damaged one).
    """
    from kit.dp.anchor import read_anchor
    from kit.errors import KitError
    from kit.state import project_state_dir

    folder = project_state_dir(state_dir)
    try:
        anchor = read_anchor(folder)
    except KitError as exc:
        log.warning("the checker's report lists no DP ledger: the project's ledger anchor cannot be read (%s)",
                    type(exc).__name__)
        return []
    return [e.ledger_path(folder) for e in anchor.entries]


def _request_contexts(request: Mapping[str, Any] | None, outputs: Sequence[Output],
                      checker_dir: str | Path | None) -> dict[str, Any] | None:
    """The release request's contexts, checked before anything is written (workbench, issue 20)."""
    from kit.release.request import ResearcherContext

    if request is None:
        return None
    if checker_dir is None:
        raise SpecError("release request", "needs a checker folder", "pass checker_dir= as well")
    names = {o.name for o in outputs}
    unknown = sorted(str(k) for k in request if k not in names)
    if unknown:
        raise SpecError("release request", f"names {len(unknown)} output(s) the release does not hold",
                        f"use the outputs' names: {sorted(names)}")
    return {str(k): ResearcherContext.coerce(v, str(k)) for k, v in request.items()}


def _write_request(folder: Path, release: str, contexts: Mapping[str, Any], created: str) -> None:
    from kit.release.request import ReleaseRequest, os_user, write_request

    write_request(folder, ReleaseRequest(release, os_user(), created, dict(contexts)))


def _rederive(outputs: Sequence[Output], rules: RuleSet, mixed: bool) -> tuple[Any, ...]:
    """Verify and re-derive every output from its evidence (kit.release.rederive)."""
    from kit.release.rederive import rederive_outputs

    return rederive_outputs(outputs, rules, mixed_rule_sets=mixed)


def _sealed_privates(outputs: Sequence[Output]) -> dict[str, Any]:
    """The kit's private results the outputs were cleared from (verified by _rederive), by name."""
    from kit.release.rederive import sealed_privates

    return sealed_privates(outputs)


def _manifest_extras(rederived: Sequence[Any], mixed: bool) -> dict[str, Any]:
    """Manifest keys recording mixed rule sets (only when the caller allowed them)."""
    if not mixed:
        return {}
    others = sorted({f"{c.rule_set_id} {c.rule_set_version} sha256:{c.rule_set_fingerprint}"
                     for c in rederived if c.other_rule_set})
    return {"mixed_rule_sets": True, "other_rule_sets": others}


def _checker_extras(rederived: Sequence[Any], mixed: bool) -> dict[str, Any]:
    return {"rederived": {c.name: c.facts() for c in rederived}, "mixed_rule_sets": mixed}


def _write_outputs(
    staging: _Staging, outputs: Sequence[Output], plan: dict[str, str], rules: RuleSet, env: Any, stamp: str
) -> tuple[list[dict[str, Any]], list[OutputContext | FigureContext]]:
    from kit.release.xlsx import xlsx_bytes

    symbol = rules.release.suppressed_symbol
    entries: list[dict[str, Any]] = []
    items: list[OutputContext | FigureContext] = []
    for obj in outputs:
        entry = _entry(obj)
        files = entry["files"]
        if isinstance(obj, Figure):
            chart = render_chart(obj, symbol)
            for fmt, data in (("svg", chart.svg), ("png", chart.png)):
                if fmt in plan:
                    files.append(staging.write(f"figures/{obj.name}.{plan[fmt]}", data, fmt)["path"])
            src = obj.source
            items.append(
                FigureContext(
                    name=obj.name,
                    title=obj.title or obj.name,
                    caption=obj.caption,
                    chart=obj.kind.value,
                    source=src.title or src.name,
                    svg=_markup(chart.inline_svg()),
                    provenance=src.provenance.as_dict() if src.provenance else {},
                )
            )
            entries.append(entry)
            continue
        ctx = output_context(obj, symbol=symbol, note_suppressed=rules.release.note_suppressed)
        base = f"tables/{obj.name}"
        for fmt in ("html", "md", "tex"):
            if fmt in plan:
                files.append(staging.write(f"{base}.{plan[fmt]}", render_output(env, ctx, fmt), fmt)["path"])
        if "csv" in plan:
            ext = plan["csv"]
            files.append(
                staging.write(
                    f"{base}.{ext}",
                    render_delimited(ctx, "," if ext == "csv" else "\t"),
                    "csv" if ext == "csv" else "tab",
                )["path"]
            )
        if "xlsx" in plan:
            files.append(staging.write(f"{base}.{plan['xlsx']}", xlsx_bytes(ctx, stamp), "xlsx")["path"])
        items.append(ctx)
        entries.append(entry)
    return entries, items


def _markup(svg: str) -> Any:
    from markupsafe import Markup

    return Markup(svg)
