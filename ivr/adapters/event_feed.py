"""What happens to calls, as one numbered stream for other systems (dispatch, GIS): the hub
behind GET /api/v1/events (ivr/adapters/http/event_stream.py).

Rules:
- Fed from the one place a call's timeline entries are carried out (the executor's
  RecordTimeline), and by the incident record's routes for its entries (written from
  HTTP, not by the core): the entries in PUBLISHED become events; every other entry is not
  published. An event's data holds the call id, the entry's time and the entry's fields
  named in FIELDS, never anything else from the entry.
- Publishing never waits: the event is appended to a ring of the last `kept` events and
  to each subscriber's queue. A subscriber's queue is bounded: one that falls behind by
  more than `queued` events is cut (its stream ends with a gap) and holds up no one.
- A cursor is "<epoch>-<sequence>": the epoch is new with every process, sequences rise
  by one per event. Replay after a cursor still in the ring: every event after it. A
  cursor older than the ring, from another epoch (a restart) or unknown: a gap first,
  then every event kept. No cursor: events from now on.
- The caller's number and its withheld mark are remembered from a call's arrival until
  it ends (at most CALLS_REMEMBERED calls) and carried by each of its events; who may see
  the number is decided per subscriber (event_stream.py), never here.
- Events that are not timeline entries (a caller's location: ivr/adapters/locations.py)
  come through publish_about(), which adds the call's caller the same way. Listeners
  (listen()) are offered every entry noted, after it is published; one that fails is logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ivr.core.commands import RecordTimeline

log = logging.getLogger(__name__)

PUBLISHED = {
    "arrived": "call-arrived",
    "taker-answered": "call-answered",
    "screened": "verdict",
    "agency-joined": "agency-joined",
    "incident": "incident",
    "agency-arrived": "agency-arrived",
    "ended": "call-ended",
}
FIELDS = {  # event -> the entry's fields it carries
    "call-arrived": ("dialled", "level"),
    "call-answered": ("taker",),
    "verdict": ("verdict", "level", "reason"),
    "agency-joined": ("agency",),
    "incident": ("type", "address", "kelurahan", "agencies", "incident_by"),  # never the notes
    "agency-arrived": ("agency", "arrived_at", "arrival_by"),
    "call-ended": ("outcome", "by"),
}
CALLS_REMEMBERED = 5_000  # callers kept for calls whose end was never seen (a lost record)


class Gap(StrEnum):
    """Why a subscriber missed events: it must re-read the history for that stretch."""

    RESTART = "restart"  # the cursor is from another run of the control plane
    TOO_OLD = "too-old"  # the events after the cursor are no longer kept
    UNKNOWN = "unknown"  # a cursor this run never gave
    TOO_SLOW = "too-slow"  # the subscriber fell behind and was cut


@dataclass(frozen=True)
class FeedEvent:
    cursor: str
    name: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """What a new subscriber is owed before live events: the gap (None: none), the cursor
    the replay follows (after a gap, where to resume from), the events kept after it."""

    gap: Gap | None
    since: str
    events: list[FeedEvent]


class Subscription:
    """One subscriber's bounded queue of events not yet sent."""

    def __init__(self, queued: int) -> None:
        self._events: deque[FeedEvent] = deque()
        self._queued = queued
        self._ready = asyncio.Event()
        self.cut = False

    def offer(self, event: FeedEvent) -> None:
        if self.cut:
            return
        if len(self._events) >= self._queued:
            self.cut = True
            self._events.clear()
        else:
            self._events.append(event)
        self._ready.set()

    async def next(self, wait: float) -> FeedEvent | None:
        """The next event; None when none came within `wait` seconds, or when cut."""
        if not self._events and not self.cut:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), wait)
            except TimeoutError:
                return None
        if self.cut or not self._events:
            return None
        return self._events.popleft()


class EventFeed:
    def __init__(self, kept: int = 10_000, queued: int = 1_000, epoch: str | None = None) -> None:
        self.epoch = epoch or secrets.token_hex(4)
        self._ring: deque[FeedEvent] = deque(maxlen=kept)
        self._queued = queued
        self._sequence = 0
        self._subscribers: set[Subscription] = set()
        self._callers: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        self._listeners: list[Callable[[RecordTimeline], None]] = []

    def listen(self, listener: Callable[[RecordTimeline], None]) -> None:
        """`listener` is offered every timeline entry noted from now on."""
        self._listeners.append(listener)

    def note(self, entry: RecordTimeline) -> None:
        """A timeline entry being recorded: published if it is one of PUBLISHED."""
        self._publish_entry(entry)
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:  # a listener's fault never costs the feed or the call
                log.exception("a listener of the event feed failed on %s of %s", entry.entry, entry.call_id)

    def publish_about(self, call_id: str, name: str, data: dict[str, Any]) -> FeedEvent:
        """An event about a call that is no timeline entry (a location), with its caller added."""
        known = self._callers.get(call_id)
        if known is not None:
            data = {**data, "caller": known[0], "withheld": known[1]}
        return self.publish(name, data)

    def _publish_entry(self, entry: RecordTimeline) -> None:
        detail = entry.detail
        if entry.entry == "arrived" and "caller" in detail:
            self._callers[entry.call_id] = (detail["caller"], detail.get("withheld") == "yes")
            while len(self._callers) > CALLS_REMEMBERED:
                self._callers.popitem(last=False)
        name = PUBLISHED.get(entry.entry)
        if name is None:
            return
        data: dict[str, Any] = {"call": entry.call_id, "at": entry.at}
        data.update({key: detail[key] for key in FIELDS[name] if key in detail})
        call = entry.call_id
        known = self._callers.pop(call, None) if name == "call-ended" else self._callers.get(call)
        if known is not None:
            data["caller"], data["withheld"] = known
        self.publish(name, data)

    def publish(self, name: str, data: dict[str, Any]) -> FeedEvent:
        self._sequence += 1
        event = FeedEvent(f"{self.epoch}-{self._sequence}", name, data)
        self._ring.append(event)
        for subscriber in self._subscribers:
            subscriber.offer(event)
        return event

    def subscribe(self, after: str | None) -> tuple[Subscription, Replay]:
        """A new subscriber and what it is owed first (after cursor `after`); every later
        event comes through the subscription."""
        subscription = Subscription(self._queued)
        self._subscribers.add(subscription)
        if after is None:
            return subscription, Replay(None, self.cursor, [])
        gap, first = self._replay_from(after)
        events = [e for e in self._ring if _sequence(e.cursor) >= first]
        return subscription, Replay(gap, f"{self.epoch}-{first - 1}", events)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def cursor(self) -> str:
        """The cursor of the latest event (sequence 0: none yet)."""
        return f"{self.epoch}-{self._sequence}"

    def _replay_from(self, after: str) -> tuple[Gap | None, int]:
        """The gap (None: none) and the first sequence to replay after cursor `after`."""
        epoch, _, number = after.partition("-")
        oldest = _sequence(self._ring[0].cursor) if self._ring else self._sequence + 1
        if epoch != self.epoch:
            return Gap.RESTART, oldest
        if not number.isdigit() or int(number) > self._sequence:
            return Gap.UNKNOWN, oldest
        if int(number) + 1 < oldest:
            return Gap.TOO_OLD, oldest
        return None, int(number) + 1


def _sequence(cursor: str) -> int:
    return int(cursor.rpartition("-")[2])
