"""Rule sets as versioned data, and the pure primary-check functions.

>>> from kit.core.rules import load_rule_set
>>> load_rule_set("sacro").min_units()
10
"""

from kit.core.rules.loader import ReleasePolicy, RuleSet, list_rule_sets, load_rule_set
from kit.core.rules.model import Rule, RuleKind

__all__ = ["ReleasePolicy", "Rule", "RuleKind", "RuleSet", "list_rule_sets", "load_rule_set"]
