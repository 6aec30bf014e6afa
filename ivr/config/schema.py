"""The shape of queue/*.yaml, validated with pydantic.

Rules: every field has a range or a pattern; names are referred to, never repeated
(priorities by name, overflow targets by key); everything that refers to something
else is checked to exist; unknown keys are errors (a typo must not be silently ignored).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]
Endpoint = Annotated[str, StringConstraints(pattern=r"^(PJSIP|Local)/[A-Za-z0-9_.@+-]{1,60}$")]
Loc = tuple[str | int, ...]
# An IPv4 address or network (a.b.c.d or a.b.c.d/nn), and host:port.
Address = Annotated[str, StringConstraints(pattern=r"^(\d{1,3}\.){3}\d{1,3}(/\d{1,2})?$")]
HostPort = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]{1,80}(:\d{1,5})?$")]
NumberPattern = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,20}\*?$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Priority(Strict):
    name: Name
    base: float = Field(ge=0, le=10_000)
    max_wait_seconds: float | None = Field(default=None, gt=0, le=3600)
    overflow: Name | None = None

    @model_validator(mode="after")
    def _overflow_needs_wait(self) -> Priority:
        if self.overflow is not None and self.max_wait_seconds is None:
            raise ValueError("overflow needs max_wait_seconds (after how long)")
        return self


class Timers(Strict):
    ring_seconds: int = Field(15, ge=5, le=60)
    missed_offers_to_pause: int = Field(2, ge=1, le=10)
    wrapup_seconds: float = Field(10, ge=0, le=600)
    reassurance_every_seconds: float = Field(20, ge=5, le=300)


class CallerPriority(Strict):
    number: NumberPattern
    priority: Name

    def matches(self, caller: str) -> bool:
        if self.number.endswith("*"):
            return caller.startswith(self.number[:-1])
        return caller == self.number


class OverflowTarget(Strict):
    endpoint: Endpoint
    description: str = ""


class Trunk(Strict):
    """An operator's SIP trunk: calls from its addresses reach 112; callbacks leave by it."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]
    name: str = Field(min_length=1, max_length=80)
    match: list[Address] = Field(min_length=1, max_length=50)  # source addresses or networks
    contact: HostPort | None = None  # where calls to the operator go (host:port)


class Employment(StrEnum):
    CIVIL_SERVANT = "civil-servant"
    CONTRACT = "contract"


class AgentConfig(Strict):
    id: Name
    name: str = Field(min_length=1, max_length=80)
    endpoint: Endpoint
    employment: Employment
    skills: frozenset[Name] = frozenset()
    wrapup_seconds: float | None = Field(default=None, ge=0, le=600)


class Agency(Strict):
    id: Name
    name: str = Field(min_length=1, max_length=80)
    endpoints: list[Endpoint] = Field(min_length=1, max_length=10)  # tried in this order
    ring_seconds: int = Field(20, ge=5, le=120)  # per endpoint
    code: str = Field("", pattern=r"^[1-9]?$")  # the call taker presses * and this digit


class ScreeningLevels(Strict):
    """Which priority each verdict puts a caller at."""

    emergency: Name = "emergency"  # "55" pressed, emergency keywords, silent emergency
    normal: Name = "normal"  # someone spoke
    silent: Name = "silent"  # no speech and no answer to the press-55 prompt
    prank: Name = "low"  # suspected prank: repeat prankster, or sound without speech


class Blocking(Strict):
    """A time-limited block of a number: off by default; every block expires and is audited."""

    enabled: bool = False
    after_prank_reports: int | None = Field(default=None, ge=2, le=100)  # automatic block; None: only by hand
    minutes: float = Field(60, ge=1, le=10_080)  # how long an automatic block lasts
    max_minutes: float = Field(1440, ge=1, le=10_080)  # the longest block a supervisor may set


