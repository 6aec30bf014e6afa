"""One emergency call's phases and its transition table.

Rules:
- handle(call, event, now) -> (call, commands) is pure: no I/O, no clock, no randomness.
- Transitions are data (TRANSITIONS); the docs draw the state diagram from that table.
- An event with no entry for the current phase is stale or irrelevant and changes
  nothing (for example a call taker's leg ending after the call already ended).
- Every path out of the call ends in ENDED through end(), which always records the
  ending and emits FinishCall with a named outcome.
- The ACD owns the waiting list and the call takers: this flow tells it every fact
  about the call (queued, left, answered, missed, ended) with ToAcd, and the ACD
  answers with TakerAssigned or Overflowed. A missed offer leaves the caller in the
  ACD's list, in its place, and the ACD offers it again.
- The greeting's part (ivr.core.call_greeting): a caller answered is at once the ACD's,
  a free call taker is offered it during the greeting, which stops when the taker
  answers; a caller not offered by the greeting's end joins the line then.
- While waiting (and while an offer rings) after the greeting the caller hears the
  reassurance prompt every reassure_every_seconds; it stops the moment a call taker answers.
- Fail open: a greeting that fails or never reports its end still moves the caller
  on to a call taker; when the control plane stops on purpose, a caller not yet
  connected is handed to the dialplan's native queue, a connected call stays as it is
  (the next start adopts it). A caller that leaves the application alive (the watchdog
  handed it to the native queue while the control plane was gone or hung) is let go:
  the call ends handed-to-fallback, the caller is never hung up or taken back.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core import call_agencies as agencies
from ivr.core import call_greeting as greeting
from ivr.core import call_screening as screening
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.acd import events as acd
from ivr.core.call_handover import answer_failed, cut_off, hand_over, taken_over
from ivr.core.call_start import adopt, start
from ivr.core.call_state import (
    GREETING_GUARD,
    HANDOVER_LABEL,
    REASSURE,
    Call,
    CallPolicy,
    Phase,
    Result,
    Transition,
    answered_outcome,
    end,
    event_key,
    hangup_leg,
    on,
    on_failure,
    on_timer,
    queued,
    taker_free,
    timeline,
)
from ivr.core.outcomes import Outcome
from ivr.core.screening import offer_label

__all__ = [
    "GREETING_GUARD",
    "HANDOVER_LABEL",
    "REASSURE",
    "TRANSITIONS",
    "Call",
    "CallPolicy",
    "Phase",
    "Transition",
    "adopt",
    "event_key",
    "handle",
    "start",
]


def _stop_waiting_sounds(call: Call) -> list[cmd.Command]:
    """The reassurance timer off, and its latest prompt stopped if one was ever played
    (a caller answered before the first has nothing to stop: no request)."""
    stop = [cmd.StopPrompt(call.reassurance_id)] if call.prompts else []
    return [cmd.CancelTimer(call.call_id, REASSURE), *stop]


# ---- waiting and offers -----------------------------------------------------------


def _reassure(call: Call, event: ev.CallEvent, now: float) -> Result:
    played = replace(call, prompts=call.prompts + 1)
    return played, [
        cmd.PlayPrompt(call.call_id, played.reassurance_id, call.policy.reassurance_media),
        cmd.StartTimer(call.call_id, REASSURE, call.policy.reassure_every_seconds),
    ]


def _offer_to(call: Call, now: float, taker: str | None, endpoint: str, entry: str) -> Result:
    offers = call.offers + 1
    channel = ids.taker_leg_id(call.call_id, offers)
    target = None if taker is not None else endpoint
    offered = replace(
        call,
        phase=Phase.OFFERED,
        taker=taker,
        taker_channel=channel,
        overflow_target=target,
        offers=offers,
        offered_at=now,
        taker_ringing=False,
    )
    offer = cmd.OfferToTaker(
        call.call_id,
        endpoint,
        channel,
        call.call_id,
        call.shown_number,
        call.policy.ring_seconds,
        offer_label(call.verdict, call.flags),
    )
    return offered, [timeline(call, entry, now, taker=taker or endpoint, attempt=str(offers)), offer]


def _offer(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerAssigned)
    return _offer_to(call, now, event.taker, event.endpoint, "offered")


def _overflow(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.Overflowed)
    return _offer_to(call, now, None, event.target, "overflowed")


def _abandoned(call: Call) -> Outcome:
    return Outcome.ABANDONED_IN_GREETING if call.greeting_on else Outcome.ABANDONED_IN_QUEUE


def _abandoned_waiting(call: Call, event: ev.CallEvent, now: float) -> Result:
    return end(call, _abandoned(call), now, "caller", cmd.ToAcd(acd.CallerLeft(call.call_id)))


def _taker_ringing(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The call taker's phone rings (their answer time counts from the caller's arrival)."""
    if not _is_current_leg(call, event) or call.taker_ringing:  # a second 180 is the same ringing
        return call, []
    return replace(call, taker_ringing=True), [timeline(call, "taker-ringing", now, taker=call.person)]


