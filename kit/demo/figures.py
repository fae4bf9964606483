"""The demo's figures: BL-style bars (hatched when not distinguishable from zero), from cleared outputs only."""

from __future__ import annotations

from typing import Any

from kit.demo.analysis import GROUP_LABELS, AnalysisConfig
from kit.demo.movers_release import STATUS_DIM
from kit.demo.outcomes import DESTINATION_LABELS, Attachment, Destination, outcome

__all__ = ["demo_figures"]

_SHORT_LABELS = {Attachment.EMPLOYED.value: "Employed", Attachment.UNEMPLOYED.value: "Unemployed",
                 Attachment.SUPPORT.value: "Public support", Attachment.OUTSIDE.value: "Outside"}
_WHERE = {Destination.ELSEWHERE: "elsewhere in Denmark", Destination.SAME_MUNICIPALITY: "same municipality",
          Destination.BACK: "back again"}


def demo_figures(e1: Any, e5: dict[str, Any], e7_difference: Any, config: AnalysisConfig,
                 e7_attachment: Any = None) -> list[Any]:
    """BL's figure (E1), one bar chart per E5 outcome, the movers-out differences (E7) and, with
    ``e7_attachment``, the movers' attachment shares per destination (treated areas beside the
    comparison areas' movers; a suppressed cell is a gap).

    Parameters
    ----------
    e1, e5, e7_difference, e7_attachment
        *Cleared* estimates and table (``kit.clear``); ``e7_difference`` and ``e7_attachment`` may
        be ``None``.
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
    if e7_attachment is not None:
        for dest in (Destination.ELSEWHERE, Destination.SAME_MUNICIPALITY, Destination.BACK):
            figures.append(Figure.bar(
                e7_attachment, name=f"movers_attachment_{dest.value}", x=STATUS_DIM, group="area",
                value="estimate", low="ci_low", high="ci_high", where={"year": year, "destination": dest.value},
                scale=100.0, title=f"Movers-out since {base}, {_WHERE[dest]}: labour-market attachment {year}",
                y_label="% of the movers", labels=_SHORT_LABELS,
                caption="Shares of each area's movers (comparison areas pooled), 95 % Wilson intervals; "
                        "the four shares of an area sum to 100 %; a suppressed cell is a gap.",
            ))
    return figures
