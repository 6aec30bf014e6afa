"""Calling back an abandoned caller: one callback's phases and its transition table.

A call taker (or a supervisor for them) asks to call back a caller who hung up before
reaching anyone. The call taker's phone rings first (they asked for it); when they
answer they hear ringing while the number is dialled out through the carrier trunk;
when the person answers, both are bridged and recorded.

Rules:
- handle(callback, event, now) -> (callback, commands) is pure; transitions are data
  (TRANSITIONS), drawn in the docs like the call flow's.
- A callback is a call of its own ("<call>-cb<n>": record, timeline, recording, named
  outcome) linked to the abandoned call, whose timeline gets 'callback-started' and
  one 'callback-result' (reached, unreached, cancelled, failed).
- The call taker is held by the ACD (on call) from the request to the end, so no
  emergency call is offered to them meanwhile; the end frees them into wrap-up.
- Whatever ends first, every leg and the bridge are torn down; an event with no entry
  for the phase is stale and changes nothing.
- A withheld number (the abandoned call's "Privacy: id") stays withheld: the callback's
  record carries the mark (so call takers see it masked like the original) and the call
  taker's phone rings with "anonymous"; only the trunk is given the digits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.acd import events as acd
from ivr.core.call_state import event_key, on, on_failure
from ivr.core.outcomes import Outcome
from ivr.core.privacy import shown

TAKER_CALLER_NAME = "112 PANGGIL BALIK"  # what the taker's phone shows


class CallbackPhase(StrEnum):
    RINGING_TAKER = "ringing-taker"
    DIALLING = "dialling"  # the taker answered and hears ringing; the number is dialled
    CONNECTED = "connected"
    ENDED = "ended"


@dataclass(frozen=True)
class CallbackPolicy:
    trunk: str = "PJSIP/{number}@carrier"  # the dial string; {number} is the caller's number
    taker_ring_seconds: int = 15
    dial_seconds: int = 45
    ringback_media: str = "tone:ring"
    record_calls: bool = True


@dataclass(frozen=True)
class Callback:
    call_id: str  # the callback's own id, "<abandoned call>-cb<n>"
    called_back: str  # the abandoned call
    number: str
    taker: str
    taker_endpoint: str
    by: str  # who asked for it
    policy: CallbackPolicy
    phase: CallbackPhase = CallbackPhase.RINGING_TAKER
    started_at: float = 0.0
    taker_channel: str | None = None
    callee_channel: str | None = None
    outcome: Outcome | None = None
    withheld: bool = False  # the network marked the number private: call takers never see it

    @property
    def bridge_id(self) -> str:
        return ids.bridge_id(self.call_id)


Result = tuple[Callback, list[cmd.Command]]


def _note(cb: Callback, entry: str, now: float, **detail: str) -> cmd.RecordTimeline:
    return cmd.RecordTimeline(cb.call_id, entry, now, detail)


def _on_original(cb: Callback, entry: str, now: float, **detail: str) -> cmd.RecordTimeline:
    """An entry on the abandoned call's timeline (its hash fields stay as they were)."""
    return cmd.RecordTimeline(cb.called_back, entry, now, {"callback": cb.call_id, **detail})


def start(
    called_back: str,
    attempt: int,
    number: str,
    taker: str,
    taker_endpoint: str,
    by: str,
    policy: CallbackPolicy,
    now: float,
    withheld: bool = False,
) -> Result:
    cb = Callback(
        call_id=ids.callback_id(called_back, attempt),
        called_back=called_back,
        number=number,
        taker=taker,
        taker_endpoint=taker_endpoint,
        by=by,
        policy=policy,
        started_at=now,
        withheld=withheld,
    )
    mark = {"withheld": "yes"} if withheld else {}
    return cb, [
        _note(cb, "arrived", now, caller=number, dialled="callback", callback_of=called_back, by=by, **mark),
        _on_original(cb, "callback-started", now, callback_taker=taker, requested_by=by),
        cmd.ToAcd(acd.TakerOnCall(taker, cb.call_id)),  # held for this callback
        cmd.OfferToTaker(
            call_id=cb.call_id,
            endpoint=taker_endpoint,
            channel_id=ids.taker_leg_id(cb.call_id, 1),
            caller_channel="",
            caller_number=shown(number, withheld),
            ring_seconds=policy.taker_ring_seconds,
            caller_name=TAKER_CALLER_NAME,
        ),
    ]


def _end(
    cb: Callback, outcome: Outcome, result: str, now: float, cause: str = "", tell_original: bool = True
) -> Result:
    legs = [c for c in (cb.taker_channel, cb.callee_channel) if c]
    teardown: list[cmd.Command] = [cmd.Hangup(c) for c in legs]
    if cb.phase is CallbackPhase.CONNECTED:
        teardown.append(cmd.DestroyBridge(cb.bridge_id))
    detail = {"result": result, **({"cause": cause} if cause else {})}
    ended = replace(cb, phase=CallbackPhase.ENDED, outcome=outcome)
    return ended, [
        *teardown,
        cmd.ToAcd(acd.CallEnded(cb.taker)),
        *([_on_original(cb, "callback-result", now, **detail)] if tell_original else []),
        _note(cb, "ended", now, outcome=outcome.value, **detail),
        cmd.FinishCall(cb.call_id, outcome),
    ]