def _is_current_leg(call: Call, event: ev.CallEvent) -> bool:
    channel = getattr(event, "channel_id", None)
    return channel is None or channel == call.taker_channel


def _stray_leg(call: Call, event: ev.CallEvent, now: float) -> Result:
    """A call taker answered a leg this call no longer wants: hang it up, never bridge it."""
    assert isinstance(event, ev.TakerAnswered)
    if event.channel_id == call.taker_channel:
        return call, []
    return call, [cmd.Hangup(event.channel_id)]


def _taker_answered(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerAnswered)
    if not _is_current_leg(call, event):
        return _stray_leg(call, event, now)
    assert call.taker_channel is not None
    told = [cmd.ToAcd(acd.OfferAnswered(call.taker, call.call_id))] if call.taker else []
    answered, screen = screening.on_taker_answered(replace(call, phase=Phase.CONNECTING), now)
    first_answer = call.answered_at if call.answered_at is not None else now
    return replace(answered, greeting_on=False, answered_at=first_answer), [
        *_stop_waiting_sounds(call),
        *screen,
        *told,
        timeline(
            call,
            "taker-answered",
            now,
            taker=call.person,
            taker_channel=call.taker_channel,
        ),
        *greeting.stopped(call, now),  # answered during the greeting: it stops here
        cmd.ConnectParties(call.bridge_id, call.call_id, call.taker_channel),
    ]


def _offer_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    if not _is_current_leg(call, event):
        return call, []
    reason = str(getattr(event, "cause", None) or getattr(event, "reason", ""))
    back = _back_in_line(call)
    if call.taker is None:  # the overflow target did not take it: back in line, no second overflow
        tell = queued(call, overflow=False)
    else:
        # The phone rang and the leg ended (no answer, busy) unless it ended at once; a
        # request that failed (Asterisk refused it or answered too late) is never the call
        # taker's miss, however long it took, or an overloaded Asterisk would pause takers.
        request_failed = isinstance(event, ev.CommandFailed)
        rang = not request_failed and now - call.offered_at >= call.policy.quick_failure_seconds
        tell = cmd.ToAcd(acd.OfferMissed(call.taker, call.call_id, rang=rang))
    failed = timeline(call, "offer-failed", now, taker=call.person, reason=reason)
    return back, [failed, *hangup_leg(call), tell]


def _back_in_line(call: Call) -> Call:
    """Waiting again after an offer that came to nothing; the ACD keeps the caller's place."""
    return replace(call, phase=Phase.WAITING, taker=None, taker_channel=None, overflow_target=None)


def _abandoned_offered(call: Call, event: ev.CallEvent, now: float) -> Result:
    return end(
        call,
        _abandoned(call),
        now,
        "caller",
        *hangup_leg(call),
        cmd.ToAcd(acd.CallerLeft(call.call_id)),
    )


# ---- connected -------------------------------------------------------------------------


def _connected(call: Call, event: ev.CallEvent, now: float) -> Result:
    return replace(call, phase=Phase.CONNECTED), [timeline(call, "connected", now, taker=call.person)]


