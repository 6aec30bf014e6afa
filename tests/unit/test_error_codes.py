# Error replies as a program reads them (ivr.adapters.http.replies): every error of the
# API, whichever part refused (the token check, the permission table, a handler, a body
# parser, the router itself), is JSON with a message and a machine-readable code from
# the one documented set (a wrong query parameter: test_history_paging, test_history_csv).
from __future__ import annotations

from typing import Any

import pytest

from ivr.adapters.http.replies import ALL_CODES
from tests.unit.http_app import CALL_OWN, api

NEW = "1700000000.9"  # a call nobody knows
CASES: list[tuple[str | None, str, str, dict[str, Any] | bytes | None, int, str]] = [
    # role (None: no token), method, path, body, status, code
    ("supervisor", "GET", "/api/v1/history", None, 503, "unavailable"),  # no archive here
    ("operator", "POST", "/api/v1/takers/taker01/pause", {}, 400, "invalid_body"),
    ("operator", "POST", f"/api/v1/calls/{CALL_OWN}/agencies", {"agency": "nobody"}, 400, "invalid_body"),
    (None, "GET", "/api/v1/queue", None, 401, "unauthorized"),
    ("engineer", "GET", "/api/v1/queue", None, 403, "forbidden"),
    ("call-taker", "POST", "/api/v1/takers/taker02/login", None, 403, "forbidden"),
    ("supervisor", "POST", "/api/v1/takers/nobody/login", None, 404, "not_found"),
    ("supervisor", "GET", "/api/v1/no/such/route", None, 404, "not_found"),
    ("supervisor", "GET", "/api/v1/agents", None, 404, "not_found"),  # former names stay out of v1
    ("supervisor", "DELETE", "/api/v1/queue", None, 405, "method_not_allowed"),
    ("call-taker", "POST", f"/api/v1/calls/{CALL_OWN}/leave", None, 409, "conflict"),
    ("supervisor", "GET", f"/api/v1/calls/{NEW}", None, 503, "unavailable"),  # Redis unreachable
    ("operator", "POST", "/api/v1/takers/taker01/pause", b"{" + b" " * 2_000_000 + b"}", 413, "too_large"),
    ("supervisor", "GET", "/api/takers/nobody", None, 404, "not_found"),  # at a former path too
]


@pytest.mark.parametrize(("role", "method", "path", "body", "status", "code"), CASES)
async def test_every_error_reply_carries_a_code_beside_its_message(
    role: str | None, method: str, path: str, body: dict[str, Any] | bytes | None, status: int, code: str
) -> None:
    async with api() as app:
        headers = app.auth(role) if role else {}
        sent = {"data": body} if isinstance(body, bytes) else {"json": body}
        response = await app.client.request(method, path, headers=headers, **sent)
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        reply = await response.json()
        assert reply["code"] == code and reply["error"]
        assert code in ALL_CODES


async def test_a_charset_other_than_utf8_is_refused_with_its_code() -> None:
    async with api() as app:
        headers = {**app.auth("operator"), "Content-Type": "application/json; charset=latin-1"}
        response = await app.client.post("/api/v1/takers/taker01/pause", data=b"{}", headers=headers)
        assert response.status == 415
        assert (await response.json())["code"] == "unsupported_media_type"


async def test_a_method_the_route_does_not_take_still_says_which_it_does() -> None:
    async with api() as app:
        response = await app.client.delete("/api/v1/queue", headers=app.auth("supervisor"))
        assert response.status == 405 and "GET" in response.headers["Allow"]


async def test_the_documented_codes_are_the_ones_the_api_gives() -> None:
    async with api() as app:
        doc = await (await app.client.get("/api/v1/openapi.json")).json()
        schema = doc["components"]["schemas"]["ErrorBody"]
        assert set(schema["properties"]["code"]["enum"]) == set(ALL_CODES)
        assert "code" in schema["required"]
