# The API's versioned paths (ivr.adapters.http.versions): every /api/ route answers at
# /api/v1/ and, for one release, at its path from before, alike for every role (each
# role against every route at both paths: test_permissions); a change made at the
# former path is the same change; health and this API's document stay open at both
# paths; the dashboard's live feed answers at both.
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.http_app import USERS, Api, api

ROLES = ("call-taker", "supervisor", "engineer", "operator")
READS = ["/takers", "/queue", "/screening", "/service-level", "/callbacks", "/blocks/audit", "/calls/x1"]


async def reply(app: Api, role: str | None, method: str, path: str) -> tuple[int, Any]:
    headers = app.auth(role) if role else {}
    response = await app.client.request(method, path, headers=headers)
    text = await response.text()
    return response.status, json.loads(text) if response.content_type == "application/json" else text


@pytest.mark.parametrize("role", ROLES)
async def test_a_former_path_answers_what_its_v1_path_answers(role: str) -> None:
    async with api() as app:
        for read in READS:
            former = await reply(app, role, "GET", "/api" + read)
            assert former == await reply(app, role, "GET", "/api/v1" + read), read
        # the call takers' routes under their former name too
        assert await reply(app, role, "GET", "/api/agents") == await reply(app, role, "GET", "/api/v1/takers")


async def test_a_change_at_the_former_path_is_the_same_change() -> None:
    async with api() as app:
        status, _ = await reply(app, "call-taker", "POST", "/api/takers/taker01/login")
        assert status == 200
        _, takers = await reply(app, "call-taker", "GET", "/api/v1/takers")
        assert [(t["id"], t["declared"]) for t in takers] == [("taker01", "available")]
        status, _ = await reply(app, "call-taker", "POST", "/api/agents/taker01/logout")
        assert status == 200
        _, takers = await reply(app, "call-taker", "GET", "/api/v1/takers")
        assert takers[0]["declared"] == "logged-out"


async def test_health_and_the_document_are_open_at_both_paths() -> None:
    async with api() as app:
        for first, v1 in (("/api/health", "/api/v1/health"), ("/api/openapi.json", "/api/v1/openapi.json")):
            old_status, old = await reply(app, None, "GET", first)
            new_status, new = await reply(app, None, "GET", v1)
            assert old_status == new_status == 200
            assert old.keys() == new.keys()
        _, doc = await reply(app, None, "GET", "/api/v1/openapi.json")
        assert "deprecated" not in doc["paths"]["/api/health"]["get"]


@pytest.mark.parametrize("path", ["/api/v1/live", "/api/live"])
async def test_the_live_feed_answers_at_both_paths(path: str) -> None:
    async with api() as app, app.client.ws_connect(path) as ws:
        await ws.send_str(json.dumps({"token": USERS["supervisor"][0]}))
        snapshot = json.loads((await ws.receive(timeout=5)).data)
        assert snapshot["type"] == "snapshot" and snapshot["user"]["name"] == "ketua-regu"
