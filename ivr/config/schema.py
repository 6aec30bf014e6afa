"""The shape of queue/*.yaml, validated with pydantic.

Rules: every field has a range or a pattern; names are referred to, never repeated
(priorities by name, overflow targets by key); everything that refers to something
else is checked to exist; unknown keys are errors (a typo must not be silently ignored).
Every value that reaches an Asterisk file (names, ids, endpoints, numbers, addresses,
free text written as a comment or caller name) is checked here with a message saying
what is wrong; nothing is silently stripped later. Trunk addresses are IPv4 addresses or
networks no wider than the trunk's widest_prefix (default /24).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from ivr.config import values as checks
from ivr.config.desk_phones import DeskPhones
from ivr.core.routing import digits_of, number_matches

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]
# PJSIP/<phone>, PJSIP/<number>@<trunk> or Local/<extension>@<context> (values.endpoint)
Endpoint = Annotated[str, AfterValidator(checks.endpoint)]
Loc = tuple[str | int, ...]
# An IPv4 address or network (a.b.c.d or a.b.c.d/nn), and host:port.
Address = Annotated[str, AfterValidator(checks.network)]
HostPort = Annotated[str, AfterValidator(checks.host_port)]
NumberPattern = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,20}\*?$")]
# A word (or words) of the speech model's language: letters, single spaces.
Keyword = Annotated[str, StringConstraints(max_length=40, pattern=r"^[^\W\d_]+( [^\W\d_]+)*$")]
# Free text written into Asterisk's files (a comment, a caller name) and into logs.
Label = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(checks.label)]


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


class ServiceLevelTier(Strict):
    answer_within_seconds: float = Field(gt=0, le=600)  # from the INVITE to a person answering
    target: float = Field(gt=0, le=1)  # the share of calls that must make it


class ServiceLevel(Strict):
    """The centre's answering targets, measured over the last window_minutes; a target
    missed for alarm_after_minutes turns the wallboard red and raises an alarm."""

    tiers: list[ServiceLevelTier] = Field(
        default=[
            ServiceLevelTier(answer_within_seconds=15, target=0.90),
            ServiceLevelTier(answer_within_seconds=20, target=0.95),
        ],
        min_length=1,
        max_length=4,
    )
    window_minutes: float = Field(60, ge=5, le=1440)
    alarm_after_minutes: float = Field(10, ge=0, le=1440)

    @model_validator(mode="after")
    def _tiers_in_order(self) -> ServiceLevel:
        seconds = [t.answer_within_seconds for t in self.tiers]
        if seconds != sorted(set(seconds)):
            raise ValueError(f"tiers: answer_within_seconds must rise from tier to tier, got {seconds}")
        return self


class CallerPriority(Strict):
    number: NumberPattern
    priority: Name

    def matches(self, caller: str) -> bool:
        return number_matches(self.number, caller)


class OverflowTarget(Strict):
    endpoint: Endpoint
    description: Annotated[str, Field(max_length=80), AfterValidator(checks.label)] = ""


class Trunk(Strict):
    """An operator's SIP trunk: calls from its addresses reach 112; callbacks leave by it."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]
    name: Label
    match: list[Address] = Field(min_length=1, max_length=50)  # source addresses or networks
    contact: HostPort | None = None  # where calls to the operator go (host:port)
    # The widest network `match` may hold: a /16 of an operator needs widest_prefix: 16 here,
    # written on purpose; nothing wider than a /8 is ever accepted.
    widest_prefix: int = Field(24, ge=8, le=32)

    @model_validator(mode="after")
    def _narrow_enough(self) -> Trunk:
        for index, text in enumerate(self.match):
            prefix = ipaddress.ip_network(text).prefixlen
            if prefix < self.widest_prefix:
                raise ValueError(
                    f"match.{index}: {text} is wider than /{self.widest_prefix}: anyone in that network "
                    f"could place calls as this operator (set widest_prefix: {prefix} on the trunk only "
                    "if the operator really signals from all of it)"
                )
        return self


