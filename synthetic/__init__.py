"""Synthetic DST-style registers with planted effects (``kit synth``).

The public API is :func:`generate`, :class:`SynthConfig` and :class:`GenerationResult`;
see docs/synthetic.md for the output layout and the definition of truth.json.

Examples
--------
>>> from synthetic import SynthConfig
>>> SynthConfig.default(persons=250_000, seed=3).seed
3
"""

from synthetic.config import DEFAULT_DEMO_PERSONS, DEFAULT_SEED, ColumnCase, Layout, SynthConfig, TreatedArea
from synthetic.engine import GenerationResult, generate

__all__ = [
    "DEFAULT_DEMO_PERSONS",
    "DEFAULT_SEED",
    "ColumnCase",
    "GenerationResult",
    "Layout",
    "SynthConfig",
    "TreatedArea",
    "generate",
]
