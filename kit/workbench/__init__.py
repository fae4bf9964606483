"""The output checker's workbench: a release request reviewed in a browser (docs/review.md).

``kit review RELEASE --ui`` serves, on 127.0.0.1 only and behind a random per-run
token, server-rendered pages over the release, its checker's report and its request:

- :mod:`kit.workbench.views` — what each page shows (overview, one output, diff), built
  from the verified release, ``checker.json`` and the request replayed from the decision log;
- :mod:`kit.workbench.takehome` — the zip of the approved outputs;
- :mod:`kit.workbench.diff` — a release against an earlier one;
- :mod:`kit.workbench.server` — the HTTP server (standard library) and its security checks.

The templates and assets are package data (``kit/workbench/templates``, ``kit/workbench/static``):
no CDN, no build step.
"""

from __future__ import annotations

__all__: list[str] = []
