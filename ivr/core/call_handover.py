"""How a call leaves the control plane for the dialplan's native queue, and how it lets go.

Rules (pure, handlers of the call's transition table in ivr.core.call):
- The caller is never hung up for any of this: a failed answer and a deliberate stop
  send the caller on to the dialplan's `handover` label (outcome handed-to-fallback);
  a caller that left the application alive (the watchdog moved it while the control
  plane was gone or hung) is let go where it is.
- Our own leg (an offer ringing) goes; the ACD is told the caller left; the recording
  goes on to the end (the executor keeps a handed-over caller's recorder).
- A call whose Asterisk node failed is cut off (outcome cut-off, on the callback list):
  nothing is asked of the dead node; the ACD is told the caller left, or the call taker
  who was talking with them goes to wrap-up.
"""

from __future__ import annotations

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call_state import HANDOVER_LABEL, Call, Phase, Result, end, hangup_leg, taker_free, timeline
from ivr.core.outcomes import Outcome


def answer_failed(call: Call, event: ev.CallEvent, now: float) -> Result:
    """Asterisk did not take the answer (overloaded, or the caller already gone): the
    caller is never hung up for it, but handed to the dialplan's native queue."""
    assert isinstance(event, ev.CommandFailed)
    failed = timeline(call, "answer-failed", now, reason=event.reason)
    return end(
        call,
        Outcome.HANDED_TO_FALLBACK,
        now,
        "system",
        failed,
        cmd.ToAcd(acd.CallerLeft(call.call_id)),
        cmd.ContinueInDialplan(call.call_id, HANDOVER_LABEL),
    )


def taken_over(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The caller left our application alive (the watchdog handed it to the native queue
    while we were gone or hung): let go of it without a fight. Our own legs go, the
    caller stays where it is; its recording goes on to the end."""
    return end(
        call,
        Outcome.HANDED_TO_FALLBACK,
        now,
        "watchdog",
        *hangup_leg(call),
        cmd.ToAcd(acd.CallerLeft(call.call_id)),
    )


def hand_over(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The control plane stops on purpose: a caller not yet connected goes to the native
    queue (a ringing offer is hung up); the next start adopts only connected calls."""
    return end(
        call,
        Outcome.HANDED_TO_FALLBACK,
        now,
        "system",
        *hangup_leg(call),
        cmd.ToAcd(acd.CallerLeft(call.call_id)),
        cmd.ContinueInDialplan(call.call_id, HANDOVER_LABEL),
    )


def cut_off(call: Call, event: ev.CallEvent, now: float) -> Result:
    """The node carrying the call is gone, and the caller's channel and legs with it."""
    assert isinstance(event, ev.NodeLost)
    lost = timeline(call, "node-lost", now, node=event.node)
    if call.phase in (Phase.CONNECTING, Phase.CONNECTED):
        release = taker_free(call)
    elif call.phase is Phase.WITH_AGENCY:
        release = []  # the call taker was freed when they left
    else:
        release = [cmd.ToAcd(acd.CallerLeft(call.call_id))]
    return end(call, Outcome.CUT_OFF, now, "system", lost, *release)
