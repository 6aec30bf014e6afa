"""Which control plane leads: a lease in Redis, held by the active one, waited for by a standby.

Rules:
- One key holds the leader's name with a time to live; the leader renews it several times
  per lifetime, only while the key still holds its own name (a Lua check-and-extend:
  never another's lease). A standby tries to take it a few times a second; it gets it
  only once the key is gone (the leader died, or stopped and let it go).
- While Redis cannot be reached the leader goes on leading (no standby can take the key
  meanwhile either); back in touch, a key that expired meanwhile is taken again.
- The leader steps down (LeaseLost) only when the key holds another name: someone else
  leads now. It must then stop at once, touching nothing in Asterisk: the new leader
  adopts the calls.
- A leader that stops on purpose lets the key go, so its standby takes over at once; a
  standby told to stop stops waiting at once and holds nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseLost(Exception):
    """Another control plane holds the lease: this one no longer leads."""


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaderLease:
    def __init__(self, redis: Any, key: str, name: str, ttl_seconds: float) -> None:
        self._redis = redis
        self.key = key
        self.name = name
        self._ttl_ms = int(ttl_seconds * 1000)
        self.leading = False

    async def _take(self) -> bool:
        """Takes or extends the lease; True when this control plane holds it now."""
        result = await self._redis.eval(RENEW, 1, self.key, self.name, self._ttl_ms)
        return bool(result)

    async def acquire(self, every: float | None = None) -> bool:
        """Waits until this control plane holds the lease; whether it stood by meanwhile."""
        pause = every if every is not None else self._ttl_ms / 8000
        announced = False
        while True:
            try:
                if await self._take():
                    self.leading = True
                    log.warning("leading: lease %s taken by %s", self.key, self.name)
                    return announced
                if not announced:
                    holder = await self._redis.get(self.key)
                    log.warning("standby: %s leads (lease %s); waiting", _text(holder), self.key)
                    announced = True
            except (RedisError, OSError) as exc:
                log.warning("lease %s not reachable, retrying: %s", self.key, exc)
            await asyncio.sleep(pause)

    async def acquire_unless(self, stop: asyncio.Event, every: float | None = None) -> bool | None:
        """acquire(), given up when `stop` is set first: None then, and this control plane
        holds no lease (one taken in the same instant is released)."""
        acquiring = asyncio.create_task(self.acquire(every))
        stopping = asyncio.create_task(stop.wait())
        done, pending = await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if stopping not in done:
            return acquiring.result()
        if acquiring in done:
            await self.release()
        return None

    async def keep(self) -> None:
        """Renews the lease for as long as this control plane leads; raises LeaseLost."""
        pause = self._ttl_ms / 4000
        away = False
        while True:
            await asyncio.sleep(pause)
            try:
                if not await self._take():
                    holder = await self._redis.get(self.key)
                    self.leading = False
                    raise LeaseLost(f"lease {self.key} is held by {_text(holder)}")
                if away:
                    log.warning("lease %s renewed again", self.key)
                away = False
            except (RedisError, OSError) as exc:
                if not away:  # once per outage
                    log.warning("lease %s not renewed (Redis away; leading on): %s", self.key, exc)
                away = True

    async def release(self) -> None:
        if not self.leading:
            return
        self.leading = False
        try:
            await self._redis.eval(RELEASE, 1, self.key, self.name)
        except (RedisError, OSError) as exc:
            log.warning("lease %s not released (it expires by itself): %s", self.key, exc)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "nobody" if value is None else str(value)
