"""Facts that came in, past tense, frozen.

Rules: an event names one call (call_id) or one call taker; it carries only what the
core needs to decide, already translated from ARI JSON by the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.core.screening import Features


@dataclass(frozen=True)
class CallArrived:
    call_id: str
    caller_number: str
    dialled: str
    level: str = "normal"  # priority level, from the centre's caller rules
    pinned: bool = False  # a caller rule set the level: screening may only raise it to emergency
    # The dialplan answered and greeted the caller while the control plane was not
    # connected, then handed it over once it was back: it goes straight to waiting.
    greeted: bool = False
    arrived_at: float | None = None  # when the caller's channel was created (the INVITE came)
    # The network marked the number private (SIP Privacy: id): kept for the record and a
    # callback, never shown to call takers.
    withheld: bool = False
    # The dialplan records the call (MixMonitor, from its answer to its end, on every path).
    recorded: bool = False
    answered: bool = False  # the channel was up when it entered the app (the dialplan answered)


@dataclass(frozen=True)
class CallerAnswered:
    call_id: str


@dataclass(frozen=True)
class GreetingFinished:
    call_id: str


@dataclass(frozen=True)
class TakerAssigned:
    """The ACD chose a call taker for this caller."""

    call_id: str
    taker: str
    endpoint: str


@dataclass(frozen=True)
class TakerRinging:
    """The offered call taker's phone rings (180 Ringing on their leg)."""

    call_id: str
    channel_id: str


@dataclass(frozen=True)
class Overflowed:
    """The caller waited past its level's maximum: offer it to the overflow target."""

    call_id: str
    target: str


@dataclass(frozen=True)
class TakerAnswered:
    call_id: str
    channel_id: str


@dataclass(frozen=True)
class TakerLegEnded:
    """The call taker's leg is gone: never answered (ring no answer, busy, unreachable) or hung up."""

    call_id: str
    channel_id: str
    cause: str


@dataclass(frozen=True)
class PartiesConnected:
    call_id: str


@dataclass(frozen=True)
class CallerHungUp:
    call_id: str


@dataclass(frozen=True)
class NodeLost:
    """The Asterisk node carrying the call failed (its events stream stayed down past the
    grace time): the caller's channel, and every leg of the call, went with it."""

    call_id: str
    node: str


@dataclass(frozen=True)
class CallerLeftApp:
    """The caller's channel left our application alive, without hanging up: something
    outside the control plane (the watchdog, while we were gone or hung) moved it on to
    the dialplan's native queue."""

    call_id: str


@dataclass(frozen=True)
class TimerFired:
    call_id: str
    name: str


@dataclass(frozen=True)
class ShutdownRequested:
    """The control plane is stopping on purpose."""

    call_id: str


@dataclass(frozen=True)
class CommandFailed:
    """An adapter could not carry out a command (the channel vanished, Asterisk refused, ...)."""

    call_id: str
    command: str
    reason: str


@dataclass(frozen=True)
class CallerDtmf:
    """The caller pressed a key (RFC 4733 event or SIP INFO, as Asterisk reports it)."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class ScreeningPromptFinished:
    """A screening prompt (press-55, warning) played to its end."""

    call_id: str
    playback_id: str


@dataclass(frozen=True)
class ScreeningReport:
    """What the screener measured; features is None when it could not measure (error says why)."""

    call_id: str
    features: Features | None
    transcript: str = ""
    error: str = ""


@dataclass(frozen=True)
class AgencyRequested:
    """A call taker (API or their phone's keys) asks for an agency in the call."""

    call_id: str
    agency: str
    by: str


@dataclass(frozen=True)
class AgencyAnswered:
    call_id: str
    channel_id: str


@dataclass(frozen=True)
class AgencyAnnounced:
    """The agency heard the announcement: it may join."""

    call_id: str
    channel_id: str


@dataclass(frozen=True)
class AgencyLegEnded:
    """An agency leg is gone: not answered, refused, could not be placed, or hung up."""

    call_id: str
    channel_id: str
    cause: str


@dataclass(frozen=True)
class TakerLeaveRequested:
    """The call taker leaves the conference; caller and agencies stay connected."""

    call_id: str
    by: str


@dataclass(frozen=True)
class TakerDtmf:
    """A key the connected call taker pressed on their phone."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class CallAdopted:
    """After a (re)connect, Asterisk holds a caller channel in our app that no task owns.

    taker_channel is set when the caller is already bridged with a call taker's leg.
    """

    call_id: str
    caller_number: str
    dialled: str
    answered: bool
    taker: str | None
    taker_channel: str | None
    level: str = "normal"
    arrived_at: float | None = None  # from the call's record, so it keeps its place
    overflow_target: str | None = None  # set instead of taker when bridged with an overflow target
    recorded: bool = True  # False: no record of it yet (it arrived while events were not flowing)
    withheld: bool = False  # the dialplan marked the number private (Stasis argument "withheld")


@dataclass(frozen=True)
class CalleeAnswered:
    """The person called back through the trunk answered (call_id: the callback's id)."""

    call_id: str
    channel_id: str


@dataclass(frozen=True)
class CalleeLegEnded:
    """The leg dialled out for a callback is gone: not answered, busy, refused or hung up."""

    call_id: str
    channel_id: str
    cause: str


CallEvent = (
    CallArrived
    | CallerAnswered
    | GreetingFinished
    | TakerAssigned
    | TakerRinging
    | Overflowed
    | TakerAnswered
    | TakerLegEnded
    | PartiesConnected
    | CallerHungUp
    | CallerLeftApp
    | NodeLost
    | TimerFired
    | ShutdownRequested
    | CommandFailed
    | CallerDtmf
    | ScreeningPromptFinished
    | ScreeningReport
    | AgencyRequested
    | AgencyAnswered
    | AgencyAnnounced
    | AgencyLegEnded
    | TakerLeaveRequested
    | TakerDtmf
    | CallAdopted
    | CalleeAnswered
    | CalleeLegEnded
)
