"""Call takers' dispositions of calls, and the per-number reputation they build.

Keys (prefix p):
  {p}:dispositions:{number}  hash call_id -> JSON {disposition, at, by}; expires after the
                             window since its last change, so old verdicts fade away
  {p}:disposition-audit      list of JSON changes (who, when, from what to what), capped
  {p}:block:{number}         JSON {until, by, reason, at}; expires by itself at `until`
  {p}:block-audit            list of JSON block and unblock actions, capped
Rules: one disposition per call (a change replaces it and is audited); counts only look
at dispositions inside the window; an unknown caller number (withheld) has no reputation.
A block always has an expiry (it cannot be permanent) and every block and unblock is
audited; whether a block has any effect is the centre's configuration (off by default).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ivr.adapters.call_store import StoreUnavailable

AUDIT_KEEP = 100_000


class Disposition(StrEnum):
    GENUINE = "genuine"
    PRANK = "prank"
    SILENT = "silent"
    INFORMATION = "information"


@dataclass(frozen=True)
class Reputation:
    number: str
    counts: dict[str, int]
    blocked_until: float | None = None

    @property
    def prank(self) -> int:
        return self.counts.get(Disposition.PRANK, 0)

    @property
    def genuine(self) -> int:
        return self.counts.get(Disposition.GENUINE, 0)


class ReputationStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "ivr", window_days: int = 30) -> None:
        self._redis = client
        self._prefix = prefix
        self._window = window_days * 86400

    def _key(self, number: str) -> str:
        return f"{self._prefix}:dispositions:{number}"

    async def record(
        self, number: str, call_id: str, disposition: Disposition, by: str, at: float
    ) -> str | None:
        """Store the call's disposition; returns the one it replaced, if any."""
        entry = json.dumps({"disposition": disposition.value, "at": at, "by": by})
        try:
            previous = await self._redis.hget(self._key(number), call_id) if number else None
            async with self._redis.pipeline(transaction=True) as pipe:
                if number:
                    pipe.hset(self._key(number), call_id, entry)
                    pipe.expire(self._key(number), self._window)
                old = json.loads(previous)["disposition"] if previous else None
                audit = {"call_id": call_id, "number": number, "from": old, "to": disposition.value,
                         "by": by, "at": at}  # fmt: skip
                pipe.rpush(f"{self._prefix}:disposition-audit", json.dumps(audit))
                pipe.ltrim(f"{self._prefix}:disposition-audit", -AUDIT_KEEP, -1)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"recording the disposition of {call_id}: {exc}") from exc
        return old

    async def reputation(self, number: str, now: float) -> Reputation:
        if not number:
            return Reputation(number, {})
        try:
            entries = await self._redis.hvals(self._key(number))
        except RedisError as exc:  # the message names no number: it reaches the logs, and may be private
            raise StoreUnavailable(f"reading a number's reputation: {exc}") from exc
        recent = [json.loads(e) for e in entries]
        counts = Counter(e["disposition"] for e in recent if now - e["at"] <= self._window)
        return Reputation(number, dict(counts), await self.blocked_until(number, now))

    async def blocked_until(self, number: str, now: float) -> float | None:
        try:
            raw = await self._redis.get(f"{self._prefix}:block:{number}") if number else None
        except RedisError as exc:
            raise StoreUnavailable(f"reading a number's block: {exc}") from exc
        until = float(json.loads(raw)["until"]) if raw else None
        return until if until is not None and until > now else None

    async def block(self, number: str, minutes: float, by: str, reason: str, now: float) -> float:
        """Block `number` for `minutes` (expires by itself); returns when it ends."""
        until = now + minutes * 60
        entry = {"until": until, "by": by, "reason": reason, "at": now}
        audit = {"action": "block", "number": number, **entry}
        await self._write_block(number, json.dumps(entry), max(1, int(minutes * 60)), audit)
        return until

    async def unblock(self, number: str, by: str, now: float) -> bool:
        """Lift a block early; False when there was none."""
        if await self.blocked_until(number, now) is None:
            return False
        audit = {"action": "unblock", "number": number, "by": by, "at": now}
        await self._write_block(number, None, 0, audit)
        return True

    async def _write_block(
        self, number: str, entry: str | None, seconds: int, audit: dict[str, object]
    ) -> None:
        key = f"{self._prefix}:block:{number}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if entry is None:
                    pipe.delete(key)
                else:
                    pipe.set(key, entry, ex=seconds)
                pipe.rpush(f"{self._prefix}:block-audit", json.dumps(audit))
                pipe.ltrim(f"{self._prefix}:block-audit", -AUDIT_KEEP, -1)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"changing a number's block: {exc}") from exc

    async def block_audit(self, count: int = 100) -> list[dict[str, object]]:
        return await self._log("block-audit", count)

    async def audit(self, count: int = 100) -> list[dict[str, object]]:
        return await self._log("disposition-audit", count)

    async def _log(self, name: str, count: int) -> list[dict[str, object]]:
        """The last `count` entries of an audit list, oldest first."""
        try:
            rows = await self._redis.lrange(f"{self._prefix}:{name}", -count, -1)
        except RedisError as exc:
            raise StoreUnavailable(f"reading the {name}: {exc}") from exc
        return [json.loads(r) for r in rows]
