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
transaction, so an ending cut off by an outage or a failover is written whole when retried.
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
from collections.abc import Callable
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


ENDING_TRIES = 5  # an ending's transaction tried again while its record changes under it
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
        item = json.dumps({"at": at, "entry": entry, **detail})
        fields = {k: v for k, v in detail.items() if k in RECORD_FIELDS and v}
        if entry in ("arrived", "ended"):
            fields[f"{entry}_at"] = repr(at)
        key = self._key(call_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for _ in range(ENDING_TRIES):
                    try:
                        if entry == "ended":  # the check and the ending in one transaction (WATCH)
                            await pipe.watch(key)
                            if await pipe.hexists(key, "ended_at"):
                                await pipe.reset()  # type: ignore[no-untyped-call]
                                await self._redis.zrem(f"{self._prefix}:open", call_id)
                                return  # ended already: the first ending stands
                            pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.rpush(self._key(call_id, ":timeline"), item)
                        if fields:
                            pipe.hset(key, mapping=cast(dict[Any, Any], fields))
                        if entry == "arrived":
                            pipe.zadd(f"{self._prefix}:calls", {call_id: at})
                            pipe.zadd(f"{self._prefix}:open", {call_id: at})
                        elif entry == "ended":
                            pipe.zrem(f"{self._prefix}:open", call_id)
                        pipe.expire(key, self._ttl)
                        pipe.expire(self._key(call_id, ":timeline"), self._ttl)
                        await pipe.execute()
                        return
                    except WatchError:
                        continue  # the record changed (or the connection broke) meanwhile: look again
        except RedisError as exc:
            raise StoreUnavailable(f"recording '{entry}' of call {call_id}: {exc}") from exc
        raise StoreUnavailable(f"recording '{entry}' of call {call_id}: the record kept changing")

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
                for _ in range(ENDING_TRIES):
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
