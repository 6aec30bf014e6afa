"""Whether the control plane serves callers, from the states of its parts (pure).

Rules:
- Each part is ok, degraded (working, with something a person should know), down or off
  (not configured here); its detail says what, in words.
- The whole is down only when callers would not reach a call taker through it: an active
  control plane with none of its Asterisk connections up (one Asterisk, or every node).
  Then the health check fails (HTTP 503): the watchdog hands its callers to the native
  queue and a supervisor (systemd, a container runtime) may restart it.
- Anything else that is not ok makes the whole degraded (HTTP 200: restarting would not
  help and would drop what is held in memory): a node of several, AMI, Redis holding the
  records in memory, the archive, the recordings folder, screening at capacity.
- A standby connects to no Asterisk until it leads: its Asterisk parts are off, and it is
  ok while the parts it does run are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"
    OFF = "off"


@dataclass(frozen=True)
class Part:
    name: str  # "asterisk" or "asterisk:<node>", "ami", "redis", "archive", "recordings", "screening"
    state: State
    detail: str = ""
    carries_calls: bool = False  # an Asterisk connection: callers reach takers through it


def overall(parts: Iterable[Part]) -> State:
    """ok, degraded or down (see the rules); never off."""
    found = list(parts)
    carriers = [p for p in found if p.carries_calls and p.state is not State.OFF]
    if carriers and all(p.state is State.DOWN for p in carriers):
        return State.DOWN
    if any(p.state in (State.DOWN, State.DEGRADED) for p in found):
        return State.DEGRADED
    return State.OK
