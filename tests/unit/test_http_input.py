# What the HTTP app does with hostile or broken input: request bodies in other encodings
# or not UTF-8 at all, days out of range, and first messages on the live feed that are
# not a login; a browser page of another origin on the feed; and the security headers
# on every response. Always a 4xx (or an error message on the feed) naming what was
# wrong, never a 500 or a traceback.
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.adapters.http.dashboard import MAX_MESSAGE
from tests.unit.http_app import USERS, Api, api, with_blocking

BODY_ROUTES = [  # every route with a body model, with path values it accepts
    ("POST", "/api/takers/taker01/pause"),
    ("POST", "/api/calls/1700000000.1/disposition"),
    ("POST", "/api/calls/1700000000.1/agencies"),
    ("POST", "/api/callbacks/1700000000.1"),
    ("POST", "/api/reputation/081200000009/block"),
    ("PUT", "/api/v1/calls/1700000000.1/incident"),
    ("POST", "/api/v1/calls/1700000000.1/incident/arrivals"),
]
ENCODINGS: list[tuple[str, bytes, int]] = [  # content type, body, status
    ("application/json; charset=foo", b'{"reason": "makan"}', 415),
    ("application/json; charset=latin-1", '{"reason": "café"}'.encode("latin-1"), 415),
    ("application/json; charset=utf-16", '{"reason": "makan"}'.encode("utf-16"), 415),
    ("application/json", '{"reason": "makan"}'.encode("utf-16"), 400),
    ("application/json", b'{"reason": "caf\xe9"}', 400),  # latin-1 bytes, no charset: not UTF-8
    ("application/json; charset=utf-8", b'{"reason": "\xff\xfe"}', 400),
    ("application/json", b"[" * 3000 + b"]" * 3000, 400),
]


async def answer(response: aiohttp.ClientResponse) -> dict[str, Any]:
    assert response.content_type == "application/json"
    return dict(await response.json())


@pytest.mark.parametrize(("content_type", "body", "status"), ENCODINGS)
async def test_a_body_not_in_utf8_json_gets_a_4xx_naming_the_problem(
    content_type: str, body: bytes, status: int
) -> None:
    async with api() as app:
        with_blocking(app.engine)  # else the block route refuses (409) before it reads its body
        for method, path in BODY_ROUTES:
            headers = {**app.auth("operator"), "Content-Type": content_type}
            response = await app.client.request(method, path, data=body, headers=headers)
            assert response.status == status, (path, await response.text())
            reason = (await answer(response))["error"]
            assert ("charset" in reason) if status == 415 else ("UTF-8" in reason or "invalid" in reason)


async def test_a_utf8_body_with_or_without_its_charset_is_taken() -> None:
    async with api() as app:
        for content_type in ("application/json", "application/json; charset=UTF-8", "text/plain", ""):
            headers = {**app.auth("operator"), "Content-Type": content_type}
            body = '{"reason": "makan siang é"}'.encode()
            response = await app.client.post("/api/takers/taker01/pause", data=body, headers=headers)
            assert response.status == 200, await response.text()
            assert (await answer(response))["pause_reason"] == "makan siang é"


@pytest.mark.parametrize(
    "day",
    ["9999-12-31", "0001-01-01", "1999-12-31", "2200-01-01", "2024-02-30", "20240101", "2024-W01-1",
     "junk", "-1", "9" * 5000, "\uff12\uff10\uff12\uff14-01-01"],  # full-width digits
)  # fmt: skip
async def test_a_day_out_of_range_or_malformed_gets_a_400_naming_the_day(day: str, tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        for path in ("/api/history", "/api/kpis"):
            response = await app.client.get(path, params={"day": day}, headers=app.auth("supervisor"))
            assert response.status == 400, (path, day, await response.text())
            assert (await answer(response))["error"].startswith("day: ")


async def test_the_first_and_last_days_are_served(tmp_path: Path) -> None:
    async with api(archive=tmp_path / "calls.sqlite3") as app:
        for day in ("2000-01-01", "2199-12-31"):
            response = await app.client.get("/api/kpis", params={"day": day}, headers=app.auth("supervisor"))
            assert response.status == 200 and (await answer(response))["day"] == day


async def test_every_response_carries_the_browser_security_headers() -> None:
    async with api() as app:
        for path, headers in [
            ("/dashboard/", {}),
            ("/dashboard/dashboard.js", {}),
            ("/api/health", {}),
            ("/api/takers", {}),  # 401
            ("/api/takers", app.auth("supervisor")),
            ("/api/queue", app.auth("engineer")),  # 403
            ("/no/such/page", app.auth("supervisor")),  # 404
        ]:
            response = await app.client.get(path, headers=headers, allow_redirects=False)
            csp = response.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert "frame-ancestors 'none'" in csp, path
            assert response.headers.get("X-Frame-Options") == "DENY", path
            assert response.headers.get("X-Content-Type-Options") == "nosniff", path
            assert response.headers.get("Referrer-Policy") == "no-referrer", path


async def first_reply(
    app: Api, sent: str | bytes, origin: str | None = None, then: bool = True
) -> tuple[dict[str, Any], str]:
    """The feed's first message after `sent`, and (then=True) the type of the message after it."""
    headers = {"Origin": origin} if origin else {}
    async with app.client.ws_connect("/api/live", headers=headers) as ws:
        await (ws.send_bytes(sent) if isinstance(sent, bytes) else ws.send_str(sent))
        reply = json.loads((await ws.receive(timeout=5)).data)
        after = (await ws.receive(timeout=6)).type.name if then else ""  # a snapshot: again within 5 s
        return reply, after


@pytest.mark.parametrize(
    "sent",
    ["[" * 5000 + "]" * 5000, '{"token": ' * 1000 + "1" + "}" * 1000, "[]", '"token"', "null", "{not json",
     '{"token": 12}', '{"token": ["a"]}', json.dumps({"token": "x" * 10000}), b'{"token": "a"}', ""],
)  # fmt: skip
async def test_a_first_message_that_is_no_login_gets_an_error_and_a_close(sent: str | bytes) -> None:
    async with api() as app:
        reply, after = await first_reply(app, sent)
        assert reply == {"type": "error", "error": "missing or wrong token"}
        assert after in ("CLOSE", "CLOSED")


async def test_a_first_message_over_the_size_limit_closes_the_feed_as_too_big() -> None:
    async with api() as app, app.client.ws_connect("/api/live") as ws:
        await ws.send_str(json.dumps({"token": "x" * (MAX_MESSAGE + 1)}))
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_the_feed_refuses_a_page_of_another_origin() -> None:
    async with api() as app:
        token = json.dumps({"token": USERS["supervisor"][0]})
        host = f"{app.client.host}:{app.client.port}"
        for origin in ("http://evil.example", "null", "http://127.0.0.1:1", "file://", f"ftp://{host}"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await app.client.ws_connect("/api/live", headers={"Origin": origin})
            assert refused.value.status == 403, origin
            response = await app.client.get("/api/live", headers={"Origin": origin})
            assert response.status == 403 and "Origin" in (await answer(response))["error"]
        response = await app.client.get("/api/live")  # no Upgrade: not a WebSocket
        assert response.status == 400 and "WebSocket" in (await answer(response))["error"]
        for origin in (f"http://{host}", f"https://{host}", None):  # its own page; no page at all
            reply, _ = await first_reply(app, token, origin, then=False)
            assert reply["type"] == "snapshot" and reply["user"]["name"] == "ketua-regu", origin
