"""The greeting part of a call's flow: the answer, the greeting, and its end.

Rules:
- At answer the greeting plays (a guard timer moves on if it never reports its end),
  recording and screening start, and the caller is the ACD's at once (CallerArrived): a
  call taker free with nobody in line left for them is offered the caller while the
  greeting plays.
- The greeting's end (played, failed or its guard) puts a caller not yet offered in line
  (CallerQueued, at the level it has then: screening's, if it decided); a caller offered
  meanwhile keeps its place and its offer (the ACD learns its level). Reassurance and
  screening's budget start then. A failure of any other prompt changes nothing here.
- A call taker answering during the greeting stops it (stopped): the playback is stopped
  before the caller is bridged, its guard cancelled, the timeline says so.
- A caller who hangs up while the greeting plays abandoned in the greeting, offered or not.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core import call_screening as screening
from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.acd import events as acd
from ivr.core.call_state import (
    GREETING_GUARD,
    REASSURE,
    Call,
    Handler,
    Phase,
    Result,
    Transition,
    end,
    on,
    on_failure,
    on_timer,
    queued,
    recording,
    timeline,
)
from ivr.core.outcomes import Outcome


def answered(call: Call, event: ev.CallEvent, now: float) -> Result:
    listening, screen = screening.begin(replace(call, phase=Phase.GREETING, greeting_on=True), now)
    return listening, [
        timeline(call, "answered", now),
        cmd.PlayPrompt(call.call_id, ids.greeting_id(call.call_id), call.policy.greeting_media),
        cmd.StartTimer(call.call_id, GREETING_GUARD, call.policy.greeting_guard_seconds),
        *recording(call, now),
        *screen,
        cmd.ToAcd(acd.CallerArrived(call.call_id, call.level, call.arrived_at)),  # a free taker: at once
    ]


def recording_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The call goes on unrecorded; the timeline says why."""
    assert isinstance(event, ev.CommandFailed)
    return call, [timeline(call, "recording-failed", now, reason=event.reason)]


def _greeting_ends(entry: str) -> Handler:
    def handler(call: Call, event: ev.CallEvent, now: float) -> Result:
        if not call.greeting_on:
            return call, []
        detail = {"reason": event.reason} if isinstance(event, ev.CommandFailed) else {}
        phase = Phase.WAITING if call.phase is Phase.GREETING else call.phase
        over, screen = screening.greeting_over(replace(call, phase=phase, greeting_on=False), now)
        return over, [
            cmd.CancelTimer(call.call_id, GREETING_GUARD),
            timeline(call, entry, now, **detail),
            queued(call),  # in line now; one offered meanwhile keeps its place, at this level
            cmd.StartTimer(call.call_id, REASSURE, call.policy.reassure_every_seconds),
            *screen,
        ]

    return handler


def ended_in(phase: Phase) -> dict[str, Transition]:
    """The greeting's end (played, failed, or its guard) in a phase it may still play in."""
    after = (Phase.WAITING,) if phase is Phase.GREETING else (phase,)
    return {
        on(ev.GreetingFinished): Transition(_greeting_ends("greeting-done"), after),
        on_timer(GREETING_GUARD): Transition(_greeting_ends("greeting-timeout"), after),
        on_failure(cmd.PlayPrompt): Transition(_greeting_ends("greeting-failed"), after),
    }


def stopped(call: Call, now: float) -> list[cmd.Command]:
    """A call taker answered: the greeting, if it still plays, stops before the bridge."""
    if not call.greeting_on:
        return []
    return [
        cmd.StopPrompt(ids.greeting_id(call.call_id)),
        cmd.CancelTimer(call.call_id, GREETING_GUARD),
        timeline(call, "greeting-stopped", now),
    ]


def abandoned_in_greeting(call: Call, event: ev.CallEvent, now: float) -> Result:
    left = [cmd.ToAcd(acd.CallerLeft(call.call_id))] if call.phase is Phase.GREETING else []
    return end(call, Outcome.ABANDONED_IN_GREETING, now, "caller", *left)
