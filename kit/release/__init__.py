"""Releases: rendered cleared outputs, charts, the manifest, the checker's report and review.

The public entry point is :func:`write_release` (``Session.release`` calls it);
:class:`Figure` draws charts from cleared outputs; :class:`ReleaseRegistry` (the
project's differencing registry, on by default) checks every output against the others and
against earlier releases on the units it counts; :func:`review_release`
is what ``kit review`` runs for output checkers.

>>> from kit.release import Figure, write_release, review_release
>>> callable(write_release) and callable(review_release)
True
"""

from kit.release.charts import BL_CAPTION, ChartKind, Figure, render_chart
from kit.release.checker import BANNER
from kit.release.registry import (
    DifferencingError,
    DifferencingPair,
    PopulationsUnknownError,
    RegistryDamagedError,
    ReleaseRegistry,
)
from kit.release.review import ReviewResult, review_release
from kit.release.writer import DEFAULT_FORMATS, ReleaseResult, write_release

__all__ = [
    "BANNER",
    "BL_CAPTION",
    "DEFAULT_FORMATS",
    "ChartKind",
    "DifferencingError",
    "DifferencingPair",
    "Figure",
    "PopulationsUnknownError",
    "RegistryDamagedError",
    "ReleaseRegistry",
    "ReleaseResult",
    "ReviewResult",
    "render_chart",
    "review_release",
    "write_release",
]
