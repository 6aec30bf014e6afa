"""What the ACD knows: its configuration, the call takers, the waiting callers.

Rules:
- A call taker's declared status (logged out, available, paused with a reason) is set by
  the person or a supervisor; their activity (idle, offered, on call, wrap-up) is derived
  by the ACD. The two never mix: pausing during a call leaves the call alone.
- A caller's score = priority base + aging_per_second x seconds waited. The highest
  score is served first, ties by arrival. So a caller of a lower level overtakes a newly
  arrived caller of a higher level after (base_high - base_low) / aging_per_second
  seconds of waiting: nobody starves.
- Callers in their greeting (`greeting`, by arrival) are not in line yet: a call taker
  with nobody in line left to offer takes the earliest of them at once (the greeting
  is only for callers who must wait); the others join the line when their greeting ends.
- Times are epoch seconds passed in; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Declared(StrEnum):
    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    PAUSED = "paused"


class Activity(StrEnum):
    IDLE = "idle"
    OFFERED = "offered"
    ON_CALL = "on-call"
    WRAP_UP = "wrap-up"


MISSED_CALLS = "missed calls"  # the pause reason set by the ACD itself


@dataclass(frozen=True)
class PriorityLevel:
    name: str
    base: float  # higher is served first
    max_wait_seconds: float | None = None  # overflow after this long; None = never
    overflow_target: str | None = None  # endpoint that takes overflowed callers


@dataclass(frozen=True)
class AcdPolicy:
    levels: dict[str, PriorityLevel]
    default_level: str
    aging_per_second: float = 1.0
    wrapup_seconds: float = 10.0
    missed_offers_to_pause: int = 2
    refused_rest_seconds: float = 5.0  # after an offer refused at once


@dataclass(frozen=True)
class Taker:
    taker_id: str
    endpoint: str
    skills: frozenset[str] = frozenset()
    wrapup_seconds: float | None = None  # overrides the policy's when set
    declared: Declared = Declared.LOGGED_OUT
    pause_reason: str = ""
    activity: Activity = Activity.IDLE
    activity_since: float = 0.0
    idle_since: float = 0.0  # when the taker last became free (longest idle first)
    reachable: bool = True
    missed_in_a_row: int = 0
    call_id: str | None = None
    rest_until: float = 0.0  # not offered before this (after a refused offer)

    def free(self, now: float) -> bool:
        return (
            self.declared is Declared.AVAILABLE
            and self.activity is Activity.IDLE
            and self.reachable
            and now >= self.rest_until
        )


@dataclass(frozen=True)
class Waiting:
    call_id: str
    level: str
    arrived_at: float
    skills: frozenset[str] = frozenset()
    missed_by: frozenset[str] = frozenset()  # takers who let this caller ring unanswered
    offered_to: str | None = None  # while ringing at an taker the caller keeps its place
    may_overflow: bool = True


@dataclass(frozen=True)
class AcdState:
    policy: AcdPolicy
    takers: dict[str, Taker] = field(default_factory=dict)
    waiting: tuple[Waiting, ...] = ()
    greeting: tuple[Waiting, ...] = ()  # callers in their greeting, earliest first

    def score(self, caller: Waiting, now: float) -> float:
        level = self.policy.levels[caller.level]
        return level.base + self.policy.aging_per_second * (now - caller.arrived_at)

    def order_key(self, caller: Waiting) -> tuple[float, float, str]:
        """Sorts callers best first, valid at any time.

        score(now) = (base - aging x arrived_at) + aging x now: the second term is the
        same for every caller, so the order never changes as time passes and the
        waiting list stays sorted without rescoring.
        """
        level = self.policy.levels[caller.level]
        return (
            -(level.base - self.policy.aging_per_second * caller.arrived_at),
            caller.arrived_at,
            caller.call_id,
        )
