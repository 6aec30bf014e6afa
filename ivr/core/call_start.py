"""How a call enters the flow: a new caller (start) or one found in Asterisk after a
(re)connect that no task owns (adopt).

Rules: pure; a new call is answered at once; its arrival is the INVITE's time (its
channel's creation), believed when within ARRIVAL_TRUSTED_SECONDS before now; a number
the network marked private (withheld) is recorded in full, with the mark, and stays
withheld when adopted; a
caller the dialplan answered and greeted while the control plane was away is queued at
once, keeping its arrival time; an adopted call resumes where Asterisk has it
(connected with its taker, waiting if answered, answering otherwise) and keeps its
arrival time so it keeps its place.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd import events as acd
from ivr.core.call_state import REASSURE, Call, CallPolicy, Phase, Result, queued, recording, timeline


def _arrival(event: ev.CallArrived) -> dict[str, str]:
    detail = {"caller": event.caller_number, "dialled": event.dialled, "level": event.level}
    return detail | ({"withheld": "yes"} if event.withheld else {})


def _call(event: ev.CallArrived | ev.CallAdopted, phase: Phase, policy: CallPolicy, since: float) -> Call:
    pinned = event.pinned if isinstance(event, ev.CallArrived) else False
    recorded = event.recorded if isinstance(event, ev.CallArrived) else False
    return Call(
        event.call_id,
        event.caller_number,
        event.dialled,
        phase,
        policy,
        event.level,
        arrived_at=since,
        pinned=pinned,
        withheld=event.withheld,
        recorded=recorded,
    )


# The INVITE's time as Asterisk gives it is believed only this close before the event:
# a clock that is off (another machine's) must not make a caller look long-waiting.
ARRIVAL_TRUSTED_SECONDS = 60.0


def _arrived_at(event: ev.CallArrived, now: float) -> float:
    """When the caller's INVITE came (its channel was created), else now."""
    if event.arrived_at is None or not now - ARRIVAL_TRUSTED_SECONDS <= event.arrived_at <= now:
        return now
    return event.arrived_at


def start(event: ev.CallArrived, now: float, policy: CallPolicy) -> Result:
    if event.greeted:
        return _greeted(event, now, policy)
    since = _arrived_at(event, now)
    call = _call(event, Phase.ANSWERING, policy, since)
    return call, [
        timeline(call, "arrived", since, **_arrival(event)),
        cmd.Answer(call.call_id, done=event.answered),
    ]


def _greeted(event: ev.CallArrived, now: float, policy: CallPolicy) -> Result:
    since = event.arrived_at if event.arrived_at is not None else now
    call = _call(event, Phase.WAITING, policy, since)
    return call, [
        timeline(call, "arrived", since, **_arrival(event)),
        timeline(call, "greeted-in-dialplan", now),
        *recording(call, now),
        queued(call),
        cmd.StartTimer(call.call_id, REASSURE, 0.1),
    ]


def adopt(event: ev.CallAdopted, now: float, policy: CallPolicy) -> Result:
    """A caller found in Asterisk after a (re)connect that no task owns."""
    since = event.arrived_at if event.arrived_at is not None else now
    call = _call(event, Phase.ANSWERING, policy, since)
    who = event.taker or event.overflow_target or ""
    note: cmd.Command = timeline(call, "adopted", now, answered=str(event.answered), taker=who)
    if not event.recorded:  # arrived while events were not flowing: its record starts here
        detail = {"caller": event.caller_number, "dialled": event.dialled, "level": event.level}
        first = timeline(call, "arrived", since, **detail, **({"withheld": "yes"} if event.withheld else {}))
        return _adopted(call, event, [first, note])
    return _adopted(call, event, [note])


def _adopted(call: Call, event: ev.CallAdopted, notes: list[cmd.Command]) -> Result:
    if event.taker_channel is not None and event.overflow_target is not None:
        adopted = replace(
            call,
            phase=Phase.CONNECTED,
            overflow_target=event.overflow_target,
            taker_channel=event.taker_channel,
        )
        return adopted, notes
    if event.taker is not None and event.taker_channel is not None:
        adopted = replace(call, phase=Phase.CONNECTED, taker=event.taker, taker_channel=event.taker_channel)
        return adopted, [*notes, cmd.ToAcd(acd.TakerOnCall(event.taker, call.call_id))]
    if event.answered:
        waiting = replace(call, phase=Phase.WAITING)
        return waiting, [*notes, queued(waiting), cmd.StartTimer(call.call_id, REASSURE, 0.1)]
    return call, [*notes, cmd.Answer(call.call_id)]
