"""Identifiers the core chooses, and how to read them back.

Rules: a call's id is its caller channel's id in Asterisk; every other id the control
plane creates for that call embeds it, so an event can be routed to its call without a
lookup table (and after a restart, from Asterisk's own list of channels and bridges).
"""

from __future__ import annotations

import re

TAKER_LEG = "-t"
BRIDGE = "-bridge"
GREETING = "-greeting"
# What the screener creates for a call: a snoop on the caller, an externalMedia channel
# and the bridge joining them.
SCREENING_PARTS = ("-snoop", "-media", "-screen")
SCREENING_PROMPTS = ("-warning", "-silent", "-blocked")  # playback ids of screening prompts


def taker_leg_id(call_id: str, attempt: int) -> str:
    return f"{call_id}{TAKER_LEG}{attempt}"


def bridge_id(call_id: str) -> str:
    return f"{call_id}{BRIDGE}"


def greeting_id(call_id: str) -> str:
    return f"{call_id}{GREETING}"


def call_of_taker_leg(channel_id: str) -> str | None:
    call_id, sep, attempt = channel_id.rpartition(TAKER_LEG)
    return call_id if sep and call_id and attempt.isdigit() else None


def _before(object_id: str, *suffixes: str) -> str | None:
    """What precedes the first of `suffixes` that ends `object_id` (and is not all of it)."""
    for suffix in suffixes:
        if object_id.endswith(suffix) and len(object_id) > len(suffix):
            return object_id.removesuffix(suffix)
    return None


def call_of_bridge(bridge: str) -> str | None:
    return _before(bridge, BRIDGE)


def call_of_greeting(playback_id: str) -> str | None:
    return _before(playback_id, GREETING)


def snoop_id(call_id: str) -> str:
    return f"{call_id}-snoop"


def media_id(call_id: str) -> str:
    return f"{call_id}-media"


def screen_bridge_id(call_id: str) -> str:
    return f"{call_id}-screen"


def call_of_screening(object_id: str) -> str | None:
    """The call a screening channel or bridge belongs to, or None."""
    return _before(object_id, *SCREENING_PARTS)


def screening_prompt_id(call_id: str, kind: str) -> str:
    """kind: warning, silent or blocked."""
    return f"{call_id}-{kind}"


def call_of_screening_prompt(playback_id: str) -> str | None:
    return _before(playback_id, *SCREENING_PROMPTS)


AGENCY_LEG = re.compile(r"^(?P<call>.+?)-ag(?P<n>[0-9]+)-(?P<agency>[a-z][a-z0-9_-]*)$")
ANNOUNCE = "-announce"
RECORDER = "-rec"


def agency_leg_id(call_id: str, n: int, agency: str) -> str:
    return f"{call_id}-ag{n}-{agency}"


def agency_of_leg(channel_id: str) -> tuple[str, str] | None:
    """(call id, agency id) of an agency leg, or None."""
    match = AGENCY_LEG.match(channel_id)
    return (match["call"], match["agency"]) if match else None


def announce_id(leg_id: str) -> str:
    return f"{leg_id}{ANNOUNCE}"


def leg_of_announce(playback_id: str) -> str | None:
    leg = _before(playback_id, ANNOUNCE)
    return leg if leg is not None and agency_of_leg(leg) else None


def recorder_id(call_id: str) -> str:
    """The snoop channel that records the call (it hears both directions)."""
    return f"{call_id}{RECORDER}"


def call_of_recorder(channel_id: str) -> str | None:
    return _before(channel_id, RECORDER)


# A callback to an abandoned caller: "<call>-cb<n>", its own call id (record, recording);
# its call-taker leg is taker_leg_id(callback, 1), the leg dialled out through the trunk
# "<callback>-out", and the taker hears ringing on playback "<callback>-ringback".
CALLBACK = re.compile(r"^(?P<call>.+?)-cb(?P<n>[0-9]+)$")
CALLEE_LEG = "-out"
RINGBACK = "-ringback"


def callback_id(call_id: str, attempt: int) -> str:
    return f"{call_id}-cb{attempt}"


def call_of_callback(callback: str) -> str | None:
    """The abandoned call a callback calls back."""
    match = CALLBACK.match(callback)
    return match["call"] if match else None


def callee_leg_id(callback: str) -> str:
    return f"{callback}{CALLEE_LEG}"


def callback_of_callee_leg(channel_id: str) -> str | None:
    callback = _before(channel_id, CALLEE_LEG)
    return callback if callback is not None and call_of_callback(callback) else None


def ringback_id(callback: str) -> str:
    return f"{callback}{RINGBACK}"
