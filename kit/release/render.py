"""The release's Jinja2 environment and the renderers built on it.

One environment over the kit's ``templates/`` folder, with an optional site
folder in front of it that can override any template by giving a file of
the same name (a :class:`~jinja2.ChoiceLoader`). The shipped templates are
also reachable under the prefix ``kit/``, so a site template can extend the
original and override only a block::

    {% extends "kit/release/_output.html.j2" %}
    {% block provenance %}<p>Checked by the Aarhus output team.</p>{% endblock %}

Blocks every output template has: ``caption``, ``notes``, ``provenance``.
HTML templates (``*.html.j2``) are autoescaped; Markdown and LaTeX templates
escape with the ``md`` and ``tex`` filters. Undefined names are errors
(:class:`~jinja2.StrictUndefined`).

Examples
--------
>>> env = make_environment()
>>> env.from_string("{{ 1234.5 | number(1) }} {{ 0.25 | percent }}").render()
'1,234.5 25.0 %'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from kit import __version__
from kit.errors import SpecError
from kit.release.context import OutputContext
from kit.release.filters import FILTERS, machine, raw
from kit.release.neutral import neutralise
from kit.resources import templates_dir

__all__ = [
    "FigureContext",
    "ReportContext",
    "make_environment",
    "render_delimited",
    "render_output",
    "render_report",
]

#: Template per text format of one output.
OUTPUT_TEMPLATES: Mapping[str, str] = MappingProxyType(
    {
        "html": "release/table.html.j2",
        "md": "release/table.md.j2",
        "tex": "release/table.tex.j2",
    }
)


@dataclass(frozen=True)
class FigureContext:
    """A figure in the report: inline SVG markup (drawn from a cleared output), title and caption."""

    name: str
    title: str
    caption: str
    chart: str
    source: str
    svg: Markup
    provenance: Mapping[str, Any]
    kind: str = "figure"


@dataclass(frozen=True)
class ReportContext:
    """The whole release report."""

    title: str
    created: str
    rule_set: Mapping[str, str]
    items: tuple[OutputContext | FigureContext, ...]
    skipped: tuple[Mapping[str, str], ...]
    kit_version: str = __version__


def make_environment(site_templates: str | Path | None = None) -> Environment:
    """The one Jinja2 environment of the release (site folder first, then the kit's templates).

    Raises
    ------
    SpecError
        When ``site_templates`` is given but is not a folder.
    """
    builtin = FileSystemLoader(str(templates_dir()))
    loaders: list[Any] = []
    if site_templates is not None:
        site = Path(site_templates)
        if not site.is_dir():
            raise SpecError(
                "site templates",
                f"the folder '{site.name}' does not exist",
                "pass the folder holding your overriding templates, or leave site_templates out",
            )
        loaders.append(FileSystemLoader(str(site)))
    loaders += [builtin, PrefixLoader({"kit": builtin})]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "html.j2", "htm.j2", "xml.j2"),
            default_for_string=False,
            default=False,
        ),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    env.globals["kit_version"] = __version__
    return env


def render_output(env: Environment, out: OutputContext, fmt: str) -> str:
    """Render one output as ``html``, ``md`` or ``tex``."""
    template = env.get_template(OUTPUT_TEMPLATES[fmt])
    return template.render(out=out)


def render_report(env: Environment, report: ReportContext) -> str:
    """Render the self-contained HTML report."""
    return env.get_template("release/report.html.j2").render(report=report)


def render_delimited(out: OutputContext, delimiter: str = ",") -> str:
    """The output as delimited text: one header row, machine-readable numbers, the symbol when suppressed.

    Flags go into a last column ``flags`` when any row has one. Text fields a spreadsheet would
    read as a formula (first character ``= + - @``, tab or carriage return, and not a plain number)
    get a leading single quote (:func:`kit.release.neutral.neutralise`, OWASP's advice).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    with_flags = any(r.flags for r in out.rows)
    header: Sequence[str] = [neutralise(c.name) for c in out.columns] + (["flags"] if with_flags else [])
    writer.writerow(header)
    for r in out.rows:
        cells = [
            raw(machine(c.fmt, c.value), neutralise(out.symbol)) if not c.suppressed else neutralise(out.symbol)
            for c in r.cells
        ]
        row = [*(neutralise(str(k)) for k in r.keys), *cells]
        if with_flags:
            row.append(neutralise(";".join(r.flags)))
        writer.writerow(row)
    return buffer.getvalue()