class Employment(StrEnum):
    CIVIL_SERVANT = "civil-servant"
    CONTRACT = "contract"


class TakerConfig(Strict):
    id: Name
    name: Label
    endpoint: Endpoint
    employment: Employment
    skills: frozenset[Name] = frozenset()
    wrapup_seconds: float | None = Field(default=None, ge=0, le=600)


class Agency(Strict):
    id: Name
    name: Label
    endpoints: list[Endpoint] = Field(min_length=1, max_length=10)  # tried in this order
    ring_seconds: int = Field(20, ge=5, le=120)  # per endpoint
    code: str = Field("", pattern=r"^[1-9]?$")  # the call taker presses * and this digit
    # Fixed SIP addresses (host:port) of this agency's own phones (PJSIP/<name> endpoints),
    # e.g. its PBX: those are called there and never accept a REGISTER. A phone not listed
    # registers with its own digest password, like a call taker's.
    addresses: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")], HostPort] = Field(
        default={}, max_length=10
    )

    @model_validator(mode="after")
    def _addresses_of_own_phones(self) -> Agency:
        own = {e.removeprefix("PJSIP/") for e in self.endpoints if e.startswith("PJSIP/") and "@" not in e}
        for name in self.addresses:
            if name not in own:
                listed = ", ".join(sorted(own)) or "none"
                raise ValueError(f"addresses.{name}: not one of this agency's own phones ({listed})")
        return self


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
    budget_seconds: float = Field(0.0, ge=0, le=30)
    # a caller a call taker answered during the greeting: listened to this long after
    listen_after_answer_seconds: float = Field(5.0, ge=1, le=30)
    silent_response_seconds: float = Field(12.0, ge=3, le=60)
    min_speech_seconds: float = Field(0.3, ge=0.1, le=10)
    min_cue_speech_seconds: float = Field(0.12, ge=0.05, le=10)
    min_sound_seconds: float = Field(1.5, ge=0.1, le=30)
    prank_reports_to_suspect: int = Field(3, ge=1, le=100)
    levels: ScreeningLevels = ScreeningLevels()
    block: Blocking = Blocking()
    # Emergency words in the model's language; only those in its vocabulary count.
    keywords: list[Keyword] = Field(default=[], max_length=200)


def _duplicates(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


class CentreConfig(Strict):
    centre: Label
    priorities: list[Priority] = Field(min_length=1, max_length=20)
    default_priority: Name
    aging_per_second: float = Field(1.0, ge=0, le=100)
    timers: Timers = Timers()
    caller_priorities: list[CallerPriority] = []
    overflow_targets: dict[Name, OverflowTarget] = {}
    takers: list[TakerConfig] = Field(min_length=1, max_length=500)  # formerly "agents" (still read)
    agencies: list[Agency] = []
    agency_legs_end_with_caller: bool = True  # false: joined agencies stay with the call taker
    trunks: list[Trunk] = Field(default=[], max_length=20)
    desk_phones: DeskPhones = DeskPhones()  # SIP over TLS, SRTP (ivr/config/desk_phones.py)
    screening: Screening = Screening()
    service_level: ServiceLevel = ServiceLevel()

    @model_validator(mode="before")
    @classmethod
    def _former_names(cls, data: object) -> object:
        """`agents:`, the call takers' list under its former name, is read for one release."""
        if isinstance(data, dict) and "agents" in data:
            if "takers" in data:
                raise ValueError("give the call takers once, as takers: (agents: is its former name)")
            data = {("takers" if key == "agents" else key): value for key, value in data.items()}
        return data

    def reference_problems(self) -> list[tuple[Loc, str]]:
        """Names used twice or referring to nothing, each with where it is."""
        problems: list[tuple[Loc, str]] = []
        names = [p.name for p in self.priorities]
        for section, key, values in (
            ("priorities", "name", names),
            ("takers", "id", [a.id for a in self.takers]),
            ("takers", "endpoint", [a.endpoint for a in self.takers]),
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
        digits = digits_of(caller_number)
        return next((r for r in self.caller_priorities if r.matches(digits)), None)
