"""Lazy, guarded access to OpenDP and polars (the only module that imports them).

:func:`load` sets ``RUST_BACKTRACE=0`` before the first import (OpenDP's noise
search is 7x slower with backtraces), enables only the ``contrib`` feature
and refuses to run when ``honest-but-curious`` or ``idealized-numerics`` has
been enabled by anyone in the process. Without the extra installed it raises
:class:`~kit.errors.OptionalDependencyError` naming the ``dp`` extra.
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any, NamedTuple

from kit.errors import KitError, OptionalDependencyError

__all__ = ["Libs", "load"]

#: OpenDP features the kit must never run under.
FORBIDDEN_FEATURES = ("honest-but-curious", "idealized-numerics")


class Libs(NamedTuple):
    """The loaded modules: ``dp`` is ``opendp.prelude``, ``pl`` is polars."""

    dp: Any
    pl: Any
    version: str
    summarize: Any


def load() -> Libs:
    """Import OpenDP and polars on first use (see the module docs)."""
    if "RUST_BACKTRACE" not in os.environ or os.environ["RUST_BACKTRACE"] != "0":
        os.environ["RUST_BACKTRACE"] = "0"
    try:
        dp = importlib.import_module("opendp.prelude")
        pl = importlib.import_module("polars")
        mod = importlib.import_module("opendp.mod")
        accuracy = importlib.import_module("opendp.accuracy")
        from importlib.metadata import version

        opendp_version = version("opendp")
    except ImportError:
        raise OptionalDependencyError("differential privacy", "dp", "opendp") from None
    enabled = set(getattr(mod, "GLOBAL_FEATURES", ()))
    bad = sorted(f for f in FORBIDDEN_FEATURES if f in enabled)
    if bad:
        raise KitError("differential privacy", f"OpenDP feature(s) {bad} are enabled in this process; "
                       "they weaken or void the privacy guarantee",
                       "restart Python without enabling them (call dp.disable_features(...))")
    if "contrib" not in enabled:
        dp.enable_features("contrib")
    return Libs(dp=dp, pl=pl, version=opendp_version, summarize=accuracy.summarize_polars_measurement)


def resolve_query(libs: Libs, query: Any) -> tuple[Any, Any]:
    """Resolve a Context query into a measurement with bounded searches; return it and a release function.

    OpenDP's own ``resolve()`` searches the noise scale without bounds (about
    1.5 s per query); a search bounded to (1e-9, 1e9) gives the same measurement
    in about 0.15 s, and one bracketed around the scale predicted from two
    evaluations of the privacy map (see :func:`_scale_search`) in about half
    that. Falls back to OpenDP's resolve if its internals change.
    """
    dp = libs.dp
    try:
        inner = object.__getattribute__(query, "_query")
        plan = object.__getattribute__(query, "polars_plan")
        domain, metric = inner._chain
        d_in, d_out, measure, context = inner._d_in, inner._d_out, inner._output_measure, inner._context
    except AttributeError:  # pragma: no cover - OpenDP changed its internals
        meas = query.resolve()
        return meas, lambda _m: query.release()

    def make(scale: float, threshold: int | None = None) -> Any:
        return dp.m.make_private_lazyframe(input_domain=domain, input_metric=metric, output_measure=measure,
                                           lazyframe=plan, global_scale=scale, threshold=threshold)

    if getattr(measure.type, "origin", None) == "Approximate":
        def first(s: float) -> float:
            return float(make(s, 2**32 - 1).map(d_in)[0])

        scale = _scale_search(dp, lambda s: first(s) < d_out[0], first, float(d_out[0]))
        try:
            meas = make(scale)
        except dp.OpenDPException:
            def small_enough(t: int) -> bool:
                try:
                    return bool(make(scale, t).map(d_in)[1] < d_out[1])
                except dp.OpenDPException:      # a threshold below the per-person contribution
                    return False

            threshold = dp.binary_search(small_enough, bounds=(0, 2**31 - 1), T=int)
            meas = make(scale, threshold)
    else:
        def loss(s: float) -> float:
            return float(make(s).map(d_in))

        meas = make(_scale_search(dp, lambda s: bool(make(s).check(d_in, d_out)), loss, float(d_out)))
    return meas, context


#: The full search range of the noise scale.
SCALE_BOUNDS = (1e-9, 1e9)
#: Relative half-width of the bracket around the predicted scale.
BRACKET = 1e-9


def _scale_search(dp: Any, predicate: Any, loss: Any, target: float) -> float:
    """The smallest scale in :data:`SCALE_BOUNDS` that passes ``predicate``, as OpenDP's bisection finds it.

    OpenDP's float bisection returns the passing value closest to the decision
    boundary, which does not depend on the bracket as long as the bracket
    contains the boundary. The privacy loss of these mechanisms falls as a
    power of the scale (1/s for Laplace, 1/s² for Gaussian under zCDP), so two
    evaluations of the map predict the boundary; the bisection then runs in a
    bracket of ±1e-9 around it (about 25 instead of 83 steps). If the boundary
    is not inside the bracket, or the map is not a clean power law, the full
    search runs instead: the result is the same scale either way.
    """
    try:
        l1, l2 = loss(1.0), loss(2.0)
        power = math.log2(l1 / l2)
        guess = (l1 / target) ** (1 / power)
        if not (math.isfinite(guess) and 0.5 <= power <= 4):
            raise ValueError("no power law")
        lo = max(SCALE_BOUNDS[0], guess * (1 - BRACKET))
        hi = min(SCALE_BOUNDS[1], guess * (1 + BRACKET))
        if lo < hi:
            return float(dp.binary_search(predicate, bounds=(lo, hi), T=float))
    except (ValueError, ZeroDivisionError, OverflowError, TypeError, dp.OpenDPException):
        pass
    return float(dp.binary_search(predicate, bounds=SCALE_BOUNDS, T=float))
