# The OpenAPI document (ivr.adapters.http.openapi) against the app the control plane
# serves: built for real (nothing connects until a request needs it), its router lists
# exactly the documented operations, and every documented body is the model the
# handler validates with; the served document is valid OpenAPI 3.1 whose every $ref
# resolves, and what the app really answers (success and error statuses, error bodies)
# is what the document says of that operation.
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from openapi_spec_validator import validate

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
from tests.unit.http_app import CALL_OTHER, CALL_OWN, api


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
    pause = doc["paths"]["/api/v1/takers/{taker}/pause"]["post"]["requestBody"]["content"]["application/json"]
    assert doc["components"]["schemas"][pause["schema"]["$ref"].rsplit("/", 1)[1]]["required"] == ["reason"]
    assert "deprecated" not in doc["paths"]["/api/v1/takers/{taker}/pause"]["post"]
    for old in ("/api/takers/{taker}/pause", "/api/agents/{taker}/pause"):  # served for one release
        former = doc["paths"][old]["post"]
        assert former["deprecated"] is True and "/api/v1/takers/{taker}/pause" in former["summary"]
        assert former["requestBody"] == doc["paths"]["/api/v1/takers/{taker}/pause"]["post"]["requestBody"]


async def test_every_api_route_is_documented_at_its_v1_path_and_the_former_ones_are_deprecated() -> None:
    doc = await served_document()
    operations = {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}
    current = {route for route, op in operations.items() if not op.get("deprecated")}
    assert {p for _, p in current if p.startswith("/api/") and not p.startswith("/api/v1/")} == {
        "/api/health",  # kept for monitors and the watchdog, beside /api/v1/health
        "/api/openapi.json",
    }
    for (method, path), op in operations.items():
        if op.get("deprecated"):
            assert path.startswith("/api/") and not path.startswith("/api/v1/")
            assert (method, "/api/v1/" + path.removeprefix("/api/").replace("agents", "takers", 1)) in current
    assert ("get", "/api/v1/history.csv") in current and ("get", "/api/history.csv") not in operations
    assert (
        operations[("get", "/api/health")]["responses"] == operations[("get", "/api/v1/health")]["responses"]
    )


async def served_document() -> dict[str, Any]:
    async with api() as app:
        response = await app.client.get("/api/openapi.json")  # open: no token
        assert response.status == 200
        return dict(await response.json())


def refs(node: object) -> list[str]:
    """Every $ref anywhere in a JSON document."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolved(doc: dict[str, Any], ref: str) -> object:
    assert ref.startswith("#/"), ref  # only references inside the document
    node: object = doc
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and key in node, f"{ref} points nowhere"
        node = node[key]
    return node


async def test_the_served_document_is_valid_openapi() -> None:
    validate(await served_document())  # raises, naming the first fault


async def test_every_reference_resolves_within_components() -> None:
    doc = await served_document()
    found = refs(doc)
    assert "#/components/schemas/Disposition" in found  # a nested model, hoisted
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert isinstance(resolved(doc, ref), dict)
    assert "$defs" not in json.dumps(doc)  # no definitions left nested in a schema


NEW, AGENCY, BLOCK = "1700000000.9", {"agency": "damkar"}, {"minutes": 5, "reason": "prank"}
ANSWERS: list[tuple[str | None, str, dict[str, Any] | None, int]] = [
    # role (None: no token), request, JSON body, status; NEW: a call nobody knows
    (None, "GET /api/health", None, 200),
    (None, "GET /api/v1/health", None, 200),
    ("engineer", "GET /api/v1/queue", None, 403),
    ("supervisor", "POST /api/v1/takers/nobody/login", None, 404),
    ("supervisor", "GET /api/v1/history.csv?day=2024-01-01", None, 503),
    (None, "GET /api/queue", None, 401),
    ("engineer", "GET /api/queue", None, 403),
    ("supervisor", "GET /api/agents", None, 200),  # the former name
    ("call-taker", "POST /api/takers/taker02/login", None, 403),  # not themselves
    ("supervisor", "POST /api/takers/nobody/login", None, 404),
    ("operator", "POST /api/takers/taker01/pause", {}, 400),  # no reason
    ("engineer", "POST /api/config/reload", None, 200),
    ("supervisor", f"GET /api/calls/{NEW}", None, 503),  # Redis unreachable
    ("supervisor", f"POST /api/calls/{NEW}/leave", None, 404),
    ("call-taker", f"POST /api/calls/{CALL_OWN}/leave", None, 409),  # no agency joined
    ("supervisor", f"POST /api/calls/{NEW}/agencies", AGENCY, 404),
    ("call-taker", f"POST /api/calls/{CALL_OTHER}/agencies", AGENCY, 403),  # not their call
    ("call-taker", f"POST /api/calls/{CALL_OWN}/agencies", AGENCY, 409),  # not in the call's policy
    ("supervisor", f"GET /api/calls/{CALL_OWN}/recording", None, 409),  # still going on
    ("supervisor", "POST /api/reputation/0812/block", BLOCK, 409),  # blocking is off
    ("supervisor", "GET /api/callbacks", None, 503),  # no archive
    ("supervisor", "GET /api/history?day=2024-01-01", None, 503),
    (None, "GET /api/live", None, 400),  # not a WebSocket
]


def operation_of(doc: dict[str, Any], request: str) -> dict[str, Any]:
    """The documented operation that serves `request` ("METHOD /path?query")."""
    method, url = request.split(" ")
    path = url.split("?")[0]
    for template, item in doc["paths"].items():
        if re.fullmatch(re.sub(r"\{[a-z]+\}", "[^/]+", template), path):
            return dict(item[method.lower()])
    raise AssertionError(f"{request}: not in the document")


@pytest.mark.parametrize(("role", "request_line", "body", "status"), ANSWERS)
async def test_what_the_app_answers_is_documented_for_that_operation(
    role: str | None, request_line: str, body: dict[str, Any] | None, status: int
) -> None:
    doc = await served_document()
    async with api() as app:
        method, url = request_line.split(" ")
        headers = app.auth(role) if role else {}
        response = await app.client.request(method, url, json=body, headers=headers)
        assert response.status == status, await response.text()
        documented = operation_of(doc, request_line)["responses"]
        assert str(status) in documented, sorted(documented)
        if status >= 400:  # the error body is the documented one
            schema = documented[str(status)]["content"]["application/json"]["schema"]
            checker = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
            checker.validate(await response.json())


async def test_each_operation_lists_only_the_statuses_its_route_can_return() -> None:
    doc = await served_document()

    def statuses(request: str) -> str:
        return " ".join(sorted(operation_of(doc, request)["responses"]))

    assert statuses("GET /api/health") == "200 503"  # open, reads nothing; 503: down
    assert statuses("GET /api/takers") == "200 401"  # every role sees something
    assert statuses("GET /api/queue") == "200 401 403"
    assert statuses("POST /api/takers/x/pause") == "200 400 401 403 404 413 415"
    assert statuses("POST /api/agents/x/pause") == statuses("POST /api/takers/x/pause")
    assert statuses("POST /api/config/reload") == "200 401 403 422"
    assert statuses("POST /api/calls/x/leave") == "202 401 403 404 409"
    assert statuses("POST /api/callbacks/x") == "202 400 401 403 404 409 413 415 503"
    assert statuses("GET /api/live") == "101 400 403"  # the token comes in-band
