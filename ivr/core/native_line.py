"""A call the native queue handled, read from the line the dialplan leaves when it ends,
and the timeline entries that make it part of the call's record.

Rules (pure):
- The line's format is the dialplan's ([emergency-hangup] in extensions.conf): the tag
  "n1", then FIELDS, "|"-separated. A line that cannot be read raises NativeLineInvalid
  naming the field and the value; it is never guessed at.
- A call that already has a record (the control plane handed it over when it stopped,
  or the watchdog did) gets what happened after: queued natively, the call taker who
  answered, when the caller left; the outcome it already has stands (a call ends once).
- A call without a record (it arrived while the control plane was away) gets a whole
  one: arrived, recording, queued natively, answered, ended with a named outcome.
- A withheld number's digits never reach the line (the dialplan logs Set's argument):
  the record says withheld, with no number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivr.core.commands import RecordTimeline
from ivr.core.outcomes import Outcome

FORMAT = "n1"
FIELDS = (
    "arrived",
    "queued",
    "ended",
    "dialled",
    "presentation",
    "number",
    "why",
    "queue_status",
    "member",
    "held",
    "recorded",
)
WHY = {
    "fallback": "control plane not connected",
    "handover": "stopping control plane",
    "watchdog": "watchdog",
}
# QUEUESTATUS values that mean the queue gave up on the caller (not the caller on the queue).
QUEUE_FAILED = frozenset({"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"})
BY = "native queue"


class NativeLineInvalid(ValueError):
    """The dialplan's line for a call cannot be read; the message names what is wrong."""


@dataclass(frozen=True)
class NativeCall:
    call_id: str
    arrived: float
    queued: float | None  # None: the caller left before the queue (during the greeting)
    ended: float
    dialled: str
    withheld: bool
    number: str  # "" when withheld
    why: str  # a key of WHY
    queue_status: str
    member: str  # the answering member's interface ("PJSIP/taker01"), "" if nobody answered
    held: float | None  # seconds in the queue before the answer
    recorded: bool

    @property
    def answered_at(self) -> float | None:
        if not self.member or self.queued is None:
            return None
        return self.queued + (self.held or 0.0)

    @property
    def outcome(self) -> Outcome:
        if self.answered_at is not None:
            return Outcome.ANSWERED
        if self.queued is None:
            return Outcome.ABANDONED_IN_GREETING
        if self.queue_status in QUEUE_FAILED:
            return Outcome.FAILED
        return Outcome.ABANDONED_IN_QUEUE


def _time(name: str, value: str, *, optional: bool = False) -> float | None:
    if value == "" and optional:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise NativeLineInvalid(f"{name} is not a time: {value!r}") from None
    if not seconds >= 0:  # also refuses nan
        raise NativeLineInvalid(f"{name} is not a time: {value!r}")
    return seconds


def parse(call_id: str, line: str) -> NativeCall:
    tag, _, rest = line.partition("|")
    if tag != FORMAT:
        raise NativeLineInvalid(f"call {call_id}: unknown line format {tag!r} (expected {FORMAT!r})")
    values = rest.split("|")
    if len(values) != len(FIELDS):
        raise NativeLineInvalid(f"call {call_id}: {len(values)} fields, expected {len(FIELDS)}")
    field = dict(zip(FIELDS, values, strict=True))
    if field["why"] not in WHY:
        raise NativeLineInvalid(f"call {call_id}: why={field['why']!r} is not one of {sorted(WHY)}")
    if field["presentation"] not in ("shown", "withheld"):
        raise NativeLineInvalid(f"call {call_id}: presentation={field['presentation']!r}")
    try:
        arrived = _time("arrived", field["arrived"])
        ended = _time("ended", field["ended"])
        queued = _time("queued", field["queued"], optional=True)
        held = _time("held", field["held"], optional=True)
    except NativeLineInvalid as exc:
        raise NativeLineInvalid(f"call {call_id}: {exc}") from None
    assert arrived is not None and ended is not None
    withheld = field["presentation"] == "withheld"
    return NativeCall(
        call_id,
        arrived,
        queued,
        ended,
        field["dialled"] or "112",
        withheld,
        "" if withheld else field["number"],
        field["why"],
        field["queue_status"],
        field["member"],
        held,
        field["recorded"] == "recorded",
    )


def entries(call: NativeCall, has_record: bool, taker_of: Callable[[str], str]) -> list[RecordTimeline]:
    """The timeline entries for `call`; `taker_of` names the call taker of a member interface."""

    def note(entry: str, at: float, **detail: str) -> RecordTimeline:
        return RecordTimeline(call.call_id, entry, at, detail)

    out: list[RecordTimeline] = []
    if not has_record:
        mark = {"withheld": "yes"} if call.withheld else {}
        who = {"caller": call.number, "dialled": call.dialled, "level": "normal"}
        out.append(note("arrived", call.arrived, **who, **mark))
        if call.recorded:
            out.append(note("recording", call.arrived, recording=call.call_id, recorder="dialplan"))
    if call.queued is not None:
        out.append(note("queued-natively", call.queued, reason=WHY[call.why]))
    answered = call.answered_at
    if answered is not None:
        out.append(note("taker-answered", answered, taker=taker_of(call.member), queue="native"))
    status = {"queue_status": call.queue_status} if call.queue_status else {}
    if has_record:
        out.append(note("left-natively", call.ended, result=call.outcome.value, **status))
    else:
        out.append(note("ended", call.ended, by=BY, outcome=call.outcome.value, **status))
    return out


def already_kept(timeline: list[dict[str, object]]) -> bool:
    """Whether a record's timeline already holds a native line's entries (written, then
    the line not deleted: the next sweep must not write them twice)."""
    return any(
        e.get("entry") == "left-natively" or (e.get("entry") == "ended" and e.get("by") == BY)
        for e in timeline
    )
