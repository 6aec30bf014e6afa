"""How a call enters the flow: a new caller (start) or one found in Asterisk after a
(re)connect that no task owns (adopt).

Rules: pure; a new call is answered at once; an adopted call resumes where Asterisk has
it (connected with its taker, waiting if answered, answering otherwise) and keeps its
arrival time so it keeps its place in the queue.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call_state import REASSURE, Call, CallPolicy, Phase, Result, queued, timeline


def start(event: ev.CallArrived, now: float, policy: CallPolicy) -> Result:
    call = Call(
        event.call_id,
        event.caller_number,
        event.dialled,
        Phase.ANSWERING,
        policy,
        event.level,
        arrived_at=now,
        pinned=event.pinned,
    )
    return call, [
        timeline(call, "arrived", now, caller=event.caller_number, dialled=event.dialled, level=event.level),
        cmd.Answer(call.call_id),
    ]


def adopt(event: ev.CallAdopted, now: float, policy: CallPolicy) -> Result:
    """A caller found in Asterisk after a (re)connect that no task owns."""
    since = event.arrived_at if event.arrived_at is not None else now
    call = Call(
        event.call_id, event.caller_number, event.dialled, Phase.ANSWERING, policy, event.level, since
    )
    who = event.taker or event.overflow_target or ""
    note = timeline(call, "adopted", now, answered=str(event.answered), taker=who)
    if event.taker_channel is not None and event.overflow_target is not None:
        adopted = replace(
            call,
            phase=Phase.CONNECTED,
            overflow_target=event.overflow_target,
            taker_channel=event.taker_channel,
        )
        return adopted, [note]
    if event.taker is not None and event.taker_channel is not None:
        adopted = replace(call, phase=Phase.CONNECTED, taker=event.taker, taker_channel=event.taker_channel)
        return adopted, [note, cmd.ToAcd(acd.AgentOnCall(event.taker, call.call_id))]
    if event.answered:
        waiting = replace(call, phase=Phase.WAITING)
        return waiting, [note, queued(waiting), cmd.StartTimer(call.call_id, REASSURE, 0.1)]
    return call, [note, cmd.Answer(call.call_id)]