def _connect_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The taker answered but the bridge failed (or their leg dropped at once): try again."""
    if not _is_current_leg(call, event):
        return call, []
    back = _back_in_line(call)
    failed = timeline(call, "connect-failed", now, taker=call.person)
    return back, [
        failed,
        *hangup_leg(call),
        cmd.DestroyBridge(call.bridge_id),  # it may exist already; a new one is made next time
        *taker_free(call),
        queued(call, overflow=call.taker is not None),  # a failed overflow is not tried again
        cmd.StartTimer(call.call_id, REASSURE, call.policy.reassure_every_seconds),
    ]


def _caller_ended(call: Call, event: ev.CallEvent, now: float) -> Result:
    if call.caller_gone:
        return call, []  # the same hang-up reported again
    if agencies.stay_after_caller(call):
        return replace(call, caller_gone=True), [
            timeline(call, "caller-left", now, stays="taker and agencies")
        ]
    return end(
        call,
        answered_outcome(call),
        now,
        "caller",
        *hangup_leg(call),
        *agencies.hangup_agencies(call),
        *(taker_free(call) if call.phase is not Phase.WITH_AGENCY else []),  # freed when they left
        cmd.DestroyBridge(call.bridge_id),
    )


def _taker_ended(call: Call, event: ev.CallEvent, now: float) -> Result:
    if not _is_current_leg(call, event):
        return call, []
    stays = None if call.caller_gone else agencies.taker_hung_up_with_agency(call, now)
    if stays is not None:
        return stays
    return end(
        call,
        answered_outcome(call),
        now,
        "taker",
        *([] if call.caller_gone else [cmd.Hangup(call.call_id)]),
        *agencies.hangup_agencies(call),  # ringing ones too: nobody is left to talk to them
        *taker_free(call),
        cmd.DestroyBridge(call.bridge_id),
    )


# ---- the table -------------------------------------------------------------------------


_HAND_OVER = Transition(hand_over, (Phase.ENDED,))
_TAKEN_OVER = Transition(taken_over, (Phase.ENDED,))
_CUT_OFF = Transition(cut_off, (Phase.ENDED,))
_STRAY = Transition(_stray_leg, ())

TRANSITIONS: dict[Phase, dict[str, Transition]] = {
    Phase.ANSWERING: {
        on(ev.CallerAnswered): Transition(greeting.answered, (Phase.GREETING,)),
        on_failure(cmd.Answer): Transition(answer_failed, (Phase.ENDED,)),
        on(ev.CallerHungUp): Transition(greeting.abandoned_in_greeting, (Phase.ENDED,)),
        on(ev.ShutdownRequested): _HAND_OVER,
        on(ev.CallerLeftApp): _TAKEN_OVER,
        on(ev.NodeLost): _CUT_OFF,
    },
    Phase.GREETING: {
        **screening.before_answer_events(Phase.GREETING),
        on_failure(cmd.StartRecording): Transition(greeting.recording_failed, ()),
        **greeting.ended_in(Phase.GREETING),
        on(ev.TakerAssigned): Transition(_offer, (Phase.OFFERED,)),
        on(ev.CallerHungUp): Transition(greeting.abandoned_in_greeting, (Phase.ENDED,)),
        on(ev.ShutdownRequested): _HAND_OVER,
        on(ev.CallerLeftApp): _TAKEN_OVER,
        on(ev.NodeLost): _CUT_OFF,
    },
    Phase.WAITING: {
        **screening.before_answer_events(Phase.WAITING),
        **greeting.ended_in(Phase.WAITING),
        on_failure(cmd.StartRecording): Transition(greeting.recording_failed, ()),
        on(ev.TakerAssigned): Transition(_offer, (Phase.OFFERED,)),
        on(ev.Overflowed): Transition(_overflow, (Phase.OFFERED,)),
        on_timer(REASSURE): Transition(_reassure, (Phase.WAITING,)),
        on(ev.TakerAnswered): _STRAY,
        on(ev.CallerHungUp): Transition(_abandoned_waiting, (Phase.ENDED,)),
        on(ev.ShutdownRequested): _HAND_OVER,
        on(ev.CallerLeftApp): _TAKEN_OVER,
        on(ev.NodeLost): _CUT_OFF,
    },
    Phase.OFFERED: {
        **screening.before_answer_events(Phase.OFFERED),
        **greeting.ended_in(Phase.OFFERED),
        on(ev.TakerRinging): Transition(_taker_ringing, ()),
        on_failure(cmd.StartRecording): Transition(greeting.recording_failed, ()),
        on(ev.TakerAnswered): Transition(_taker_answered, (Phase.CONNECTING,)),
        on(ev.TakerLegEnded): Transition(_offer_failed, (Phase.WAITING,)),
        on_failure(cmd.OfferToTaker): Transition(_offer_failed, (Phase.WAITING,)),
        on_timer(REASSURE): Transition(_reassure, (Phase.OFFERED,)),
        on(ev.CallerHungUp): Transition(_abandoned_offered, (Phase.ENDED,)),
        on(ev.ShutdownRequested): _HAND_OVER,
        on(ev.CallerLeftApp): _TAKEN_OVER,
        on(ev.NodeLost): _CUT_OFF,
    },
    Phase.CONNECTING: {
        **screening.AFTER_ANSWER_EVENTS,
        on(ev.PartiesConnected): Transition(_connected, (Phase.CONNECTED,)),
        on(ev.TakerAnswered): _STRAY,
        on(ev.TakerLegEnded): Transition(_connect_failed, (Phase.WAITING,)),
        on_failure(cmd.ConnectParties): Transition(_connect_failed, (Phase.WAITING,)),
        on(ev.CallerHungUp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.CallerLeftApp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.NodeLost): _CUT_OFF,
    },
    Phase.CONNECTED: {
        **screening.AFTER_ANSWER_EVENTS,
        **agencies.CONNECTED_EVENTS,
        on(ev.CallerHungUp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.CallerLeftApp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.NodeLost): _CUT_OFF,
        on(ev.TakerLegEnded): Transition(_taker_ended, (Phase.ENDED, Phase.WITH_AGENCY)),
        on(ev.TakerAnswered): _STRAY,
    },
    Phase.WITH_AGENCY: {
        **agencies.WITH_AGENCY_EVENTS,
        on(ev.CallerHungUp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.CallerLeftApp): Transition(_caller_ended, (Phase.ENDED,)),
        on(ev.NodeLost): _CUT_OFF,
        on(ev.TakerAnswered): _STRAY,
    },
    Phase.ENDED: {
        on(ev.TakerAnswered): _STRAY,
    },
}


def handle(call: Call, event: ev.CallEvent, now: float) -> Result:
    transition = TRANSITIONS[call.phase].get(event_key(event))
    if transition is None:
        return call, []
    return transition.handler(call, event, now)
