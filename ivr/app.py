"""Builds the adapters, wires the engine, runs until SIGINT/SIGTERM.

Rules: settings are validated before anything connects; Redis and ARI being
unreachable at start are retried with log lines, never a crash; on SIGTERM/SIGINT,
callers not yet connected are handed to the dialplan's native queue and connected
calls stay up (the next start adopts them); a crash leaves everything to adoption.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import aiohttp
import redis.asyncio as aioredis

from ivr.adapters.ari.events import EventStream
from ivr.adapters.ari.rest import AriRest
from ivr.adapters.call_store import CallStore
from ivr.core.call import CallPolicy
from ivr.engine.engine import HANDED_OVER_ON_STOP, Engine
from ivr.settings import Settings

log = logging.getLogger("ivr")


async def run(settings: Settings) -> None:
    auth = aiohttp.BasicAuth(settings.ari_user, settings.ari_password.get_secret_value())
    timeout = aiohttp.ClientTimeout(total=10, connect=3)
    redis_client = aioredis.from_url(settings.redis_url)
    async with aiohttp.ClientSession(auth=auth, timeout=timeout) as session:
        rest = AriRest(session, settings.ari_url, settings.ari_app)
        store = CallStore(redis_client, settings.redis_prefix, settings.record_retention_days)
        policy = CallPolicy(
            greeting_media=settings.greeting_media,
            greeting_guard_seconds=settings.greeting_guard_seconds,
            ring_seconds=settings.ring_seconds,
        )
        engine = Engine(rest, store, settings.takers, policy)
        events = EventStream(
            session, settings.ari_url, settings.ari_app, max_delay=settings.reconnect_max_seconds
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "control plane starting: ARI %s app %s, Redis %s, %d call takers",
            settings.ari_url,
            settings.ari_app,
            settings.redis_url,
            len(settings.takers),
        )
        runner = asyncio.create_task(events.run(engine.on_event, engine.on_connected), name="ari-events")
        await stop.wait()
        waiting = sum(t.state.phase in HANDED_OVER_ON_STOP for t in engine.calls.values())
        log.info(
            "stopping: %d waiting callers go to the native queue, %d connected calls stay up",
            waiting,
            len(engine.calls) - waiting,
        )
        await engine.stop()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    await redis_client.aclose()
