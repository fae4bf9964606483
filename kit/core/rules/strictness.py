"""Is one rule set at least as strict as another, on every parameter?

A release written under one rule set (the session's) may contain an output
cleared under another set only when that other set is at least as strict on
every parameter of every rule of the release's set, for every statistic the
rule applies to. :func:`strictness_gaps` lists, as plain text built from rule
ids and parameter names only, where the other set is weaker (or has no rule
at all); an empty tuple means "at least as strict".

Direction of each parameter (``+`` larger is stricter, ``-`` smaller is
stricter, ``T`` true is stricter, ``F`` false is stricter, ``=`` must be equal,
``⊇`` the other set must cover at least these values)::

    threshold.min_units +        differencing.min_units +
    dominance.n_units +  k_share -  fails_when (at_or_above is stricter)  unit_types ⊇
    p_percent.p_share +          zeros.observed_zero_disclosive T
    group_disclosure.max_category_share -
    negative_values.mode =       extremes.allow F      quantile.min_units_around +
    key_columns.allow F          residual_dof.min_dof +
    model_term_units.min_units + action (block is stricter)
    report_n.round_to +          secondary.protection_share +

Examples
--------
>>> from kit.core.rules import load_rule_set
>>> dst, sacro = load_rule_set("dst"), load_rule_set("sacro")
>>> strictness_gaps(dst, dst)
()
>>> any("min_units" in gap for gap in strictness_gaps(dst, sacro))
True
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Any

from kit.core.rules.model import FailsWhen, Rule, TermAction

if TYPE_CHECKING:
    from kit.core.rules.loader import RuleSet

__all__ = ["at_least_as_strict", "strictness_gaps"]

_LARGER = {"min_units", "n_units", "p_share", "min_units_around", "min_dof", "round_to", "protection_share"}
_SMALLER = {"k_share", "max_category_share"}
_TRUE = {"observed_zero_disclosive"}
_FALSE = {"allow"}
_ORDER: dict[type, tuple[Any, ...]] = {
    FailsWhen: (FailsWhen.ABOVE, FailsWhen.AT_OR_ABOVE),
    TermAction: (TermAction.SUPPRESS, TermAction.BLOCK),
}


def _param_ok(name: str, mine: Any, theirs: Any) -> bool:
    """Whether the other set's value ``mine`` is at least as strict as the release's ``theirs``."""
    if name in _LARGER:
        return bool(mine >= theirs)
    if name in _SMALLER:
        return bool(mine <= theirs)
    if name in _TRUE:
        return bool(mine or not theirs)
    if name in _FALSE:
        return bool(not mine or theirs)
    if isinstance(theirs, tuple):
        return set(theirs) <= set(mine)
    if isinstance(theirs, enum.Enum) and type(theirs) in _ORDER:
        order = _ORDER[type(theirs)]
        return order.index(mine) >= order.index(theirs)
    return bool(mine == theirs)


def _rule_ok(candidate: Rule, required: Rule) -> bool:
    return all(_param_ok(f.name, getattr(candidate.params, f.name), getattr(required.params, f.name))
               for f in dataclasses.fields(required.params))


def strictness_gaps(other: RuleSet, release: RuleSet) -> tuple[str, ...]:
    """Where ``other`` is weaker than ``release`` (empty: at least as strict everywhere)."""
    gaps: list[str] = []
    for rule in release.rules:
        for stat in rule.applies_to:
            candidates = [r for r in other.rules if r.kind is rule.kind and r.applies(stat)]
            if not candidates:
                gaps.append(f"no '{rule.kind.value}' rule for {stat.value} (release rule '{rule.id}')")
            elif not any(_rule_ok(c, rule) for c in candidates):
                names = ", ".join(f.name for f in dataclasses.fields(rule.params))
                gaps.append(f"'{rule.kind.value}' for {stat.value} is weaker than rule '{rule.id}' ({names})")
    return tuple(gaps)


def at_least_as_strict(other: RuleSet, release: RuleSet) -> bool:
    """Whether ``other`` is at least as strict as ``release`` on every parameter."""
    return other.fingerprint == release.fingerprint or not strictness_gaps(other, release)
