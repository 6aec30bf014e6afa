"""Agencies in a live call: fire (Damkar), ambulance, BPBD, police joining caller and taker.

Rules:
- A call taker asks for an agency (HTTP API, or '*' + the agency's digit on their phone)
  while connected with the caller. Its first endpoint rings with the caller's channel
  as originator; on answer the agency hears the announcement ("112 Kendari, connecting a
  caller"), then joins the call's bridge: caller, taker and agency hear each other.
- An endpoint that does not answer (or cannot be rung) is followed by the next one of
  the same agency; when none answered the call taker hears a prompt and the timeline
  says agency-failed. One live leg per agency; several agencies may join one call.
- The call taker may leave ('*0' or the API) once an agency has joined: caller and
  agencies stay connected (phase WITH_AGENCY) and the taker is free for the next call.
  A taker who hangs up while an agency is joined has left the same way.
- When the caller hangs up, every agency leg ends too, unless the centre configured
  agencies to stay: then joined agencies stay with the call taker, and the call ends
  when the taker hangs up. When the last agency leaves a call the taker already left,
  the caller is not left alone: the call ends.
- Every step lands in the timeline: agency-requested, agency-ringing, agency-no-answer,
  agency-answered, agency-joined, agency-left, agency-failed, taker-left; a taker's
  unknown *code is a 'taker-key-unknown' entry, listed up to KEYS_LISTED, then counted.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.call_state import (
    AgencyLeg,
    AgencyPolicy,
    Call,
    LegStatus,
    Phase,
    Result,
    Transition,
    answered_outcome,
    end,
    keys_noted,
    on,
    taker_free,
    timeline,
)

LEAVE_KEY = "0"
AGENCY_PHASES = frozenset({Phase.CONNECTED, Phase.WITH_AGENCY})  # where a request is heard


def agency_refusal(call: Call, agency: str) -> str | None:
    """Why asking for `agency` in this call now would be refused (None: it would ring);
    the HTTP API answers with it before posting, the core records it."""
    if call.phase not in AGENCY_PHASES:
        return f"the call is {call.phase.value}: agencies join connected calls"
    if call.agency_policy(agency) is None:
        return "unknown agency"
    if any(leg.agency == agency for leg in call.live_legs()):
        return "already in the call"
    return None


def leave_refusal(call: Call) -> str | None:
    """Why the call taker may not leave now (None: caller and agencies stay, taker goes)."""
    if call.phase is not Phase.CONNECTED:
        return f"the call is {call.phase.value}: the call taker can leave a connected call"
    if call.caller_gone:
        return "the caller has hung up"
    if not any(leg.status is LegStatus.JOINED for leg in call.agencies):
        return "no agency has joined"
    return None


def hangup_agencies(call: Call) -> list[cmd.Command]:
    return [cmd.Hangup(leg.channel_id) for leg in call.live_legs()]


def _leg(call: Call, channel_id: str) -> AgencyLeg | None:
    return next((leg for leg in call.agencies if leg.channel_id == channel_id), None)


def _set(call: Call, old: AgencyLeg, new: AgencyLeg) -> Call:
    return replace(call, agencies=tuple(new if leg is old else leg for leg in call.agencies))


def _ring(call: Call, leg: AgencyLeg, policy: AgencyPolicy, now: float) -> list[cmd.Command]:
    endpoint = policy.endpoints[leg.endpoint_index]
    return [
        timeline(call, "agency-ringing", now, agency=leg.agency, endpoint=endpoint, channel=leg.channel_id),
        cmd.CallAgency(call.call_id, leg.agency, endpoint, leg.channel_id, call.call_id, policy.ring_seconds),
    ]


def _new_leg(call: Call, agency: str, endpoint_index: int) -> tuple[Call, AgencyLeg]:
    n = call.agency_legs + 1
    leg = AgencyLeg(agency, ids.agency_leg_id(call.call_id, n, agency), endpoint_index)
    return replace(call, agency_legs=n), leg


# ---- handlers -----------------------------------------------------------------------------


def _requested(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.AgencyRequested)
    refusal = agency_refusal(call, event.agency)
    if refusal is not None:
        return call, [timeline(call, "agency-refused", now, agency=event.agency, reason=refusal)]
    policy = call.agency_policy(event.agency)
    assert policy is not None  # agency_refusal refuses an unknown agency
    numbered, leg = _new_leg(call, event.agency, 0)
    updated = replace(numbered, agencies=(*call.agencies, leg))
    asked = timeline(call, "agency-requested", now, agency=event.agency, by=event.by)
    return updated, [asked, *_ring(updated, leg, policy, now)]


def _answered(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.AgencyAnswered)
    leg = _leg(call, event.channel_id)
    if leg is None:
        return call, [cmd.Hangup(event.channel_id)]  # not a leg this call wants
    if leg.status is not LegStatus.RINGING:
        return call, []
    announced = replace(leg, status=LegStatus.ANNOUNCING)
    return _set(call, leg, announced), [
        timeline(call, "agency-answered", now, agency=leg.agency, channel=leg.channel_id),
        cmd.PlayPrompt(leg.channel_id, ids.announce_id(leg.channel_id), call.policy.agency_announce_media),
    ]


def _announced(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.AgencyAnnounced)
    leg = _leg(call, event.channel_id)
    if leg is None or leg.status is not LegStatus.ANNOUNCING:
        return call, []
    return _set(call, leg, replace(leg, status=LegStatus.JOINED)), [
        cmd.AddToBridge(call.bridge_id, leg.channel_id),
        timeline(call, "agency-joined", now, agency=leg.agency, channel=leg.channel_id),
    ]


def _leg_ended(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.AgencyLegEnded)
    leg = _leg(call, event.channel_id)
    if leg is None or leg not in call.live_legs():
        return call, []
    if leg.status is LegStatus.RINGING:
        return _no_answer(call, leg, event.cause, now)
    updated = _set(call, leg, replace(leg, status=LegStatus.LEFT))
    left = timeline(call, "agency-left", now, agency=leg.agency, channel=leg.channel_id)
    if call.phase is Phase.WITH_AGENCY and not updated.live_legs():
        return end(updated, answered_outcome(call), now, "agency", left, cmd.Hangup(call.call_id),
                   cmd.DestroyBridge(call.bridge_id))  # fmt: skip
    return updated, [left]


def _no_answer(call: Call, leg: AgencyLeg, cause: str, now: float) -> Result:
    policy = call.agency_policy(leg.agency)
    endpoints = policy.endpoints if policy else ()
    missed = timeline(call, "agency-no-answer", now, agency=leg.agency,
                      endpoint=endpoints[leg.endpoint_index] if endpoints else "", cause=cause)  # fmt: skip
    if policy is not None and leg.endpoint_index + 1 < len(endpoints):
        numbered, nxt = _new_leg(call, leg.agency, leg.endpoint_index + 1)
        updated = _set(numbered, leg, nxt)
        return updated, [missed, *_ring(updated, nxt, policy, now)]
    updated = _set(call, leg, replace(leg, status=LegStatus.FAILED))
    told: list[cmd.Command] = []
    if call.phase is Phase.CONNECTED and call.taker_channel:
        prompt = f"{call.taker_channel}-agencyfail{call.agency_legs}"
        told.append(cmd.PlayPrompt(call.taker_channel, prompt, call.policy.agency_failed_media))
    return updated, [missed, timeline(call, "agency-failed", now, agency=leg.agency), *told]


def stay_after_caller(call: Call) -> bool:
    """The caller hung up: do joined agencies stay with the taker (as configured)?"""
    joined = any(leg.status is LegStatus.JOINED for leg in call.agencies)
    return joined and call.phase is Phase.CONNECTED and not call.policy.agency_legs_end_with_caller


def _taker_leaves(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerLeaveRequested)
    refusal = leave_refusal(call)
    if refusal is not None:
        return call, [timeline(call, "taker-leave-refused", now, reason=refusal)]
    assert call.taker_channel is not None
    gone = replace(call, phase=Phase.WITH_AGENCY, taker_channel=None)
    return gone, [
        timeline(call, "taker-left", now, taker=call.person, by=event.by),
        cmd.Hangup(call.taker_channel),
        *taker_free(call),
    ]


def taker_hung_up_with_agency(call: Call, now: float) -> Result | None:
    """The taker hung up while an agency is joined: they left; caller and agency stay."""
    if not any(leg.status is LegStatus.JOINED for leg in call.agencies):
        return None
    gone = replace(call, phase=Phase.WITH_AGENCY, taker_channel=None)
    return gone, [timeline(call, "taker-left", now, taker=call.person, by="hangup"), *taker_free(call)]


def _taker_key(call: Call, event: ev.CallEvent, now: float) -> Result:
    assert isinstance(event, ev.TakerDtmf)
    keys = "*" if event.digit == "*" else call.taker_keys + event.digit
    if not keys.startswith("*") or len(keys) < 2:
        return replace(call, taker_keys=keys if keys.startswith("*") else ""), []
    pressed = replace(call, taker_keys="")
    code = keys[1]
    who = call.taker or call.overflow_target or "taker"
    if code == LEAVE_KEY:
        return _taker_leaves(pressed, ev.TakerLeaveRequested(call.call_id, who), now)
    agency = next((a for a in call.policy.agencies if a.code == code), None)
    if agency is None:  # listed up to KEYS_LISTED, then counted (a flood cannot swell the record)
        unknown = replace(pressed, taker_unknown_count=call.taker_unknown_count + 1)
        return unknown, keys_noted(call, "taker-key-unknown", unknown.taker_unknown_count, now, keys=keys)
    return _requested(pressed, ev.AgencyRequested(call.call_id, agency.agency, who), now)


# ---- table entries (merged into ivr.core.call.TRANSITIONS) --------------------------------

AGENCY_EVENTS: dict[str, Transition] = {
    on(ev.AgencyRequested): Transition(_requested, ()),
    on(ev.AgencyAnswered): Transition(_answered, ()),
    on(ev.AgencyAnnounced): Transition(_announced, ()),
}
CONNECTED_EVENTS: dict[str, Transition] = {
    **AGENCY_EVENTS,
    on(ev.AgencyLegEnded): Transition(_leg_ended, ()),
    on(ev.TakerLeaveRequested): Transition(_taker_leaves, (Phase.WITH_AGENCY,)),
    on(ev.TakerDtmf): Transition(_taker_key, (Phase.WITH_AGENCY,)),
}
WITH_AGENCY_EVENTS: dict[str, Transition] = {
    **AGENCY_EVENTS,
    on(ev.AgencyLegEnded): Transition(_leg_ended, (Phase.WITH_AGENCY, Phase.ENDED)),
}
