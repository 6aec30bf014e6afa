# The leader's lease on the real Redis: one control plane leads, a standby waits; the
# leader's death hands the lease over within its lifetime, a clean stop at once; a
# leader that finds another's name in the key steps down, and Redis being away never
# makes a leader give up on its own. A standby told to stop stops waiting at once.
from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivr.adapters.leader_lease import LeaderLease, LeaseLost
from tests.integration.stack import Stack

KEY = "ivr-test:leader"


def client(stack: Stack) -> aioredis.Redis:
    return aioredis.Redis(port=stack.redis_port, password=stack.env["IVR_REDIS_PASSWORD"])


def test_a_standby_leads_once_the_leader_dies_or_lets_go(stack: Stack) -> None:
    async def scenario() -> tuple[float, float]:
        redis = client(stack)
        await redis.delete(KEY)
        first = LeaderLease(redis, KEY, "cp1", ttl_seconds=1.0)
        second = LeaderLease(redis, KEY, "cp2", ttl_seconds=1.0)
        assert await asyncio.wait_for(first.acquire(), 2) is False  # led at once: it never stood by
        keeping = asyncio.create_task(first.keep())
        standby = asyncio.create_task(second.acquire(every=0.05))
        await asyncio.sleep(2.5)  # the leader renews: the standby waits past two lifetimes
        assert first.leading and not standby.done()
        keeping.cancel()  # the leader dies (no renewal, no release)
        died = time.monotonic()
        assert await asyncio.wait_for(standby, 3) is True  # stood by: it reads the centre file again
        took_over = time.monotonic() - died
        assert second.leading and await redis.get(KEY) == b"cp2"

        with pytest.raises(LeaseLost, match="cp2"):  # the old leader, back, finds cp2 leading
            await asyncio.wait_for(first.keep(), 3)
        assert not first.leading

        third = LeaderLease(redis, KEY, "cp3", ttl_seconds=1.0)
        waiting = asyncio.create_task(third.acquire(every=0.05))
        await asyncio.sleep(0.2)
        released = time.monotonic()
        await second.release()  # a clean stop: the standby takes over at once
        await asyncio.wait_for(waiting, 2)
        handed = time.monotonic() - released
        await redis.delete(KEY)
        await redis.aclose()
        return took_over, handed

    took_over, handed = asyncio.run(scenario())
    print(f"standby led {took_over:.2f} s after the leader died, {handed:.2f} s after a release")
    assert took_over <= 1.2  # the lease's lifetime (1 s) and one try
    assert handed <= 0.3


def test_a_leader_leads_on_while_redis_is_away(stack: Stack) -> None:
    async def scenario() -> bool:
        redis = client(stack)
        await redis.delete(KEY)
        lease = LeaderLease(redis, KEY, "cp1", ttl_seconds=0.4)
        await lease.acquire()
        away = aioredis.Redis(port=1, socket_connect_timeout=0.1, retry=Retry(NoBackoff(), 0))  # nobody there
        lease._redis = away  # Redis unreachable for the leader
        keeping = asyncio.create_task(lease.keep())
        await asyncio.sleep(1.0)  # several renewals fail, the key expires meanwhile
        still = lease.leading and not keeping.done()
        lease._redis = redis  # back: the expired key is taken again
        await asyncio.sleep(0.3)
        again = await redis.get(KEY) == b"cp1" and not keeping.done()
        keeping.cancel()
        await redis.delete(KEY)
        await away.aclose()
        await redis.aclose()
        return still and again

    assert asyncio.run(scenario())


def test_a_standby_told_to_stop_stops_waiting_at_once_and_holds_nothing(stack: Stack) -> None:
    async def scenario() -> tuple[object, float, bytes | None]:
        redis = client(stack)
        await redis.delete(KEY)
        leader = LeaderLease(redis, KEY, "cp1", ttl_seconds=1.0)
        await leader.acquire()
        keeping = asyncio.create_task(leader.keep())
        standby = LeaderLease(redis, KEY, "cp2", ttl_seconds=1.0)
        stop = asyncio.Event()
        waiting = asyncio.create_task(standby.acquire_unless(stop, every=0.05))
        await asyncio.sleep(1.5)  # standing by, past the lease's lifetime
        assert not waiting.done()
        stopped = time.monotonic()
        stop.set()  # SIGTERM to the standby (a supervisor stopping the cluster)
        outcome = await asyncio.wait_for(waiting, 2)
        took = time.monotonic() - stopped
        keeping.cancel()  # the leader dies afterwards: the stopped standby must not have taken it
        await asyncio.sleep(1.2)
        holder = await redis.get(KEY)
        await redis.delete(KEY)
        await redis.aclose()
        return outcome, took, holder

    outcome, took, holder = asyncio.run(scenario())
    assert outcome is None and took <= 0.2, (outcome, took)
    assert holder is None  # nobody leads: the stopped standby left nothing behind
