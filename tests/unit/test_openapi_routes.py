# The OpenAPI document (ivr.adapters.http.openapi) against the app the control plane
# serves: built for real (nothing connects until a request needs it), its router lists
# exactly the documented operations, and every documented body is the model the
# handler validates with.
from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from ivr.adapters.ari.rest import AriRest
from ivr.adapters.call_store import CallStore
from ivr.adapters.http.api import build_api
from ivr.adapters.http.auth import OPEN, RULES, load_users
from ivr.adapters.reputation_store import ReputationStore
from ivr.adapters.taker_store import TakerStore
from ivr.config.loader import load
from ivr.core.call import CallPolicy
from ivr.engine.centre_service import CentreService
from ivr.engine.engine import Engine


async def test_the_document_lists_exactly_the_served_routes() -> None:
    client = aioredis.from_url("redis://127.0.0.1:1/0")
    async with aiohttp.ClientSession() as session:
        engine = Engine(AriRest(session, "http://127.0.0.1:1", "ivr112"), CallStore(client),
                        TakerStore(client), load(Path("queue/kendari.yaml")), CallPolicy())  # fmt: skip
        users = load_users(None, "operators-own-token-0001")
        app = build_api(CentreService(engine), CallStore(client), ReputationStore(client), users, dict)
        served = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.method != "HEAD"
            and route.resource is not None
            and not isinstance(route.resource, web.StaticResource)  # the dashboard's files
        }
        handler = next(
            r.handler for r in app.router.routes() if r.resource and r.resource.canonical.endswith("json")
        )
        response = await handler(None)  # type: ignore[arg-type]
    await client.aclose()
    doc = json.loads(response.body)
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert documented == served
    assert served - {(m, p) for m, p in served if p in OPEN} == set(RULES)  # every route has a rule
    pause = doc["paths"]["/api/takers/{taker}/pause"]["post"]["requestBody"]["content"]["application/json"]
    assert doc["components"]["schemas"][pause["schema"]["$ref"].rsplit("/", 1)[1]]["required"] == ["reason"]
    former = doc["paths"]["/api/agents/{taker}/pause"]["post"]  # the former name, for one release
    assert former["deprecated"] is True and "/api/takers/{taker}/pause" in former["summary"]
    assert "deprecated" not in doc["paths"]["/api/takers/{taker}/pause"]["post"]
