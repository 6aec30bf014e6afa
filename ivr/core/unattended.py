"""Closing a call record left open while no control plane was attending (pure).

A caller who hangs up while no control plane leads (a takeover, a crash and restart)
leaves a record with no end: nobody saw the hang-up. When a control plane takes over,
records still open whose caller is gone are closed here, from what their timeline says.

Rules:
- The outcome follows the last thing the record shows: connected with a person
  (answered, or overflowed when the last offer was the overflow target's); else
  abandoned in the queue once the greeting was over (it ended, or the caller was
  offered), abandoned in the greeting otherwise. A caller who never reached a
  person is on the callback list like any abandoned caller.
- A callback (its record names the call it called back) that had connected was
  reached; one that had not failed (the abandoned caller is to be tried again), and the
  abandoned call's timeline gets the result.
- A call whose Asterisk node was lost is cut off (called back), whatever it was doing.
- The ending says why it is written by the control plane (not seen: 'unattended'), and
  when the caller was last seen; the end is when it was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivr.core.commands import RecordTimeline
from ivr.core.outcomes import Outcome

BY = "found open"  # who wrote the ending: the control plane that found the record open
LEFT = "caller gone while no control plane was attending"
NODE_LOST = "the Asterisk node carrying the call was lost while no control plane was attending"
# Entries that say the greeting was over (its end, or the caller offered meanwhile).
GREETING_OVER = frozenset(
    {
        "greeting-done",
        "greeting-timeout",
        "greeting-failed",
        "greeting-stopped",
        "greeted-in-dialplan",
        "offered",
        "overflowed",
        "taker-ringing",
    }
)


@dataclass(frozen=True)
class Ending:
    outcome: Outcome
    entries: list[RecordTimeline]


def _entries(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    timeline = record.get("timeline", [])
    return [e for e in timeline if isinstance(e, dict)]


def _reached_person(timeline: list[dict[str, Any]]) -> bool:
    return any(
        e.get("entry") == "connected" or (e.get("entry") == "adopted" and e.get("taker")) for e in timeline
    )


def _call_outcome(timeline: list[dict[str, Any]]) -> Outcome:
    if _reached_person(timeline):
        offers = [e.get("entry") for e in timeline if e.get("entry") in ("offered", "overflowed")]
        return Outcome.OVERFLOWED if offers and offers[-1] == "overflowed" else Outcome.ANSWERED
    if any(e.get("entry") in GREETING_OVER for e in timeline):
        return Outcome.ABANDONED_IN_QUEUE
    return Outcome.ABANDONED_IN_GREETING


def _last_seen(timeline: list[dict[str, Any]]) -> float | None:
    times = [float(e["at"]) for e in timeline if isinstance(e.get("at"), int | float)]
    return max(times) if times else None


def ending(call_id: str, record: Mapping[str, Any], now: float, node_lost: str | None = None) -> Ending:
    """The entries that close `record` (found open at `now`); `node_lost`: the node it was on."""
    timeline = _entries(record)
    called_back = str(record.get("callback_of") or "")
    seen = _last_seen(timeline)
    why = {"reason": f"{NODE_LOST} ({node_lost})" if node_lost else LEFT}
    if seen is not None:
        why["last_seen_at"] = repr(seen)
    if called_back:
        reached = _reached_person(timeline)
        outcome = Outcome.CALLBACK_REACHED if reached else Outcome.FAILED
        result = "reached" if reached else "failed"
        notes = [RecordTimeline(call_id, "unattended", now, why)]
        if not reached:  # a reached callback told the abandoned call at the answer
            detail = {"callback": call_id, "result": result, "cause": why["reason"]}
            notes.append(RecordTimeline(called_back, "callback-result", now, detail))
        ended = {"by": BY, "outcome": outcome.value, "result": result}
        return Ending(outcome, [*notes, RecordTimeline(call_id, "ended", now, ended)])
    outcome = Outcome.CUT_OFF if node_lost else _call_outcome(timeline)
    ended = {"by": BY, "outcome": outcome.value}
    return Ending(
        outcome,
        [RecordTimeline(call_id, "unattended", now, why), RecordTimeline(call_id, "ended", now, ended)],
    )
