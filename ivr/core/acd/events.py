"""Facts the ACD reacts to, past tense, frozen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallerQueued:
    call_id: str
    level: str
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CallerReprioritized:
    """A verdict arrived after the caller joined (e.g. screening): same place in time, new level."""

    call_id: str
    level: str


@dataclass(frozen=True)
class CallerLeft:
    """Hung up, handed over, or taken elsewhere: the caller no longer waits."""

    call_id: str


@dataclass(frozen=True)
class OfferAnswered:
    agent_id: str
    call_id: str


@dataclass(frozen=True)
class OfferMissed:
    """The offer ended unanswered (ring no answer, busy, unreachable, refused)."""

    agent_id: str
    call_id: str


@dataclass(frozen=True)
class CallEnded:
    agent_id: str


@dataclass(frozen=True)
class WrapUpEnded:
    agent_id: str


@dataclass(frozen=True)
class AgentLoggedIn:
    agent_id: str


@dataclass(frozen=True)
class AgentLoggedOut:
    agent_id: str


@dataclass(frozen=True)
class AgentPaused:
    agent_id: str
    reason: str


@dataclass(frozen=True)
class AgentUnpaused:
    agent_id: str


@dataclass(frozen=True)
class AgentReachability:
    agent_id: str
    reachable: bool


@dataclass(frozen=True)
class Tick:
    """Time passed (the engine sends one at next_deadline()): overflow is checked."""


AcdEvent = (
    CallerQueued
    | CallerReprioritized
    | CallerLeft
    | OfferAnswered
    | OfferMissed
    | CallEnded
    | WrapUpEnded
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentUnpaused
    | AgentReachability
    | Tick
)
