"""What the watchdog does with the application's channels when the control plane is gone:
every caller still waiting in Stasis goes to the dialplan's native queue, and what only
the control plane could have used is cleaned up.

Rules (from Asterisk's own list of channels and bridges, nothing else):
- A caller (Stasis(<app>,caller,...)) that shares a bridge with another person (its call
  taker, an agency, the overflow desk) is in a conversation: it stays, with its bridge
  and everyone in it. Every other caller is redirected to the native queue.
- A person's leg of the application (a call taker's, an agency's, a callback's) that
  shares no bridge with another person is hung up: an offer still ringing, a leg left
  alone, a callback nobody will connect now.
- Screening channels (snoop, externalMedia) are hung up: nobody listens to them.
- A recorder keeps recording as long as its caller's channel exists (the native queue
  and the call taker's answer go on the call's recording), and is hung up once it is gone.
- Any other channel of the application (a feature-code call) is hung up.
- A bridge of ours (an ARI application's, with one of our ids) that does not hold a
  conversation is destroyed; bridges of anything else (the native queue's) are left alone.
Pure: plan(legs, bridges, app) -> Handover; time and I/O belong to the watchdog.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ivr.core import ids

CALLER_ARG = "caller"


@dataclass(frozen=True)
class Leg:
    """A channel as Asterisk lists it (AMI CoreShowChannels)."""

    id: str  # Uniqueid: the id the control plane gave it, or Asterisk's for a caller
    name: str  # the channel's name, which AMI actions take (PJSIP/carrier-00000004)
    app: str = ""  # the dialplan application it is in (Stasis, Queue, ...)
    app_data: str = ""  # its arguments (ivr112,caller,112,shown)
    bridge: str = ""  # the bridge it is in, if any


@dataclass(frozen=True)
class Bridge:
    """A bridge as Asterisk lists it (AMI BridgeList)."""

    id: str
    kind: str = "stasis"  # BridgeType: "stasis" for bridges an ARI application made


@dataclass(frozen=True)
class Handover:
    redirect: tuple[Leg, ...] = ()  # callers to the native queue
    hangup: tuple[Leg, ...] = ()
    destroy_bridges: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # calls left in their conversation (caller channel ids)

    @property
    def empty(self) -> bool:
        return not (self.redirect or self.hangup or self.destroy_bridges)


def _args(leg: Leg, app: str) -> list[str] | None:
    """The Stasis arguments of a leg in our application, or None if it is not in it."""
    if leg.app != "Stasis":
        return None
    parts = leg.app_data.split(",")
    return parts[1:] if parts[0] == app else None


def _caller(leg: Leg, app: str) -> bool:
    args = _args(leg, app)
    return args is not None and args[:1] == [CALLER_ARG]


def _person(leg: Leg, app: str) -> bool:
    """Somebody who talks: a caller, a call taker, an agency, a called-back number."""
    return _caller(leg, app) or bool(
        ids.call_of_taker_leg(leg.id) or ids.agency_of_leg(leg.id) or ids.callback_of_callee_leg(leg.id)
    )


def _ours(bridge: Bridge) -> bool:
    """A bridge an ARI application made, with one of the ids the control plane gives."""
    return bridge.kind == "stasis" and bool(ids.call_of_bridge(bridge.id) or ids.call_of_screening(bridge.id))


def plan(legs: Iterable[Leg], bridges: Iterable[Bridge], app: str) -> Handover:
    legs = list(legs)
    present = {leg.id for leg in legs}
    people: dict[str, int] = {}
    for leg in legs:
        if leg.bridge and _person(leg, app):
            people[leg.bridge] = people.get(leg.bridge, 0) + 1
    talking = {bridge for bridge, count in people.items() if count >= 2}

    redirect: list[Leg] = []
    hangup: list[Leg] = []
    kept: list[str] = []
    for leg in legs:
        in_talk = leg.bridge in talking
        recorded = ids.call_of_recorder(leg.id)
        if _caller(leg, app):
            if in_talk:
                kept.append(leg.id)
            else:
                redirect.append(leg)
        elif recorded is not None:
            if recorded not in present:
                hangup.append(leg)  # its caller is gone; else it records to the end
        elif ids.call_of_screening(leg.id):
            hangup.append(leg)
        elif _person(leg, app):
            if not in_talk:
                hangup.append(leg)
        elif _args(leg, app) is not None:
            hangup.append(leg)  # any other channel in our application
    destroy = sorted({b.id for b in bridges if _ours(b) and b.id not in talking})
    return Handover(tuple(redirect), tuple(hangup), tuple(destroy), tuple(kept))
