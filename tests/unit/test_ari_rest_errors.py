"""ARI requests that fail below HTTP become AriUnavailable, which the executor turns
into the call's CommandFailed (the flow then decides), never an exception that ends
the call's task: an Asterisk that stops answering in time, or a refused connection."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.adapters.ari.rest import AriRest, AriUnavailable


async def test_a_request_asterisk_does_not_answer_in_time_is_unavailable() -> None:
    async def stalls(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/ari/channels", stalls)
    server = TestServer(app)
    await server.start_server()
    try:
        timeout = aiohttp.ClientTimeout(total=0.2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            rest = AriRest(session, str(server.make_url("/")), "ivr112")
            with pytest.raises(AriUnavailable, match="ARI originate: TimeoutError"):
                await rest.originate(
                    endpoint="PJSIP/taker01", channel_id="c1-t1", app_args="taker,c1",
                    caller_number="0812", ring_seconds=15,
                )  # fmt: skip
    finally:
        await server.close()


async def test_a_refused_connection_is_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        rest = AriRest(session, "http://127.0.0.1:9", "ivr112")
        with pytest.raises(AriUnavailable, match="ARI answer"):
            await rest.answer("c1")
