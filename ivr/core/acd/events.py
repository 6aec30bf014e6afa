"""Facts the ACD reacts to, past tense, frozen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallerQueued:
    call_id: str
    level: str
    skills: frozenset[str] = frozenset()
    arrived_at: float | None = None  # kept from an earlier wait (restart, failed overflow)
    overflow: bool = True  # False once the overflow target has already been tried


@dataclass(frozen=True)
class CallerArrived:
    """A new caller, answered and hearing the greeting: offered at once when a call taker
    is free and nobody in line is left for them; otherwise it joins the line when its
    greeting ends (CallerQueued), at the level screening gave it."""

    call_id: str
    level: str
    arrived_at: float


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
    taker_id: str
    call_id: str


@dataclass(frozen=True)
class OfferMissed:
    """The offer ended unanswered.

    rang=True: it rang the whole ring time (ring no answer), which counts towards the
    auto-pause. rang=False: refused or failed at once (busy, unreachable, broken): not
    the person's doing, so the taker only rests a few seconds before the next offer.
    """

    taker_id: str
    call_id: str
    rang: bool = True


@dataclass(frozen=True)
class TakerOnCall:
    """Found on a call the ACD did not place (adopted after a restart)."""

    taker_id: str
    call_id: str


@dataclass(frozen=True)
class CallEnded:
    taker_id: str


@dataclass(frozen=True)
class WrapUpEnded:
    taker_id: str


@dataclass(frozen=True)
class TakerLoggedIn:
    taker_id: str


@dataclass(frozen=True)
class TakerLoggedOut:
    taker_id: str


@dataclass(frozen=True)
class TakerPaused:
    taker_id: str
    reason: str


@dataclass(frozen=True)
class TakerUnpaused:
    taker_id: str


@dataclass(frozen=True)
class TakerReachability:
    taker_id: str
    reachable: bool


@dataclass(frozen=True)
class Tick:
    """Time passed (the engine sends one at next_deadline()): overflow is checked."""


AcdEvent = (
    CallerArrived
    | CallerQueued
    | CallerReprioritized
    | CallerLeft
    | OfferAnswered
    | OfferMissed
    | TakerOnCall
    | CallEnded
    | WrapUpEnded
    | TakerLoggedIn
    | TakerLoggedOut
    | TakerPaused
    | TakerUnpaused
    | TakerReachability
    | Tick
)
