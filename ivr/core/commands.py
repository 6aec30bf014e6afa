"""Actions the core asks the adapters to take, imperative, frozen.

Rules: a command carries every identifier the adapter needs (ids are chosen by the
core, so later events can be matched without lookups); adapters report failure of a
command back as a CommandFailed event, never by raising into the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.core.acd.events import AcdEvent
from ivr.core.outcomes import Outcome


@dataclass(frozen=True)
class Answer:
    channel_id: str
    # The dialplan answered it already: nothing to ask Asterisk (one request less per call,
    # and no hand-over because an answer that changes nothing timed out under load).
    done: bool = False


@dataclass(frozen=True)
class PlayPrompt:
    channel_id: str
    playback_id: str
    media: str


@dataclass(frozen=True)
class StartTimer:
    call_id: str
    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    call_id: str
    name: str


@dataclass(frozen=True)
class ToAcd:
    """Tell the ACD a fact about this call (queued, left, answered, missed, ended)."""

    event: AcdEvent


@dataclass(frozen=True)
class StopPrompt:
    playback_id: str


@dataclass(frozen=True)
class OfferToTaker:
    call_id: str
    endpoint: str
    channel_id: str
    caller_channel: str
    caller_number: str
    ring_seconds: int
    caller_name: str = "112"  # what the call taker's phone shows: the screening verdict


@dataclass(frozen=True)
class DialOut:
    """Call a number back through the carrier trunk (a callback); the leg enters the app on answer."""

    call_id: str  # the callback's id
    endpoint: str  # e.g. PJSIP/081234567890@carrier
    channel_id: str
    ring_seconds: int
    caller_number: str = "112"


@dataclass(frozen=True)
class ConnectParties:
    bridge_id: str
    caller_channel: str
    taker_channel: str


@dataclass(frozen=True)
class ContinueInDialplan:
    """Leave the Stasis app: the channel resumes at `label` of the emergency dialplan."""

    channel_id: str
    label: str


@dataclass(frozen=True)
class Hangup:
    channel_id: str


@dataclass(frozen=True)
class DestroyBridge:
    bridge_id: str


@dataclass(frozen=True)
class CallAgency:
    """Ring one endpoint of an agency for this call (the caller's channel is the originator)."""

    call_id: str
    agency: str
    endpoint: str
    channel_id: str
    caller_channel: str
    ring_seconds: int


@dataclass(frozen=True)
class AddToBridge:
    bridge_id: str
    channel_id: str


@dataclass(frozen=True)
class StartRecording:
    """Record everything the caller says and hears, from now until the call ends."""

    call_id: str
    channel_id: str


@dataclass(frozen=True)
class StartScreening:
    """Listen to the caller (externalMedia) and measure; the caller hears nothing of it."""

    call_id: str
    channel_id: str
    caller_number: str  # whose reputation counts


@dataclass(frozen=True)
class ReportScreening:
    """Post a ScreeningReport with what was measured so far; listening goes on until
    StopScreening (or FinishCall): the press-55 prompt's outcome is decided on it too.
    `due` (the engine's clock): when the report should reach the core; what is not
    measured by then is left out (the report says so), never waited for past it."""

    call_id: str
    due: float


@dataclass(frozen=True)
class StopScreening:
    """Stop listening and release everything, with no report (also done by FinishCall)."""

    call_id: str


@dataclass(frozen=True)
class RecordScreening:
    """Keep the verdict on the call's record, where the call taker and the API see it."""

    call_id: str
    verdict: str
    level: str
    reason: str
    flags: frozenset[str]
    features: dict[str, str]
    transcript: str = ""
    cues: tuple[str, ...] = ()  # why: the cues that fired (speech, second cue, keys, reputation)


@dataclass(frozen=True)
class RecordTimeline:
    call_id: str
    entry: str
    at: float
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FinishCall:
    """The call is over: its task ends and every timer it still has is cancelled."""

    call_id: str
    outcome: Outcome


Command = (
    Answer
    | PlayPrompt
    | StartTimer
    | CancelTimer
    | ToAcd
    | StopPrompt
    | OfferToTaker
    | DialOut
    | ConnectParties
    | ContinueInDialplan
    | Hangup
    | DestroyBridge
    | CallAgency
    | AddToBridge
    | StartRecording
    | StartScreening
    | ReportScreening
    | StopScreening
    | RecordScreening
    | RecordTimeline
    | FinishCall
)
