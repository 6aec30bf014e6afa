"""Health as operators' tools read it: each part with its state; down (HTTP 503) only when
callers would not reach a call taker through this control plane; degraded (200) when a
part needs a person but callers are served; the container's health check and the
watchdog agree with that."""

from __future__ import annotations

import asyncio
import http.server
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from typing import Any

import aiohttp
import pytest

from ivr.core.health import Part, State, overall
from ivr.engine.health_parts import ami_parts, asterisk_parts
from ivr.watchdog import HealthCheck
from tests.unit.docker_files import HEALTHCHECK
from tests.unit.http_app import api


def test_the_whole_is_down_only_when_no_asterisk_connection_is_up() -> None:
    one_down = [Part("asterisk", State.DOWN, carries_calls=True), Part("redis", State.OK)]
    assert overall(one_down) is State.DOWN
    nodes = asterisk_parts(True, {"a1": False, "a2": True}, "active")
    assert overall(nodes) is State.DEGRADED  # a2 carries the calls
    assert overall(asterisk_parts(True, {"a1": False, "a2": False}, "active")) is State.DOWN
    assert overall([*asterisk_parts(True, {}, "active"), Part("redis", State.DEGRADED)]) is State.DEGRADED
    assert overall([*asterisk_parts(True, {}, "active"), Part("archive", State.OFF)]) is State.OK


def test_a_standby_is_healthy_though_it_connects_to_no_asterisk() -> None:
    parts = asterisk_parts(False, {"a1": False, "a2": False}, "standby")
    assert {p.name: p.state for p in parts} == {"asterisk:a1": State.OFF, "asterisk:a2": State.OFF}
    assert overall(parts) is State.OK


def test_ami_parts_name_each_connection() -> None:
    assert [(p.name, p.state) for p in ami_parts({})] == [("ami", State.OFF)]
    assert [(p.name, p.state) for p in ami_parts({"": True})] == [("ami", State.OK)]
    cluster = ami_parts({"a1": True, "a2": False})
    assert [(p.name, p.state) for p in cluster] == [("ami:a1", State.OK), ("ami:a2", State.DEGRADED)]
    assert "native queue" in cluster[1].detail


async def test_a_sip_edge_that_does_not_answer_is_named_degraded_and_raises_an_alarm() -> None:
    edges = {"127.0.0.50:5060": False, "127.0.0.60:5060": True}
    async with api(edges=lambda: edges) as app:
        body = await (await app.client.get("/api/health")).json()
        await app.engine.writes.close(0.1)
    assert body["status"] == "degraded"
    assert body["edges"] == {"127.0.0.50:5060": "down", "127.0.0.60:5060": "up"}
    assert body["parts"]["sip-edge:127.0.0.50:5060"]["state"] == "degraded"
    assert body["parts"]["sip-edge:127.0.0.60:5060"]["state"] == "ok"
    assert "SIP edge 127.0.0.50:5060 does not answer: calls go through the other edges" in body["alarms"]


async def test_one_edge_or_none_shows_no_edges() -> None:
    _, body = await health(connected=True)
    assert body["edges"] == {} and not any(name.startswith("sip-edge") for name in body["parts"])


async def health(connected: bool, held: bool = False) -> tuple[int, dict[str, Any]]:
    async with api(ari_connected=lambda: connected) as app:
        if held:  # Redis away: a record waits in memory
            app.engine.writes.submit("c1 arrived", lambda: app.store.append("c1", "arrived", 1.0, {}))
            await asyncio.sleep(0.3)
        response = await app.client.get("/api/health")
        body = await response.json()
        await app.engine.writes.close(0.1)
        return response.status, body


async def test_health_answers_503_naming_asterisk_when_it_is_not_connected() -> None:
    status, body = await health(connected=False)
    assert status == 503 and body["status"] == "down" and body["ari"] == "disconnected"
    assert body["parts"]["asterisk"]["state"] == "down"
    assert "fallback" in body["parts"]["asterisk"]["detail"]


async def test_redis_holding_records_is_degraded_not_down() -> None:
    status, body = await health(connected=True, held=True)
    assert status == 200 and body["status"] == "degraded"
    redis = body["parts"]["redis"]
    assert redis["state"] == "degraded" and "records held in memory" in redis["detail"]
    assert body["parts"]["asterisk"]["state"] == "ok"


async def test_every_part_is_reported() -> None:
    status, body = await health(connected=True)
    assert status == 200 and body["status"] == "ok"
    assert set(body["parts"]) == {"asterisk", "ami", "redis", "archive", "recordings", "screening"}
    assert all(part["detail"] for part in body["parts"].values())


# ---- what reads it: the container's health check and the watchdog ----------------------------
@contextmanager
def health_server(status: int, body: dict[str, Any]) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


DEGRADED = {
    "status": "degraded",
    "ari": "connected",
    "parts": {"redis": {"state": "degraded", "detail": "held"}},
}
DOWN = {"status": "down", "ari": "disconnected", "parts": {"asterisk": {"state": "down", "detail": "gone"}}}


@pytest.mark.parametrize(
    ("status", "body", "code", "says"),
    [
        (200, {"status": "ok", "ari": "connected", "parts": {}}, 0, ""),
        (200, DEGRADED, 0, "redis degraded: held"),
        (503, DOWN, 1, "HTTP 503: asterisk down: gone"),
    ],
    ids=["ok", "degraded", "down"],
)
def test_the_container_health_check_fails_only_when_down(
    status: int, body: dict[str, Any], code: int, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with health_server(status, body) as port:
        monkeypatch.setenv("IVR_HTTP_BIND", "127.0.0.1")
        monkeypatch.setenv("IVR_HTTP_PORT", port)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            assert HEALTHCHECK.main() == code
    assert says in out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    ("status", "body", "healthy", "why"),
    [
        (200, DEGRADED, True, "answering"),
        (503, DOWN, False, "not connected to Asterisk"),
        (503, {"status": "down", "ari": "connected"}, False, "says it is down"),
    ],
    ids=["degraded", "down-ari", "down-other"],
)
async def test_the_watchdog_hands_over_only_when_health_is_down(
    status: int, body: dict[str, Any], healthy: bool, why: str
) -> None:
    with health_server(status, body) as port:
        async with aiohttp.ClientSession() as session:
            result = await HealthCheck(session, f"http://127.0.0.1:{port}/api/health").check()
    assert result[0] is healthy and why in result[1]
