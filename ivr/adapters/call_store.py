"""Call records in Redis: one hash per call, its timeline, and an index by arrival.

Keys (prefix configurable, default "ivr"):
  {p}:call:{id}           hash: caller, dialled, arrived_at, ended_at, outcome, taker, ...
  {p}:call:{id}:timeline  list of JSON entries {"at": epoch seconds, "entry": name, ...detail}
  {p}:calls               sorted set: call id by arrival time
  {p}:open                sorted set: calls arrived and not ended, by arrival time
Rules: the store records decisions, it never makes them; a Redis outage is logged and
costs the record, never the call (callers of this class catch StoreUnavailable).
Records are kept for retention_days (default 30), then expire. A call ends once: an
'ended' entry for a record that already has one is dropped (the watchdog and a control
plane back from a hang may both close a handed-over call); the check and the ending are one
step (a script Redis runs whole), so an ending cut off by an outage or a failover is written
whole when retried. Entries written together (append_many: the write-behind's batches) are
one transaction: an outage leaves all of them written or none.
A record is open from its 'arrived' to its 'ended' (the open index; what a control plane
taking over looks at for callers who left unseen), kept no longer than the records.
The incident record (field "incident", JSON) changes with its timeline entry in one
transaction, read and rewritten while no one else changes the record (WATCH); a record
read shows it with the agencies' times from the timeline (ivr.core.incident.view), and
the caller's location fixes (timeline entries "location") as `location` (the latest)
and `locations` (every one, oldest first: ivr.core.location.record_locations).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from ivr.core import incident
from ivr.core.location import record_locations

# Timeline details that also describe the call as a whole, kept on its hash.
RECORD_FIELDS = frozenset(
    {
        "caller",
        "dialled",
        "level",
        "taker",
        "taker_channel",
        "outcome",
        "by",
        "disposition",
        "callback_of",
        "withheld",
    }
)


CHANGE_TRIES = 5  # an incident's change tried again while its record changes under it

# One timeline entry, run by Redis as one step. KEYS: the record, its timeline, the index
# by arrival, the open index. ARGV: call id, entry, at, the entry as JSON, the records'
# keeping in seconds, then the record's fields as name, value pairs. An 'ended' entry for a
# record already ended is dropped (the call stays out of the open index).
APPEND = """
local ending = ARGV[2] == 'ended'
if ending and redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[4])
if #ARGV > 5 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
end
if ARGV[2] == 'arrived' then
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
elseif ending then
  redis.call('ZREM', KEYS[4], ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of a call's timeline, as append_many takes it."""

    call_id: str
    entry: str
    at: float
    detail: dict[str, str]


# An incident change: (the stored incident or None, the timeline) -> (the new one, its
# timeline entry's name and detail).
IncidentChange = Callable[
    [dict[str, Any] | None, list[dict[str, Any]]], tuple[dict[str, Any], str, dict[str, str]]
]


class StoreUnavailable(Exception):
    pass


class CallStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "ivr", retention_days: int = 30) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = retention_days * 86400

    def _key(self, call_id: str, suffix: str = "") -> str:
        return f"{self._prefix}:call:{call_id}{suffix}"

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def append(self, call_id: str, entry: str, at: float, detail: dict[str, str]) -> None:
        """Append a timeline entry; 'arrived' creates the record, 'ended' closes it (once)."""
        await self.append_many([TimelineEntry(call_id, entry, at, detail)])

    async def append_many(self, entries: Sequence[TimelineEntry]) -> None:
        """Append timeline entries, in order, in one round trip and one transaction: all of
        them are written or none (a retry after an outage cannot write half of them twice).
        Each is one script (APPEND), so an ending's check and its writing are one step."""
        if not entries:
            return
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for e in entries:
                    pipe.eval(APPEND, 4, *self._append_keys(e.call_id), *self._append_args(e))
                await pipe.execute()
        except RedisError as exc:
            first = entries[0]
            more = f" and {len(entries) - 1} more entries" if len(entries) > 1 else ""
            raise StoreUnavailable(f"recording '{first.entry}' of call {first.call_id}{more}: {exc}") from exc

    def _append_keys(self, call_id: str) -> tuple[str, str, str, str]:
        indexes = f"{self._prefix}:calls", f"{self._prefix}:open"
        return self._key(call_id), self._key(call_id, ":timeline"), *indexes

    def _append_args(self, e: TimelineEntry) -> list[str | int]:
        fields = {k: v for k, v in e.detail.items() if k in RECORD_FIELDS and v}
        if e.entry in ("arrived", "ended"):
            fields[f"{e.entry}_at"] = repr(e.at)
        item = json.dumps({"at": e.at, "entry": e.entry, **e.detail})
        pairs = [x for name, value in fields.items() for x in (name, value)]
        return [e.call_id, e.entry, repr(e.at), item, self._ttl, *pairs]

    async def set_screening(
        self,
        call_id: str,
        verdict: str,
        level: str,
        reason: str,
        flags: list[str],
        features: dict[str, str],
        transcript: str,
        cues: list[str] | None = None,
    ) -> None:
        """The screening verdict on the call's hash (level too: a restart keeps the caller's place),
        with the cues that decided it (JSON list). A later verdict without measurements (after
        the press-55 prompt) keeps the features and transcript measured before it."""
        fields = {
            "verdict": verdict,
            "level": level,
            "verdict_reason": reason,
            "flags": " ".join(flags),
            "cues": json.dumps(cues or []),
        }
        if features or transcript:
            fields |= {"features": json.dumps(features, sort_keys=True), "transcript": transcript}
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._key(call_id), mapping=cast(dict[Any, Any], fields))
                pipe.expire(self._key(call_id), self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"recording the screening of call {call_id}: {exc}") from exc

    async def change_incident(self, call_id: str, at: float, change: IncidentChange) -> dict[str, Any] | None:
        """Applies `change` to the call's incident and writes the result with its timeline
        entry at `at`, in one transaction (again if the record changed meanwhile); the
        incident as the record now shows it, or None when there is no such call. What
        `change` raises is raised (nothing written)."""
        key, timeline_key = self._key(call_id), self._key(call_id, ":timeline")
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for _ in range(CHANGE_TRIES):
                    try:
                        await pipe.watch(key, timeline_key)
                        raw = await pipe.hget(key, "incident")
                        items = await pipe.lrange(timeline_key, 0, -1)
                        if raw is None and not items and not await pipe.exists(key):
                            await pipe.reset()  # type: ignore[no-untyped-call]
                            return None
                        timeline = [json.loads(item) for item in items]
                        stored = json.loads(raw) if raw else None
                        new, entry, detail = change(stored, timeline)
                        item = json.dumps({"at": at, "entry": entry, **detail})
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.hset(key, "incident", json.dumps(new, sort_keys=True))
                        pipe.rpush(timeline_key, item)
                        pipe.expire(key, self._ttl)
                        pipe.expire(timeline_key, self._ttl)
                        await pipe.execute()
                        return incident.view(new, [*timeline, json.loads(item)])
                    except WatchError:
                        continue
        except RedisError as exc:
            raise StoreUnavailable(f"recording the incident of call {call_id}: {exc}") from exc
        raise StoreUnavailable(f"recording the incident of call {call_id}: the record kept changing")

    async def get(self, call_id: str) -> dict[str, Any] | None:
        try:
            record = await self._redis.hgetall(self._key(call_id))
            timeline = await self._redis.lrange(self._key(call_id, ":timeline"), 0, -1)
        except RedisError as exc:
            raise StoreUnavailable(f"reading call {call_id}: {exc}") from exc
        if not record and not timeline:
            return None
        found: dict[str, Any] = {**_decode(record), "timeline": [json.loads(item) for item in timeline]}
        if "incident" in found:
            found["incident"] = incident.view(json.loads(found["incident"]), found["timeline"])
        found["location"], found["locations"] = record_locations(found["timeline"])
        return found

    async def open_calls(self, arrived_before: float) -> list[str]:
        """The calls arrived before then and not ended (those past the records' keeping dropped)."""
        key = f"{self._prefix}:open"
        try:
            await self._redis.zremrangebyscore(key, "-inf", f"({arrived_before - self._ttl}")
            ids = await self._redis.zrangebyscore(key, "-inf", f"({arrived_before}")
        except RedisError as exc:
            raise StoreUnavailable(f"listing open calls: {exc}") from exc
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    async def latest(self, count: int = 1) -> list[str]:
        try:
            ids = await self._redis.zrevrange(f"{self._prefix}:calls", 0, count - 1)
        except RedisError as exc:
            raise StoreUnavailable(f"listing calls: {exc}") from exc
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


def first_at(timeline: list[dict[str, Any]], entry: str) -> float | None:
    """When a record's timeline first says `entry`, or None."""
    return next((float(e["at"]) for e in timeline if e.get("entry") == entry), None)


def _decode(record: dict[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in record.items()
    }
