"""Call takers' declared status in Redis, so a restart keeps who is logged in or paused.

Keys: {p}:agent:{id} hash: declared, reason, since (epoch seconds), by ("person" or
"system"); {p}:agent-audit list of JSON changes (newest last, capped). The keys keep the
name they had before "call taker" became the code's one word: statuses saved by an
earlier release are still read after an upgrade.
Rules: only the declared status is stored (the activity is derived again from Asterisk
after a restart); a Redis outage is logged by the caller and costs the record only.
"""

from __future__ import annotations

import json
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ivr.adapters.call_store import StoreUnavailable

AUDIT_KEEP = 10_000


class TakerStore:
    def __init__(self, client: aioredis.Redis, prefix: str = "ivr") -> None:
        self._redis = client
        self._prefix = prefix

    async def save(self, taker_id: str, declared: str, reason: str, at: float, by_system: bool) -> None:
        record = {
            "declared": declared,
            "reason": reason,
            "since": repr(at),
            "by": "system" if by_system else "person",
        }
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(f"{self._prefix}:agent:{taker_id}", mapping=cast(dict[Any, Any], record))
                pipe.rpush(f"{self._prefix}:agent-audit", json.dumps({"agent": taker_id, **record}))
                pipe.ltrim(f"{self._prefix}:agent-audit", -AUDIT_KEEP, -1)
                await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"saving status of {taker_id}: {exc}") from exc

    async def load(self, taker_ids: list[str]) -> dict[str, dict[str, str]]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for taker_id in taker_ids:
                    pipe.hgetall(f"{self._prefix}:agent:{taker_id}")
                rows = await pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"loading call-taker statuses: {exc}") from exc
        return {
            taker_id: {_text(k): _text(v) for k, v in row.items()}
            for taker_id, row in zip(taker_ids, rows, strict=True)
            if row
        }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
