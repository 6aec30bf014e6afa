"""What to do after a (re)connect, from what Asterisk holds and what we believe.

Rules (Asterisk decides whether a channel exists; we decide what it is for):
- A call we track whose caller channel is gone: the caller hung up while we were away;
  one whose caller channel is no longer in our app (the watchdog handed it to the
  native queue): it left us, and is never taken back.
- A call we track whose call-taker leg is gone: that leg ended.
- A caller channel in our Stasis app that no task owns is adopted: as connected if it
  shares one of our bridges with its call-taker leg, otherwise back to waiting (or to
  answering if it was never answered).
- A call-taker leg or one of our bridges that belongs to no call is cleaned up, and so
  is a screening channel or bridge whose call has no screening running here, and an
  agency leg of a call not tracked here. A recorder channel is left alone: it records
  the caller to the end and ends with the caller.
- Callbacks going on here own their legs and bridge; the legs of a callback not
  tracked here (the control plane restarted) are hung up: a callback is not adopted.
Pure: plan() reads lists and returns a plan; the engine carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.adapters.ari.models import Bridge, Channel
from ivr.adapters.ari.translate import CALLER_ARG, taker_of_channel_name
from ivr.core import events as ev
from ivr.core import ids
from ivr.core.call import Call, Phase
from ivr.core.callback import Callback


@dataclass
class Plan:
    post: list[tuple[str, ev.CallEvent]] = field(default_factory=list)
    adopt: list[ev.CallAdopted] = field(default_factory=list)
    hangup: list[str] = field(default_factory=list)
    destroy_bridges: list[str] = field(default_factory=list)


def _is_our_caller(channel: Channel, app: str) -> bool:
    plan = channel.dialplan
    return plan.app_name == "Stasis" and plan.app_data.startswith(f"{app},{CALLER_ARG}")


def _dialled(channel: Channel) -> str:
    parts = channel.dialplan.app_data.split(",")
    return parts[2] if len(parts) > 2 and parts[2] else "112"


def plan(
    known: dict[str, Call],
    channels: list[Channel],
    bridges: list[Bridge],
    app: str,
    screened: set[str] | frozenset[str] = frozenset(),
    callbacks: set[str] | frozenset[str] = frozenset(),
) -> Plan:
    result = Plan()
    present = {c.id: c for c in channels}
    for call_id, call in known.items():
        if call_id not in present:
            result.post.append((call_id, ev.CallerHungUp(call_id)))
        elif not _is_our_caller(present[call_id], app):  # moved on (the watchdog): let go
            result.post.append((call_id, ev.CallerLeftApp(call_id)))
        elif (
            call.taker_channel
            and call.taker_channel not in present
            and call.phase in (Phase.OFFERED, Phase.CONNECTING, Phase.CONNECTED)
        ):
            result.post.append(
                (call_id, ev.TakerLegEnded(call_id, call.taker_channel, "gone while disconnected"))
            )

    bridged_with: dict[str, str] = {}  # caller channel -> taker leg sharing one of our bridges
    for bridge in bridges:
        bridge_call = ids.call_of_bridge(bridge.id)
        if bridge_call is None:
            continue
        legs = [c for c in bridge.channels if ids.call_of_taker_leg(c) == bridge_call]
        if bridge_call in bridge.channels and legs:
            bridged_with[bridge_call] = legs[0]

    adopted: set[str] = set()
    for channel in channels:
        if channel.id in known or not _is_our_caller(channel, app):
            continue
        leg = bridged_with.get(channel.id)
        taker = taker_of_channel_name(present[leg].name) if leg in present else None
        result.adopt.append(
            ev.CallAdopted(
                channel.id,
                channel.caller.number,
                _dialled(channel),
                answered=channel.state == "Up",
                taker=taker,
                taker_channel=leg if taker else None,
                arrived_at=channel.creationtime.timestamp() if channel.creationtime else None,
                withheld="withheld" in channel.dialplan.app_data.split(",")[2:],
            )
        )
        adopted.add(channel.id)

    owners = set(known) | adopted | set(callbacks)
    for channel in channels:
        leg_call = ids.call_of_taker_leg(channel.id) or ids.callback_of_callee_leg(channel.id)
        screen_call = ids.call_of_screening(channel.id)
        agency = ids.agency_of_leg(channel.id)
        if agency is not None and agency[0] not in known:  # an adopted call does not know its agencies
            leg_call = agency[0]
        if (leg_call is not None and leg_call not in owners) or (
            screen_call is not None and screen_call not in screened
        ):
            result.hangup.append(channel.id)
    for bridge in bridges:
        bridge_call = ids.call_of_bridge(bridge.id)
        screen_call = ids.call_of_screening(bridge.id)
        if (bridge_call is not None and bridge_call not in owners) or (
            screen_call is not None and screen_call not in screened
        ):
            result.destroy_bridges.append(bridge.id)
    return result


def callback_legs_gone(callbacks: dict[str, Callback], present: set[str]) -> list[tuple[str, ev.CallEvent]]:
    """Callback legs that ended while the events stream was down: their callback ends."""
    gone: list[tuple[str, ev.CallEvent]] = []
    for callback_id, callback in callbacks.items():
        taker_leg = callback.taker_channel or ids.taker_leg_id(callback_id, 1)
        callee = callback.callee_channel
        if taker_leg not in present:
            gone.append((callback_id, ev.TakerLegEnded(callback_id, taker_leg, "gone while disconnected")))
        elif callee is not None and callee not in present:
            gone.append((callback_id, ev.CalleeLegEnded(callback_id, callee, "gone while disconnected")))
    return gone