# ---- ringing the call taker ------------------------------------------------------------


def _taker_answered(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerAnswered)
    callee = ids.callee_leg_id(cb.call_id)
    dialling = replace(
        cb, phase=CallbackPhase.DIALLING, taker_channel=event.channel_id, callee_channel=callee
    )
    return dialling, [
        _note(cb, "taker-answered", now, taker=cb.taker),
        cmd.PlayPrompt(event.channel_id, ids.ringback_id(cb.call_id), cb.policy.ringback_media),
        cmd.DialOut(
            call_id=cb.call_id,
            endpoint=cb.policy.trunk.format(number=cb.number),
            channel_id=callee,
            ring_seconds=cb.policy.dial_seconds,
        ),
        _note(cb, "dialling", now, number=cb.number),
    ]


def _taker_gone(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    cause = event.cause if isinstance(event, ev.TakerLegEnded) else getattr(event, "reason", "")
    return _end(replace(cb, taker_channel=None), Outcome.CALLBACK_CANCELLED, "cancelled", now, cause)


# ---- dialling the number ---------------------------------------------------------------


def _callee_answered(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.CalleeAnswered)
    assert cb.taker_channel is not None
    connected = replace(cb, phase=CallbackPhase.CONNECTED, callee_channel=event.channel_id)
    recording: list[cmd.Command] = []
    if cb.policy.record_calls:
        recording = [cmd.StartRecording(cb.call_id, event.channel_id)]
    return connected, [
        cmd.StopPrompt(ids.ringback_id(cb.call_id)),
        cmd.ConnectParties(cb.bridge_id, event.channel_id, cb.taker_channel),
        *recording,
        _note(cb, "callee-answered", now),
        _on_original(cb, "callback-result", now, result="reached"),
    ]


def _callee_unreached(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    cause = event.cause if isinstance(event, ev.CalleeLegEnded) else getattr(event, "reason", "")
    return _end(replace(cb, callee_channel=None), Outcome.CALLBACK_UNREACHED, "unreached", now, cause)


# ---- connected -------------------------------------------------------------------------


def _connected(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    return cb, [_note(cb, "connected", now, taker=cb.taker)]


def _hung_up(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    """One side hung up after they spoke: the other leg and the bridge go too."""
    gone = event.channel_id if isinstance(event, ev.TakerLegEnded | ev.CalleeLegEnded) else None
    cb = replace(
        cb,
        taker_channel=None if gone == cb.taker_channel else cb.taker_channel,
        callee_channel=None if gone == cb.callee_channel else cb.callee_channel,
    )
    # 'reached' went on the original's timeline at the answer: one result there.
    return _end(cb, Outcome.CALLBACK_REACHED, "reached", now, tell_original=False)


def _bridge_failed(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    reason = event.reason if isinstance(event, ev.CommandFailed) else ""
    return _end(cb, Outcome.FAILED, "failed", now, reason)


@dataclass(frozen=True)
class Transition:
    handler: Callable[[Callback, ev.CallEvent, float], Result]
    targets: tuple[CallbackPhase, ...]


P = CallbackPhase
TRANSITIONS: dict[CallbackPhase, dict[str, Transition]] = {
    P.RINGING_TAKER: {
        on(ev.TakerAnswered): Transition(_taker_answered, (P.DIALLING,)),
        on(ev.TakerLegEnded): Transition(_taker_gone, (P.ENDED,)),
        on_failure(cmd.OfferToTaker): Transition(_taker_gone, (P.ENDED,)),
    },
    P.DIALLING: {
        on(ev.CalleeAnswered): Transition(_callee_answered, (P.CONNECTED,)),
        on(ev.CalleeLegEnded): Transition(_callee_unreached, (P.ENDED,)),
        on_failure(cmd.DialOut): Transition(_callee_unreached, (P.ENDED,)),
        on(ev.TakerLegEnded): Transition(_taker_gone, (P.ENDED,)),
    },
    P.CONNECTED: {
        on(ev.PartiesConnected): Transition(_connected, (P.CONNECTED,)),
        on(ev.CalleeLegEnded): Transition(_hung_up, (P.ENDED,)),
        on(ev.TakerLegEnded): Transition(_hung_up, (P.ENDED,)),
        on_failure(cmd.ConnectParties): Transition(_bridge_failed, (P.ENDED,)),
    },
    P.ENDED: {},
}


def handle(cb: Callback, event: ev.CallEvent, now: float) -> Result:
    transition = TRANSITIONS[cb.phase].get(event_key(event))
    if transition is None:
        return cb, []
    return transition.handler(cb, event, now)
