"""The demo's figures: BL-style bars (hatched when not distinguishable from zero), from cleared outputs only."""

from __future__ import annotations

from typing import Any

from kit.demo.analysis import GROUP_LABELS, AnalysisConfig
from kit.demo.outcomes import DESTINATION_LABELS, outcome

__all__ = ["demo_figures"]


def demo_figures(e1: Any, e5: dict[str, Any], e7_difference: Any, config: AnalysisConfig) -> list[Any]:
    """BL's figure (E1), one bar chart per E5 outcome and the movers-out differences (E7).

    Parameters
    ----------
    e1, e5, e7_difference
        *Cleared* estimates (``kit.clear``); ``e7_difference`` may be ``None``.
    config
        The analysis configuration (base and target year).
    """
    from kit.release import Figure

    year, base = str(config.target_year), config.base_year
    figures = [Figure.bar(
        e1, name="bl_figure", x="area", group="group", value="pct_of_base", low="pct_ri_low",
        high="pct_ri_high", where={"year": year},
        title=f"Effect on the employment rate {year} relative to {base} (% of the {base} level)",
        y_label=f"% of the {base} employment rate", labels=GROUP_LABELS,
    )]
    for name, est in e5.items():
        spec = outcome(name)
        figures.append(Figure.bar(
            est, name=f"{name}_figure", x="area", value="estimate", low="ri_low", high="ri_high",
            where={"year": year}, title=f"Effect {year} vs {base}: share {spec.title}",
            y_label="percentage points",
        ))
    if e7_difference is not None:
        figures.append(Figure.bar(
            e7_difference, name="movers_figure", x="destination", group="pair", value="difference",
            low="ci_low", high="ci_high", where={"year": year}, scale=100.0,
            title=f"Movers-out since {base}: employment {year}, treated minus comparison areas",
            y_label="percentage points", labels=DESTINATION_LABELS,
        ))
    return figures
