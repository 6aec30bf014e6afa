"""What the centre routes by: the caller rules and the policies calls and callbacks start with.

Rules: pure data; a caller rule names one number or a prefix ending in "*", matched on the
number's digits (and a leading "+"); the first matching rule decides a caller's level and
pins it (screening may then only raise it to emergency); no rule: the default level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ivr.core.call_state import CallPolicy
from ivr.core.callback import CallbackPolicy


def digits_of(number: str) -> str:
    return re.sub(r"[^0-9+]", "", number)


def number_matches(pattern: str, number: str) -> bool:
    """A number pattern ("0812345", or a prefix "0812*") against a caller's digits."""
    if pattern.endswith("*"):
        return number.startswith(pattern[:-1])
    return number == pattern


@dataclass(frozen=True)
class CallerRule:
    number: str  # one number, or a prefix ending in "*"
    level: str


@dataclass(frozen=True)
class Routing:
    caller_rules: tuple[CallerRule, ...] = ()
    default_level: str = "normal"
    call: CallPolicy = field(default_factory=CallPolicy)
    callback: CallbackPolicy = field(default_factory=CallbackPolicy)

    def rule_for(self, caller_number: str) -> CallerRule | None:
        digits = digits_of(caller_number)
        return next((r for r in self.caller_rules if number_matches(r.number, digits)), None)

    def level_of(self, caller_number: str) -> str:
        rule = self.rule_for(caller_number)
        return rule.level if rule else self.default_level
