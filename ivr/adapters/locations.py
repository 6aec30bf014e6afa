"""Callers' locations while the centre works: each fix put on its call (timeline entry
"location", the events stream's "location" event), or kept until the call comes.

Rules:
- The decisions are ivr.core.location_match's (which call, how long a fix is kept);
  this class only keeps the state and carries them out.
- A fix for a live call is written to the call's timeline through the same ordered,
  held-while-Redis-is-away writes as the call's own entries (write_behind.py), and
  published on the event feed (numbers masked per subscriber there).
- A fix that finds no live call is kept in memory and in Redis ({p}:aml:{key}, expiring
  with the window), so another control plane (a standby taking over, a restart) can
  still match it; a call's arrival (the feed's "arrived" entry, which carries the real
  number, withheld or not) takes the fixes kept for its number, from memory at once and
  from Redis after. Redis away costs only the sharing, never a fix kept here.
- The latest fix of every live call is known from memory (the desk, the waiting list's
  has-location flag); it is forgotten when the call ends (the record keeps every fix).
- Never raises into the caller (the executor's feed, the HTTP handlers): a failure is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ivr.adapters.aml_senders import Senders, load_senders
from ivr.adapters.call_store import CallStore, TimelineEntry
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.write_behind import WriteBehind
from ivr.core import location_match as match
from ivr.core.call_state import Call
from ivr.core.commands import RecordTimeline
from ivr.core.location import ENTRY, Fix, from_detail, in_order, latest
from ivr.core.subscriber import subscriber

log = logging.getLogger(__name__)

SHARED_KEPT = 5  # fixes per number kept in Redis


class CallLocations:
    def __init__(
        self,
        store: CallStore,
        writes: WriteBehind,
        feed: EventFeed,
        calls: Callable[[], Mapping[str, Call]],
        redis: aioredis.Redis | None = None,
        prefix: str = "ivr",
        before: float = match.BEFORE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._writes = writes
        self._feed = feed
        self._calls = calls
        self._redis = redis
        self._prefix = prefix
        self.before = before
        self._clock = clock
        self._pending = match.Pending()
        self._fixes: dict[str, list[Fix]] = {}  # live call -> its fixes, in arrival order
        self._tasks: set[asyncio.Task[None]] = set()
        feed.listen(self.note)

    # ---- reading ----------------------------------------------------------------------------
    def latest(self, call_id: str) -> Fix | None:
        return latest(self._fixes.get(call_id, ()))

    def fixes(self, call_id: str) -> list[Fix]:
        """A live call's fixes, oldest first."""
        return in_order(self._fixes.get(call_id, ()))

    def has_location(self, call_id: str) -> bool:
        return bool(self._fixes.get(call_id))

    @property
    def kept(self) -> int:
        """Fixes waiting for their call."""
        return len(self._pending)

    # ---- fixes coming in --------------------------------------------------------------------
    async def receive(self, key: str, fix: Fix) -> str | None:
        """A handset's fix for subscriber `key`: the live call it went to, or None (kept)."""
        live = [
            match.LiveCall(c.call_id, subscriber(c.caller_number), c.arrived_at)
            for c in self._calls().values()
        ]
        call_id = match.call_for_fix(key, fix.received_at, live, self.before)
        if call_id is not None:
            self.attach(call_id, fix)
            return call_id
        self._pending = match.kept(self._pending, key, fix, self._clock(), self.before)
        await self._share(key, fix)
        return None

    def attach(self, call_id: str, fix: Fix, live: bool = True) -> None:
        """The fix goes on the call: its timeline, its live state (a live call), the event feed."""
        if live:
            self._fixes.setdefault(call_id, []).append(fix)
        detail = fix.detail()
        entry = TimelineEntry(call_id, ENTRY, fix.received_at, detail)
        self._writes.submit_batched(f"location of {call_id}", entry, self._store.append_many)
        self._feed.publish_about(call_id, "location", {"call": call_id, "at": fix.received_at, **fix.view()})
        log.info(
            "call %s: location from %s (%s, %s m)",
            call_id,
            fix.sender,
            fix.method.value,
            fix.accuracy_m or "?",
        )

    async def settled(self) -> None:
        """Returns once every fix attached so far is written (or held for Redis)."""
        await self._writes.settled()

    # ---- calls coming and going (the event feed's entries) -------------------------------------
    def note(self, entry: RecordTimeline) -> None:
        if entry.entry == "ended":
            self._fixes.pop(entry.call_id, None)
        elif entry.entry == "arrived" and (key := subscriber(entry.detail.get("caller", ""))) is not None:
            self._pending, mine = match.taken(self._pending, key, entry.at, self._clock(), self.before)
            for fix in mine:
                self.attach(entry.call_id, fix)
            if self._redis is not None:
                task = asyncio.get_running_loop().create_task(
                    self._shared_for(entry.call_id, key, entry.at, mine)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    # ---- kept in Redis, for another control plane ------------------------------------------------
    def _key(self, key: str) -> str:
        return f"{self._prefix}:aml:{key}"

    async def _share(self, key: str, fix: Fix) -> None:
        if self._redis is None:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self._key(key), json.dumps(fix.detail()))
                pipe.ltrim(self._key(key), -SHARED_KEPT, -1)
                pipe.expire(self._key(key), max(1, round(self.before)))
                await pipe.execute()
        except RedisError as exc:
            log.warning("a kept location is not shared with other control planes: %s", exc)

    async def _shared_for(self, call_id: str, key: str, arrived_at: float, had: tuple[Fix, ...]) -> None:
        """The fixes another control plane kept for this number (those here already: once)."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:  # type: ignore[union-attr]
                pipe.lrange(self._key(key), 0, -1)
                pipe.delete(self._key(key))
                items, _ = await pipe.execute()
        except RedisError as exc:
            log.warning("call %s: locations kept by other control planes not read: %s", call_id, exc)
            return
        seen = {(f.received_at, f.lat, f.lon, f.sender) for f in had}
        for item in items:
            try:
                fix = from_detail(json.loads(item))
            except ValueError:
                fix = None
            if fix is None or fix.received_at < arrived_at - self.before:
                continue
            if (fix.received_at, fix.lat, fix.lon, fix.sender) not in seen and call_id in self._calls():
                seen.add((fix.received_at, fix.lat, fix.lon, fix.sender))
                self.attach(call_id, fix)


@dataclass(frozen=True)
class Locating:
    """What the HTTP API needs for callers' locations: the live book, the AML senders, the map."""

    book: CallLocations
    senders: Senders = field(default_factory=Senders)
    tiles_url: str = ""  # a tile server's URL template ({z}/{x}/{y}); "": the map without tiles
    attribution: str = ""  # the tiles' attribution, shown on the map


class LocatingSettings(Protocol):
    """The settings Locating.of() reads (ivr.settings.Settings has them)."""

    @property
    def aml_senders_path(self) -> Path: ...

    development: bool
    aml_window_seconds: float
    map_tiles_url: str
    map_attribution: str
    redis_prefix: str


def locating_of(
    settings: LocatingSettings,
    store: CallStore,
    writes: WriteBehind,
    feed: EventFeed,
    calls: Callable[[], Mapping[str, Call]],
    redis: aioredis.Redis | None,
) -> Locating:
    """The control plane's Locating: its senders file read (SendersInvalid when it is bad)."""
    senders = load_senders(settings.aml_senders_path, settings.development)
    book = CallLocations(
        store, writes, feed, calls, redis, settings.redis_prefix, settings.aml_window_seconds
    )
    log.info(
        "caller locations (AML): %d senders; map tiles %s", len(senders), settings.map_tiles_url or "none"
    )
    return Locating(book, senders, settings.map_tiles_url, settings.map_attribution)
