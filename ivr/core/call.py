"""One emergency call's phases and its transition table.

Rules:
- handle(call, event, now) -> (call, commands) is pure: no I/O, no clock, no randomness.
- Transitions are data (TRANSITIONS); the docs draw the state diagram from that table.
- An event with no entry for the current phase is stale or irrelevant and changes
  nothing (for example a call taker's leg ending after the call already ended).
- Every path out of the call ends in ENDED through _end(), which always records the
  ending and emits FinishCall with a named outcome.
- Fail open: a greeting that fails or never reports its end still moves the caller
  on to a call taker; when the control plane stops on purpose, a caller not yet
  connected is handed to the dialplan's native queue, a connected call stays as it is
  (the next start adopts it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.outcomes import Outcome

GREETING_GUARD = "greeting-guard"
REOFFER_PAUSE = "reoffer-pause"
HANDOVER_LABEL = "handover"  # dialplan label (context emergency, extension 112)


class Phase(StrEnum):
    ANSWERING = "answering"
    GREETING = "greeting"
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    ENDED = "ended"


@dataclass(frozen=True)
class CallPolicy:
    greeting_media: str = "sound:ivr112/greeting"
    greeting_guard_seconds: float = 30.0
    ring_seconds: int = 15
    # An offer that failed sooner than this (refused, busy, unreachable) is retried only
    # after reoffer_pause_seconds, so a broken phone cannot spin the dispatcher.
    quick_failure_seconds: float = 2.0
    reoffer_pause_seconds: float = 1.0


@dataclass(frozen=True)
class Call:
    call_id: str  # also the caller's channel id in Asterisk
    caller_number: str
    dialled: str
    phase: Phase
    policy: CallPolicy
    taker: str | None = None
    taker_channel: str | None = None
    offers: int = 0
    offered_at: float = 0.0
    outcome: Outcome | None = None

    @property
    def bridge_id(self) -> str:
        return ids.bridge_id(self.call_id)


Result = tuple[Call, list[cmd.Command]]
Handler = Callable[[Call, ev.CallEvent, float], Result]


def _timeline(call: Call, entry: str, now: float, **detail: str) -> cmd.RecordTimeline:
    return cmd.RecordTimeline(call.call_id, entry, now, detail)


def _end(call: Call, outcome: Outcome, now: float, by: str, *before: cmd.Command) -> Result:
    ended = replace(call, phase=Phase.ENDED, outcome=outcome)
    return ended, [
        *before,
        _timeline(call, "ended", now, by=by, outcome=outcome.value),
        cmd.FinishCall(call.call_id, outcome),
    ]


def _leaves_taker(call: Call) -> list[cmd.Command]:
    """Commands that free the current call taker and their leg."""
    out: list[cmd.Command] = []
    if call.taker_channel is not None:
        out.append(cmd.Hangup(call.taker_channel))
    out.append(cmd.ReleaseTaker(call.call_id, call.taker))
    return out


def start(event: ev.CallArrived, now: float, policy: CallPolicy) -> Result:
    call = Call(event.call_id, event.caller_number, event.dialled, Phase.ANSWERING, policy)
    return call, [
        _timeline(call, "arrived", now, caller=event.caller_number, dialled=event.dialled),
        cmd.Answer(call.call_id),
    ]


def adopt(event: ev.CallAdopted, now: float, policy: CallPolicy) -> Result:
    """A caller found in Asterisk after a (re)connect that no task owns."""
    call = Call(event.call_id, event.caller_number, event.dialled, Phase.ANSWERING, policy)
    note = _timeline(call, "adopted", now, answered=str(event.answered), taker=event.taker or "")
    if event.taker is not None and event.taker_channel is not None:
        adopted = replace(call, phase=Phase.CONNECTED, taker=event.taker, taker_channel=event.taker_channel)
        return adopted, [note, cmd.ClaimTaker(call.call_id, event.taker)]
    if event.answered:
        return replace(call, phase=Phase.WAITING), [note, cmd.RequestTaker(call.call_id)]
    return call, [note, cmd.Answer(call.call_id)]


def _answered(call: Call, event: ev.CallEvent, now: float) -> Result:
    return replace(call, phase=Phase.GREETING), [
        _timeline(call, "answered", now),
        cmd.PlayPrompt(call.call_id, ids.greeting_id(call.call_id), call.policy.greeting_media),
        cmd.StartTimer(call.call_id, GREETING_GUARD, call.policy.greeting_guard_seconds),
    ]


def _answer_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.CommandFailed)
    failed = _timeline(call, "answer-failed", now, reason=event.reason)
    return _end(call, Outcome.FAILED, now, "system", failed, cmd.Hangup(call.call_id))


def _to_waiting(entry: str) -> Handler:
    def handler(call: Call, event: ev.CallEvent, now: float) -> Result:
        detail = {"reason": event.reason} if isinstance(event, ev.CommandFailed) else {}
        return replace(call, phase=Phase.WAITING), [
            cmd.CancelTimer(call.call_id, GREETING_GUARD),
            _timeline(call, entry, now, **detail),
            cmd.RequestTaker(call.call_id),
        ]

    return handler


def _abandoned_in_greeting(call: Call, event: ev.CallEvent, now: float) -> Result:
    return _end(call, Outcome.ABANDONED_IN_GREETING, now, "caller")


def _abandoned_waiting(call: Call, event: ev.CallEvent, now: float) -> Result:
    return _end(call, Outcome.ABANDONED_IN_QUEUE, now, "caller", cmd.ReleaseTaker(call.call_id, None))


def _offer(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerAssigned)
    offers = call.offers + 1
    channel = ids.taker_leg_id(call.call_id, offers)
    offered = replace(
        call,
        phase=Phase.OFFERED,
        taker=event.taker,
        taker_channel=channel,
        offers=offers,
        offered_at=now,
    )
    offer = cmd.OfferToTaker(
        call.call_id, event.taker, channel, call.call_id, call.caller_number, call.policy.ring_seconds
    )
    return offered, [_timeline(call, "offered", now, taker=event.taker, attempt=str(offers)), offer]


def _is_current_leg(call: Call, event: ev.CallEvent) -> bool:
    channel = getattr(event, "channel_id", None)
    return channel is None or channel == call.taker_channel


def _taker_answered(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerAnswered)
    if not _is_current_leg(call, event):
        return _stray_leg(call, event, now)
    assert call.taker_channel is not None
    return replace(call, phase=Phase.CONNECTING), [
        _timeline(call, "taker-answered", now, taker=call.taker or "", taker_channel=call.taker_channel),
        cmd.ConnectParties(call.bridge_id, call.call_id, call.taker_channel),
    ]


def _stray_leg(call: Call, event: ev.CallEvent, now: float) -> Result:
    """A call taker answered a leg this call no longer wants: hang it up, never bridge it."""
    assert isinstance(event, ev.TakerAnswered)
    if event.channel_id == call.taker_channel:
        return call, []
    return call, [cmd.Hangup(event.channel_id)]


def _offer_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    if not _is_current_leg(call, event):
        return call, []
    reason = str(getattr(event, "cause", None) or getattr(event, "reason", ""))
    back = replace(call, phase=Phase.WAITING, taker=None, taker_channel=None)
    quick = now - call.offered_at < call.policy.quick_failure_seconds
    again: cmd.Command = (
        cmd.StartTimer(call.call_id, REOFFER_PAUSE, call.policy.reoffer_pause_seconds)
        if quick
        else cmd.RequestTaker(call.call_id)
    )
    return back, [
        _timeline(call, "offer-failed", now, taker=call.taker or "", reason=reason),
        *_leaves_taker(call),
        again,
    ]


def _request_again(call: Call, event: ev.CallEvent, now: float) -> Result:
    return call, [cmd.RequestTaker(call.call_id)]


def _abandoned_offered(call: Call, event: ev.CallEvent, now: float) -> Result:
    return _end(call, Outcome.ABANDONED_IN_QUEUE, now, "caller", *_leaves_taker(call))


def _hand_over(call: Call, event: ev.CallEvent, now: float) -> Result:
    taker_leg = [cmd.Hangup(call.taker_channel)] if call.taker_channel else []
    return _end(
        call,
        Outcome.HANDED_TO_FALLBACK,
        now,
        "system",
        *taker_leg,
        cmd.ContinueInDialplan(call.call_id, HANDOVER_LABEL),
    )


def _connected(call: Call, event: ev.CallEvent, now: float) -> Result:
    return replace(call, phase=Phase.CONNECTED), [_timeline(call, "connected", now, taker=call.taker or "")]


def _caller_ended(call: Call, event: ev.CallEvent, now: float) -> Result:
    return _end(
        call, Outcome.ANSWERED, now, "caller", *_leaves_taker(call), cmd.DestroyBridge(call.bridge_id)
    )


def _taker_ended(call: Call, event: ev.CallEvent, now: float) -> Result:
    if not _is_current_leg(call, event):
        return call, []
    return _end(
        call,
        Outcome.ANSWERED,
        now,
        "taker",
        cmd.Hangup(call.call_id),
        cmd.ReleaseTaker(call.call_id, call.taker),
        cmd.DestroyBridge(call.bridge_id),
    )


@dataclass(frozen=True)
class Transition:
    handler: Handler
    targets: tuple[Phase, ...]  # where the handler may lead; drawn in the docs


def event_key(event: ev.CallEvent) -> str:
    """The table key of an event: its type name; a failed command also names the command."""
    if isinstance(event, ev.CommandFailed):
        return f"CommandFailed:{event.command}"
    if isinstance(event, ev.TimerFired):
        return f"TimerFired:{event.name}"
    return type(event).__name__


TRANSITIONS: dict[Phase, dict[str, Transition]] = {
    Phase.ANSWERING: {
        "ShutdownRequested": Transition(_hand_over, (Phase.ENDED,)),
        "CallerAnswered": Transition(_answered, (Phase.GREETING,)),
        "CommandFailed:Answer": Transition(_answer_failed, (Phase.ENDED,)),
        "CallerHungUp": Transition(_abandoned_in_greeting, (Phase.ENDED,)),
    },
    Phase.GREETING: {
        "ShutdownRequested": Transition(_hand_over, (Phase.ENDED,)),
        "GreetingFinished": Transition(_to_waiting("greeting-done"), (Phase.WAITING,)),
        f"TimerFired:{GREETING_GUARD}": Transition(_to_waiting("greeting-timeout"), (Phase.WAITING,)),
        "CommandFailed:PlayPrompt": Transition(_to_waiting("greeting-failed"), (Phase.WAITING,)),
        "CallerHungUp": Transition(_abandoned_in_greeting, (Phase.ENDED,)),
    },
    Phase.WAITING: {
        "ShutdownRequested": Transition(_hand_over, (Phase.ENDED,)),
        "TakerAssigned": Transition(_offer, (Phase.OFFERED,)),
        f"TimerFired:{REOFFER_PAUSE}": Transition(_request_again, (Phase.WAITING,)),
        "TakerAnswered": Transition(_stray_leg, (Phase.WAITING,)),
        "CallerHungUp": Transition(_abandoned_waiting, (Phase.ENDED,)),
    },
    Phase.OFFERED: {
        "ShutdownRequested": Transition(_hand_over, (Phase.ENDED,)),
        "TakerAnswered": Transition(_taker_answered, (Phase.CONNECTING,)),
        "TakerLegEnded": Transition(_offer_failed, (Phase.WAITING,)),
        "CommandFailed:OfferToTaker": Transition(_offer_failed, (Phase.WAITING,)),
        "CallerHungUp": Transition(_abandoned_offered, (Phase.ENDED,)),
    },
    Phase.CONNECTING: {
        "PartiesConnected": Transition(_connected, (Phase.CONNECTED,)),
        "TakerAnswered": Transition(_stray_leg, (Phase.CONNECTING,)),
        "TakerLegEnded": Transition(_offer_failed, (Phase.WAITING,)),
        "CommandFailed:ConnectParties": Transition(_offer_failed, (Phase.WAITING,)),
        "CallerHungUp": Transition(_caller_ended, (Phase.ENDED,)),
    },
    Phase.CONNECTED: {
        "CallerHungUp": Transition(_caller_ended, (Phase.ENDED,)),
        "TakerLegEnded": Transition(_taker_ended, (Phase.ENDED,)),
        "TakerAnswered": Transition(_stray_leg, (Phase.CONNECTED,)),
    },
    Phase.ENDED: {
        "TakerAnswered": Transition(_stray_leg, (Phase.ENDED,)),
    },
}


def handle(call: Call, event: ev.CallEvent, now: float) -> Result:
    transition = TRANSITIONS[call.phase].get(event_key(event))
    if transition is None:
        return call, []
    return transition.handler(call, event, now)
