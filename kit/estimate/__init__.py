"""Estimators whose every returned number has been checked.

Each function takes the :class:`~kit.session.Session` first, evaluates on
microdata inside it and returns a private result (zone 2) with ``summary()``
and a ``repr`` without values; :func:`kit.clear` turns it into a
:class:`~kit.core.cleared.ClearedEstimate`.

==========================  ===================================================
function                    what it estimates
==========================  ===================================================
:func:`event_study`         event study / DiD, cluster-robust and randomisation
                            inference
:func:`model`               OLS, WLS, logit, probit, Poisson (statsmodels)
:func:`rates`               shares with Wilson intervals
:func:`rate_difference`     differences of shares (Newcombe intervals)
:func:`staggered`           Callaway-Sant'Anna group-time effects
:func:`decomposition`       within-person vs composition change
:func:`safe_quantiles`      quantiles as means of several units
:func:`histogram`           counts per bin, sparse bins merged
==========================  ===================================================

See docs/estimates.md.
"""

from kit.estimate.decomposition import DecompositionResult, DecompositionSpec, decomposition
from kit.estimate.event_study import EventStudyResult, EventStudySpec, FlagBy, event_study
from kit.estimate.models import CovType, Family, ModelResult, ModelSpec, model
from kit.estimate.prepare import MissingPolicy
from kit.estimate.quantiles import QuantileResult, QuantileSpec, histogram, safe_quantiles
from kit.estimate.rates import RateResult, RateSpec, newcombe_interval, rate_difference, rates
from kit.estimate.results import EstimateResult
from kit.estimate.staggered import Control, StaggeredResult, StaggeredSpec, staggered

__all__ = [
    "Control",
    "CovType",
    "DecompositionResult",
    "DecompositionSpec",
    "EstimateResult",
    "EventStudyResult",
    "EventStudySpec",
    "Family",
    "FlagBy",
    "MissingPolicy",
    "ModelResult",
    "ModelSpec",
    "QuantileResult",
    "QuantileSpec",
    "RateResult",
    "RateSpec",
    "StaggeredResult",
    "StaggeredSpec",
    "decomposition",
    "event_study",
    "histogram",
    "model",
    "newcombe_interval",
    "rate_difference",
    "rates",
    "safe_quantiles",
    "staggered",
]
