"""The Redis client of every program of the package: one Redis at IVR_REDIS_URL, or the
primary that Redis Sentinel names (IVR_REDIS_SENTINELS, IVR_REDIS_SERVICE).

Rules:
- With Sentinels, each connection and each reconnect asks them for the primary (the first
  that answers and does not see it down; redis-py's own reconnect would go back to the
  old address); a connection to a primary that went away fails and the next try asks
  again, and a demoted primary's "READONLY" answer closes the connection as well (redis-py's
  Sentinel pool), so after a failover the client follows on its own.
- A primary that is replaced while it still runs (a hang, a partition, SENTINEL FAILOVER)
  keeps answering as a primary until Sentinel converts it, about 10 s later, and what it
  took meanwhile is lost at that resync. So the client also asks the Sentinels, at most
  every RECHECK_SECONDS while it is used, and a changed answer closes its connections to
  the old one: what goes there after a switch is bounded by that, not by the conversion.
- Whatever fails meanwhile (connection refused or reset, no primary known yet, a read-only
  replica, a timeout) is a RedisError, which the stores turn into StoreUnavailable: writes
  are held and retried by the write-behind, reads fail open. A request is retried inside
  the client for about as long as with a single Redis (about 4 s), in steps of at most
  0.25 s, so a failover of 2-3 s is mostly ridden through within one request.
- The Sentinels require the data nodes' password too (scripts/sentinel-start.sh); one
  Sentinel that does not answer is skipped at once (no retry: the next one is asked).
- Closing the client closes its connections to the Sentinels too.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool, SentinelManagedConnection
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import RedisError

HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")  # a name or an IPv4 address
SENTINEL_SECONDS = 1.0  # a Sentinel answers at once or is skipped
RECHECK_SECONDS = 0.5  # how stale the client's idea of the primary may get while it is used
RETRIES = 20  # a request's tries after its first, at most 0.25 s apart (about 4 s in all)


class SentinelsInvalid(ValueError):
    pass


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """ "10.0.0.21:26379,10.0.0.22:26379,[fd00::23]:26379" -> [(host, port), ...], in order;
    empty: no Sentinel (one Redis at IVR_REDIS_URL)."""
    found: list[tuple[str, int]] = []
    entries = [part.strip() for part in text.split(",")] if text.strip() else []
    for number, entry in enumerate(entries, 1):
        host, sep, port = entry.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
            valid_host = bool(host) and re.fullmatch(r"[0-9A-Fa-f:.]+", host) is not None
        else:
            valid_host = HOST.match(host) is not None
        if not sep or not valid_host or not port.isdigit():
            raise SentinelsInvalid(
                f"entry {number} ({entry!r}) is not host:port (an IPv6 address in brackets: [fd00::1]:26379)"
            )
        if not 1 <= int(port) <= 65535:
            raise SentinelsInvalid(f"entry {number} ({entry!r}): the port must be 1-65535")
        if (host, int(port)) in found:
            raise SentinelsInvalid(f"entry {number} ({entry!r}) is listed twice")
        found.append((host, int(port)))
    if len(found) == 1:
        raise SentinelsInvalid(
            f"one Sentinel ({entries[0]!r}) would be a single point of failure: list every Sentinel (three)"
        )
    return found


class _FollowingConnection(SentinelManagedConnection):
    """A connection to the primary that asks the Sentinels again each time it reconnects.
    redis-py's own reconnect before sending (send_packed_command) goes back to the address
    the connection had, and retries it for as long as the request may take, the dead
    primary's after a failover (redis-py issue 3874): here it goes through connect(), where
    every try asks the Sentinels."""

    async def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if retry_socket_connect and self.connection_pool.is_master and not self.is_connected:
            await self.connect()  # type: ignore[no-untyped-call]
            return
        await super().connect_check_health(check_health, retry_socket_connect)


class _FollowingPool(SentinelConnectionPool):
    """Sentinel's pool, which also asks the Sentinels for the primary at most every
    RECHECK_SECONDS when a connection is taken (a change closes those to the old one)."""

    _checked = -math.inf

    async def get_connection(self, *args: Any, **options: Any) -> Any:
        now = time.monotonic()
        if now - self._checked >= RECHECK_SECONDS:
            self._checked = now
            # No answer (no primary yet, no Sentinel): the connection's own attempt tells.
            with contextlib.suppress(RedisError):
                await self.get_master_address()  # type: ignore[no-untyped-call]
        return await super().get_connection(*args, **options)  # type: ignore[no-untyped-call]


class _SentinelManaged(aioredis.Redis):
    """The primary's client; closing it also closes the Sentinels' connections."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            if self.sentinels is not None:
                await self.sentinels.aclose()


def connect(
    url: str,
    password: str | None,
    sentinels: str = "",
    service: str = "ivr112",
    timeout: float | None = None,
) -> aioredis.Redis:
    """The client: Redis at `url`, or with `sentinels` the primary of `service` (the URL's
    database number still counts). `timeout` bounds each connect and reply (None: none)."""
    addresses = parse_sentinels(sentinels)
    if not addresses:
        return aioredis.from_url(
            url, password=password, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    asking = min(timeout, SENTINEL_SECONDS) if timeout is not None else SENTINEL_SECONDS
    # Sentinel's constructor is typed from redis 8.2 on, untyped before it.
    sentinel_set = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]
        addresses,
        sentinel_kwargs={
            "password": password,
            "socket_timeout": asking,
            "socket_connect_timeout": asking,
            "retry": Retry(NoBackoff(), 0),
        },
    )
    options: dict[str, Any] = {
        "connection_class": _FollowingConnection,
        "password": password,
        "db": _database(url),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # About the 4 s a single Redis's client (from_url) retries by default, in shorter
        # steps: a request in a failover's gap goes through within 0.25 s of the switch.
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.25), RETRIES),
    }
    client: _SentinelManaged = sentinel_set.master_for(
        service, redis_class=_SentinelManaged, connection_pool_class=_FollowingPool, **options
    )
    client.sentinels = sentinel_set
    return client


def _database(url: str) -> int:
    """The database number of a redis:// URL's path ("/0"), 0 without one."""
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
    return int(path) if path.isdigit() else 0
