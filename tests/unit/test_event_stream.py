"""GET /api/v1/events as another system (dispatch, GIS) sees it, read over real HTTP: a
call driven through the real engine (fake Asterisk) arrives, is answered and ends, in
order, each event with a rising id; a subscriber reconnecting with Last-Event-ID gets
exactly what it missed; a cursor too old or from before a restart gets a gap first; a
subscriber that stops reading is cut with a gap while another gets everything; call
takers and requests without a token are refused; an engineer never sees a caller's
number, a withheld one included; the OpenAPI document lists the route."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from ivr.adapters.call_store import CallStore
from ivr.adapters.event_feed import EventFeed
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import token_hash
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.taker_store import TakerStore
from ivr.config.loader import load
from ivr.core.acd import events as acd
from ivr.core.commands import RecordTimeline
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import Engine
from tests.unit.fake_asterisk import FakeAsterisk
from tests.unit.http_app import REPO, USERS, api
from tests.unit.test_engine_fake_asterisk import POLICY, bridged, until

EVENTS = "/api/v1/events"


@dataclass
class Sse:
    id: str | None
    event: str
    data: dict[str, Any]


def parse(text: str) -> list[Sse]:
    """The events of a Server-Sent Events text (comments left out)."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
        if "event" in fields:
            found.append(Sse(fields.get("id"), fields["event"], json.loads(fields["data"])))
    return found


def unchunked(body: bytes) -> bytes:
    """An HTTP/1.1 chunked body's content."""
    content = b""
    while body:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        content, body = content + body[:length], body[length + 2 :]
        if length == 0:
            break
    return content


async def read(response: aiohttp.ClientResponse, count: int, seconds: float = 5.0) -> list[Sse]:
    """The next `count` events of an open stream."""
    got: list[Sse] = []
    buffer = ""
    async with asyncio.timeout(seconds):
        while len(got) < count:
            line = (await response.content.readline()).decode()
            assert line, f"the stream ended after {len(got)} events"
            buffer += line
            if line == "\n":
                got += parse(buffer)
                buffer = ""
    return got


