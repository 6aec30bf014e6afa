"""Round-robin dispatcher: which call taker gets which waiting caller.

A deliberately thin stand-in until the priority ACD lands. Rules:
- Callers are served first come, first served; a caller is never refused.
- A call taker is offered at most one call at a time and only while their phone is
  reachable; the next offer starts after the last taker chosen (round robin).
- Pure: dispatch(state, event) -> (state, assignments); no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class CallerWaiting:
    call_id: str


@dataclass(frozen=True)
class CallerLeft:
    """The caller no longer needs a taker (hung up, or connected)."""

    call_id: str


@dataclass(frozen=True)
class TakerFree:
    taker: str


@dataclass(frozen=True)
class TakerBusy:
    """The taker is on a call the dispatcher did not assign (adopted after a reconnect)."""

    taker: str


@dataclass(frozen=True)
class TakerReachability:
    taker: str
    reachable: bool


DispatchEvent = CallerWaiting | CallerLeft | TakerFree | TakerBusy | TakerReachability


@dataclass(frozen=True)
class Roster:
    takers: tuple[str, ...]
    busy: frozenset[str] = frozenset()
    unreachable: frozenset[str] = frozenset()
    waiting: tuple[str, ...] = ()
    next_index: int = 0

    def free_takers(self) -> list[str]:
        return [t for t in self.takers if t not in self.busy and t not in self.unreachable]


Assignment = tuple[str, str]  # (call_id, taker)


def _apply(roster: Roster, event: DispatchEvent) -> Roster:
    match event:
        case CallerWaiting(call_id) if call_id not in roster.waiting:
            return replace(roster, waiting=(*roster.waiting, call_id))
        case CallerLeft(call_id):
            return replace(roster, waiting=tuple(c for c in roster.waiting if c != call_id))
        case TakerFree(taker):
            return replace(roster, busy=roster.busy - {taker})
        case TakerBusy(taker):
            return replace(roster, busy=roster.busy | {taker})
        case TakerReachability(taker, True):
            return replace(roster, unreachable=roster.unreachable - {taker})
        case TakerReachability(taker, False):
            return replace(roster, unreachable=roster.unreachable | {taker})
    return roster


def _next_free(roster: Roster) -> int | None:
    count = len(roster.takers)
    for step in range(count):
        index = (roster.next_index + step) % count
        taker = roster.takers[index]
        if taker not in roster.busy and taker not in roster.unreachable:
            return index
    return None


def dispatch(roster: Roster, event: DispatchEvent) -> tuple[Roster, list[Assignment]]:
    roster = _apply(roster, event)
    assignments: list[Assignment] = []
    while roster.waiting:
        index = _next_free(roster)
        if index is None:
            break
        call_id, taker = roster.waiting[0], roster.takers[index]
        assignments.append((call_id, taker))
        roster = replace(
            roster,
            waiting=roster.waiting[1:],
            busy=roster.busy | {taker},
            next_index=(index + 1) % len(roster.takers),
        )
    return roster, assignments
