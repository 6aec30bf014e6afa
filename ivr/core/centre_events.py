"""What the centre (ivr.core.centre) is told, beyond a call's events and the ACD's, and
the orders it gives.

Rules: frozen data; an order names its owner (a call's or callback's id) when it must be
carried out in that owner's order; timers are keyed (owner, name) and deliver an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.core import commands as cmd
from ivr.core import events as ev
from ivr.core.acd.events import AcdEvent
from ivr.core.acd.model import AcdPolicy, Declared, Taker
from ivr.core.routing import Routing

# ---- told ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    """A caller found in Asterisk after a (re)connect, with its stored record (None: none)."""

    call: ev.CallAdopted
    record: Mapping[str, Any] | None


@dataclass(frozen=True)
class CallbackAsked:
    """Call an abandoned caller back with this call taker (checked free by whoever asked)."""

    called_back: str
    attempt: int
    number: str
    taker: str
    by: str
    withheld: bool = False


@dataclass(frozen=True)
class FeatureDialled:
    """A phone dialled a feature code (*11 log in, *12 log out, *21 pause, *22 unpause)."""

    channel_id: str
    code: str
    endpoint: str  # the PJSIP endpoint it came from, never what the phone claims


@dataclass(frozen=True)
class PhoneReachability:
    """A PJSIP endpoint became reachable or not (qualify, registration, AMI's contact status)."""

    endpoint: str  # e.g. "PJSIP/taker01"
    reachable: bool


@dataclass(frozen=True)
class Reconfigured:
    """A new (validated) configuration: nobody is dropped."""

    policy: AcdPolicy
    roster: tuple[Taker, ...]
    routing: Routing


@dataclass(frozen=True)
class RoutingChanged:
    """Policies for calls that arrive from now on."""

    routing: Routing


CentreEvent = (
    ev.CallEvent
    | AcdEvent
    | Adoption
    | CallbackAsked
    | FeatureDialled
    | PhoneReachability
    | Reconfigured
    | RoutingChanged
)

# ---- orders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Carry:
    """A call's (or callback's) command, carried out after that owner's earlier ones."""

    owner: str
    command: cmd.Command


@dataclass(frozen=True)
class Wake:
    """Deliver `event` after `seconds`, replacing the timer of the same key."""

    key: tuple[str, str]
    seconds: float
    event: CentreEvent


@dataclass(frozen=True)
class Unwake:
    key: tuple[str, str]


@dataclass(frozen=True)
class ForgetOwner:
    """The call or callback ended: its timers go (its last commands are still carried out)."""

    owner: str


@dataclass(frozen=True)
class SaveStatus:
    """A call taker's declared status changed: saved in the order the changes happened."""

    taker_id: str
    declared: Declared
    reason: str
    at: float
    by_system: bool


@dataclass(frozen=True)
class HangupStray:
    """A leg answered for a call or callback that is over."""

    channel_id: str


@dataclass(frozen=True)
class ConfirmFeature:
    """Answer the feature-code call and play its confirmation (or "unknown code")."""

    channel_id: str
    endpoint: str
    prompt: str


@dataclass(frozen=True)
class Faulted:
    """The core failed on an event for this owner: the event changed nothing (logged)."""

    owner: str
    event: str
    error: str


Order = Carry | Wake | Unwake | ForgetOwner | SaveStatus | HangupStray | ConfirmFeature | Faulted