def auth(role: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {USERS[role][0]}", **more}


def entry(call: str, name: str, at: float = 1_700_000_000.0, **detail: str) -> RecordTimeline:
    return RecordTimeline(call, name, at, detail)


def arrivals(feed: EventFeed, count: int, first: int = 1) -> None:
    for n in range(first, first + count):
        feed.note(entry(f"1700000000.{n}", "arrived", caller=f"08129900{n:04d}", dialled="112"))


@asynccontextmanager
async def centre_with_api() -> AsyncIterator[tuple[TestClient, Engine, FakeAsterisk]]:
    """The real engine on the fake Asterisk, behind the real HTTP app."""
    asterisk = FakeAsterisk()
    redis = aioredis.from_url("redis://127.0.0.1:1/0")  # nothing listens: records are held
    engine = Engine(
        asterisk, CallStore(redis), TakerStore(redis), load(REPO / "queue" / "kendari.yaml"), POLICY
    )
    asterisk.connect(engine.on_event)
    await engine.on_connected()

    async def reloaded() -> dict[str, Any]:
        return {}

    users = {token_hash(token): user for token, user in USERS.values()}
    app = build_api(CentreService(engine), CallStore(redis), ReputationStore(redis), users, reloaded)
    try:
        async with TestClient(TestServer(app)) as client:
            yield client, engine, asterisk
    finally:
        await engine.stop(grace_seconds=0.2, writes_seconds=0.1)
        await asterisk.close()
        await redis.aclose()


async def test_a_dispatch_system_hears_a_call_arrive_get_answered_and_end_in_order() -> None:
    async with centre_with_api() as (client, engine, asterisk):
        stream = await client.get(EVENTS, headers=auth("supervisor"))
        assert stream.status == 200
        assert stream.headers["Content-Type"] == "text/event-stream"
        engine.to_acd(acd.TakerLoggedIn("taker01"))
        caller = asterisk.caller_dials("081299000001")
        await until(lambda: bridged(asterisk, caller, f"{caller}-t1"), "caller and taker bridged")
        asterisk.hang_up(caller)
        events = await read(stream, 3)
        assert [e.event for e in events] == ["call-arrived", "call-answered", "call-ended"]
        assert {e.data["call"] for e in events} == {caller}
        assert all(e.data["caller"] == "081299000001" for e in events)
        assert events[1].data["taker"] == "taker01"
        assert events[2].data["outcome"] == "answered"
        sequences = [int(str(e.id).rpartition("-")[2]) for e in events]
        assert sequences == sorted(sequences) and len(set(sequences)) == 3
        stream.close()


async def test_reconnecting_with_the_last_event_id_replays_exactly_the_missed_events() -> None:
    async with api() as a:
        feed = a.engine.feed
        stream = await a.client.get(EVENTS, headers=auth("operator"))
        arrivals(feed, 2)
        first = await read(stream, 2)
        stream.close()
        arrivals(feed, 3, first=3)  # while the subscriber is away
        again = await a.client.get(EVENTS, headers=auth("operator", **{"Last-Event-ID": str(first[-1].id)}))
        missed = await read(again, 3)
        assert [e.data["call"] for e in missed] == ["1700000000.3", "1700000000.4", "1700000000.5"]
        arrivals(feed, 1, first=6)  # then live events follow the replay
        assert (await read(again, 1))[0].data["call"] == "1700000000.6"
        again.close()
        by_query = await a.client.get(EVENTS, params={"after": str(missed[0].id)}, headers=auth("operator"))
        replayed = [e.data["call"] for e in await read(by_query, 3)]
        assert replayed == ["1700000000.4", "1700000000.5", "1700000000.6"]
        by_query.close()


async def test_a_cursor_older_than_what_is_kept_gets_a_gap_then_everything_kept() -> None:
    async with api() as a:
        a.engine.feed = feed = EventFeed(kept=100)
        arrivals(feed, 150)
        stream = await a.client.get(
            EVENTS, headers=auth("supervisor", **{"Last-Event-ID": f"{feed.epoch}-10"})
        )
        events = await read(stream, 101)
        assert events[0].event == "gap" and events[0].data["reason"] == "too-old"
        assert [e.data["call"] for e in events[1:3]] == ["1700000000.51", "1700000000.52"]
        assert events[-1].data["call"] == "1700000000.150"
        stream.close()


async def test_a_cursor_from_before_a_restart_gets_a_gap_and_its_id_resumes_without_one() -> None:
    async with api() as a:
        arrivals(a.engine.feed, 2)
        stream = await a.client.get(EVENTS, headers=auth("supervisor", **{"Last-Event-ID": "0badc0de-7"}))
        gap, *kept = await read(stream, 3)
        assert (gap.event, gap.data["reason"]) == ("gap", "restart")
        assert [e.data["call"] for e in kept] == ["1700000000.1", "1700000000.2"]
        stream.close()
        resumed = await a.client.get(EVENTS, headers=auth("supervisor", **{"Last-Event-ID": str(gap.id)}))
        assert [e.event for e in await read(resumed, 2)] == ["call-arrived", "call-arrived"]
        resumed.close()


async def test_a_subscriber_that_stops_reading_is_cut_with_a_gap_and_holds_up_no_one() -> None:
    async with api() as a:
        a.engine.feed = feed = EventFeed(queued=200)
        fast = await a.client.get(EVENTS, headers=auth("supervisor"))
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: it fills soon
        slow.setblocking(False)
        await asyncio.get_running_loop().sock_connect(slow, (a.client.host, a.client.port))
        reader, writer = await asyncio.open_connection(sock=slow, limit=2**16)
        token = USERS["engineer"][0]
        writer.write(f"GET {EVENTS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     "Connection: close\r\n\r\n".encode())  # fmt: skip
        await writer.drain()
        await until(lambda: feed.subscribers == 2, "both subscribed")
        total, reason = 1000, "x" * 10_000  # about 10 MB: more than the sockets' buffers hold
        received: list[Sse] = []
        reading = asyncio.create_task(read(fast, total, seconds=30))
        for n in range(total):
            feed.note(entry(f"c{n}", "screened", verdict="genuine", level="high", reason=reason))
            await asyncio.sleep(0.002)  # a busy centre, not a flood
        received = await reading
        assert [e.data["call"] for e in received] == [f"c{n}" for n in range(total)]  # all, in order
        async with asyncio.timeout(30):
            raw = await reader.read()  # now it reads, to the end
        writer.close()
        got = parse(unchunked(raw.split(b"\r\n\r\n", 1)[1]).decode())
        assert (got[-1].event, got[-1].data["reason"]) == ("gap", "too-slow")
        assert [e.data["call"] for e in got[:-1]] == [f"c{n}" for n in range(len(got) - 1)]  # in order
        assert len(got) - 1 < total  # it missed the rest: it reconnects with its last id
        fast.close()


async def test_call_takers_are_refused_and_a_request_without_a_token_is_unauthorised() -> None:
    async with api() as a:
        taker = await a.client.get(EVENTS, headers=auth("call-taker"))
        assert taker.status == 403
        assert (await a.client.get(EVENTS)).status == 401
        engineer = await a.client.get(EVENTS, headers=auth("engineer"))
        assert engineer.status == 200
        engineer.close()
        bad = await a.client.get(EVENTS, headers=auth("supervisor", **{"Last-Event-ID": "yesterday"}))
        assert bad.status == 400


async def test_an_engineer_never_sees_a_callers_number_a_supervisor_sees_it_marked_withheld() -> None:
    async with api() as a:
        feed = a.engine.feed
        engineer = await a.client.get(EVENTS, headers=auth("engineer"))
        supervisor = await a.client.get(EVENTS, headers=auth("supervisor"))
        call, number = "1700000001.9", "081233445566"
        feed.note(entry(call, "arrived", caller=number, dialled="112", withheld="yes"))
        feed.note(entry(call, "screened", verdict="prank", level="low", reason=f"reputation of {number}"))
        feed.note(entry(call, "ended", outcome="handled", by="caller"))
        seen = await read(engineer, 3)
        assert all("caller" not in e.data for e in seen)
        assert number not in json.dumps([e.data for e in seen])
        assert seen[1].data["reason"] == "reputation of anonymous"
        assert seen[0].data["withheld"] is True
        told = await read(supervisor, 3)
        assert [(e.data["caller"], e.data["withheld"]) for e in told] == [(number, True)] * 3
        engineer.close()
        supervisor.close()


async def test_the_openapi_document_lists_the_event_stream() -> None:
    async with api() as a:
        document = await (await a.client.get("/api/v1/openapi.json")).json()
        operation = document["paths"][EVENTS]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert {"401", "403", "400"} <= set(operation["responses"])
        assert "/api/events" not in document["paths"]  # new in v1: no former path