class Screening(Strict):
    enabled: bool = True
    budget_seconds: float = Field(6.0, ge=1, le=30)
    silent_response_seconds: float = Field(12.0, ge=3, le=60)
    min_speech_seconds: float = Field(0.6, ge=0.1, le=10)
    min_sound_seconds: float = Field(1.5, ge=0.1, le=30)
    prank_reports_to_suspect: int = Field(3, ge=1, le=100)
    levels: ScreeningLevels = ScreeningLevels()
    block: Blocking = Blocking()
    # Emergency words in the model's language; only those in its vocabulary count.
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default=[], max_length=200
    )


def _duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


class CentreConfig(Strict):
    centre: str = Field(min_length=1, max_length=80)
    priorities: list[Priority] = Field(min_length=1, max_length=20)
    default_priority: Name
    aging_per_second: float = Field(1.0, ge=0, le=100)
    timers: Timers = Timers()
    caller_priorities: list[CallerPriority] = []
    overflow_targets: dict[Name, OverflowTarget] = {}
    agents: list[AgentConfig] = Field(min_length=1, max_length=500)
    agencies: list[Agency] = []
    agency_legs_end_with_caller: bool = True  # false: joined agencies stay with the call taker
    trunks: list[Trunk] = Field(default=[], max_length=20)
    screening: Screening = Screening()

    def reference_problems(self) -> list[tuple[Loc, str]]:
        """Names used twice or referring to nothing, each with where it is."""
        problems: list[tuple[Loc, str]] = []
        names = [p.name for p in self.priorities]
        for section, key, values in (
            ("priorities", "name", names),
            ("agents", "id", [a.id for a in self.agents]),
            ("agents", "endpoint", [a.endpoint for a in self.agents]),
            ("agencies", "id", [a.id for a in self.agencies]),
            ("agencies", "code", [a.code for a in self.agencies if a.code]),
            ("trunks", "id", [t.id for t in self.trunks]),
        ):
            for dup in _duplicates(values):
                second = values.index(dup, values.index(dup) + 1)
                problems.append(((section, second, key), f"'{dup}' used twice"))
        if self.default_priority not in names:
            problems.append((("default_priority",), f"'{self.default_priority}' is not a priority"))
        for index, p in enumerate(self.priorities):
            if p.overflow is not None and p.overflow not in self.overflow_targets:
                problems.append((("priorities", index, "overflow"), f"unknown target '{p.overflow}'"))
        for verdict, level in self.screening.levels.model_dump().items():
            if level not in names:
                problems.append((("screening", "levels", verdict), f"'{level}' is not a priority"))
        matched = [m for t in self.trunks for m in t.match]
        for dup in _duplicates(matched):
            problems.append((("trunks",), f"address {dup} matches two trunks: each operator needs its own"))
        trunk_ids = {t.id for t in self.trunks}
        through = [
            (("agencies", i, "endpoints"), e) for i, a in enumerate(self.agencies) for e in a.endpoints
        ] + [(("overflow_targets", k, "endpoint"), t.endpoint) for k, t in self.overflow_targets.items()]
        for where, endpoint in through:
            trunk = endpoint.partition("@")[2]
            if trunk and self.trunks and trunk not in trunk_ids:
                problems.append((where, f"'{endpoint}' goes through '{trunk}', which is not a trunk"))
        for index, rule in enumerate(self.caller_priorities):
            if rule.priority not in names:
                problems.append((("caller_priorities", index, "priority"), f"unknown '{rule.priority}'"))
        return problems

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> CentreConfig:
        deferred = (info.context or {}).get("references_checked_by_caller")
        if not deferred and (problems := self.reference_problems()):
            raise ValueError("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        return self

    def priority_of(self, caller_number: str) -> str:
        rule = self.caller_rule(caller_number)
        return rule.priority if rule else self.default_priority

    def caller_rule(self, caller_number: str) -> CallerPriority | None:
        digits = re.sub(r"[^0-9+]", "", caller_number)
        return next((r for r in self.caller_priorities if r.matches(digits)), None)
