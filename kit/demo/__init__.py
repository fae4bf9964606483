"""The flagship demo: BL's 2019 Aalborg-model analysis (``kit demo``).

:mod:`kit.demo.analysis` is the analysis itself (what a researcher runs on the
server); :mod:`kit.demo.pipeline` runs it end to end on synthetic data.
"""

from kit.demo.analysis import AnalysisConfig, AnalysisResults, prepare_movers, prepare_panel, run_analysis
from kit.demo.pipeline import DemoResult, run_demo

__all__ = ["AnalysisConfig", "AnalysisResults", "DemoResult", "prepare_movers", "prepare_panel", "run_analysis",
           "run_demo"]
